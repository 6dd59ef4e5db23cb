/**
 * The embedded store's schema.
 *
 * - `resources`: one row per (type, id), pointing at its current version. `rid` is the stable
 *   internal key that index rows, cursors and joins use.
 * - `versions`: every version ever written (append-only), with the JSON text. History and vread
 *   read it; `vid` is a global sequence that orders history.
 * - `params`: maps (resource type, search parameter code) to a small integer `pk`, so index rows
 *   are compact and each index b-tree is specific to one type's parameter.
 * - `idx_*`: one table per index row kind (storage/search-index.ts), clustered by resource
 *   (WITHOUT ROWID, primary key rid, pk, n) so replacing a resource's rows is a range delete,
 *   with one secondary index for lookups by value.
 * - `documents` and `document_keys`: the DocumentStore (sessions, tokens, keys, jobs, ...).
 */
import type { Connection } from './database.js';

export const SCHEMA_VERSION = 1;

const DDL = `
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

CREATE TABLE IF NOT EXISTS idx_string (
  rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,
  value TEXT, exact TEXT,
  PRIMARY KEY (rid, pk, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_string_value ON idx_string(pk, value);

CREATE TABLE IF NOT EXISTS idx_token (
  rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,
  system TEXT, code TEXT, text TEXT, of_type TEXT,
  PRIMARY KEY (rid, pk, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_token_code ON idx_token(pk, code, system);

CREATE TABLE IF NOT EXISTS idx_date (
  rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,
  low REAL, high REAL,
  PRIMARY KEY (rid, pk, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_date_low ON idx_date(pk, low);
CREATE INDEX IF NOT EXISTS idx_date_high ON idx_date(pk, high);

CREATE TABLE IF NOT EXISTS idx_number (
  rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,
  low REAL, high REAL,
  PRIMARY KEY (rid, pk, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_number_low ON idx_number(pk, low);

CREATE TABLE IF NOT EXISTS idx_quantity (
  rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,
  low REAL, high REAL, system TEXT, code TEXT, canonical INTEGER,
  PRIMARY KEY (rid, pk, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_quantity_low ON idx_quantity(pk, low);

CREATE TABLE IF NOT EXISTS idx_reference (
  rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,
  value TEXT, target_type TEXT, target_id TEXT, identifier_system TEXT, identifier_value TEXT,
  PRIMARY KEY (rid, pk, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_reference_value ON idx_reference(pk, value);
-- (pk, target_id) + rid: a reference search (patient=X) yields its matches in rid order, so a
-- page is read without collecting every match first.
CREATE INDEX IF NOT EXISTS idx_reference_param_target ON idx_reference(pk, target_id);
CREATE INDEX IF NOT EXISTS idx_reference_target ON idx_reference(target_id, target_type);

CREATE TABLE IF NOT EXISTS idx_uri (
  rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,
  value TEXT,
  PRIMARY KEY (rid, pk, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_uri_value ON idx_uri(pk, value);

CREATE TABLE IF NOT EXISTS idx_composite (
  rid INTEGER NOT NULL, pk INTEGER NOT NULL, n INTEGER NOT NULL,
  c0_system TEXT, c0_code TEXT, c0_value TEXT, c0_low REAL, c0_high REAL,
  c1_system TEXT, c1_code TEXT, c1_value TEXT, c1_low REAL, c1_high REAL,
  c2_system TEXT, c2_code TEXT, c2_value TEXT, c2_low REAL, c2_high REAL,
  PRIMARY KEY (rid, pk, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_composite_code ON idx_composite(pk, c0_code);

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
    db.exec(DDL);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

/** Columns of each index table, in insertion order after (rid, pk, n). */
export const INDEX_COLUMNS = {
  string: ['value', 'exact'],
  token: ['system', 'code', 'text', 'of_type'],
  date: ['low', 'high'],
  number: ['low', 'high'],
  quantity: ['low', 'high', 'system', 'code', 'canonical'],
  reference: ['value', 'target_type', 'target_id', 'identifier_system', 'identifier_value'],
  uri: ['value'],
  composite: [
    'c0_system', 'c0_code', 'c0_value', 'c0_low', 'c0_high',
    'c1_system', 'c1_code', 'c1_value', 'c1_low', 'c1_high',
    'c2_system', 'c2_code', 'c2_value', 'c2_low', 'c2_high',
  ],
} as const;
