/**
 * Small integer keys for (resource type, search parameter code), cached in memory.
 * Keys are only ever added, so a cached key stays valid; a miss re-reads the table because
 * another process sharing the database file may have added it.
 */
import type { Statement } from 'better-sqlite3';
import type { Connection } from './database.js';

/** The lookup statement per connection: a miss is not cached, so it may run on every search. */
const lookups = new WeakMap<Connection, Statement>();

function lookup(db: Connection): Statement {
  let statement = lookups.get(db);
  if (!statement) lookups.set(db, (statement = db.prepare('SELECT pk FROM params WHERE type = ? AND code = ?')));
  return statement;
}

export class ParamKeys {
  #byName = new Map<string, number>();

  constructor(private readonly reader: Connection) {}

  /** The key, or undefined when no resource of `type` ever had a row for `code`. */
  find(type: string, code: string, db: Connection = this.reader): number | undefined {
    const name = `${type}.${code}`;
    const cached = this.#byName.get(name);
    if (cached !== undefined) return cached;
    const row = lookup(db).get(type, code) as { pk: number } | undefined;
    if (row) {
      this.#byName.set(name, row.pk);
    }
    return row?.pk;
  }

  /** The key, created if needed. Call on the write connection inside a write. */
  ensure(type: string, code: string, writer: Connection): number {
    const found = this.find(type, code, writer);
    if (found !== undefined) return found;
    writer.prepare('INSERT OR IGNORE INTO params (type, code) VALUES (?, ?)').run(type, code);
    return this.find(type, code, writer)!;
  }

  /**
   * Drops every cached key. Called when a write transaction rolls back: keys it created were
   * cached but no longer exist, and SQLite may hand their numbers to other parameters.
   */
  forget(): void {
    this.#byName.clear();
  }

  /** Keys of `code` for each of `types`, or for every type when `types` is undefined. */
  keysFor(types: readonly string[] | undefined, code: string, db: Connection = this.reader): number[] {
    if (types) {
      const keys: number[] = [];
      for (const type of types) {
        const pk = this.find(type, code, db);
        if (pk !== undefined) keys.push(pk);
      }
      return keys;
    }
    // System-level: not cached, since a new type may gain the parameter at any time.
    const rows = db.prepare('SELECT pk FROM params WHERE code = ?').all(code) as Array<{ pk: number }>;
    return rows.map((r) => r.pk);
  }
}
