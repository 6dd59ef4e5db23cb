/**
 * Opens the MongoDB storage: one MongoClient shared by both ports, indexes ensured and the
 * server's guarantees probed at start-up (transactions.ts).
 */
import { MongoClient } from 'mongodb';
import type { Storage } from '../open.js';
import { MongoDocumentStore } from './document-store.js';
import { ensureIndexes } from './indexes.js';
import { MongoResourceStore, type MongoResourceStoreOptions } from './resource-store.js';
import { detectCapabilities } from './transactions.js';

export interface MongoStorageConfig {
  kind: 'mongodb';
  /** mongodb:// or mongodb+srv:// URI; may hold credentials, so it is never logged. */
  uri: string;
  database: string;
}

/**
 * Connects, creates the indexes and returns both ports on `config.database`.
 * The connection is checked here, so a wrong URI fails at start-up rather than on the first request.
 */
export async function openMongoStorage(config: MongoStorageConfig, options: Omit<MongoResourceStoreOptions, 'onClose'> = {}): Promise<Storage> {
  const client = new MongoClient(config.uri, { appName: 'bedside' });
  await client.connect();
  try {
    const db = client.db(config.database);
    await ensureIndexes(db);
    const capabilities = await detectCapabilities(client, db);
    let closed: Promise<void> | undefined;
    const close = () => (closed ??= client.close());
    const resources = new MongoResourceStore(client, db, capabilities, { ...options, onClose: close });
    const documents = new MongoDocumentStore(db);
    const mode = capabilities.transactions ? 'server transactions' : 'compensating writes, no transactions';
    return {
      resources,
      documents,
      description: `MongoDB database ${config.database} on ${hostsOf(client)} (${mode}${capabilities.uniqueIndexes ? '' : ', unique indexes not enforced'})`,
      close,
    };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** host:port list without credentials. */
function hostsOf(client: MongoClient): string {
  return client.options.hosts.map((h) => h.toString()).join(',');
}
