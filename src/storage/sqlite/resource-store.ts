/**
 * The embedded ResourceStore on SQLite (see database.ts for connections, locking and
 * durability, schema.ts for the tables).
 */
import { decodeCursor as decodeStoreCursor, encodeCursor as encodeStoreCursor } from '../cursor.js';
import { checkDelete, checkPut, nextVersion } from '../write-rules.js';
import { CommitListeners } from '../commit-listeners.js';
import { StorageError } from '../errors.js';
import type {
  ChangePage,
  ChangesRequest,
  DeleteRequest,
  HistoryPage,
  HistoryRequest,
  IntegrityOptions,
  IntegrityReport,
  PutRequest,
  PutResult,
  ReindexRequest,
  ResourceOperations,
  ResourceStore,
  ResourceTransaction,
  SearchPage,
  SearchRequest,
  StoredVersion,
} from '../resource-store.js';
import { INDEX_TABLES } from '../index-schema.js';
import type { Condition, IndexEntry, IndexTable } from '../search-index.js';
import { LazyVersion, stampMeta, toInstant } from '../stored-version.js';
import { preparedStatements, type Connection, type Prepare, type SqliteDatabase } from './database.js';
import { ParamKeys } from './param-keys.js';
import { ConditionCompiler, keysetCondition, type Sql } from './query-compiler.js';
import { columnValues, INDEX_COLUMNS, migrate } from './schema.js';
import { verifySqliteIntegrity } from './integrity.js';
import { registerGeoFunctions } from './geo-sql.js';

interface ResourceRow {
  rid: number;
  type: string;
  id: string;
  version: number;
  vid: number;
  last_updated: number;
  deleted: number;
}

interface VersionRow {
  vid: number;
  rid: number;
  type: string;
  id: string;
  version: number;
  last_updated: number;
  method: string;
  json: string | null;
}

/** Rows per multi-row INSERT (SQLite binds at most 32766 parameters; composite rows have 18). */
const INSERT_CHUNK = 64;
const insertSqlCache = new Map<string, string>();

function insertSql(table: IndexTable, rows: number): string {
  const key = `${table}:${rows}`;
  let sql = insertSqlCache.get(key);
  if (!sql) {
    const columns = ['rid', 'pk', 'n', ...INDEX_COLUMNS[table]];
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    sql = `INSERT OR IGNORE INTO idx_${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}`;
    insertSqlCache.set(key, sql);
  }
  return sql;
}
const BULK_BATCH = 500;

/** Prepared statements kept per connection. */
const STATEMENTS = 1000;

export class SqliteResourceStore implements ResourceStore {
  readonly #keys: ParamKeys;
  readonly #readOps: SqliteOperations;
  readonly #writeOps: SqliteOperations;
  readonly #commits = new CommitListeners();

  constructor(private readonly database: SqliteDatabase) {
    migrate(database.writer);
    registerGeoFunctions(database.reader);
    registerGeoFunctions(database.writer);
    this.#keys = new ParamKeys(database.reader);
    database.onRollback(() => this.#keys.forget());
    this.#readOps = new SqliteOperations(database.reader, preparedStatements(database.reader, STATEMENTS), this.#keys, database);
    this.#writeOps = new SqliteOperations(database.writer, preparedStatements(database.writer, STATEMENTS), this.#keys, database);
  }

  // Reads outside transactions use the read connection: committed data only.
  // `async` so that errors (e.g. a bad cursor) reject the promise instead of throwing synchronously.
  async read(type: string, id: string) {
    return this.#readOps.readSync(type, id);
  }
  async readMany(refs: Array<{ resourceType: string; id: string }>) {
    return this.#readOps.readManySync(refs);
  }
  async vread(type: string, id: string, versionId: string) {
    return this.#readOps.vreadSync(type, id, versionId);
  }
  async search(request: SearchRequest) {
    return this.#readOps.searchSync(request);
  }
  async history(request: HistoryRequest) {
    return this.#readOps.historySync(request);
  }

  put(request: PutRequest): Promise<PutResult> {
    return this.#commits.after(this.database.write(() => this.#writeOps.putSync(request)));
  }
  delete(request: DeleteRequest): Promise<StoredVersion | undefined> {
    return this.#commits.after(this.database.write(() => this.#writeOps.deleteSync(request)));
  }

  transaction<T>(work: (tx: ResourceTransaction) => Promise<T>): Promise<T> {
    return this.#commits.after(this.database.writeTransaction(() => work(this.#writeOps)));
  }

  /**
   * The change feed in `vid` order. Every write (of any process on the file) holds SQLite's
   * write lock from its first insert to its commit, so `vid`s are assigned in commit order and a
   * reader never sees a later `vid` before an earlier one. The cursor is the last `vid` read.
   */
  async changes(request: ChangesRequest): Promise<ChangePage> {
    return this.#readOps.changesSync(request.after === undefined ? undefined : parseVid(request.after), request.limit);
  }

  onCommit(listener: () => void): () => void {
    return this.#commits.add(listener);
  }

  async bulkPut(requests: PutRequest[]): Promise<PutResult[]> {
    const results: PutResult[] = [];
    for (let start = 0; start < requests.length; start += BULK_BATCH) {
      const batch = requests.slice(start, start + BULK_BATCH);
      const done = await this.#commits.after(this.database.writeTransaction(() => batch.map((r) => this.#writeOps.putSync(r))));
      results.push(...done);
    }
    return results;
  }

  async indexVersion(): Promise<number> {
    const row = this.database.reader.prepare("SELECT value FROM store_state WHERE name = 'index-version'").get() as { value: number } | undefined;
    return row?.value ?? 0;
  }

  async setIndexVersion(version: number): Promise<void> {
    await this.database.write(() => this.database.writer.prepare("INSERT OR REPLACE INTO store_state (name, value) VALUES ('index-version', ?)").run(version));
  }

  async countByType(): Promise<Record<string, number>> {
    const rows = this.database.reader.prepare('SELECT type, count(*) AS n FROM resources WHERE deleted = 0 GROUP BY type ORDER BY type').all() as Array<{
      type: string;
      n: number;
    }>;
    return Object.fromEntries(rows.map((r) => [r.type, r.n]));
  }

  async *scan(request: { resourceType: string; where?: Condition; since?: number; batchSize?: number }): AsyncIterable<StoredVersion> {
    let after = 0;
    const batchSize = request.batchSize ?? 1000;
    for (;;) {
      const batch = this.#readOps.scanBatchSync(request.resourceType, request.where, request.since, after, batchSize);
      for (const version of batch.versions) yield version;
      if (batch.versions.length < batchSize) return;
      after = batch.lastRid;
    }
  }

  async reindex(request: ReindexRequest): Promise<number> {
    const batchSize = request.batchSize ?? 500;
    let after = 0;
    let done = 0;
    for (;;) {
      const batch = this.#readOps.scanBatchSync(request.resourceType, undefined, undefined, after, batchSize);
      const rows = batch.versions.map((v) => ({ version: v, index: request.index(v.resource!) }));
      done += await this.database.writeTransaction(() => rows.reduce((n, r) => n + (this.#writeOps.reindexSync(r.version, r.index) ? 1 : 0), 0));
      if (batch.versions.length < batchSize) return done;
      after = batch.lastRid;
    }
  }

  async verifyIntegrity(options: IntegrityOptions): Promise<IntegrityReport> {
    return verifySqliteIntegrity(this.database.reader, options);
  }

  async close(): Promise<void> {
    this.database.close();
  }
}

/** The store's operations on one connection (the reader, or the writer for writes and transactions). */
class SqliteOperations implements ResourceOperations {
  constructor(
    private readonly db: Connection,
    private readonly prepare: Prepare,
    private readonly keys: ParamKeys,
    private readonly database: SqliteDatabase,
  ) {}

  async read(type: string, id: string) {
    return this.readSync(type, id);
  }
  async readMany(refs: Array<{ resourceType: string; id: string }>) {
    return this.readManySync(refs);
  }
  async vread(type: string, id: string, versionId: string) {
    return this.vreadSync(type, id, versionId);
  }
  async search(request: SearchRequest) {
    return this.searchSync(request);
  }
  async history(request: HistoryRequest) {
    return this.historySync(request);
  }
  async put(request: PutRequest) {
    return this.putSync(request);
  }
  async delete(request: DeleteRequest) {
    return this.deleteSync(request);
  }

  readSync(type: string, id: string): StoredVersion | undefined {
    const row = this.prepare(
      'SELECT v.vid, v.rid, v.type, v.id, v.version, v.last_updated, v.method, v.json ' +
        'FROM resources r JOIN versions v ON v.vid = r.vid WHERE r.type = ? AND r.id = ?',
    ).get(type, id) as VersionRow | undefined;
    return row && toVersion(row);
  }

  readManySync(refs: Array<{ resourceType: string; id: string }>): StoredVersion[] {
    if (refs.length === 0) return [];
    const rows = this.prepare(
      'SELECT v.vid, v.rid, v.type, v.id, v.version, v.last_updated, v.method, v.json ' +
        "FROM json_each(?) j JOIN resources r ON r.type = json_extract(j.value, '$[0]') AND r.id = json_extract(j.value, '$[1]') " +
        'JOIN versions v ON v.vid = r.vid WHERE r.deleted = 0',
    ).all(JSON.stringify(refs.map((r) => [r.resourceType, r.id]))) as VersionRow[];
    return rows.map(toVersion);
  }

  vreadSync(type: string, id: string, versionId: string): StoredVersion | undefined {
    if (!/^\d{1,15}$/.test(versionId)) return undefined;
    const row = this.prepare(
      'SELECT v.vid, v.rid, v.type, v.id, v.version, v.last_updated, v.method, v.json ' +
        'FROM resources r JOIN versions v ON v.rid = r.rid AND v.version = ? WHERE r.type = ? AND r.id = ?',
    ).get(Number(versionId), type, id) as VersionRow | undefined;
    return row && toVersion(row);
  }

  putSync(request: PutRequest): PutResult {
    this.#assertWriter();
    const current = this.prepare('SELECT rid, type, id, version, vid, last_updated, deleted FROM resources WHERE type = ? AND id = ?').get(
      request.resourceType,
      request.id,
    ) as ResourceRow | undefined;
    const known = current && { version: current.version, deleted: current.deleted === 1, lastUpdated: current.last_updated };
    checkPut(known, request);
    const { version, lastUpdated: now } = nextVersion(known);
    const stamped = stampMeta(request.resource, String(version), toInstant(now));
    const json = JSON.stringify(stamped);

    let rid: number;
    if (current) {
      rid = current.rid;
      const vid = this.#insertVersion(rid, request.resourceType, request.id, version, now, request.method, json);
      this.prepare('UPDATE resources SET version = ?, vid = ?, last_updated = ?, deleted = 0 WHERE rid = ?').run(version, vid, now, rid);
      this.#deleteIndex(rid);
    } else {
      rid = Number(
        this.prepare('INSERT INTO resources (type, id, version, vid, last_updated, deleted) VALUES (?, ?, ?, 0, ?, 0)').run(
          request.resourceType,
          request.id,
          version,
          now,
        ).lastInsertRowid,
      );
      const vid = this.#insertVersion(rid, request.resourceType, request.id, version, now, request.method, json);
      this.prepare('UPDATE resources SET vid = ? WHERE rid = ?').run(vid, rid);
    }
    this.#insertIndex(rid, request.resourceType, request.index);
    const stored = new LazyVersion(request.resourceType, request.id, String(version), toInstant(now), false, request.method, { json, resource: stamped });
    return { version: stored, created: !current || current.deleted === 1 };
  }

  /** New index rows for `version` if it is still the current, live version; false otherwise. */
  reindexSync(version: StoredVersion, index: IndexEntry[]): boolean {
    this.#assertWriter();
    const current = this.prepare('SELECT rid, version, deleted FROM resources WHERE type = ? AND id = ?').get(version.resourceType, version.id) as
      | Pick<ResourceRow, 'rid' | 'version' | 'deleted'>
      | undefined;
    if (!current || current.deleted || String(current.version) !== version.versionId) return false;
    this.#deleteIndex(current.rid);
    this.#insertIndex(current.rid, version.resourceType, index);
    return true;
  }

  deleteSync(request: DeleteRequest): StoredVersion | undefined {
    this.#assertWriter();
    const current = this.prepare('SELECT rid, type, id, version, vid, last_updated, deleted FROM resources WHERE type = ? AND id = ?').get(
      request.resourceType,
      request.id,
    ) as ResourceRow | undefined;
    const known = current && { version: current.version, deleted: current.deleted === 1, lastUpdated: current.last_updated };
    checkDelete(known, request);
    if (!current || current.deleted) return undefined;
    const { version, lastUpdated: now } = nextVersion(known);
    const vid = this.#insertVersion(current.rid, request.resourceType, request.id, version, now, 'DELETE', null);
    this.prepare('UPDATE resources SET version = ?, vid = ?, last_updated = ?, deleted = 1 WHERE rid = ?').run(version, vid, now, current.rid);
    this.#deleteIndex(current.rid);
    return new LazyVersion(request.resourceType, request.id, String(version), toInstant(now), true, 'DELETE', {});
  }

  searchSync(request: SearchRequest): SearchPage {
    if (request.types && request.types.length === 0) return { resources: [], ...(request.total && request.total !== 'none' ? { total: 0 } : {}) };
    const compiler = new ConditionCompiler(this.keys, this.db);
    const plan = compiler.plan(request.where, request.types);
    const driven = plan.driver.kind !== 'scan';
    // With a driver the type is checked per candidate (`+r.type`): the type index must not take over.
    const filters: Sql[] = [{ text: 'r.deleted = 0', params: [] }];
    if (request.types) filters.push(inListSql(`${driven ? '+' : ''}r.type`, request.types));
    if (plan.filter.text !== '1') filters.push(plan.filter);
    const candidates: Sql | undefined =
      plan.driver.kind === 'set'
        ? plan.driver.rids
        : plan.driver.kind === 'stream'
          ? { text: `SELECT d.rid FROM idx_${plan.driver.table} d WHERE ${plan.driver.where.text}`, params: plan.driver.where.params }
          : undefined;
    const candidateFilter: Sql[] = candidates ? [{ text: `r.rid IN (${candidates.text})`, params: candidates.params }] : [];

    let total: number | undefined;
    if (request.total === 'accurate' || request.total === 'estimate' || request.limit === 0) {
      const count = join([...candidateFilter, ...filters], ' AND ');
      total = (this.prepare(`SELECT count(*) AS n FROM resources r WHERE ${count.text}`).get(...count.params) as { n: number }).n;
    }
    if (request.limit === 0) return { resources: [], total: total ?? 0 };

    const sortExpressions = compiler.sortExpressions(request.sort, 'r', request.types);
    const cursor = request.cursor ? decodeCursor(request.cursor, sortExpressions.length) : undefined;
    const backwards = cursor?.direction === 'before';

    let pageRows: Array<Record<string, number | string>>;
    let more: boolean;
    if (sortExpressions.length === 0 && plan.driver.kind === 'stream' && plan.driver.ordered) {
      // Stream candidates from the index in rid order and stop after limit + 1 distinct ones.
      const where = join([plan.driver.where, ...filters, ...(cursor ? [{ text: `d.rid ${backwards ? '<' : '>'} ?`, params: [cursor.rid] }] : [])], ' AND ');
      const sql = `SELECT d.rid AS rid, r.vid AS vid FROM idx_${plan.driver.table} d JOIN resources r ON r.rid = d.rid WHERE ${where.text} ORDER BY d.rid ${backwards ? 'DESC' : 'ASC'}`;
      const rows: Array<Record<string, number | string>> = [];
      let previous: number | undefined;
      for (const row of this.prepare(sql).iterate(...where.params) as Iterable<Record<string, number>>) {
        if (row.rid === previous) continue;
        previous = row.rid;
        rows.push(row);
        if (rows.length > request.limit) break;
      }
      more = rows.length > request.limit;
      pageRows = rows.slice(0, request.limit);
    } else {
      const pageFilters = [...candidateFilter, ...filters];
      if (cursor) pageFilters.push(keysetCondition(sortExpressions, 'r.rid', cursor.values, cursor.rid, cursor.direction));
      const select = sortExpressions.map((e, i) => ({ text: `${e.sql.text} AS s${i}`, params: e.sql.params }));
      const order = [...sortExpressions.map((e, i) => `s${i} ${e.descending !== backwards ? 'DESC' : 'ASC'}`), `r.rid ${backwards ? 'DESC' : 'ASC'}`];
      const whereSql = join(pageFilters, ' AND ');
      const selectSql = join(select, ', ');
      const sql =
        `SELECT r.rid, r.vid${select.length ? `, ${selectSql.text}` : ''} FROM resources r WHERE ${whereSql.text} ` + `ORDER BY ${order.join(', ')} LIMIT ?`;
      const rows = this.prepare(sql).all(...selectSql.params, ...whereSql.params, request.limit + 1) as Array<Record<string, number | string>>;
      more = rows.length > request.limit;
      pageRows = rows.slice(0, request.limit);
    }
    if (backwards) pageRows.reverse();
    const versions = this.#versionsByVid(pageRows.map((r) => Number(r.vid)));
    const keyOf = (row: Record<string, number | string>) => ({ values: sortExpressions.map((_, i) => row[`s${i}`] as string | number), rid: Number(row.rid) });

    const page: SearchPage = { resources: versions };
    if (total !== undefined) page.total = total;
    if (pageRows.length > 0) {
      const first = keyOf(pageRows[0]!);
      const last = keyOf(pageRows[pageRows.length - 1]!);
      // Going forwards there is a next page when we saw one more row; going backwards, always (we came from it).
      if (backwards ? true : more) page.next = encodeCursor({ direction: 'after', ...last });
      if (cursor && (backwards ? more : true)) page.previous = encodeCursor({ direction: 'before', ...first });
    }
    return page;
  }

  historySync(request: HistoryRequest): HistoryPage {
    const filters: Sql[] = [];
    if (request.resourceType && request.id) {
      const rid = this.prepare('SELECT rid FROM resources WHERE type = ? AND id = ?').get(request.resourceType, request.id) as { rid: number } | undefined;
      if (!rid) return { versions: [], total: 0 };
      filters.push({ text: 'rid = ?', params: [rid.rid] });
    } else if (request.resourceType) {
      filters.push({ text: 'type = ?', params: [request.resourceType] });
    }
    if (request.since !== undefined) filters.push({ text: 'last_updated >= ?', params: [request.since] });
    if (request.before !== undefined) filters.push({ text: 'last_updated <= ?', params: [request.before] });
    const base = filters.length ? join(filters, ' AND ') : { text: '1', params: [] };
    const total = (this.prepare(`SELECT count(*) AS n FROM versions WHERE ${base.text}`).get(...base.params) as { n: number }).n;

    const pageFilters = [...filters];
    if (request.cursor) {
      const c = decodeCursor(request.cursor, 1);
      pageFilters.push({ text: '(last_updated < ? OR (last_updated = ? AND vid < ?))', params: [c.values[0]!, c.values[0]!, c.rid] });
    }
    const where = pageFilters.length ? join(pageFilters, ' AND ') : { text: '1', params: [] };
    const rows = this.prepare(
      `SELECT vid, rid, type, id, version, last_updated, method, json FROM versions WHERE ${where.text} ORDER BY last_updated DESC, vid DESC LIMIT ?`,
    ).all(...where.params, request.limit + 1) as VersionRow[];
    const more = rows.length > request.limit;
    const pageRows = rows.slice(0, request.limit);
    const page: HistoryPage = { versions: pageRows.map(toVersion), total };
    const last = pageRows[pageRows.length - 1];
    if (more && last) page.next = encodeCursor({ direction: 'after', values: [last.last_updated], rid: last.vid });
    return page;
  }

  changesSync(afterVid: number | undefined, limit: number): ChangePage {
    const after = afterVid ?? (this.prepare('SELECT max(vid) AS vid FROM versions').get() as { vid: number | null }).vid ?? 0;
    const rows = this.prepare('SELECT vid, rid, type, id, version, last_updated, method, json FROM versions WHERE vid > ? ORDER BY vid LIMIT ?').all(
      after,
      limit,
    ) as VersionRow[];
    return { versions: rows.map(toVersion), cursor: String(rows.length ? rows[rows.length - 1]!.vid : after) };
  }

  scanBatchSync(type: string, condition: Condition | undefined, since: number | undefined, afterRid: number, limit: number) {
    const filters: Sql[] = [{ text: 'r.type = ? AND r.deleted = 0 AND r.rid > ?', params: [type, afterRid] }];
    if (since !== undefined) filters.push({ text: 'r.last_updated >= ?', params: [since] });
    if (condition) filters.push(new ConditionCompiler(this.keys, this.db).compile(condition, 'r', [type]));
    // (A scan walks the type in rid order; conditions are checked per row.)
    const where = join(filters, ' AND ');
    const rows = this.prepare(`SELECT r.rid, r.vid FROM resources r WHERE ${where.text} ORDER BY r.rid LIMIT ?`).all(...where.params, limit) as Array<{
      rid: number;
      vid: number;
    }>;
    return { versions: this.#versionsByVid(rows.map((r) => r.vid)), lastRid: rows.length ? rows[rows.length - 1]!.rid : afterRid };
  }

  #versionsByVid(vids: number[]): StoredVersion[] {
    if (vids.length === 0) return [];
    const rows = this.prepare(
      'SELECT v.vid, v.rid, v.type, v.id, v.version, v.last_updated, v.method, v.json FROM json_each(?) j JOIN versions v ON v.vid = j.value',
    ).all(JSON.stringify(vids)) as VersionRow[];
    const byVid = new Map(rows.map((r) => [r.vid, r]));
    return vids
      .map((vid) => byVid.get(vid))
      .filter((r): r is VersionRow => r !== undefined)
      .map(toVersion);
  }

  #insertVersion(rid: number, type: string, id: string, version: number, now: number, method: string, json: string | null): number {
    return Number(
      this.prepare('INSERT INTO versions (rid, type, id, version, last_updated, method, json) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        rid,
        type,
        id,
        version,
        now,
        method,
        json,
      ).lastInsertRowid,
    );
  }

  #deleteIndex(rid: number): void {
    for (const table of INDEX_TABLES) this.prepare(`DELETE FROM idx_${table} WHERE rid = ?`).run(rid);
  }

  #insertIndex(rid: number, type: string, entries: IndexEntry[]): void {
    if (entries.length === 0) return;
    // Rows grouped by table and written with multi-row INSERTs: one statement call per table
    // instead of one per row (most of the cost of a write is per call, not per row).
    const byTable = new Map<IndexTable, Array<string | number | null>[]>();
    const counters = new Map<number, number>();
    for (const entry of entries) {
      const pk = this.keys.ensure(type, entry.param, this.db);
      const n = (counters.get(pk) ?? 0) + 1;
      counters.set(pk, n);
      let rows = byTable.get(entry.table);
      if (!rows) byTable.set(entry.table, (rows = []));
      rows.push([rid, pk, n, ...columnValues(entry)]);
    }
    for (const [table, rows] of byTable) {
      for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
        const chunk = rows.slice(start, start + INSERT_CHUNK);
        this.prepare(insertSql(table, chunk.length)).run(...chunk.flat());
      }
    }
  }

  #assertWriter(): void {
    if (this.db !== this.database.writer) throw new Error('write attempted on the read connection');
  }
}

function toVersion(row: VersionRow): StoredVersion {
  return new LazyVersion(row.type, row.id, String(row.version), toInstant(row.last_updated), row.json === null, row.method as StoredVersion['method'], {
    json: row.json ?? undefined,
  });
}

function inListSql(column: string, values: readonly string[]): Sql {
  return values.length === 1
    ? { text: `${column} = ?`, params: [values[0]!] }
    : { text: `${column} IN (${values.map(() => '?').join(', ')})`, params: [...values] };
}

function join(parts: Sql[], separator: string): Sql {
  return { text: parts.map((p) => p.text).join(separator), params: parts.flatMap((p) => p.params) };
}

/** A change feed cursor: the last `vid` read. */
function parseVid(cursor: string): number {
  if (!/^\d{1,15}$/.test(cursor)) throw new StorageError('invalid-cursor', 'This change feed cursor was not made by the embedded store');
  return Number(cursor);
}

/** A cursor position here: the sort values and the row id (SQLite's rid, or vid for history). */
interface Cursor {
  direction: 'after' | 'before';
  values: Array<string | number>;
  rid: number;
}

const isRowId = (key: unknown): key is number => Number.isSafeInteger(key);

function encodeCursor(cursor: Cursor): string {
  return encodeStoreCursor({ direction: cursor.direction, values: cursor.values, key: cursor.rid });
}

function decodeCursor(text: string, keys: number): Cursor {
  const { direction, values, key } = decodeStoreCursor(text, keys, isRowId);
  return { direction, values, rid: key };
}
