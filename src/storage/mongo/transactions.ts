/**
 * What the connected server guarantees, and the best-effort mode used where it falls short.
 *
 * Two capabilities are probed at start-up rather than assumed from the server's self-report
 * (CongoDB answers transaction commands but neither isolates nor rolls back):
 * - `transactions`: a write inside an aborted transaction really disappears. True on a replica
 *   set or sharded cluster (docker-compose.yml runs a one-node replica set); false on a
 *   standalone mongod and on CongoDB.
 * - `uniqueIndexes`: a second insert of a unique key is refused. True on every real MongoDB;
 *   false on CongoDB.
 *
 * Without transactions, the store runs in compensating mode: writes of this process are
 * serialized by an AsyncLock (storage/async-lock.ts), every write is a compare-and-set on versionId, and each
 * unit of work (a put, a delete, a bulk batch, a `transaction()`) keeps an {@link UndoJournal};
 * if it throws, the journal restores the previous versions. What that does NOT give:
 * - isolation: other readers see a unit's writes before it finishes (and see them vanish if
 *   it is undone);
 * - atomicity across a crash: a process dying mid-unit leaves its writes half done;
 * - serialization across processes: two Bedside nodes on one standalone server may interleave;
 *   a compare-and-set then fails and the undo reports it instead of overwriting the other's work.
 */
import { MongoBulkWriteError, MongoServerError, ObjectId, type ClientSession, type Db, type MongoClient } from 'mongodb';
import type { HistoryDoc, ResourceDoc } from './documents.js';
import { COLLECTIONS } from './indexes.js';

export interface Capabilities {
  transactions: boolean;
  uniqueIndexes: boolean;
}

/** Probes the server once; see the module comment for what each answer means. */
export async function detectCapabilities(client: MongoClient, db: Db): Promise<Capabilities> {
  const probe = db.collection<{ _id: ObjectId; k?: string }>(COLLECTIONS.probe);
  await probe.createIndex({ k: 1 }, { unique: true, sparse: true, name: 'k_unique' });
  return { transactions: await probeTransactions(client, db), uniqueIndexes: await probeUniqueIndexes(db) };
}

async function probeTransactions(client: MongoClient, db: Db): Promise<boolean> {
  const hello = await db.admin().command({ hello: 1 });
  if (typeof hello.setName !== 'string' && hello.msg !== 'isdbgrid') return false;
  const probe = db.collection<{ _id: ObjectId }>(COLLECTIONS.probe);
  const marker = new ObjectId();
  const session = client.startSession();
  try {
    session.startTransaction();
    await probe.insertOne({ _id: marker }, { session });
    await session.abortTransaction();
  } catch {
    return false;
  } finally {
    await session.endSession();
  }
  const leaked = await probe.findOneAndDelete({ _id: marker });
  return leaked === null;
}

async function probeUniqueIndexes(db: Db): Promise<boolean> {
  const probe = db.collection<{ _id: ObjectId; k?: string }>(COLLECTIONS.probe);
  const k = new ObjectId().toHexString();
  try {
    await probe.insertOne({ _id: new ObjectId(), k });
    await probe.insertOne({ _id: new ObjectId(), k });
    return false;
  } catch (error) {
    if (isDuplicateKey(error)) return true;
    throw error;
  } finally {
    await probe.deleteMany({ k });
  }
}

/** True for E11000 (duplicate key), from a single write or from a bulk write. */
export function isDuplicateKey(error: unknown): boolean {
  if (error instanceof MongoBulkWriteError) {
    const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    return errors.length > 0 && errors.every((e) => e.code === 11000);
  }
  return error instanceof MongoServerError && error.code === 11000;
}

/**
 * Marks an error so `withTransaction` runs the callback again: used when a duplicate key shows
 * that another transaction created the same resource (the retry then reads it and updates).
 */
export function retryTransaction(error: unknown): never {
  if (error instanceof MongoServerError) error.addErrorLabel('TransientTransactionError');
  throw error;
}

type UndoStep = { kind: 'resource'; _id: ObjectId; before: ResourceDoc | null; written: number } | { kind: 'history'; _id: ObjectId };

/** Thrown when an undo could not restore everything: the database needs attention. */
export class IncompleteUndoError extends Error {
  constructor(
    readonly failures: string[],
    options: { cause: unknown },
  ) {
    super(`A failed write could not be fully undone: ${failures.join('; ')}`, options);
    this.name = 'IncompleteUndoError';
  }
}

/** The writes of one unit of work in compensating mode, and how to take them back. */
export class UndoJournal {
  readonly #steps: UndoStep[] = [];

  /** `_id` now holds version `written`; before, it held `before` (null: it did not exist). */
  resourceWritten(_id: ObjectId, before: ResourceDoc | null, written: number): void {
    this.#steps.push({ kind: 'resource', _id, before, written });
  }

  historyWritten(_id: ObjectId): void {
    this.#steps.push({ kind: 'history', _id });
  }

  /**
   * Undoes the steps newest first. Each restore is a compare-and-set on the version this unit
   * wrote, so a newer write by someone else is never overwritten; such conflicts are reported.
   */
  async undo(db: Db, cause: unknown): Promise<void> {
    const resources = db.collection<ResourceDoc>(COLLECTIONS.resources);
    const history = db.collection<HistoryDoc>(COLLECTIONS.history);
    const failures: string[] = [];
    for (const step of this.#steps.reverse()) {
      try {
        if (step.kind === 'history') {
          await history.deleteOne({ _id: step._id });
          continue;
        }
        const filter = { _id: step._id, versionId: step.written };
        const result = step.before ? await resources.replaceOne(filter, step.before) : await resources.deleteOne(filter);
        const touched = 'matchedCount' in result ? result.matchedCount : result.deletedCount;
        if (touched === 0) failures.push(`resource ${step._id.toHexString()} changed after version ${step.written}`);
      } catch (error) {
        failures.push(`${step.kind} ${step._id.toHexString()}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.#steps.length = 0;
    if (failures.length > 0) throw new IncompleteUndoError(failures, { cause });
  }
}

/** How a unit of work writes: inside a server transaction, or with an undo journal. */
export interface WriteContext {
  session?: ClientSession;
  journal?: UndoJournal;
}
