/**
 * Indexes of the MongoDB store, created at start-up (createIndexes is idempotent).
 *
 * Row indexes are multikey and made from the index schema's lookups (index-schema.ts): each
 * compound index takes its array fields from ONE top-level array (MongoDB refuses a compound
 * index over two arrays), led by `resourceType` and the row's parameter code `p`, so an
 * `$elemMatch` on (p, value) scans a tight range.
 */
import type { Db, IndexDescription } from 'mongodb';
import { INDEX_TABLES, lookupsOf, termsFieldsOf, type IndexTable, type LookupDef } from '../index-schema.js';
import { rowsField, wordSetField } from './documents.js';

export const COLLECTIONS = {
  resources: 'resources',
  history: 'history',
  documents: 'documents',
  /** Scratch space for the start-up capability probes (transactions.ts). */
  probe: 'capability_probe',
  /** Facts about the store itself, one document per name (the index version). */
  state: 'store_state',
} as const;

const RESOURCE_INDEXES: IndexDescription[] = [
  // Unique on real MongoDB; CongoDB does not enforce it (resource-store.ts guards creates).
  { name: 'resource_key', key: { resourceType: 1, id: 1 }, unique: true },
  { name: 'type_updated', key: { resourceType: 1, lastUpdated: 1 } },
  ...INDEX_TABLES.flatMap((table) => lookupsOf(table, 'mongodb').map((lookup) => rowIndex(table, lookup))),
  ...INDEX_TABLES.flatMap((table) => termsFieldsOf(table).map((field) => wordIndex(table, field))),
];

/**
 * The word index of a `terms` field: its distinct words (one array inside the row array; the
 * only array in the index), then the type.
 */
function wordIndex(table: IndexTable, field: string): IndexDescription {
  return { name: `${table}_${field}`, key: { [`${rowsField(table)}.${wordSetField(field)}`]: 1, resourceType: 1 } };
}

/** The index of one lookup: (resourceType, p, fields...), or the fields alone across parameters. */
function rowIndex(table: IndexTable, lookup: LookupDef): IndexDescription {
  const rows = rowsField(table);
  const key: Record<string, 1> = lookup.acrossParams ? {} : { resourceType: 1, [`${rows}.p`]: 1 };
  for (const field of lookup.fields) key[table === 'composite' ? `${rows}.c0.${field}` : `${rows}.${field}`] = 1;
  return { name: `${table}_${lookup.name}`, key };
}

const HISTORY_INDEXES: IndexDescription[] = [
  { name: 'version_key', key: { resourceType: 1, id: 1, versionId: 1 }, unique: true },
  // History pages are newest first with `_id` as tie-breaker.
  { name: 'updated', key: { lastUpdated: -1, _id: -1 } },
  { name: 'type_updated', key: { resourceType: 1, lastUpdated: -1, _id: -1 } },
];

const STATE_INDEXES: IndexDescription[] = [{ name: 'state_name', key: { name: 1 }, unique: true }];

const DOCUMENT_INDEXES: IndexDescription[] = [
  { name: 'document_key', key: { collection: 1, id: 1 }, unique: true },
  // TTL: MongoDB deletes expired documents in the background (about once a minute), so reads
  // filter on expiresAt as well.
  { name: 'expiry', key: { expiresAt: 1 }, expireAfterSeconds: 0 },
  { name: 'secondary_keys', key: { collection: 1, 'keys.name': 1, 'keys.value': 1 } },
  { name: 'recent', key: { collection: 1, updatedAt: -1 } },
];

/** Creates every index the stores rely on. */
export async function ensureIndexes(db: Db): Promise<void> {
  await dropChanged(db, COLLECTIONS.resources, RESOURCE_INDEXES);
  await db.collection(COLLECTIONS.resources).createIndexes(RESOURCE_INDEXES);
  await db.collection(COLLECTIONS.history).createIndexes(HISTORY_INDEXES);
  await db.collection(COLLECTIONS.documents).createIndexes(DOCUMENT_INDEXES);
  await db.collection(COLLECTIONS.state).createIndexes(STATE_INDEXES);
}

/**
 * Drops the indexes whose name is one of `wanted` but whose key differs (made by an older
 * Bedside), so createIndexes builds them anew instead of failing on the name.
 */
async function dropChanged(db: Db, collection: string, wanted: readonly IndexDescription[]): Promise<void> {
  const existing = await db
    .collection(collection)
    .listIndexes()
    .toArray()
    .catch(() => [] as Array<{ name?: string; key?: Record<string, unknown> }>);
  for (const index of existing) {
    const want = wanted.find((w) => w.name === index.name);
    if (want && JSON.stringify(index.key) !== JSON.stringify(want.key)) await db.collection(collection).dropIndex(index.name!);
  }
}
