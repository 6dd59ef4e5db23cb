/**
 * The embedded store's schema.
 *
 * - `resources`: one row per (type, id), pointing at its current version. `rid` is the stable
 *   internal key that index rows, cursors and joins use.
 * - `versions`: every version ever written (append-only), with the JSON text. History and vread
 *   read it; `vid` is a global sequence that orders history.
 * - `params`: maps (resource type, search parameter code) to a small integer `pk`, so index rows
 *   are compact and each index b-tree is specific to one type's parameter.
 * - `idx_*`: one table per index row kind, made from the index schema (storage/index-schema.ts):
 *   clustered by resource (WITHOUT ROWID, primary key rid, pk, n) so replacing a resource's rows
 *   is a range delete, with the schema's lookups as secondary indexes `(pk, fields...)`.
 * - `documents` and `document_keys`: the DocumentStore (sessions, tokens, keys, jobs, ...).
 * - `store_state`: facts about the store itself, such as the index version of its rows.
 */
import { componentsOf, fieldsOf, INDEX_TABLES, lookupsOf, termsFieldsOf, type FieldKind, type IndexField, type IndexTable } from '../index-schema.js';
import type { IndexEntry } from '../search-index.js';
import type { Connection } from './database.js';

/**
 * 1: the first schema. 2: the full-text (`idx_text` with `fts_text`) and position tables, the
 * `store_state` table, and the index schema's lookups (`idx_reference_target` in its order).
 * Tables and lookups are created as needed on open; the rows of resources stored before a table
 * existed are made by the search layer's reindex, which `store_state`'s index version asks for.
 */
export const SCHEMA_VERSION = 2;

const BASE_DDL = `
CREATE TABLE IF NOT EXISTS resources (
  rid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  vid INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_type_id ON resources(type, id);
CREATE INDEX IF NOT EXISTS resources_type_updated ON resources(type, last_updated);
-- (type) alone is (type, rid): a type's resources in rid order, the default search order.
CREATE INDEX IF NOT EXISTS resources_type ON resources(type);

CREATE TABLE IF NOT EXISTS versions (
  vid INTEGER PRIMARY KEY,
  rid INTEGER NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  method TEXT NOT NULL,
  json TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS versions_rid_version ON versions(rid, version);
CREATE INDEX IF NOT EXISTS versions_updated ON versions(last_updated);
CREATE INDEX IF NOT EXISTS versions_type_updated ON versions(type, last_updated);

CREATE TABLE IF NOT EXISTS params (
  pk INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  code TEXT NOT NULL,
  UNIQUE(type, code)
);

-- Facts about the store itself (the index version of the stored rows).
CREATE TABLE IF NOT EXISTS store_state (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS documents (
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (collection, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_expiry ON documents(expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS documents_updated ON documents(collection, updated_at);

CREATE TABLE IF NOT EXISTS document_keys (
  collection TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (collection, name, value, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS document_keys_id ON document_keys(collection, id);
`;

/** The SQL column of a field (of component `component` for composite rows). */
export function columnOf(table: IndexTable, field: IndexField, component = 0): string {
  const column = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return table === 'composite' ? `c${component}_${column}` : column;
}

const SQL_TYPE: Record<FieldKind, string> = { text: 'TEXT', number: 'REAL', flag: 'INTEGER', terms: 'TEXT' };

/** Columns of each index table, in insertion order after (rid, pk, n). */
export const INDEX_COLUMNS = Object.fromEntries(
  INDEX_TABLES.map((table) => [table, Array.from({ length: componentsOf(table) }, (_, c) => fieldsOf(table).map((f) => columnOf(table, f.name, c))).flat()]),
) as Record<IndexTable, string[]>;

/** The secondary indexes of the index tables: name and columns. */
function indexLookups(): Array<{ name: string; table: string; columns: string[] }> {
  return INDEX_TABLES.flatMap((table) =>
    lookupsOf(table, 'embedded').map((lookup) => ({
      name: `idx_${table}_${lookup.name}`,
      table: `idx_${table}`,
      columns: [...(lookup.acrossParams ? [] : ['pk']), ...lookup.fields.map((f) => columnOf(table, f as IndexField))],
    })),
  );
}

function indexTablesDdl(): string {
  return INDEX_TABLES.map((table) => {
    const columns = Array.from({ length: componentsOf(table) }, (_, c) =>
      fieldsOf(table).map((f) => `${columnOf(table, f.name, c)} ${SQL_TYPE[f.kind]}`),
    ).flat();
    if (termsFieldsOf(table).length > 0) return fullTextTableDdl(table, columns);
    return `CREATE TABLE IF NOT EXISTS idx_${table} (\n  rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,\n  ${columns.join(', ')},\n  PRIMARY KEY (rid, pk, n)\n) WITHOUT ROWID;`;
  }).join('\n');
}

/** The FTS5 table over the `terms` fields of `table`. */
export function fullTextTable(table: IndexTable): string {
  return `fts_${table}`;
}

/**
 * A table with `terms` fields: a rowid table (FTS5 needs an integer key for its rows) with a
 * unique (rid, pk, n) index in place of the clustered key, and an FTS5 index over it kept in
 * step by triggers, in the same transaction as every write. FTS5 reads the words with its
 * `ascii` tokenizer, which splits exactly where the search layer put spaces (index-schema.ts
 * isTerm) and changes nothing else, so both stores see the same words.
 * https://www.sqlite.org/fts5.html#external_content_tables
 */
function fullTextTableDdl(table: IndexTable, columns: string[]): string {
  const terms = termsFieldsOf(table).map((f) => columnOf(table, f));
  const fts = fullTextTable(table);
  return [
    `CREATE TABLE IF NOT EXISTS idx_${table} (\n  tid INTEGER PRIMARY KEY, rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,\n  ${columns.join(', ')}\n);`,
    `CREATE UNIQUE INDEX IF NOT EXISTS idx_${table}_row ON idx_${table}(rid, pk, n);`,
    `CREATE VIRTUAL TABLE IF NOT EXISTS ${fts} USING fts5(${terms.join(', ')}, content='idx_${table}', content_rowid='tid', tokenize='ascii');`,
    `CREATE TRIGGER IF NOT EXISTS idx_${table}_added AFTER INSERT ON idx_${table} BEGIN\n  INSERT INTO ${fts}(rowid, ${terms.join(', ')}) VALUES (new.tid, ${terms.map((t) => `new.${t}`).join(', ')});\nEND;`,
    `CREATE TRIGGER IF NOT EXISTS idx_${table}_removed AFTER DELETE ON idx_${table} BEGIN\n  INSERT INTO ${fts}(${fts}, rowid, ${terms.join(', ')}) VALUES ('delete', old.tid, ${terms.map((t) => `old.${t}`).join(', ')});\nEND;`,
  ].join('\n');
}

/**
 * Creates the lookups of the index tables, and rebuilds one whose columns differ from the
 * schema's (a database written by an older Bedside).
 */
function ensureLookups(db: Connection): void {
  for (const lookup of indexLookups()) {
    const existing = (db.pragma(`index_info(${lookup.name})`) as Array<{ name: string }>).map((c) => c.name);
    if (existing.length > 0 && existing.join(',') === lookup.columns.join(',')) continue;
    if (existing.length > 0) db.exec(`DROP INDEX ${lookup.name}`);
    db.exec(`CREATE INDEX ${lookup.name} ON ${lookup.table}(${lookup.columns.join(', ')})`);
  }
}

/** Creates or checks the schema. Refuses a database written by a newer Bedside. */
export function migrate(db: Connection): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `The embedded database was written by a newer Bedside (schema ${current}, this one knows ${SCHEMA_VERSION}). ` +
        'Upgrade Bedside or point DATA_DIR at another folder.',
    );
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(BASE_DDL);
    db.exec(indexTablesDdl());
    ensureLookups(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

type SqlValue = string | number | null;

/** A field's value as stored: NULL for absent, empty or not-a-number values; a flag is 1 or NULL. */
function sqlValue(kind: FieldKind, value: unknown): SqlValue {
  switch (kind) {
    case 'text':
    case 'terms':
      return typeof value === 'string' ? value : null;
    case 'number':
      return typeof value === 'number' && !Number.isNaN(value) ? value : null;
    case 'flag':
      return value === true ? 1 : null;
  }
}

/** The values of an entry's columns, in {@link INDEX_COLUMNS} order. */
export function columnValues(entry: IndexEntry): SqlValue[] {
  const values: SqlValue[] = [];
  const fields = fieldsOf(entry.table);
  for (let c = 0; c < componentsOf(entry.table); c++) {
    const source = (entry.table === 'composite' ? (entry.components[c] ?? {}) : entry) as Record<string, unknown>;
    for (const field of fields) values.push(sqlValue(field.kind, source[field.name]));
  }
  return values;
}
