/**
 * The ResourceStore port: versioned FHIR resources with their search index rows.
 *
 * Two implementations keep it honest: the embedded store (storage/sqlite) and MongoDB
 * (storage/mongo); test/contract/resource-store.contract.test.ts runs the same suite on both.
 * Stores know nothing of FHIR search syntax or of access control: the search layer compiles
 * queries into {@link Condition}s and the access layer wraps the store (access/guarded-store.ts).
 *
 * Versioning follows https://hl7.org/fhir/R4/http.html#versioning: versionId is "1", "2", ...
 * per resource, a delete is a version of its own, lastUpdated is set by the store.
 */
import type { Resource } from 'fhir/r4';
import type { Condition, IndexEntry, SortKey } from './search-index.js';

/** A resource as stored: the JSON (with meta.versionId and meta.lastUpdated) or a deletion marker. */
export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: string;
  /** FHIR instant (ISO 8601 with milliseconds and Z). */
  lastUpdated: string;
  /** The resource for live versions; undefined for a deletion. */
  resource: Resource | undefined;
  deleted: boolean;
  /** How the version was made, for history bundles (entry.request.method). */
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
}

/** A write of a new version. The store sets meta.versionId and meta.lastUpdated on `resource`. */
export interface PutRequest {
  resourceType: string;
  id: string;
  resource: Resource;
  index: IndexEntry[];
  method: 'POST' | 'PUT' | 'PATCH';
  /** Fail with 412 unless the current version is exactly this (If-Match). */
  ifMatch?: string;
  /** Fail with 409 if a live or deleted resource with this id exists (server-assigned ids on create). */
  mustBeNew?: boolean;
}

export interface DeleteRequest {
  resourceType: string;
  id: string;
  ifMatch?: string;
}

export interface PutResult {
  version: StoredVersion;
  /** True when no live version existed before (201 rather than 200). */
  created: boolean;
}

export interface SearchRequest {
  /** Resource types to search; undefined = every type (system-level search). */
  types?: string[];
  where: Condition;
  sort: SortKey[];
  /** Page size; 0 means "count only". */
  limit: number;
  /** Opaque cursor from a previous page's `next` or `previous`. */
  cursor?: string;
  /** Count every match (_total=accurate; both stores also count exactly for `estimate`). */
  total?: 'none' | 'estimate' | 'accurate';
}

export interface SearchPage {
  /** Current versions of the matches, in sort order. */
  resources: StoredVersion[];
  /** Cursor for the next page, when there are more matches. */
  next?: string;
  /** Cursor for the previous page, when this is not the first page. */
  previous?: string;
  /** Number of matches (when asked for). */
  total?: number;
}

export interface HistoryRequest {
  resourceType?: string;
  id?: string;
  /** Only versions with lastUpdated >= since (epoch ms). */
  since?: number;
  /** Only versions with lastUpdated <= at (epoch ms), for `_at`-like queries. */
  before?: number;
  limit: number;
  cursor?: string;
}

export interface HistoryPage {
  /** Newest first. */
  versions: StoredVersion[];
  next?: string;
  total?: number;
}

/** Read and write operations, available on the store and inside a transaction. */
export interface ResourceOperations {
  /** The current version (live or deleted), or undefined when the id was never used. */
  read(resourceType: string, id: string): Promise<StoredVersion | undefined>;
  /** Several current versions at once (for _include), in request order; missing ones are left out. */
  readMany(refs: Array<{ resourceType: string; id: string }>): Promise<StoredVersion[]>;
  vread(resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined>;
  put(request: PutRequest): Promise<PutResult>;
  /** Deletes the current version; returns undefined when there was nothing live to delete. */
  delete(request: DeleteRequest): Promise<StoredVersion | undefined>;
  search(request: SearchRequest): Promise<SearchPage>;
  history(request: HistoryRequest): Promise<HistoryPage>;
}

/** One unit of work: everything commits together or nothing does, and no one sees it half-done. */
export type ResourceTransaction = ResourceOperations;

export interface ResourceStore extends ResourceOperations, ChangeFeedSource {
  /**
   * Runs `work` atomically. Reads inside see the transaction's own writes; other readers see
   * none of them until commit. If `work` throws, nothing is written. (MongoDB without a replica
   * set gives a weaker, documented guarantee: see storage/mongo/transactions.ts.)
   * `work` may run more than once (MongoDB retries on write conflicts), so it must have no
   * outside side effects; it must use `tx`, never the store itself (that would deadlock).
   */
  transaction<T>(work: (tx: ResourceTransaction) => Promise<T>): Promise<T>;
  /**
   * Writes many resources quickly (loader, seeding): each put is committed in batches, no
   * If-Match. Returns the results in order.
   */
  bulkPut(requests: PutRequest[]): Promise<PutResult[]>;
  /**
   * Which version of the search layer's index rows the stored resources carry, as recorded by
   * {@link setIndexVersion}; 0 when none was (a database from before versions were recorded,
   * or a new one). Start-up reindexes when it differs from the extraction's INDEX_VERSION
   * (ingest/reindex.ts).
   */
  indexVersion(): Promise<number>;
  /** Records that every live resource now has the rows of index version `version`. */
  setIndexVersion(version: number): Promise<void>;
  /** Number of live resources per type (CapabilityStatement, loader summaries, tests). */
  countByType(): Promise<Record<string, number>>;
  /**
   * Streams the current versions of one type in the store's internal key order, for $export:
   * bounded memory, no cursor held between batches beyond the last key.
   */
  scan(request: { resourceType: string; where?: Condition; since?: number; batchSize?: number }): AsyncIterable<StoredVersion>;
  /**
   * Replaces the index rows of every live resource of `resourceType` with `index(resource)`,
   * without writing a version (the content is unchanged; what is indexed changed, e.g. a FHIR
   * package added search parameters). A resource changed meanwhile keeps the rows its write
   * gave it. Returns how many resources were reindexed.
   */
  reindex(request: ReindexRequest): Promise<number>;
  /**
   * Checks that current versions agree with history (contiguous, deletion flags) and that the
   * index rows of every live resource are exactly those `reindex` gives for its content.
   */
  verifyIntegrity(options: IntegrityOptions): Promise<IntegrityReport>;
  close(): Promise<void>;
}

/**
 * Reading the change feed: every version written, in commit order. `after` is a cursor from an
 * earlier page; left out, the feed starts at its current end (only what commits from now on).
 */
export interface ChangesRequest {
  after?: string;
  /** Most versions per page. */
  limit: number;
}

export interface ChangePage {
  /** Versions (creates, updates, deletions), oldest first. */
  versions: StoredVersion[];
  /**
   * Where the next page starts: after the last version returned, or where the feed stood when
   * nothing new had committed. Opaque; durable across restarts and valid on every node.
   */
  cursor: string;
}

/**
 * The change feed: what every subscription, cache or replica needs to follow the data without
 * losing a committed write. The versions are the history the store already keeps, so the feed is
 * as durable as the data; a cursor kept elsewhere (the DocumentStore) resumes it after a restart.
 */
export interface ChangeFeedSource {
  /** The next page of the feed (see each implementation for its ordering guarantees). */
  changes(request: ChangesRequest): Promise<ChangePage>;
  /**
   * Calls `listener` after each write of this instance has committed (put, delete, transaction,
   * bulkPut), so a reader on this node need not wait for its next poll. Writes by other
   * processes are seen by reading the feed only. Returns the function that removes the listener.
   */
  onCommit(listener: () => void): () => void;
}

export interface ReindexRequest {
  resourceType: string;
  /** The index rows a resource should have now. */
  index: (resource: Resource) => IndexEntry[];
  /** Resources per write batch (default 500). */
  batchSize?: number;
}

export interface IntegrityOptions {
  /** The index rows a resource should have (the FHIR layer's extraction). */
  reindex: (resource: Resource) => IndexEntry[];
}

export interface IntegrityReport {
  resources: number;
  versions: number;
  indexRows: number;
  /** At most 1000, each naming the resource (or table) and what is wrong. */
  problems: Array<{ resource: string; problem: string }>;
}
