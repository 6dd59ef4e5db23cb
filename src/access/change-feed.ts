/**
 * The change feed as the access layer hands it out: standing searches, each run under a policy.
 *
 * Background features that react to writes (subscriptions) follow the store's change feed
 * (storage/resource-store.ts `changes`), but they never get a version's content from it. A
 * {@link Change} says only which version was written; its content comes out of
 * {@link ChangeFeed.match} for a {@link StandingSearch}, and only when
 * - the search's policy may search the type (as a search request would be refused otherwise),
 * - the version satisfies the search's criteria AND the policy's search filter for the type (the
 *   condition a guarded search ANDs in: the patient compartment, granular scopes ...), and
 * - the policy may read that version (`allowsResource(..., 'read')`).
 * Deletions match nothing (a deleted resource has no content to satisfy criteria).
 *
 * Criteria are evaluated in memory on the version's index rows, extracted once per change for
 * every search it is matched against. Criteria the in-memory evaluator cannot decide alone
 * (chains and `_has`, which look at other resources) run as a search for the resource's id on
 * the store bound to the policy, so every hop is limited as in any search (access/hops.ts); they
 * see the data as it is when the match runs, not as it was when the version was written.
 *
 * https://hl7.org/fhir/R4/subscription.html (criteria are searches the subscriber could run)
 */
import type { Resource } from 'fhir/r4';
import { conditionParams, matches, type IndexedResource, type ResourceLookup } from '../fhir/search/evaluate.js';
import type { ChangeFeedSource, ChangesRequest, StoredVersion } from '../storage/resource-store.js';
import type { Condition, IndexEntry } from '../storage/search-index.js';
import type { AccessPolicy } from './policy.js';
import type { ResourceAccess } from './resource-access.js';

/** Which version was written, without its content. */
export interface Change {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
  /** FHIR instant. */
  readonly lastUpdated: string;
  readonly deleted: boolean;
  readonly method: StoredVersion['method'];
}

/** A search kept standing: `where` on `resourceType`, as `policy` may see the data. */
export interface StandingSearch {
  readonly policy: AccessPolicy;
  readonly resourceType: string;
  readonly where: Condition;
}

export interface ChangePageView {
  changes: Change[];
  /** Where the next page starts (storage/resource-store.ts `ChangePage`). */
  cursor: string;
}

export interface ChangeFeed {
  /** The next page of changes, oldest first (`after` left out: from the feed's current end). */
  read(request: ChangesRequest): Promise<ChangePageView>;
  /** Calls `listener` after each write on this node has committed; returns the remover. */
  onCommit(listener: () => void): () => void;
  /**
   * For each of `searches`, the version `change` wrote if it satisfies that search as the
   * search's policy sees it (see the module comment), else undefined; in the order of `searches`.
   */
  match(change: Change, searches: readonly StandingSearch[]): Promise<Array<StoredVersion | undefined>>;
}

/** Index rows of a resource for the given parameters (fhir/search/extract.ts). */
export type ParamExtractor = (resource: Resource, params: ReadonlySet<string>) => IndexEntry[];

/** Conditions the in-memory evaluator decides from the resource's own rows. */
const IN_MEMORY = new Set<Condition['op']>(['true', 'false', 'and', 'or', 'not', 'row', 'missing', 'id', 'type', 'lastUpdated']);
const NO_LOOKUP: ResourceLookup = { get: () => undefined, ofType: () => [] };

/** A change, with the version and the index rows extracted so far kept out of sight. */
class ChangeRecord implements Change {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
  readonly lastUpdated: string;
  readonly deleted: boolean;
  readonly method: StoredVersion['method'];
  readonly #version: StoredVersion;
  readonly #rows = new Map<string, IndexEntry[]>();

  constructor(version: StoredVersion) {
    this.#version = version;
    this.resourceType = version.resourceType;
    this.id = version.id;
    this.versionId = version.versionId;
    this.lastUpdated = version.lastUpdated;
    this.deleted = version.deleted;
    this.method = version.method;
  }

  static versionOf(record: ChangeRecord): StoredVersion {
    return record.#version;
  }

  /** The version as the evaluator sees it, with the rows of `params` (extracted once each). */
  static indexed(record: ChangeRecord, params: ReadonlySet<string>, extract: ParamExtractor): IndexedResource {
    const missing = new Set([...params].filter((p) => !record.#rows.has(p)));
    if (missing.size > 0) {
      for (const p of missing) record.#rows.set(p, []);
      for (const row of extract(record.#version.resource!, missing)) record.#rows.get(row.param)?.push(row);
    }
    return { resourceType: record.resourceType, id: record.id, lastUpdated: Date.parse(record.lastUpdated), index: [...params].flatMap((p) => record.#rows.get(p)!) };
  }
}

/** The feed of `source` for standing searches bound through `access`. Only resource-access.ts calls this. */
export function createChangeFeed(source: ChangeFeedSource, access: ResourceAccess, extract: ParamExtractor): ChangeFeed {
  const matchOne = async (record: ChangeRecord, search: StandingSearch): Promise<boolean> => {
    const { policy } = search;
    const type = record.resourceType;
    if (search.resourceType !== type) return false;
    if (policy.restricted && !policy.permits(type, 'search')) return false;
    const filter = policy.restricted ? await policy.searchFilter(type, 'search') : undefined;
    if (filter?.op === 'false') return false;
    const condition: Condition = filter === undefined ? search.where : { op: 'and', of: [search.where, filter] };
    const satisfied = inMemory(condition)
      ? matches(condition, ChangeRecord.indexed(record, conditionParams(condition), extract), NO_LOOKUP)
      : await viaStore(access, policy, record, search.where);
    if (!satisfied) return false;
    return !policy.restricted || policy.allowsResource(ChangeRecord.versionOf(record).resource!, 'read');
  };

  return {
    async read(request) {
      const page = await source.changes(request);
      return { changes: page.versions.map((v) => new ChangeRecord(v)), cursor: page.cursor };
    },
    onCommit: (listener) => source.onCommit(listener),
    async match(change, searches) {
      if (!(change instanceof ChangeRecord)) throw new Error('match() takes the changes read from this feed');
      if (change.deleted) return searches.map(() => undefined);
      const version = ChangeRecord.versionOf(change);
      const results: Array<StoredVersion | undefined> = [];
      for (const search of searches) results.push((await matchOne(change, search)) ? version : undefined);
      return results;
    },
  };
}

function inMemory(condition: Condition): boolean {
  if (!IN_MEMORY.has(condition.op)) return false;
  if (condition.op === 'and' || condition.op === 'or') return condition.of.every(inMemory);
  if (condition.op === 'not') return inMemory(condition.of);
  return true;
}

/** The criteria as a search for this one resource on the store bound to the policy (hops limited there). */
async function viaStore(access: ResourceAccess, policy: AccessPolicy, record: Change, where: Condition): Promise<boolean> {
  const page = await access.bind(policy).search({
    types: [record.resourceType],
    where: { op: 'and', of: [{ op: 'id', ids: [record.id] }, where] },
    sort: [],
    limit: 1,
  });
  return page.resources.length > 0;
}
