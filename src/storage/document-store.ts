/**
 * The DocumentStore port: small JSON documents by id, with optional expiry and secondary keys.
 * It keeps everything that is not a FHIR resource: oidc-provider's sessions, grants, codes,
 * tokens and clients (auth/oidc-adapter.ts), signing keys, user accounts, launch contexts,
 * export jobs and the audit log. Being in the same database as the resources, it is shared by
 * every Bedside node, which is what lets several nodes run behind one load balancer.
 *
 * Implementations: storage/sqlite/document-store.ts and storage/mongo/document-store.ts;
 * test/contract/document-store.contract.ts runs on both.
 */

/** Secondary keys a document can be found by (e.g. grantId, uid, userCode, accountId, clientId). */
export type DocumentKeys = Record<string, string | undefined>;

export interface PutOptions {
  /** Epoch ms after which the document no longer exists. */
  expiresAt?: number;
  /** Secondary keys to find or delete the document by. */
  keys?: DocumentKeys;
}

export interface StoredDocument<T> {
  id: string;
  value: T;
  expiresAt?: number;
  keys: Record<string, string>;
  /** Epoch ms of the last write. */
  updatedAt: number;
}

export interface DocumentCollection<T = unknown> {
  get(id: string): Promise<T | undefined>;
  /** The document with its metadata. */
  getStored(id: string): Promise<StoredDocument<T> | undefined>;
  /** Creates or replaces. */
  put(id: string, value: T, options?: PutOptions): Promise<void>;
  /** Creates only if absent (or expired); returns false when a live document already has the id. */
  insert(id: string, value: T, options?: PutOptions): Promise<boolean>;
  /**
   * Replaces `id` only if its current value still equals what `expect` says (compare-and-set on
   * the stored updatedAt). Returns false when someone else wrote in between or it is gone.
   */
  replaceIf(id: string, expectedUpdatedAt: number, value: T, options?: PutOptions): Promise<boolean>;
  /** Deletes and returns the document atomically (single-use values: launch contexts). */
  take(id: string): Promise<T | undefined>;
  delete(id: string): Promise<boolean>;
  findByKey(key: string, value: string): Promise<Array<StoredDocument<T>>>;
  deleteByKey(key: string, value: string): Promise<number>;
  /** Live documents, most recently written first. */
  list(options?: { limit?: number; key?: { name: string; value: string } }): Promise<Array<StoredDocument<T>>>;
  count(): Promise<number>;
}

export interface DocumentStore {
  collection<T = unknown>(name: string): DocumentCollection<T>;
  /** Removes expired documents now (also done periodically by the implementations). */
  sweepExpired(): Promise<number>;
}
