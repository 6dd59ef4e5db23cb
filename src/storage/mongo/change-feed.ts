/**
 * The MongoDB store's change feed (resource-store.ts `changes`): the `history` collection, read
 * in one of two ways.
 *
 * - On a replica set or sharded cluster (the server has transactions): a change stream on
 *   `history`. MongoDB emits the inserts in commit order, whichever node wrote them, and the
 *   cursor is the stream's resume token. A cursor older than the oplog's window can no longer be
 *   resumed (the server refuses it, and the read fails).
 * - Elsewhere (a standalone server, CongoDB): polling `history` in `_id` order, behind a lag
 *   window. A history `_id` is an ObjectId made by the writing node just before its insert: its
 *   first four bytes are that node's clock in seconds, the next five are random per process, the
 *   last three a per-process counter. One node's writes are serialized in this mode
 *   (transactions.ts), so its `_id`s grow in commit order; two nodes' `_id`s within one second
 *   are ordered by their random bytes, not by time, and a node's clock may run behind. So the feed
 *   only hands out versions whose `_id` second is at least the lag window old
 *   ({@link DEFAULT_CHANGE_LAG_MS}), by which time every node has inserted what it stamped in
 *   that second. What this costs: a change is seen that much later; what it assumes: no insert
 *   takes longer than the window after its `_id` was made, and the nodes' clocks agree within it.
 *   Versions of one resource written by two nodes within one second come out in version order
 *   when they are in one page.
 *
 * Without transactions the store undoes a failed unit of work by compensation, so a reader of
 * the feed may see a version that is undone shortly after (see transactions.ts).
 */
import { ObjectId, type ChangeStream, type ChangeStreamInsertDocument, type Collection, type ResumeToken } from 'mongodb';
import { StorageError } from '../errors.js';
import type { ChangePage, ChangesRequest } from '../resource-store.js';
import { toVersion, type HistoryDoc } from './documents.js';

/** The polling feed's lag window: the oldest a version's `_id` second must be before it is read. */
export const DEFAULT_CHANGE_LAG_MS = 2000;
/** How long a change stream read waits for new events before answering with what it has. */
const STREAM_WAIT_MS = 50;

const POLL_PREFIX = 'oid:';
const STREAM_PREFIX = 'rt:';

export interface MongoChangeFeedOptions {
  /** Read a change stream (replica set, sharded cluster) rather than poll. */
  changeStreams: boolean;
  /** The polling feed's lag window in ms (default {@link DEFAULT_CHANGE_LAG_MS}). */
  lagMs?: number;
}

export class MongoChangeFeed {
  readonly #history: Collection<HistoryDoc>;
  readonly #lagMs: number;
  readonly #changeStreams: boolean;
  /** The open change stream, and the cursor it continues from. */
  #stream: { stream: ChangeStream<HistoryDoc, ChangeStreamInsertDocument<HistoryDoc>>; cursor: string } | undefined;

  constructor(history: Collection<HistoryDoc>, options: MongoChangeFeedOptions) {
    this.#history = history;
    this.#changeStreams = options.changeStreams;
    this.#lagMs = options.lagMs ?? DEFAULT_CHANGE_LAG_MS;
  }

  changes(request: ChangesRequest): Promise<ChangePage> {
    return this.#changeStreams ? this.#fromStream(request) : this.#poll(request);
  }

  async close(): Promise<void> {
    await this.#stream?.stream.close();
    this.#stream = undefined;
  }

  async #poll(request: ChangesRequest): Promise<ChangePage> {
    // Every `_id` below this was made at least the lag window ago.
    const settled = ObjectId.createFromTime(Math.floor((Date.now() - this.#lagMs) / 1000));
    if (request.after === undefined) return { versions: [], cursor: POLL_PREFIX + (await this.#end(settled)).toHexString() };
    const after = parsePollCursor(request.after);
    if (after.toHexString() >= settled.toHexString()) return { versions: [], cursor: POLL_PREFIX + after.toHexString() };
    const docs = await this.#history
      .find({ _id: { $gt: after, $lt: settled } })
      .sort({ _id: 1 })
      .limit(request.limit)
      .toArray();
    if (docs.length === 0) return { versions: [], cursor: POLL_PREFIX + settled.toHexString() };
    const last = docs[docs.length - 1]!._id;
    // One resource's versions from two nodes in one second: version order, not `_id` order.
    docs.sort((a, b) => a.lastUpdated - b.lastUpdated || a.versionId - b.versionId || a._id.toHexString().localeCompare(b._id.toHexString()));
    return { versions: docs.map(toVersion), cursor: POLL_PREFIX + last.toHexString() };
  }

  /** The feed's current end: the newest `_id` written so far (what this node wrote is all in). */
  async #end(settled: ObjectId): Promise<ObjectId> {
    const newest = await this.#history
      .find({}, { projection: { _id: 1 } })
      .sort({ _id: -1 })
      .limit(1)
      .next();
    return newest && newest._id.toHexString() > settled.toHexString() ? newest._id : settled;
  }

  async #fromStream(request: ChangesRequest): Promise<ChangePage> {
    if (!this.#stream || request.after === undefined || this.#stream.cursor !== request.after) {
      await this.close();
      const resumeAfter = request.after === undefined ? undefined : parseStreamCursor(request.after);
      const stream = this.#history.watch<HistoryDoc, ChangeStreamInsertDocument<HistoryDoc>>([{ $match: { operationType: 'insert' } }], {
        maxAwaitTimeMS: STREAM_WAIT_MS,
        ...(resumeAfter ? { startAfter: resumeAfter } : {}),
      });
      this.#stream = { stream, cursor: request.after ?? '' };
    }
    const open = this.#stream;
    const versions = [];
    while (versions.length < request.limit) {
      const event = await open.stream.tryNext();
      if (!event) break;
      versions.push(toVersion(event.fullDocument));
    }
    // The token after the last event read (or the stream's position when there was none).
    open.cursor = STREAM_PREFIX + JSON.stringify(open.stream.resumeToken);
    return { versions, cursor: open.cursor };
  }
}

function parsePollCursor(cursor: string): ObjectId {
  const hex = cursor.startsWith(POLL_PREFIX) ? cursor.slice(POLL_PREFIX.length) : '';
  if (!/^[0-9a-f]{24}$/.test(hex)) throw new StorageError('invalid-cursor', 'This change feed cursor was not made by the MongoDB store polling its history');
  return new ObjectId(hex);
}

function parseStreamCursor(cursor: string): ResumeToken {
  try {
    if (cursor.startsWith(STREAM_PREFIX)) return JSON.parse(cursor.slice(STREAM_PREFIX.length)) as ResumeToken;
  } catch {
    // refused below
  }
  throw new StorageError('invalid-cursor', 'This change feed cursor was not made by the MongoDB store reading a change stream');
}
