/**
 * A subscription as notifications need it: what it asks for (spec.ts), whose it is (owners.ts),
 * the owner's policy and the store bound to it. Every decision about a notification is made
 * with that policy:
 * - matching (access/change-feed.ts): the criteria AND the policy's search filter, and the policy
 *   may read the version;
 * - just before sending: the owner's authorization still stands (`OwnerValidity`), and, for a
 *   notification that waited longer than the revocation window since its match (a retry, a
 *   backlog), the resource is still there and readable through the owner's store
 *   (`readableVersion`).
 */
import type { Subscription } from 'fhir/r4';
import type { StandingSearch } from '../access/change-feed.js';
import type { GuardedStore } from '../access/guarded-store.js';
import type { AccessPolicy, Principal } from '../access/policy.js';
import type { ResourceAccess } from '../access/resource-access.js';
import { FhirError } from '../r4/errors.js';
import type { StoredVersion } from '../storage/resource-store.js';
import type { OwnerRecord, OwnerRecords } from './owners.js';
import { readSubscription, type ReadOptions, type SubscriptionSpec } from './spec.js';

export interface LiveSubscription {
  spec: SubscriptionSpec;
  owner: OwnerRecord;
  /** The owner record's id (spec.ownerRecord). */
  ownerRecord: string;
  search: StandingSearch;
  /** The store as the owner may see it. */
  store: GuardedStore;
}

/** Why the authorization behind a recorded principal has ended, or undefined while it stands. */
export type OwnerCheck = (principal: Principal) => Promise<string | undefined>;

/** A version a notification is about: enough to read it again through the owner's store. */
export interface VersionRef {
  resourceType: string;
  id: string;
  versionId: string;
}

export interface LoaderDependencies {
  owners: OwnerRecords;
  access: ResourceAccess;
  /** The owner's policy as it is now (access/resource-access.ts `resume`). */
  resume(principal: Principal): AccessPolicy;
  read: ReadOptions;
}

/** Loads subscriptions; the answer is a live subscription or why it cannot run (a sentence for `Subscription.error`). */
export function createLoader(deps: LoaderDependencies): (resource: Subscription) => Promise<LiveSubscription | { problem: string }> {
  return async (resource) => {
    let spec: SubscriptionSpec;
    try {
      spec = readSubscription(resource, deps.read);
    } catch (error) {
      if (error instanceof FhirError) return { problem: `The subscription cannot be run: ${error.message}` };
      throw error;
    }
    const owner = spec.ownerRecord ? await deps.owners.get(spec.ownerRecord, spec.id) : undefined;
    if (!owner || !spec.ownerRecord) return { problem: 'There is no record of who created this subscription: create or update it through the FHIR API' };
    const policy = deps.resume(owner.principal);
    return {
      spec,
      owner,
      ownerRecord: spec.ownerRecord,
      search: { policy, resourceType: spec.criteria.resourceType, where: spec.criteria.where },
      store: deps.access.bind(policy),
    };
  };
}

/**
 * The owner checks of running subscriptions, each answer kept for `windowMs` (REVOCATION_CHECK_MS)
 * so a burst of notifications costs one check.
 */
export class OwnerValidity {
  readonly #checked = new WeakMap<LiveSubscription, { at: number; epoch: number; ended: string | undefined }>();
  /** Bumped by `forget`: answers from before are not used again. */
  #epoch = 0;

  constructor(
    private readonly check: OwnerCheck,
    private readonly windowMs: number,
  ) {}

  /** Why `live` must stop (its owner's authorization ended, or its `end` passed), or undefined. */
  async ended(live: LiveSubscription, now = Date.now()): Promise<string | undefined> {
    if (live.spec.end !== undefined && live.spec.end <= now) return 'Subscription.end has passed';
    const known = this.#checked.get(live);
    if (known && (known.ended !== undefined || (known.epoch === this.#epoch && now - known.at < this.windowMs))) return known.ended;
    const epoch = this.#epoch;
    const why = await this.check(live.owner.principal);
    const ended = why === undefined ? undefined : `The authorization this subscription was created with has ended (${why})`;
    this.#checked.set(live, { at: now, epoch, ended });
    return ended;
  }

  /** Forgets every "still stands" answer (a revocation was just made on this node). */
  forget(): void {
    this.#epoch++;
  }
}

/**
 * `ref` as the owner may read it now, or undefined: the resource must still be there (not
 * deleted) and readable through the owner's store, and so must the version itself.
 */
export async function readableVersion(live: LiveSubscription, ref: VersionRef): Promise<StoredVersion | undefined> {
  const current = await live.store.read(ref.resourceType, ref.id);
  if (!current || current.deleted) return undefined;
  if (current.versionId === ref.versionId) return current;
  return live.store.vread(ref.resourceType, ref.id, ref.versionId);
}
