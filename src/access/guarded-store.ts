/**
 * The one place where the access policy meets the data: the store as one principal may see it.
 * Request-serving code never holds anything else (access/resource-access.ts binds it), so a
 * route cannot forget the policy.
 *
 * - Reads of resources outside the policy look like absent resources (404, no existence leak).
 * - Searches and scans get the policy's filter ANDed in per type, and every chained and `_has`
 *   hop gets the filter of the type it steps into (access/hops.ts). A type the token may not
 *   search is refused with 403, whether searched directly or reached by a hop.
 * - Writes are checked before (the current version must be within the policy) and after (the
 *   new content must stay within it): a write that would leave the allowed region is a 403.
 * - Writes hide existence as reads do: a token that does not reach every resource of a type may
 *   not create one with an id of its choosing (update-as-create), so a PUT to an id it cannot see
 *   gets the same 403 whether or not a resource with that id exists.
 * - Deletes of resources outside the policy do nothing, as for an absent resource.
 * - Transactions run on the guarded store: every operation inside one is guarded too.
 * - Paging cursors leave sealed (access/cursor-seal.ts): the store's row keys stay inside.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import { LRUCache } from 'lru-cache';
import { FhirError } from '../r4/errors.js';
import { r4ResourceTypes } from '../search/registry.js';
import type {
  DeleteRequest,
  HistoryPage,
  PutRequest,
  PutResult,
  ResourceOperations,
  ResourceStore,
  SearchPage,
  SearchRequest,
  StoredVersion,
} from '../storage/resource-store.js';
import type { Condition } from '../storage/search-index.js';
import { hasHops, limitHops } from './hops.js';
import type { CursorSeal } from './cursor-seal.js';
import { visibleHistory } from './visible-history.js';
import type { AccessPolicy, Interaction } from './policy.js';

/** What `$export` streams: one type, in store order, within the policy. */
export interface ScanRequest {
  resourceType: string;
  where?: Condition;
  since?: number;
  batchSize?: number;
}

/** The store bound to one principal's policy. */
export interface GuardedStore extends ResourceOperations {
  readonly policy: AccessPolicy;
  /**
   * Runs `work` atomically on the guarded store (see ResourceStore.transaction: `work` may run
   * more than once and must use `tx` only).
   */
  transaction<T>(work: (tx: GuardedStore) => Promise<T>): Promise<T>;
  /** Streams the current versions of one type the policy lets the principal search. */
  scan(request: ScanRequest): AsyncIterable<StoredVersion>;
}

/** Decisions remembered per policy: a version's content never changes. */
const DECISION_CACHE_SIZE = 512;

type TypeDecision = 'all' | 'none' | 'inspect';

/** What a policy's guards remember, shared by the store's guard and its transactions' guards. */
class Decisions {
  readonly #versions = new LRUCache<string, boolean>({ max: DECISION_CACHE_SIZE });
  readonly #types = new Map<string, TypeDecision>();

  constructor(readonly policy: AccessPolicy) {}

  /** What the type alone decides; a known answer comes back without awaiting. */
  byType(type: string, interaction: Interaction): TypeDecision | Promise<TypeDecision> {
    const key = `${type}/${interaction}`;
    const known = this.#types.get(key);
    if (known) return known;
    return this.policy.decideByType(type, interaction).then((decision) => {
      // Only fixed filters make lasting decisions (access/policy.ts isFixed).
      if (this.policy.isFixed(type)) this.#types.set(key, decision);
      return decision;
    });
  }

  /** Whether one version is within the policy; a known answer comes back without awaiting. */
  version(version: StoredVersion, interaction: Interaction): boolean | Promise<boolean> {
    const fixed = this.policy.isFixed(version.resourceType);
    const key = `${version.resourceType}/${version.id}/${version.versionId}/${interaction}`;
    const known = fixed ? this.#versions.get(key) : undefined;
    if (known !== undefined) return known;
    return this.policy.allowsResource(version.resource!, interaction).then((allowed) => {
      if (fixed) {
        this.#versions.set(key, allowed);
      }
      return allowed;
    });
  }
}

/** Guards `store` for `policy`. Only access/resource-access.ts calls this. */
export function guardStore(store: ResourceStore, policy: AccessPolicy, cursors: CursorSeal): GuardedStore {
  const decisions = new Decisions(policy);
  const guarded = new Guard(store, decisions, cursors);
  return Object.assign(guarded, {
    transaction<T>(work: (tx: GuardedStore) => Promise<T>): Promise<T> {
      return store.transaction((tx) => work(new Guard(tx, decisions, cursors)));
    },
    scan: (request: ScanRequest) => guarded.scanWith(store, request),
  });
}

class Guard implements GuardedStore {
  readonly policy: AccessPolicy;

  constructor(
    private readonly operations: ResourceOperations,
    private readonly decisions: Decisions,
    /** Cursors go out sealed and come back opened (access/cursor-seal.ts). */
    private readonly cursors: CursorSeal,
  ) {
    this.policy = decisions.policy;
  }

  transaction<T>(): Promise<T> {
    return Promise.reject(new FhirError(400, 'not-supported', 'A transaction cannot be nested in another'));
  }

  scan(): AsyncIterable<StoredVersion> {
    throw new FhirError(400, 'not-supported', 'Exports do not run inside a transaction');
  }

  async read(type: string, id: string): Promise<StoredVersion | undefined> {
    const version = await this.operations.read(type, id);
    return (await this.visible(version, 'read')) ? version : undefined;
  }

  async readMany(refs: Array<{ resourceType: string; id: string }>): Promise<StoredVersion[]> {
    const versions = await this.operations.readMany(refs);
    const allowed = await Promise.all(versions.map((v) => this.visible(v, 'read')));
    return versions.filter((_, i) => allowed[i]);
  }

  async vread(type: string, id: string, versionId: string): Promise<StoredVersion | undefined> {
    const version = await this.operations.vread(type, id, versionId);
    if (!(await this.visible(version, 'read'))) return undefined;
    // An old version of a resource that has left the reach answers as a read of it does.
    if (!(await this.visible(await this.operations.read(type, id), 'read'))) return undefined;
    return version;
  }

  async search(request: SearchRequest): Promise<SearchPage> {
    const guarded = await this.guardedWhere(request.types, request.where);
    if (!guarded) return { resources: [], ...(request.total && request.total !== 'none' ? { total: 0 } : {}) };
    const { types: _asked, cursor, ...rest } = request;
    const page = await this.operations.search({
      ...rest,
      ...(guarded.types ? { types: guarded.types } : {}),
      where: guarded.where,
      ...(cursor ? { cursor: this.cursors.open(cursor) } : {}),
    });
    return {
      ...page,
      ...(page.next ? { next: this.cursors.seal(page.next) } : {}),
      ...(page.previous ? { previous: this.cursors.seal(page.previous) } : {}),
    };
  }

  /** The scan of `store` (the raw store this guard wraps) within the policy. */
  async *scanWith(store: ResourceStore, request: ScanRequest): AsyncIterable<StoredVersion> {
    const guarded = await this.guardedWhere([request.resourceType], request.where ?? { op: 'true' });
    if (!guarded) return;
    const where = guarded.where.op === 'true' ? undefined : guarded.where;
    yield* store.scan({ ...request, ...(where ? { where } : {}) });
  }

  async history(sealed: Parameters<ResourceOperations['history']>[0]): Promise<HistoryPage> {
    const request = sealed.cursor ? { ...sealed, cursor: this.cursors.open(sealed.cursor) } : sealed;
    const page = await this.#history(request);
    return page.next ? { ...page, next: this.cursors.seal(page.next) } : page;
  }

  async #history(request: Parameters<ResourceOperations['history']>[0]): Promise<HistoryPage> {
    const { policy } = this;
    const interaction: Interaction = request.id ? 'read' : 'search';
    // A policy without filters for the types involved sees the store's history as it is (with total).
    const types = request.resourceType ? [request.resourceType] : (policy.allowedTypes(interaction) ?? [...r4ResourceTypes()]);
    const filters = await Promise.all(types.map((t) => policy.searchFilter(t, interaction)));
    if ((request.resourceType || !policy.allowedTypes(interaction)) && filters.every((f) => f === undefined)) return this.operations.history(request);
    // A version is shown only while the resource's current version is visible too: a record that
    // has left the reach answers for its old versions as it does for a read (404, or nothing).
    const currentVisible = new Map<string, Promise<boolean>>();
    const shown = async (version: StoredVersion): Promise<boolean> => {
      const key = `${version.resourceType}/${version.id}`;
      let current = currentVisible.get(key);
      if (!current) currentVisible.set(key, (current = this.operations.read(version.resourceType, version.id).then((c) => this.visible(c, interaction))));
      return (await current) && (await this.visible(version, interaction));
    };
    if (request.id && request.resourceType) {
      const current = await this.operations.read(request.resourceType, request.id);
      if (!(await this.visible(current, 'read'))) return { versions: [], total: 0 };
    }
    // `total` would count versions the caller may not see: it is left out (access/visible-history.ts).
    return visibleHistory(this.operations, request, shown);
  }

  async put(request: PutRequest): Promise<PutResult> {
    const { policy } = this;
    const type = request.resourceType;
    const update = await this.decisions.byType(type, 'update');
    // Types the policy allows whole (e.g. system scopes): no content to check, no read needed.
    if (update === 'all' && (await this.decisions.byType(type, 'create')) === 'all') return this.operations.put(request);
    // A server-assigned id (POST) is fresh: there is nothing to hide, only the content to check.
    if (request.mustBeNew) return this.create(request);
    const current = await this.operations.read(type, request.id);
    const known = current !== undefined && ((await this.visible(current, 'read')) || (await this.visible(current, 'update')));
    if (!known) {
      // Absent, or there but out of reach: one answer for both. Only a token that may update
      // every resource of the type may choose a new id (then nothing of the type is hidden).
      if (update === 'all') return this.create(request);
      throw forbidden(
        `The token may update only ${type} resources it can see, and ${type}/${request.id} is not one of them. ` +
          `It may not create a ${type} with an id of its choosing: create it with POST`,
      );
    }
    if (current.deleted) return this.create(request);
    if (!(await this.visible(current, 'update'))) throw forbidden(`The token may not change ${type}/${request.id}`);
    if (!(await policy.allowsResource(request.resource, 'update'))) {
      throw forbidden(`The token may not update this ${type}: the result would be outside what its scopes and context allow (e.g. another patient's record)`);
    }
    return this.operations.put(request);
  }

  async delete(request: DeleteRequest): Promise<StoredVersion | undefined> {
    if ((await this.decisions.byType(request.resourceType, 'delete')) === 'all') return this.operations.delete(request);
    const current = await this.operations.read(request.resourceType, request.id);
    if (!current || current.deleted) return undefined;
    // Out of reach: behave as for an absent resource (deleting nothing), without revealing it exists.
    if (!(await this.visible(current, 'delete'))) return undefined;
    return this.operations.delete(request);
  }

  /** A create: the new content must be within what the policy lets the token create. */
  private async create(request: PutRequest): Promise<PutResult> {
    if (!(await this.policy.allowsResource(request.resource, 'create'))) {
      throw forbidden(
        `The token may not create this ${request.resourceType}: it would be outside what its scopes and context allow (e.g. another patient's record)`,
      );
    }
    return this.operations.put(request);
  }

  private async visible(version: StoredVersion | undefined, interaction: Interaction): Promise<boolean> {
    if (!version) return false;
    // Decide from the type when possible: the stored JSON is then never parsed.
    let byType = this.decisions.byType(version.resourceType, interaction);
    if (typeof byType !== 'string') byType = await byType;
    if (byType !== 'inspect') return byType === 'all';
    if (!version.deleted) return this.decisions.version(version, interaction);
    // A deletion marker has no content: it is visible when the version before it was.
    const previous =
      Number(version.versionId) > 1 ? await this.operations.vread(version.resourceType, version.id, String(Number(version.versionId) - 1)) : undefined;
    return previous !== undefined && !previous.deleted && this.policy.allowsResource(previous.resource!, interaction);
  }

  /**
   * The search condition with the policy's filter for each searched type ANDed in, and every
   * hop limited (access/hops.ts). Undefined when the types the policy reaches match nothing.
   */
  private async guardedWhere(requested: string[] | undefined, where: Condition): Promise<{ types?: string[]; where: Condition } | undefined> {
    const { policy } = this;
    // The unrestricted policy of trusted tools: every type, no filter, no hop to limit.
    if (!policy.restricted) return { ...(requested ? { types: requested } : {}), where };
    let types: string[];
    if (requested) {
      // Each type asked for explicitly must be searchable: a conditional criterion, an include
      // or a reverse include on a type the token may not search is refused like the search itself.
      for (const type of requested) policy.assertAllowed(type, 'search');
      types = requested;
    } else {
      // System level without `_type`: the types the scopes name (every R4 type for `*`).
      policy.assertAllowed(undefined, 'search');
      types = (policy.allowedTypes('search') ?? [...r4ResourceTypes()]).filter((t) => policy.permits(t, 'search'));
    }
    if (types.length === 0) return undefined;
    const limited = hasHops(where) ? await limitHops(where, policy) : where;
    const perType: Condition[] = [];
    let unrestricted = 0;
    for (const type of types) {
      const filter = await policy.searchFilter(type, 'search');
      if (filter === undefined) unrestricted++;
      if (filter?.op === 'false') continue;
      perType.push(types.length === 1 ? (filter ?? { op: 'true' }) : { op: 'and', of: [{ op: 'type', types: [type] }, filter ?? { op: 'true' }] });
    }
    if (perType.length === 0) return undefined;
    if (unrestricted === types.length) return { types, where: limited };
    const policyWhere: Condition = perType.length === 1 ? perType[0]! : { op: 'or', of: perType };
    return { types, where: { op: 'and', of: [limited, policyWhere] } };
  }
}

function forbidden(message: string): FhirError {
  return new FhirError(403, 'forbidden', message);
}
