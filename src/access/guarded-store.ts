/**
 * The one place where the access policy meets the data: a wrapper around the store operations
 * that every FHIR interaction uses (reads, searches with their includes, history, writes, each
 * entry of batch and transaction Bundles, $everything, compartment search). So a route cannot
 * forget the policy: it never sees an unguarded store.
 *
 * - Reads of resources outside the policy look like absent resources (404, no existence leak).
 * - Searches get the policy's condition ANDed in, per type.
 * - Writes are checked before (the current version must be within the policy) and after (the
 *   new content must stay within it): a write that would leave the allowed region is a 403.
 * - Deletes of resources outside the policy do nothing, as for an absent resource.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import { FhirError } from '../fhir/errors.js';
import { r4ResourceTypes } from '../fhir/search/registry.js';
import type { DeleteRequest, HistoryPage, PutRequest, ResourceOperations, SearchPage, SearchRequest, StoredVersion } from '../storage/resource-store.js';
import type { Condition } from '../storage/search-index.js';
import type { AccessPolicy, Interaction } from './policy.js';

/** History pages are filtered after reading; at most this many store pages are read per answer. */
const HISTORY_SCAN_PAGES = 10;

/** Guarded operations per policy (policies are cached per token) and store: built once, not per request. */
const guardedByPolicy = new WeakMap<AccessPolicy, WeakMap<ResourceOperations, ResourceOperations>>();

export function guardStore(operations: ResourceOperations, policy: AccessPolicy): ResourceOperations {
  if (!policy.restricted) return operations;
  let byStore = guardedByPolicy.get(policy);
  if (!byStore) guardedByPolicy.set(policy, (byStore = new WeakMap()));
  let guarded = byStore.get(operations);
  if (!guarded) byStore.set(operations, (guarded = createGuard(operations, policy)));
  return guarded;
}

/** Decisions remembered per guard (one per token and store): a version's content never changes. */
const DECISION_CACHE_SIZE = 512;

function createGuard(operations: ResourceOperations, policy: AccessPolicy): ResourceOperations {
  const decisions = new Map<string, boolean>();
  /** Decides once per version and interaction; a known decision is returned without awaiting. */
  const decide = (version: StoredVersion, interaction: Interaction, compute: () => Promise<boolean>): boolean | Promise<boolean> => {
    const key = `${version.resourceType}/${version.id}/${version.versionId}/${interaction}`;
    const known = decisions.get(key);
    if (known !== undefined) return known;
    return compute().then((allowed) => {
      if (decisions.size >= DECISION_CACHE_SIZE) decisions.delete(decisions.keys().next().value as string);
      decisions.set(key, allowed);
      return allowed;
    });
  };

  // What the type alone decides, per type and interaction: fixed for the policy's lifetime, as
  // the policy's search filters are. Kept here so a known type is decided without awaiting.
  const byTypeDecisions = new Map<string, 'all' | 'none' | 'inspect'>();
  const decideByType = (type: string, interaction: Interaction): 'all' | 'none' | 'inspect' | Promise<'all' | 'none' | 'inspect'> => {
    const key = `${type}/${interaction}`;
    return (
      byTypeDecisions.get(key) ??
      policy.decideByType(type, interaction).then((decision) => {
        byTypeDecisions.set(key, decision);
        return decision;
      })
    );
  };

  const visible = async (version: StoredVersion | undefined, interaction: Interaction): Promise<boolean> => {
    if (!version) return false;
    // Decide from the type when possible: the stored JSON is then never parsed.
    let byType = decideByType(version.resourceType, interaction);
    if (typeof byType !== 'string') byType = await byType;
    if (byType !== 'inspect') return byType === 'all';
    if (!version.deleted) return decide(version, interaction, () => policy.allowsResource(version.resource!, interaction));
    // A deletion marker has no content: it is visible when the version before it was.
    const previous = Number(version.versionId) > 1 ? await operations.vread(version.resourceType, version.id, String(Number(version.versionId) - 1)) : undefined;
    return previous !== undefined && !previous.deleted && policy.allowsResource(previous.resource!, interaction);
  };

  /** The search condition with the policy's filter for each searched type ANDed in. */
  const guardedWhere = async (request: SearchRequest): Promise<{ types: string[]; where: Condition } | undefined> => {
    const allowed = policy.allowedTypes('search');
    // A system-level search with a `*` scope still gets a filter per type: every R4 type.
    let types = request.types ?? allowed ?? [...r4ResourceTypes()];
    if (allowed) types = types.filter((t) => allowed.includes(t));
    if (types.length === 0) return undefined;
    const perType: Condition[] = [];
    let unrestricted = 0;
    for (const type of types) {
      const filter = await policy.searchFilter(type, 'search');
      if (filter === undefined) unrestricted++;
      if (filter?.op === 'false') continue;
      perType.push(types.length === 1 ? (filter ?? { op: 'true' }) : { op: 'and', of: [{ op: 'type', types: [type] }, filter ?? { op: 'true' }] });
    }
    if (perType.length === 0) return undefined;
    if (unrestricted === types.length) return { types, where: request.where };
    const policyWhere: Condition = perType.length === 1 ? perType[0]! : { op: 'or', of: perType };
    return { types, where: { op: 'and', of: [request.where, policyWhere] } };
  };

  return {
    async read(type, id) {
      const version = await operations.read(type, id);
      return (await visible(version, 'read')) ? version : undefined;
    },

    async readMany(refs) {
      const versions = await operations.readMany(refs);
      const allowed = await Promise.all(versions.map((v) => visible(v, 'read')));
      return versions.filter((_, i) => allowed[i]);
    },

    async vread(type, id, versionId) {
      const version = await operations.vread(type, id, versionId);
      return (await visible(version, 'read')) ? version : undefined;
    },

    async search(request): Promise<SearchPage> {
      const guarded = await guardedWhere(request);
      if (!guarded) return { resources: [], ...(request.total && request.total !== 'none' ? { total: 0 } : {}) };
      return operations.search({ ...request, types: guarded.types, where: guarded.where });
    },

    async history(request): Promise<HistoryPage> {
      const interaction: Interaction = request.id ? 'read' : 'search';
      // A policy without filters for the types involved sees the store's history as it is (with total).
      const types = request.resourceType ? [request.resourceType] : (policy.allowedTypes(interaction) ?? [...r4ResourceTypes()]);
      const filters = await Promise.all(types.map((t) => policy.searchFilter(t, interaction)));
      if ((request.resourceType || !policy.allowedTypes(interaction)) && filters.every((f) => f === undefined)) return operations.history(request);
      if (request.id && request.resourceType) {
        const current = await operations.read(request.resourceType, request.id);
        if (!(await visible(current, 'read'))) return { versions: [], total: 0 };
      }
      // Filter page by page, keeping the cursor of the last store page read.
      const versions: StoredVersion[] = [];
      let cursor = request.cursor;
      let next: string | undefined;
      for (let pages = 0; pages < HISTORY_SCAN_PAGES; pages++) {
        const page = await operations.history({ ...request, ...(cursor ? { cursor } : {}) });
        for (const version of page.versions) if (await visible(version, interaction)) versions.push(version);
        next = page.next;
        if (!next || versions.length >= request.limit) break;
        cursor = next;
      }
      // `total` would count versions the caller may not see: leave it out.
      return { versions, ...(next ? { next } : {}) };
    },

    async put(request: PutRequest) {
      // Types the policy allows whole (e.g. system scopes): no content to check, no read needed.
      if ((await decideByType(request.resourceType, 'update')) === 'all' && (await decideByType(request.resourceType, 'create')) === 'all') return operations.put(request);
      const current = await operations.read(request.resourceType, request.id);
      const exists = current !== undefined && !current.deleted;
      if (exists && !(await policy.allowsResource(current.resource!, 'update'))) {
        throw forbidden(`The token may not change ${request.resourceType}/${request.id}`);
      }
      if (!(await policy.allowsResource(request.resource, exists ? 'update' : 'create'))) {
        throw forbidden(`The token may not ${exists ? 'update' : 'create'} this ${request.resourceType}: the result would be outside what its scopes and context allow (e.g. another patient's record)`);
      }
      return operations.put(request);
    },

    async delete(request: DeleteRequest) {
      if ((await decideByType(request.resourceType, 'delete')) === 'all') return operations.delete(request);
      const current = await operations.read(request.resourceType, request.id);
      if (!current || current.deleted) return operations.delete(request);
      // Out of reach: behave as for an absent resource (deleting nothing), without revealing it exists.
      if (!(await policy.allowsResource(current.resource!, 'delete'))) return undefined;
      return operations.delete(request);
    },
  };
}

function forbidden(message: string): FhirError {
  return new FhirError(403, 'forbidden', message);
}
