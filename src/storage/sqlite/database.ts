/**
 * The embedded database: one SQLite file in WAL mode, opened with two connections.
 *
 * - The write connection does every write, serialized by an async lock, so a FHIR transaction
 *   that awaits between its steps never interleaves with another request's writes.
 * - The read connection serves reads outside transactions. WAL gives it a consistent snapshot of
 *   committed data only, so readers never see a transaction half-done.
 *
 * Durability: WAL with synchronous=NORMAL survives a process crash (kill -9) with every
 * committed transaction; only an operating-system crash or power loss can lose the last commits.
 * SQLITE_SYNCHRONOUS=full (see config) trades write throughput for that case too.
 * Several processes may open the same file (scale-out on one machine): SQLite's file locks and
 * busy_timeout serialize their writes.
 */
import Database, { type Statement } from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors.js';
import { AsyncLock } from '../async-lock.js';

export type Connection = Database.Database;

/** Prepares SQL on one connection, reusing a statement already prepared for the same text. */
export type Prepare = (sql: string) => Statement;

/**
 * `db`'s prepared statements, keyed by SQL text: at most `max` of them, least recently used
 * dropped first, so generated SQL cannot grow them forever.
 */
export function preparedStatements(db: Connection, max: number): Prepare {
  const statements = new LRUCache<string, Statement>({ max, memoMethod: (sql) => db.prepare(sql) });
  return (sql) => statements.memo(sql);
}

export interface SqliteOptions {
  /** Folder for bedside.db; ':memory:' is not supported (two connections must share a file). */
  dataDir: string;
  synchronous?: 'normal' | 'full';
  /** Page cache of the write connection in MB (SQLITE_CACHE_MB). */
  writerCacheMb?: number;
}

interface QueuedWrite {
  op: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class SqliteDatabase {
  readonly writer: Connection;
  readonly reader: Connection;
  readonly writeLock = new AsyncLock();
  readonly file: string;
  #inTransaction = false;
  readonly #rollbackListeners: Array<() => void> = [];
  #queue: QueuedWrite[] = [];
  #flushScheduled = false;

  constructor(options: SqliteOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.file = path.join(options.dataDir, 'bedside.db');
    this.writer = openConnection(this.file, options.synchronous ?? 'normal', options.writerCacheMb ?? 256);
    this.reader = openConnection(this.file, options.synchronous ?? 'normal', 64);
  }

  /**
   * Runs `work` inside BEGIN IMMEDIATE ... COMMIT on the write connection, holding the write lock.
   * `work` may await; nothing else writes until it settles. On error the transaction rolls back.
   */
  async writeTransaction<T>(work: () => Promise<T> | T): Promise<T> {
    return this.writeLock.run(async () => {
      this.writer.exec('BEGIN IMMEDIATE');
      this.#inTransaction = true;
      try {
        const result = await work();
        this.writer.exec('COMMIT');
        return result;
      } catch (error) {
        this.#rollback();
        throw error;
      } finally {
        this.#inTransaction = false;
      }
    });
  }

  /**
   * Group commit for single-operation writes: operations queued in the same turn of the event
   * loop share one SQLite transaction (one WAL commit). An operation throws its expected
   * errors (a StorageError: conflict, precondition failed) before it changes anything, so a failing operation does
   * not undo the others; anything else rolls the batch back and re-runs each operation alone.
   * Every caller is answered only after the COMMIT, so an acknowledged write is as durable as
   * with a commit of its own.
   */
  write<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    await this.writeLock.run(() => {
      this.#flushScheduled = false;
      const batch = this.#queue;
      this.#queue = [];
      if (batch.length === 0) return;
      // Fast path: the whole batch in one transaction without savepoints. A write operation
      // throws its expected errors (StorageError, storage/errors.ts) before it changes anything, so such
      // an error leaves the batch clean. Any other error may have left half a write: the batch
      // is rolled back and every operation re-run alone, in a transaction of its own.
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      let clean = true;
      try {
        this.writer.exec('BEGIN IMMEDIATE');
        for (const item of batch) {
          try {
            outcomes.push({ ok: true, value: item.op() });
          } catch (error) {
            if (!(error instanceof StorageError)) {
              clean = false;
              break;
            }
            outcomes.push({ ok: false, error });
          }
        }
        if (clean) this.writer.exec('COMMIT');
        else this.#rollback();
      } catch (error) {
        if (this.writer.inTransaction) this.#rollback();
        for (const item of batch) item.reject(error);
        return;
      }
      if (!clean) {
        for (const item of batch) {
          try {
            this.writer.exec('BEGIN IMMEDIATE');
            const value = item.op();
            this.writer.exec('COMMIT');
            item.resolve(value);
          } catch (error) {
            if (this.writer.inTransaction) this.#rollback();
            item.reject(error);
          }
        }
        return;
      }
      batch.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
    });
  }

  /** Rolls back the open transaction; still under the write lock, so no other write sees caches of rolled-back rows. */
  #rollback(): void {
    if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
    for (const listener of this.#rollbackListeners) listener();
  }

  /** Calls `listener` after every writeTransaction rollback (to drop caches of uncommitted rows). */
  onRollback(listener: () => void): void {
    this.#rollbackListeners.push(listener);
  }

  /** True while a writeTransaction is open (its reads must use the write connection). */
  get inWriteTransaction(): boolean {
    return this.#inTransaction;
  }

  close(): void {
    try {
      this.writer.pragma('optimize');
    } catch {
      // optimize is advisory; a busy database must not block shutdown
    }
    this.reader.close();
    this.writer.close();
  }
}

function openConnection(file: string, synchronous: 'normal' | 'full', cacheMb: number): Connection {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = OFF');
  // A page cache (filled only as pages are used) and memory-mapped reads: most of a small-to-medium
  // data set stays in memory. The writer's cache keeps the index b-trees hot during bulk loads.
  db.pragma(`cache_size = -${cacheMb * 1024}`);
  db.pragma('mmap_size = 268435456');
  db.pragma('temp_store = MEMORY');
  // Checkpoint less often (about 40 MB of WAL): each checkpoint syncs the database file, and
  // fewer, larger ones cost much less than many small ones during bulk writes.
  db.pragma('wal_autocheckpoint = 10000');
  return db;
}
