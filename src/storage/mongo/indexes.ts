/**
 * Indexes of the MongoDB store, created at start-up (createIndexes is idempotent).
 *
 * Row indexes are multikey: each compound index takes its array fields from ONE top-level
 * array (MongoDB refuses a compound index over two arrays), led by `resourceType` and the row's
 * parameter code `p`, so an `$elemMatch` on (p, value) scans a tight range.
 */
import type { Db, IndexDescription } from 'mongodb';

export const COLLECTIONS = {
  resources: 'resources',
  history: 'history',
  documents: 'documents',
  /** Scratch space for the start-up capability probes (transactions.ts). */
  probe: 'capability_probe',
} as const;

const RESOURCE_INDEXES: IndexDescription[] = [
  // Unique on real MongoDB; CongoDB does not enforce it (resource-store.ts guards creates).
  { name: 'resource_key', key: { resourceType: 1, id: 1 }, unique: true },
  { name: 'type_updated', key: { resourceType: 1, lastUpdated: 1 } },
  { name: 'string_value', key: { resourceType: 1, 'ix_string.p': 1, 'ix_string.value': 1 } },
  { name: 'string_exact', key: { resourceType: 1, 'ix_string.p': 1, 'ix_string.exact': 1 } },
  { name: 'token_code', key: { resourceType: 1, 'ix_token.p': 1, 'ix_token.code': 1, 'ix_token.system': 1 } },
  { name: 'date_low', key: { resourceType: 1, 'ix_date.p': 1, 'ix_date.low': 1 } },
  { name: 'date_high', key: { resourceType: 1, 'ix_date.p': 1, 'ix_date.high': 1 } },
  { name: 'number_low', key: { resourceType: 1, 'ix_number.p': 1, 'ix_number.low': 1 } },
  { name: 'quantity_low', key: { resourceType: 1, 'ix_quantity.p': 1, 'ix_quantity.low': 1 } },
  { name: 'reference_value', key: { resourceType: 1, 'ix_reference.p': 1, 'ix_reference.value': 1 } },
  // Chains and _has look rows up by target, whatever the source type.
  { name: 'reference_target', key: { 'ix_reference.targetType': 1, 'ix_reference.targetId': 1 } },
  { name: 'uri_value', key: { resourceType: 1, 'ix_uri.p': 1, 'ix_uri.value': 1 } },
  { name: 'composite_code', key: { resourceType: 1, 'ix_composite.p': 1, 'ix_composite.c0.code': 1 } },
];

const HISTORY_INDEXES: IndexDescription[] = [
  { name: 'version_key', key: { resourceType: 1, id: 1, versionId: 1 }, unique: true },
  // History pages are newest first with `_id` as tie-breaker.
  { name: 'updated', key: { lastUpdated: -1, _id: -1 } },
  { name: 'type_updated', key: { resourceType: 1, lastUpdated: -1, _id: -1 } },
];

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
  await db.collection(COLLECTIONS.resources).createIndexes(RESOURCE_INDEXES);
  await db.collection(COLLECTIONS.history).createIndexes(HISTORY_INDEXES);
  await db.collection(COLLECTIONS.documents).createIndexes(DOCUMENT_INDEXES);
}
