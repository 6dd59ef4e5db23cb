/**
 * The ResourceStore on MongoDB (layout in documents.ts, queries in filter-compiler.ts and
 * paging.ts, guarantees in transactions.ts).
 *
 * Every write is a compare-and-set: an update replaces the current document only if its
 * versionId is still the one read, so If-Match and version numbering are decided atomically
 * per resource even without transactions. Creates rely on the unique (resourceType, id) index
 * where the server enforces it; where it does not (CongoDB), a create inserts an invisible
 * placeholder, checks that no other document has the key, and only then fills it in (see
 * `createGuarded`): of two racing creators at most one wins, and a loser retries as an update.
 */
import {
  MongoBulkWriteError,
  ObjectId,
  type AnyBulkWriteOperation,
  type BulkWriteResult,
  type Collection,
  type Db,
  type Document,
  type Filter,
  type MongoClient,
  type TransactionOptions,
} from 'mongodb';
import { StorageError } from '../errors.js';
import { busy, checkDelete, checkPut, nextVersion, type CurrentVersion } from '../write-rules.js';
import { CommitListeners } from '../commit-listeners.js';
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
import type { Condition } from '../search-index.js';
import { LazyVersion, stampMeta, toInstant } from '../stored-version.js';
import { indexFields, ROW_ARRAY_FIELDS, toVersion, VERSION_PROJECTION, type HistoryDoc, type ResourceDoc } from './documents.js';
import { MongoChangeFeed } from './change-feed.js';
import { verifyMongoIntegrity } from './integrity.js';
import { and, FilterCompiler, MATCH_ALL } from './filter-compiler.js';
import { COLLECTIONS } from './indexes.js';
import { decodeCursor, encodeCursor, keysetFilter, positionOf, sortColumns, sortSpec } from './paging.js';
import { AsyncLock } from '../async-lock.js';
import { isDuplicateKey, retryTransaction, UndoJournal, type Capabilities, type WriteContext } from './transactions.js';

export interface MongoResourceStoreOptions {
  /** Most resources a chain or _has may match (default 10,000); beyond it a search is refused as too costly. */
  maxIntermediateMatches?: number;
  /** Resources per bulkPut batch (default 500). */
  bulkBatchSize?: number;
  /** The polling change feed's lag window in ms (change-feed.ts; default 2000). */
  changeLagMs?: number;
  /** Runs on close(); open.ts closes the shared MongoClient here. */
  onClose?: () => Promise<void>;
}

/** Server transactions read one snapshot and commit to a majority, so a commit survives fail-over. */
const TRANSACTION_OPTIONS: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
};

/** The fields of a resource document that hold index rows and sort values (documents.ts). */
const INDEX_DOC_FIELDS = [...ROW_ARRAY_FIELDS, 'sort'] as const;

/** Facts about the store itself (`store_state`): the index version. */
interface StateDoc {
  name: string;
  value: number;
}
const INDEX_VERSION_STATE = 'index-version';

/** Compare-and-set retries before a write gives up with 409. */
const MAX_ATTEMPTS = 12;
/** A create placeholder older than this is treated as left behind by a crashed writer. */
const STALE_PLACEHOLDER_MS = 60_000;

/**
 * The ResourceStore port on MongoDB (src/storage/resource-store.ts). Build it with
 * openMongoStorage (open.ts), which creates the indexes and probes the capabilities first.
 */
export class MongoResourceStore implements ResourceStore {
  readonly #db: Db;
  readonly #lock = new AsyncLock();
  readonly #reads: MongoOperations;
  readonly #options: Required<Omit<MongoResourceStoreOptions, 'onClose' | 'changeLagMs'>> & Pick<MongoResourceStoreOptions, 'onClose'>;
  readonly #feed: MongoChangeFeed;
  readonly #commits = new CommitListeners();

  constructor(
    private readonly client: MongoClient,
    db: Db,
    /** What the server guarantees (transactions.ts: detectCapabilities). */
    readonly capabilities: Capabilities,
    options: MongoResourceStoreOptions = {},
  ) {
    this.#db = db;
    const { changeLagMs, ...rest } = options;
    this.#options = { maxIntermediateMatches: 10_000, bulkBatchSize: 500, ...rest };
    this.#reads = this.#operations({});
    this.#feed = new MongoChangeFeed(db.collection<HistoryDoc>(COLLECTIONS.history), {
      changeStreams: capabilities.transactions,
      ...(changeLagMs === undefined ? {} : { lagMs: changeLagMs }),
    });
  }

  read(type: string, id: string) {
    return this.#reads.read(type, id);
  }
  readMany(refs: Array<{ resourceType: string; id: string }>) {
    return this.#reads.readMany(refs);
  }
  vread(type: string, id: string, versionId: string) {
    return this.#reads.vread(type, id, versionId);
  }
  search(request: SearchRequest) {
    return this.#reads.search(request);
  }
  history(request: HistoryRequest) {
    return this.#reads.history(request);
  }

  put(request: PutRequest): Promise<PutResult> {
    return this.#commits.after(this.#unit((ops) => ops.put(request)));
  }
  delete(request: DeleteRequest): Promise<StoredVersion | undefined> {
    return this.#commits.after(this.#unit((ops) => ops.delete(request)));
  }

  /** The change feed: a change stream on a replica set, polling behind a lag window elsewhere (change-feed.ts). */
  changes(request: ChangesRequest): Promise<ChangePage> {
    return this.#feed.changes(request);
  }

  onCommit(listener: () => void): () => void {
    return this.#commits.add(listener);
  }

  /**
   * With server transactions: one MongoDB transaction (snapshot reads, majority commit).
   * `work` may run more than once, since the driver retries transient write conflicts.
   * Without: compensating mode (transactions.ts), with the guarantees and gaps listed there.
   */
  transaction<T>(work: (tx: ResourceTransaction) => Promise<T>): Promise<T> {
    return this.#commits.after(this.#unit(work));
  }

  async bulkPut(requests: PutRequest[]): Promise<PutResult[]> {
    const results: PutResult[] = [];
    for (let start = 0; start < requests.length; start += this.#options.bulkBatchSize) {
      const batch = requests.slice(start, start + this.#options.bulkBatchSize);
      results.push(...(await this.#commits.after(this.#unit((ops) => ops.putBatch(batch)))));
    }
    return results;
  }

  async reindex(request: ReindexRequest): Promise<number> {
    const batchSize = request.batchSize ?? 500;
    let done = 0;
    let batch: Array<AnyBulkWriteOperation<ResourceDoc>> = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const result = await this.#resources().bulkWrite(batch, { ordered: false });
      done += result.matchedCount;
      batch = [];
    };
    for await (const version of this.scan({ resourceType: request.resourceType, batchSize })) {
      // Compare-and-set on the version read: a resource written meanwhile keeps its own rows.
      const unset = Object.fromEntries(INDEX_DOC_FIELDS.map((f) => [f, '' as const]));
      const fields = indexFields(request.index(version.resource!));
      for (const f of Object.keys(fields)) delete unset[f];
      batch.push({
        updateOne: {
          filter: { resourceType: version.resourceType, id: version.id, versionId: Number(version.versionId), deleted: false },
          update: { $set: fields, ...(Object.keys(unset).length ? { $unset: unset } : {}) },
        },
      });
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    return done;
  }

  async verifyIntegrity(options: IntegrityOptions): Promise<IntegrityReport> {
    return verifyMongoIntegrity(this.#resources(), this.#db.collection<HistoryDoc>(COLLECTIONS.history), options);
  }

  async indexVersion(): Promise<number> {
    const state = await this.#db.collection<StateDoc>(COLLECTIONS.state).findOne({ name: INDEX_VERSION_STATE });
    return typeof state?.value === 'number' ? state.value : 0;
  }

  async setIndexVersion(version: number): Promise<void> {
    await this.#db.collection<StateDoc>(COLLECTIONS.state).updateOne({ name: INDEX_VERSION_STATE }, { $set: { value: version } }, { upsert: true });
  }

  async countByType(): Promise<Record<string, number>> {
    const rows = await this.#resources()
      .aggregate<{ _id: string; n: number }>([{ $match: { deleted: false } }, { $group: { _id: '$resourceType', n: { $sum: 1 } } }, { $sort: { _id: 1 } }])
      .toArray();
    return Object.fromEntries(rows.map((r) => [r._id, r.n]));
  }

  async *scan(request: { resourceType: string; where?: Condition; since?: number; batchSize?: number }): AsyncIterable<StoredVersion> {
    const batchSize = request.batchSize ?? 1000;
    // Chains and _has in `where` are resolved once, when the scan starts.
    const where = request.where ? await this.#reads.compiler().compile(request.where) : MATCH_ALL;
    const base = and([
      { resourceType: request.resourceType, deleted: false },
      request.since !== undefined ? { lastUpdated: { $gte: request.since } } : MATCH_ALL,
      where,
    ]);
    let after: ObjectId | undefined;
    for (;;) {
      const filter = after ? and([base, { _id: { $gt: after } }]) : base;
      const batch = await this.#resources()
        .find(filter, { projection: { _id: 1, ...VERSION_PROJECTION } })
        .sort({ _id: 1 })
        .limit(batchSize)
        .toArray();
      for (const doc of batch) yield toVersion(doc);
      if (batch.length < batchSize) return;
      after = batch[batch.length - 1]!._id;
    }
  }

  async close(): Promise<void> {
    await this.#feed.close();
    await this.#options.onClose?.();
  }

  /** Runs one unit of work atomically as far as the server allows (see transactions.ts). */
  async #unit<T>(work: (ops: MongoOperations) => Promise<T>): Promise<T> {
    if (this.capabilities.transactions) {
      const session = this.client.startSession({ defaultTransactionOptions: TRANSACTION_OPTIONS });
      try {
        return await session.withTransaction(() => work(this.#operations({ session })));
      } finally {
        await session.endSession();
      }
    }
    return this.#lock.run(async () => {
      const journal = new UndoJournal();
      try {
        return await work(this.#operations({ journal }));
      } catch (error) {
        await journal.undo(this.#db, error);
        throw error;
      }
    });
  }

  #operations(context: WriteContext): MongoOperations {
    return new MongoOperations(this.#db, this.capabilities, context, this.#options.maxIntermediateMatches);
  }

  #resources(): Collection<ResourceDoc> {
    return this.#db.collection<ResourceDoc>(COLLECTIONS.resources);
  }
}

/** What a write needs to know about the current document (all of it when journaling). */
const CURRENT_PROJECTION = { _id: 1, versionId: 1, lastUpdated: 1, deleted: 1 } as const;
type Current = Pick<ResourceDoc, '_id' | 'versionId' | 'lastUpdated' | 'deleted'>;

/** The store's operations within one context: plain reads, a server transaction or a journaled unit. */
class MongoOperations implements ResourceOperations {
  readonly #resources: Collection<ResourceDoc>;
  readonly #history: Collection<HistoryDoc>;

  constructor(
    db: Db,
    private readonly capabilities: Capabilities,
    private readonly context: WriteContext,
    private readonly maxIntermediateMatches: number,
  ) {
    this.#resources = db.collection<ResourceDoc>(COLLECTIONS.resources);
    this.#history = db.collection<HistoryDoc>(COLLECTIONS.history);
  }

  get #session() {
    return this.context.session;
  }

  compiler(): FilterCompiler {
    return new FilterCompiler((filter, projection, limit) => this.#resources.find(filter, { session: this.#session, projection }).limit(limit).toArray(), {
      maxIntermediateMatches: this.maxIntermediateMatches,
    });
  }

  async read(type: string, id: string): Promise<StoredVersion | undefined> {
    const doc = await this.#resources.findOne({ resourceType: type, id, versionId: { $gt: 0 } }, { session: this.#session, projection: VERSION_PROJECTION });
    return doc ? toVersion(doc) : undefined;
  }

  async readMany(refs: Array<{ resourceType: string; id: string }>): Promise<StoredVersion[]> {
    if (refs.length === 0) return [];
    const docs = await this.#resources.find(and([{ deleted: false }, byKeys(refs)]), { session: this.#session, projection: VERSION_PROJECTION }).toArray();
    const byKey = new Map(docs.map((d) => [keyOf(d.resourceType, d.id), d]));
    return refs
      .map((r) => byKey.get(keyOf(r.resourceType, r.id)))
      .filter((d) => d !== undefined)
      .map(toVersion);
  }

  async vread(type: string, id: string, versionId: string): Promise<StoredVersion | undefined> {
    if (!/^\d{1,15}$/.test(versionId)) return undefined;
    const doc = await this.#history.findOne({ resourceType: type, id, versionId: Number(versionId) }, { session: this.#session });
    return doc ? toVersion(doc) : undefined;
  }

  async put(request: PutRequest): Promise<PutResult> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#current(request.resourceType, request.id);
      checkPut(known(current), request);
      const { doc, result } = newVersion(request, current);
      if (await this.#write(current, doc)) {
        await this.#appendHistory([doc]);
        return result;
      }
      await backoff(attempt, request);
    }
  }

  async delete(request: DeleteRequest): Promise<StoredVersion | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#current(request.resourceType, request.id);
      checkDelete(known(current), request);
      if (!current || current.deleted) return undefined;
      const next = nextVersion(known(current));
      const doc: ResourceDoc = {
        _id: current._id,
        resourceType: request.resourceType,
        id: request.id,
        versionId: next.version,
        lastUpdated: next.lastUpdated,
        deleted: true,
        method: 'DELETE',
        json: null,
      };
      if (await this.#write(current, doc)) {
        await this.#appendHistory([doc]);
        return toVersion(doc);
      }
      await backoff(attempt, request);
    }
  }

  /**
   * A bulkPut batch: current versions read in one query, new versions computed in memory (a
   * resource may appear several times), then one unordered bulkWrite and one insertMany.
   * Resources whose compare-and-set or create lost a race are redone one by one with put().
   */
  async putBatch(requests: PutRequest[]): Promise<PutResult[]> {
    const found = await this.#resources
      .find(and([{ versionId: { $gt: 0 } }, byKeys(requests)]), { session: this.#session, ...(this.context.journal ? {} : { projection: CURRENT_PROJECTION }) })
      .toArray();
    const states = new Map<string, { original: ResourceDoc | null; latest: ResourceDoc | null; versions: ResourceDoc[]; requests: number[] }>();
    for (const doc of found) states.set(keyOf(doc.resourceType, doc.id), { original: doc, latest: doc, versions: [], requests: [] });
    const results: PutResult[] = [];
    requests.forEach((request, i) => {
      const key = keyOf(request.resourceType, request.id);
      const state = states.get(key) ?? { original: null, latest: null, versions: [], requests: [] };
      states.set(key, state);
      checkPut(known(state.latest), request);
      const { doc, result } = newVersion(request, state.latest);
      state.latest = doc;
      state.versions.push(doc);
      state.requests.push(i);
      results[i] = result;
    });

    const changed = [...states.values()].filter((s) => s.versions.length > 0);
    const operations: Array<AnyBulkWriteOperation<ResourceDoc>> = changed.map((s) =>
      s.original
        ? { replaceOne: { filter: { _id: s.original._id, versionId: s.original.versionId }, replacement: s.latest! } }
        : { insertOne: { document: s.latest! } },
    );
    const lost = new Set<number>();
    let result: BulkWriteResult;
    try {
      result = await this.#resources.bulkWrite(operations, { ordered: false, session: this.#session });
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError) || !isDuplicateKey(error)) throw error;
      if (this.#session) retryTransaction(error);
      for (const e of Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]) lost.add(e.index);
      result = error.result;
    }
    const replaces = operations.filter((o) => 'replaceOne' in o).length;
    if (result.matchedCount < replaces) {
      // A compare-and-set that matched nothing is no error for bulkWrite: find out which lost.
      const stored = await this.#resources
        .find({ _id: { $in: changed.map((s) => s.latest!._id) } }, { session: this.#session, projection: { _id: 1, versionId: 1, json: 1 } })
        .toArray();
      const byId = new Map(stored.map((d) => [d._id.toHexString(), d]));
      changed.forEach((s, i) => {
        const d = byId.get(s.latest!._id.toHexString());
        if (d?.versionId !== s.latest!.versionId || d.json !== s.latest!.json) lost.add(i);
      });
    }

    const won = changed.filter((_, i) => !lost.has(i));
    for (const s of won) this.context.journal?.resourceWritten(s.latest!._id, s.original, s.latest!.versionId);
    await this.#appendHistory(won.flatMap((s) => s.versions));
    for (const i of [...lost].sort((a, b) => a - b)) {
      for (const r of changed[i]!.requests) results[r] = await this.put(requests[r]!);
    }
    return results;
  }

  async search(request: SearchRequest): Promise<SearchPage> {
    const totalAsked = request.total === 'accurate' || request.total === 'estimate';
    if (request.types && request.types.length === 0) return { resources: [], ...(totalAsked ? { total: 0 } : {}) };
    const where = await this.compiler().compile(request.where);
    const base = and([{ deleted: false }, request.types ? { resourceType: { $in: [...request.types] } } : MATCH_ALL, where]);

    let total: number | undefined;
    if (totalAsked || request.limit === 0) total = await this.#resources.countDocuments(base, { session: this.#session });
    if (request.limit === 0) return { resources: [], total: total ?? 0 };

    const columns = sortColumns(request.sort);
    const cursor = request.cursor ? decodeCursor(request.cursor, columns.length) : undefined;
    const backwards = cursor?.direction === 'before';
    const computed = Object.fromEntries(columns.filter((c) => c.compute).map((c) => [c.path, c.compute]));
    const pipeline: Document[] = [{ $match: base }];
    if (Object.keys(computed).length > 0) pipeline.push({ $addFields: computed });
    if (cursor) pipeline.push({ $match: keysetFilter(columns, cursor) });
    pipeline.push(
      { $sort: sortSpec(columns, backwards) },
      { $limit: request.limit + 1 },
      { $project: { ...VERSION_PROJECTION, ...Object.fromEntries(columns.map((c) => [c.path, 1])) } },
    );
    // A large sort may spill to disk, outside transactions (where MongoDB keeps it in memory).
    const options = this.#session ? { session: this.#session } : { allowDiskUse: true };
    const rows = await this.#resources.aggregate<ResourceDoc & Document>(pipeline, options).toArray();

    const more = rows.length > request.limit;
    const pageRows = rows.slice(0, request.limit);
    if (backwards) pageRows.reverse();
    const page: SearchPage = { resources: pageRows.map(toVersion) };
    if (total !== undefined) page.total = total;
    if (pageRows.length > 0) {
      const first = positionOf(pageRows[0]!, columns);
      const last = positionOf(pageRows[pageRows.length - 1]!, columns);
      // Going forwards there is a next page when we saw one more row; going backwards, always (we came from it).
      if (backwards || more) page.next = encodeCursor({ direction: 'after', ...last });
      if (cursor && (!backwards || more)) page.previous = encodeCursor({ direction: 'before', ...first });
    }
    return page;
  }

  async history(request: HistoryRequest): Promise<HistoryPage> {
    const filters: Array<Filter<HistoryDoc>> = [];
    if (request.resourceType && request.id) filters.push({ resourceType: request.resourceType, id: request.id });
    else if (request.resourceType) filters.push({ resourceType: request.resourceType });
    if (request.since !== undefined) filters.push({ lastUpdated: { $gte: request.since } });
    if (request.before !== undefined) filters.push({ lastUpdated: { $lte: request.before } });
    const base: Filter<HistoryDoc> = filters.length === 0 ? {} : filters.length === 1 ? filters[0]! : { $and: filters };
    const total = await this.#history.countDocuments(base, { session: this.#session });

    let page = base;
    if (request.cursor) {
      const c = decodeCursor(request.cursor, 1);
      const at = c.values[0];
      if (typeof at !== 'number') throw new StorageError('invalid-cursor', 'The history cursor is not valid; start again from the first page');
      page = { $and: [base, { $or: [{ lastUpdated: { $lt: at } }, { lastUpdated: at, _id: { $lt: c.key } }] }] };
    }
    const rows = await this.#history
      .find(page, { session: this.#session })
      .sort({ lastUpdated: -1, _id: -1 })
      .limit(request.limit + 1)
      .toArray();
    const more = rows.length > request.limit;
    const pageRows = rows.slice(0, request.limit);
    const result: HistoryPage = { versions: pageRows.map(toVersion), total };
    const last = pageRows[pageRows.length - 1];
    if (more && last) result.next = encodeCursor({ direction: 'after', values: [last.lastUpdated], key: last._id });
    return result;
  }

  /** The current document (live or deleted), never a create placeholder. */
  async #current(type: string, id: string): Promise<ResourceDoc | Current | null> {
    return this.#resources.findOne(
      { resourceType: type, id, versionId: { $gt: 0 } },
      { session: this.#session, ...(this.context.journal ? {} : { projection: CURRENT_PROJECTION }) },
    );
  }

  /** Writes `doc` over `current` (compare-and-set on its versionId) or creates it; false when another writer won. */
  async #write(current: ResourceDoc | Current | null, doc: ResourceDoc): Promise<boolean> {
    if (current) {
      const result = await this.#resources.replaceOne({ _id: current._id, versionId: current.versionId }, doc, { session: this.#session });
      if (result.matchedCount === 0) return false;
      this.context.journal?.resourceWritten(doc._id, current as ResourceDoc, doc.versionId);
      return true;
    }
    if (!this.capabilities.uniqueIndexes) return this.#createGuarded(doc);
    try {
      await this.#resources.insertOne(doc, { session: this.#session });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // Inside a server transaction the whole unit runs again and then sees the other create.
      if (this.#session) retryTransaction(error);
      return false;
    }
    this.context.journal?.resourceWritten(doc._id, null, doc.versionId);
    return true;
  }

  /**
   * A create without a unique index to lean on: insert a placeholder (versionId 0, invisible to
   * reads and searches), then look for any other document with the key. If there is none we
   * won, because a rival's check comes after our insert and will see us; if there is one we
   * withdraw (both may withdraw, and retry after a random pause).
   */
  async #createGuarded(doc: ResourceDoc): Promise<boolean> {
    const placeholder: ResourceDoc = {
      ...pick(doc, ['_id', 'resourceType', 'id', 'method']),
      versionId: 0,
      lastUpdated: Date.now(),
      deleted: true,
      json: null,
    };
    await this.#resources.insertOne(placeholder, { session: this.#session });
    let won = false;
    try {
      const rival = await this.#resources.findOne(
        {
          resourceType: doc.resourceType,
          id: doc.id,
          _id: { $ne: doc._id },
          $or: [{ versionId: { $gt: 0 } }, { lastUpdated: { $gt: Date.now() - STALE_PLACEHOLDER_MS } }],
        },
        { session: this.#session, projection: { _id: 1 } },
      );
      if (!rival) won = (await this.#resources.replaceOne({ _id: doc._id, versionId: 0 }, doc, { session: this.#session })).matchedCount === 1;
    } finally {
      if (!won) await this.#resources.deleteOne({ _id: doc._id, versionId: 0 }, { session: this.#session });
    }
    if (won) this.context.journal?.resourceWritten(doc._id, null, doc.versionId);
    return won;
  }

  async #appendHistory(docs: ResourceDoc[]): Promise<void> {
    if (docs.length === 0) return;
    const versions: HistoryDoc[] = docs.map((d) => ({
      _id: new ObjectId(),
      ...pick(d, ['resourceType', 'id', 'versionId', 'lastUpdated', 'deleted', 'method', 'json']),
    }));
    try {
      await this.#history.insertMany(versions, { ordered: true, session: this.#session });
    } catch (error) {
      if (this.#session && isDuplicateKey(error)) retryTransaction(error);
      throw error;
    } finally {
      // insertMany is ordered: journal what may have been written, the undo ignores the rest.
      for (const v of versions) this.context.journal?.historyWritten(v._id);
    }
  }
}

/** The current version as the shared write rules see it (storage/write-rules.ts). */
function known(current: Current | null): CurrentVersion | undefined {
  return current ? { version: current.versionId, deleted: current.deleted, lastUpdated: current.lastUpdated } : undefined;
}

/** The next version after `current` (storage/write-rules.ts), as a document. */
function newVersion(request: PutRequest, current: Current | null): { doc: ResourceDoc; result: PutResult } {
  const { version: versionId, lastUpdated: now } = nextVersion(known(current));
  const stamped = stampMeta(request.resource, String(versionId), toInstant(now));
  const json = JSON.stringify(stamped);
  const doc: ResourceDoc = {
    _id: current?._id ?? new ObjectId(),
    resourceType: request.resourceType,
    id: request.id,
    versionId,
    lastUpdated: now,
    deleted: false,
    method: request.method,
    json,
    ...indexFields(request.index),
  };
  const version = new LazyVersion(request.resourceType, request.id, String(versionId), toInstant(now), false, request.method, { json, resource: stamped });
  return { doc, result: { version, created: !current || current.deleted } };
}

/** Waits a random, growing pause after a lost compare-and-set; gives up with 409 eventually. */
async function backoff(attempt: number, request: { resourceType: string; id: string }): Promise<void> {
  if (attempt >= MAX_ATTEMPTS) throw busy(request);
  const ms = Math.random() * Math.min(100, 2 ** attempt);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

function keyOf(type: string, id: string): string {
  return `${type}/${id}`;
}

/** Filter for the documents of these (type, id) pairs: one `$in` per type. */
function byKeys(refs: ReadonlyArray<{ resourceType: string; id: string }>): Filter<ResourceDoc> {
  const idsByType = new Map<string, Set<string>>();
  for (const r of refs) idsByType.set(r.resourceType, (idsByType.get(r.resourceType) ?? new Set()).add(r.id));
  const clauses = [...idsByType].map(([resourceType, ids]) => ({ resourceType, id: { $in: [...ids] } }));
  return clauses.length === 1 ? clauses[0]! : { $or: clauses };
}

function pick<T extends object, K extends keyof T>(value: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, value[k]])) as Pick<T, K>;
}
