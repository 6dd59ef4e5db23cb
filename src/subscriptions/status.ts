/**
 * The server's side of `Subscription.status`: `requested` → `active` once the subscription runs,
 * `error` (with the reason in `Subscription.error`) while notifications cannot be delivered and
 * back to `active` when they can, `off` when it can never run again (its owner's authorization
 * ended, its `end` passed, there is no record of its owner). Written as a new version through the
 * store bound to Bedside's own `system/Subscription.rus` policy, as a compare-and-set on the
 * version read, and only when the version read still belongs to the same owner record: a
 * client's change in between wins.
 *
 * The reasons are written for whoever may read the Subscription, who need not be its owner: they
 * name the endpoint's answer or the authorization that ended, never a resource.
 */
import type { Resource, Subscription } from 'fhir/r4';
import type { GuardedStore } from '../access/guarded-store.js';
import { StorageError } from '../storage/errors.js';
import type { IndexEntry } from '../storage/search-index.js';
import { OWNER_EXTENSION, type SubscriptionStatus } from './spec.js';

const ATTEMPTS = 3;

export class StatusWriter {
  constructor(
    private readonly store: GuardedStore,
    private readonly indexer: (resource: Resource) => IndexEntry[],
  ) {}

  /**
   * Sets `status` (and `error`, removed when undefined) on subscription `id` if it still belongs
   * to owner record `ownerRecord` (undefined: whatever it belongs to) and says otherwise.
   * Resolves to whether a new version was written.
   */
  async set(id: string, ownerRecord: string | undefined, status: SubscriptionStatus, error?: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.store.read('Subscription', id);
      if (!current || current.deleted) return false;
      const subscription = current.resource as Subscription;
      const owner = subscription.extension?.find((e) => e.url === OWNER_EXTENSION)?.valueString;
      if (ownerRecord !== undefined && owner !== ownerRecord) return false;
      if (subscription.status === status && subscription.error === error) return false;
      const { error: _previous, ...rest } = subscription;
      const next: Subscription = { ...rest, status, ...(error === undefined ? {} : { error }) };
      try {
        await this.store.put({ resourceType: 'Subscription', id, resource: next, index: this.indexer(next), method: 'PUT', ifMatch: current.versionId });
        return true;
      } catch (caught) {
        if (!(caught instanceof StorageError && caught.code === 'precondition-failed') || attempt >= ATTEMPTS) throw caught;
      }
    }
  }
}
