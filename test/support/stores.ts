/**
 * The store implementations the contract suites run on (test/contract/):
 * - embedded (SQLite): always, in a fresh temporary folder per `open()`;
 * - CongoDB: whenever the global setup started it (every run without MONGODB_URI, so always in
 *   CI), in a fresh database per `open()`;
 * - real MongoDB: when MONGODB_URI is set, in a fresh database per `open()`.
 *
 * Each implementation lists the guarantees it lacks; a test that needs one is skipped there
 * with `it.skipIf(store.lacks('...'))`, so it is reported as skipped and never passes falsely.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { openStorage, type Storage } from '../../src/storage/open.js';
import { CONGO_URI_VARIABLE } from './global-setup.js';

/** A contract guarantee some implementation (or the way tests run it) cannot give. */
export type Gap = 'isolation' | 'unique-index' | 'rollback-under-concurrency' | 'in-process-peers';

/**
 * What CongoDB does not do (measured against MongoDB's documented behaviour). The MongoDB store runs there in its
 * compensating mode (src/storage/mongo/transactions.ts), which covers atomicity within one
 * process but not these:
 * - 'isolation': its transactions are not isolated, so readers outside a transaction see the
 *   transaction's writes before it ends;
 * - 'unique-index': unique indexes are not enforced, so nothing but CongoDB's one-command-at-a-
 *   time engine keeps two concurrent DocumentStore inserts of one id from both succeeding;
 * - 'rollback-under-concurrency': nothing is rolled back by the server; when another node
 *   writes a resource between a failing transaction's write and its undo, the undo cannot
 *   restore it (it reports IncompleteUndoError rather than overwrite the other write).
 */
export const congoGaps: ReadonlySet<Gap> = new Set<Gap>(['isolation', 'unique-index', 'rollback-under-concurrency']);

/**
 * Not a gap of the embedded store but of running two of its instances in one test process:
 * better-sqlite3 is synchronous, so one instance waiting for the file lock blocks the thread
 * the other needs to release it. Separate processes (real deployments) do not have this.
 */
const embeddedLimits: ReadonlySet<Gap> = new Set<Gap>(['in-process-peers']);

/** A freshly opened, empty store. */
export interface OpenStore extends Storage {
  /** Opens another instance on the same data, as a second Bedside node would. */
  peer(): Promise<Storage>;
  /** Closes every instance and removes the data. */
  dispose(): Promise<void>;
}

export interface StoreImplementation {
  name: 'embedded' | 'congodb' | 'mongodb';
  lacks(gap: Gap): boolean;
  open(): Promise<OpenStore>;
}

/** The implementations to run the contract suites on, for `describe.each`. */
export function storeImplementations(): StoreImplementation[] {
  const implementations: StoreImplementation[] = [embedded()];
  const congoUri = process.env[CONGO_URI_VARIABLE];
  if (congoUri) implementations.push(mongo('congodb', congoUri, congoGaps));
  if (process.env.MONGODB_URI) implementations.push(mongo('mongodb', process.env.MONGODB_URI, new Set()));
  if (process.env.CI && implementations.length === 1) {
    throw new Error('In CI the contract suites must also run on a MongoDB wire-protocol server (CongoDB or MONGODB_URI)');
  }
  return implementations;
}

function embedded(): StoreImplementation {
  return {
    name: 'embedded',
    lacks: (gap) => embeddedLimits.has(gap),
    async open() {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'bedside-contract-'));
      return withPeers(
        () => openStorage({ kind: 'embedded', dataDir }),
        () => rm(dataDir, { recursive: true, force: true }),
      );
    },
  };
}

function mongo(name: 'congodb' | 'mongodb', uri: string, gaps: ReadonlySet<Gap>): StoreImplementation {
  return {
    name,
    lacks: (gap) => gaps.has(gap),
    async open() {
      const database = `bedside_contract_${randomBytes(6).toString('hex')}`;
      return withPeers(
        () => openStorage({ kind: 'mongodb', uri, database }),
        async () => {
          const client = new MongoClient(uri);
          try {
            await client.db(database).dropDatabase();
          } finally {
            await client.close();
          }
        },
      );
    },
  };
}

async function withPeers(open: () => Promise<Storage>, removeData: () => Promise<void>): Promise<OpenStore> {
  const first = await open();
  const opened: Storage[] = [first];
  return {
    ...first,
    resources: first.resources,
    documents: first.documents,
    async peer() {
      const peer = await open();
      opened.push(peer);
      return peer;
    },
    async dispose() {
      for (const storage of opened.reverse()) await storage.close();
      await removeData();
    },
  };
}
