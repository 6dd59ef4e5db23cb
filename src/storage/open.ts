/**
 * Opens the configured storage: the embedded SQLite store by default, MongoDB when
 * MONGODB_URI is set. Both give the same two ports.
 */
import type { StorageConfig } from '../config.js';
import type { DocumentStore } from './document-store.js';
import type { ResourceStore } from './resource-store.js';
import { SqliteDatabase } from './sqlite/database.js';
import { SqliteDocumentStore } from './sqlite/document-store.js';
import { SqliteResourceStore } from './sqlite/resource-store.js';

export interface Storage {
  resources: ResourceStore;
  documents: DocumentStore;
  /** A short description for the start-up log (never the credentials). */
  description: string;
  close(): Promise<void>;
}

export async function openStorage(config: StorageConfig): Promise<Storage> {
  if (config.kind === 'mongodb') {
    const { openMongoStorage } = await import('./mongo/open.js');
    return openMongoStorage(config);
  }
  const database = new SqliteDatabase({ dataDir: config.dataDir, ...(config.cacheMb ? { writerCacheMb: config.cacheMb } : {}) });
  const resources = new SqliteResourceStore(database);
  const documents = new SqliteDocumentStore(database);
  return {
    resources,
    documents,
    description: `embedded SQLite at ${database.file}`,
    async close() {
      documents.close();
      await resources.close();
    },
  };
}
