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
import { conditionParams, matches, type IndexedResource, type ResourceLookup } from '../search/evaluate.js';
import type { ChangeFeedSource, ChangesRequest, StoredVersion } from '../storage/resource-store.js';
import type { Condition, IndexEntry } from '../storage/search-index.js';
import type { AccessPolicy } from './policy.js';
import type { ResourceAccess } from './resource-access.js';

/** Which version was written, without its content. */
export type Change = Readonly<Omit<StoredVersion, 'resource'>>;

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
   * A search that cannot be evaluated (its criteria fail on the store) is reported to `onError`
   * and matches nothing; without `onError` the error is thrown.
   */
  match(
    change: Change,
    searches: readonly StandingSearch[],
    onError?: (search: StandingSearch, error: unknown) => void,
  ): Promise<Array<StoredVersion | undefined>>;
}

/** Index rows of a resource for the given parameters (search/extract.ts). */
export type ParamExtractor = (resource: Resource, params: ReadonlySet<string>) => IndexEntry[];

/** Conditions the in-memory evaluator decides from the resource's own rows. */
const IN_MEMORY = new Set<Condition['op']>(['true', 'false', 'and', 'or', 'not', 'row', 'missing', 'id', 'type', 'lastUpdated', 'near']);
const NO_LOOKUP: ResourceLookup = { get: () => undefined, ofType: () => [] };

/** What the feed keeps of a change it handed out, out of sight: the version and the index rows extracted so far. */
class ChangeRecord {
  readonly #rows = new Map<string, IndexEntry[]>();
  readonly #time: number;

  constructor(readonly version: StoredVersion) {
    this.#time = Date.parse(version.lastUpdated);
  }

  /** The version as the evaluator sees it, with the rows of `params` (extracted once each). */
  indexed(params: ReadonlySet<string>, extract: ParamExtractor): IndexedResource {
    let missing: Set<string> | undefined;
    for (const p of params) if (!this.#rows.has(p)) (missing ??= new Set()).add(p);
    if (missing) {
      for (const p of missing) this.#rows.set(p, []);
      for (const row of extract(this.version.resource!, missing)) this.#rows.get(row.param)?.push(row);
    }
    const index: IndexEntry[] = [];
    for (const p of params) index.push(...this.#rows.get(p)!);
    return { resourceType: this.version.resourceType, id: this.version.id, lastUpdated: this.#time, index };
  }
}

/** The records behind the changes this module handed out. */
const records = new WeakMap<Change, ChangeRecord>();

/** The change `version` made, as the feed hands it out. */
function changeOf(version: StoredVersion): Change {
  const { resourceType, id, versionId, lastUpdated, deleted, method } = version;
  const change: Change = { resourceType, id, versionId, lastUpdated, deleted, method };
  records.set(change, new ChangeRecord(version));
  return change;
}

/** What one standing search needs for every change of its type: decided once when the policy's filter is fixed. */
interface Prepared {
  /** False when the policy may not search the type, or its filter excludes everything. */
  possible: boolean;
  /** The criteria AND the policy's search filter. */
  condition: Condition;
  params: ReadonlySet<string>;
  inMemory: boolean;
}

/** The feed of `source` for standing searches bound through `access`. Only resource-access.ts calls this. */
export function createChangeFeed(source: ChangeFeedSource, access: ResourceAccess, extract: ParamExtractor): ChangeFeed {
  const prepared = new WeakMap<StandingSearch, Prepared>();

  const prepare = async (search: StandingSearch): Promise<Prepared> => {
    const known = prepared.get(search);
    if (known) return known;
    const { policy, resourceType: type } = search;
    const filter = policy.restricted && policy.permits(type, 'search') ? await policy.searchFilter(type, 'search') : undefined;
    const condition: Condition = filter === undefined ? search.where : { op: 'and', of: [search.where, filter] };
    const result: Prepared = {
      possible: (!policy.restricted || policy.permits(type, 'search')) && filter?.op !== 'false',
      condition,
      params: conditionParams(condition),
      inMemory: inMemory(condition),
    };
    // A filter that follows the data (what a patient's records reference) is asked for every time.
    if (!policy.restricted || policy.isFixed(type)) prepared.set(search, result);
    return result;
  };

  const matchOne = async (record: ChangeRecord, search: StandingSearch): Promise<boolean> => {
    if (search.resourceType !== record.version.resourceType) return false;
    const plan = prepared.get(search) ?? (await prepare(search));
    if (!plan.possible) return false;
    const satisfied = plan.inMemory
      ? matches(plan.condition, record.indexed(plan.params, extract), NO_LOOKUP)
      : await viaStore(access, search.policy, record.version, search.where);
    if (!satisfied) return false;
    return !search.policy.restricted || search.policy.allowsResource(record.version.resource!, 'read');
  };
  const routers = new WeakMap<readonly StandingSearch[], Router>();

  return {
    async read(request) {
      const page = await source.changes(request);
      return { changes: page.versions.map(changeOf), cursor: page.cursor };
    },
    onCommit: (listener) => source.onCommit(listener),
    async match(change, searches, onError) {
      const record = records.get(change);
      if (!record) throw new Error('match() takes the changes read from this feed');
      const results: Array<StoredVersion | undefined> = new Array<StoredVersion | undefined>(searches.length).fill(undefined);
      if (change.deleted) return results;
      let router = routers.get(searches);
      if (!router) routers.set(searches, (router = new Router(searches)));
      for (const i of router.candidates(record, extract)) {
        try {
          if (await matchOne(record, searches[i]!)) results[i] = record.version;
        } catch (error) {
          if (!onError) throw error;
          onError(searches[i]!, error);
        }
      }
      return results;
    },
  };
}

/**
 * Which of many standing searches a change can possibly satisfy, without evaluating each: a
 * search whose criteria require a row with a given value (`subject=Patient/123`: a `subject` row
 * whose value is `Patient/123`; `code=1234-5`: a `code` row with that code) is filed under that
 * value, and a change is only tried against the searches filed under the values its own rows
 * have, and those that require no such value. Built once per array of searches (keep the array
 * while the searches do not change).
 */
class Router {
  readonly #groups: Array<{ table: string; param: string; field: string; buckets: Map<unknown, number[]> }> = [];
  readonly #unrouted: number[] = [];
  readonly #all: number[];

  constructor(searches: readonly StandingSearch[]) {
    this.#all = searches.map((_, i) => i);
    searches.forEach((search, i) => {
      const route = routeOf(search.where);
      if (!route) {
        this.#unrouted.push(i);
        return;
      }
      let group = this.#groups.find((g) => g.table === route.table && g.param === route.param && g.field === route.field);
      if (!group) this.#groups.push((group = { ...route, buckets: new Map() }));
      for (const value of route.values) {
        const bucket = group.buckets.get(value);
        if (bucket) bucket.push(i);
        else group.buckets.set(value, [i]);
      }
    });
  }

  /** Indexes of the searches `record` may satisfy, ascending. */
  candidates(record: ChangeRecord, extract: ParamExtractor): number[] {
    if (this.#groups.length === 0) return this.#all;
    const found = new Set(this.#unrouted);
    for (const group of this.#groups) {
      for (const row of record.indexed(new Set([group.param]), extract).index) {
        if (row.table !== group.table) continue;
        const bucket = group.buckets.get((row as unknown as Record<string, unknown>)[group.field]);
        if (bucket) for (const i of bucket) found.add(i);
      }
    }
    return [...found].sort((a, b) => a - b);
  }
}

/** The row value a condition cannot be satisfied without, if there is one (see Router). */
function routeOf(condition: Condition): { table: string; param: string; field: string; values: unknown[] } | undefined {
  switch (condition.op) {
    case 'row': {
      const eq = condition.where.filter((p) => p.cmp === 'eq' && p.component === undefined);
      const chosen = eq.find((p) => p.field !== 'system' && p.field !== 'targetType') ?? eq[0];
      return chosen ? { table: condition.table, param: condition.param, field: chosen.field, values: [chosen.value] } : undefined;
    }
    case 'and':
      for (const c of condition.of) {
        const route = routeOf(c);
        if (route) return route;
      }
      return undefined;
    case 'or': {
      const routes = condition.of.map(routeOf);
      const first = routes[0];
      if (!first || !routes.every((r) => r && r.table === first.table && r.param === first.param && r.field === first.field)) return undefined;
      return { ...first, values: routes.flatMap((r) => r!.values) };
    }
    default:
      return undefined;
  }
}

function inMemory(condition: Condition): boolean {
  if (!IN_MEMORY.has(condition.op)) return false;
  if (condition.op === 'and' || condition.op === 'or') return condition.of.every(inMemory);
  if (condition.op === 'not') return inMemory(condition.of);
  return true;
}

/** The criteria as a search for this one resource on the store bound to the policy (hops limited there). */
async function viaStore(access: ResourceAccess, policy: AccessPolicy, record: StoredVersion, where: Condition): Promise<boolean> {
  const page = await access.bind(policy).search({
    types: [record.resourceType],
    where: { op: 'and', of: [{ op: 'id', ids: [record.id] }, where] },
    sort: [],
    limit: 1,
  });
  return page.resources.length > 0;
}
