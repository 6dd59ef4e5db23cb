/**
 * The embedded DocumentStore: rows in `documents` plus `document_keys` for secondary lookups.
 * Writes go through the database's write lock (they share the write connection with resource
 * transactions); reads use the read connection. Expired rows are invisible at once and swept
 * periodically.
 */
import type { Statement } from 'better-sqlite3';
import type { DocumentCollection, DocumentStore, PutOptions, StoredDocument } from '../document-store.js';
import type { Connection, SqliteDatabase } from './database.js';
import { migrate } from './schema.js';

const statementCache = new WeakMap<Connection, Map<string, Statement>>();

/** A prepared statement, prepared once per connection and SQL text. */
function prepared(db: Connection, sql: string): Statement {
  let cache = statementCache.get(db);
  if (!cache) statementCache.set(db, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = db.prepare(sql)));
  return statement;
}

interface Row {
  id: string;
  value: string;
  expires_at: number | null;
  updated_at: number;
}

export class SqliteDocumentStore implements DocumentStore {
  readonly #sweeper: NodeJS.Timeout;
  readonly #collections = new Map<string, SqliteCollection<unknown>>();

  constructor(
    private readonly database: SqliteDatabase,
    sweepIntervalMs = 60_000,
  ) {
    migrate(database.writer);
    this.#sweeper = setInterval(() => void this.sweepExpired().catch(() => undefined), sweepIntervalMs);
    this.#sweeper.unref();
  }

  collection<T = unknown>(name: string): DocumentCollection<T> {
    let collection = this.#collections.get(name);
    if (!collection) this.#collections.set(name, (collection = new SqliteCollection<unknown>(this.database, name)));
    return collection as DocumentCollection<T>;
  }

  async sweepExpired(): Promise<number> {
    return this.database.writeLock.run(() => {
      const now = Date.now();
      const db = this.database.writer;
      return db.transaction(() => {
        prepared(
          db,
          'DELETE FROM document_keys WHERE (collection, id) IN (SELECT collection, id FROM documents WHERE expires_at IS NOT NULL AND expires_at <= ?)',
        ).run(now);
        return prepared(db, 'DELETE FROM documents WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes;
      })();
    });
  }

  close(): void {
    clearInterval(this.#sweeper);
  }
}

class SqliteCollection<T> implements DocumentCollection<T> {
  // Prepared once: the token verifier reads grants and clients on every FHIR request.
  readonly #getValue: Statement;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly name: string,
  ) {
    this.#getValue = database.reader.prepare('SELECT value FROM documents WHERE collection = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)');
  }

  async get(id: string): Promise<T | undefined> {
    const row = this.#getValue.get(this.name, id, Date.now()) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  async getStored(id: string): Promise<StoredDocument<T> | undefined> {
    const row = prepared(
      this.#readConnection(),
      'SELECT id, value, expires_at, updated_at FROM documents WHERE collection = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)',
    ).get(this.name, id, Date.now()) as Row | undefined;
    return row && this.#toDocument(row);
  }

  async put(id: string, value: T, options: PutOptions = {}): Promise<void> {
    await this.#write(() => this.#putSync(id, value, options));
  }

  async insert(id: string, value: T, options: PutOptions = {}): Promise<boolean> {
    return this.#write(() => {
      const existing = prepared(this.database.writer, 'SELECT 1 FROM documents WHERE collection = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)').get(
        this.name,
        id,
        Date.now(),
      );
      if (existing) return false;
      this.#putSync(id, value, options);
      return true;
    });
  }

  async replaceIf(id: string, expectedUpdatedAt: number, value: T, options: PutOptions = {}): Promise<boolean> {
    return this.#write(() => {
      const row = prepared(
        this.database.writer,
        'SELECT updated_at FROM documents WHERE collection = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)',
      ).get(this.name, id, Date.now()) as { updated_at: number } | undefined;
      if (!row || row.updated_at !== expectedUpdatedAt) return false;
      this.#putSync(id, value, options, expectedUpdatedAt);
      return true;
    });
  }

  async take(id: string): Promise<T | undefined> {
    return this.#write(() => {
      const row = prepared(
        this.database.writer,
        'SELECT id, value, expires_at, updated_at FROM documents WHERE collection = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)',
      ).get(this.name, id, Date.now()) as Row | undefined;
      this.#deleteSync(id);
      return row ? (JSON.parse(row.value) as T) : undefined;
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.#write(() => this.#deleteSync(id));
  }

  async findByKey(key: string, value: string): Promise<Array<StoredDocument<T>>> {
    const rows = prepared(
      this.#readConnection(),

      'SELECT d.id, d.value, d.expires_at, d.updated_at FROM document_keys k JOIN documents d ON d.collection = k.collection AND d.id = k.id ' +
        'WHERE k.collection = ? AND k.name = ? AND k.value = ? AND (d.expires_at IS NULL OR d.expires_at > ?) ORDER BY d.updated_at DESC',
    ).all(this.name, key, value, Date.now()) as Row[];
    return rows.map((r) => this.#toDocument(r));
  }

  async deleteByKey(key: string, value: string): Promise<number> {
    return this.#write(() => {
      const ids = prepared(this.database.writer, 'SELECT id FROM document_keys WHERE collection = ? AND name = ? AND value = ?').all(
        this.name,
        key,
        value,
      ) as Array<{ id: string }>;
      for (const { id } of ids) this.#deleteSync(id);
      return ids.length;
    });
  }

  async list(options: { limit?: number; key?: { name: string; value: string } } = {}): Promise<Array<StoredDocument<T>>> {
    if (options.key) {
      const found = await this.findByKey(options.key.name, options.key.value);
      return options.limit ? found.slice(0, options.limit) : found;
    }
    const rows = prepared(
      this.#readConnection(),

      'SELECT id, value, expires_at, updated_at FROM documents WHERE collection = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY updated_at DESC LIMIT ?',
    ).all(this.name, Date.now(), options.limit ?? -1) as Row[];
    return rows.map((r) => this.#toDocument(r));
  }

  async count(): Promise<number> {
    const row = prepared(this.#readConnection(), 'SELECT count(*) AS n FROM documents WHERE collection = ? AND (expires_at IS NULL OR expires_at > ?)').get(
      this.name,
      Date.now(),
    ) as { n: number };
    return row.n;
  }

  #putSync(id: string, value: T, options: PutOptions, previousUpdatedAt?: number): void {
    const db = this.database.writer;
    // updated_at must change on every write (put included) so replaceIf detects concurrent writers.
    const previous =
      previousUpdatedAt ??
      (prepared(db, 'SELECT updated_at FROM documents WHERE collection = ? AND id = ?').get(this.name, id) as { updated_at: number } | undefined)?.updated_at;
    const now = Math.max(Date.now(), (previous ?? 0) + 1);
    prepared(
      db,
      'INSERT INTO documents (collection, id, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (collection, id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at',
    ).run(this.name, id, JSON.stringify(value), options.expiresAt ?? null, now);
    // A new document has no keys to replace (the audit log writes only new ones).
    if (previous !== undefined) prepared(db, 'DELETE FROM document_keys WHERE collection = ? AND id = ?').run(this.name, id);
    const insertKey = prepared(db, 'INSERT OR IGNORE INTO document_keys (collection, name, value, id) VALUES (?, ?, ?, ?)');
    for (const [name, keyValue] of Object.entries(options.keys ?? {})) {
      if (keyValue !== undefined) insertKey.run(this.name, name, keyValue, id);
    }
  }

  #deleteSync(id: string): boolean {
    const db = this.database.writer;
    prepared(db, 'DELETE FROM document_keys WHERE collection = ? AND id = ?').run(this.name, id);
    return prepared(db, 'DELETE FROM documents WHERE collection = ? AND id = ?').run(this.name, id).changes > 0;
  }

  /** Runs a synchronous write atomically (group-committed with other writes, see SqliteDatabase.write). */
  #write<R>(work: () => R): Promise<R> {
    return this.database.write(work);
  }

  #readConnection() {
    return this.database.reader;
  }

  #toDocument(row: Row): StoredDocument<T> {
    const keys = Object.fromEntries(
      (
        prepared(this.#readConnection(), 'SELECT name, value FROM document_keys WHERE collection = ? AND id = ?').all(this.name, row.id) as Array<{
          name: string;
          value: string;
        }>
      ).map((k) => [k.name, k.value]),
    );
    const doc: StoredDocument<T> = { id: row.id, value: JSON.parse(row.value) as T, keys, updatedAt: row.updated_at };
    if (row.expires_at !== null) doc.expiresAt = row.expires_at;
    return doc;
  }
}
