/**
 * Who a subscription acts for: the principal (client, user, patient context, grant, scopes) whose
 * token created or last changed it, kept in the DocumentStore (collection `subscriptions.owners`)
 * under an unguessable id that the Subscription names in its owner extension (spec.ts). The
 * record is written before the resource, so a stored Subscription never names a record that is
 * not there; a record whose write of the resource then failed is named by nothing and is removed
 * when the subscription is next loaded (`prune`) or after a day.
 *
 * Every notification runs with the owner's policy as recorded (access/resource-access.ts
 * `resume`), and stops when the owner's authorization has ended.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../access/policy.js';
import type { DocumentCollection, DocumentStore } from '../storage/document-store.js';

export interface OwnerRecord {
  subscription: string;
  principal: Principal;
  /** Epoch ms of the write: changes committed before it are not notified. */
  since: number;
}

/**
 * Whether two principals act as one for a subscription: the same client, the same user and the
 * same patient context. A token of the same user and app launched for another patient is someone
 * else here: its notifications would tell it about a patient its own token cannot read.
 */
export function sameActor(a: Principal, b: Principal): boolean {
  return a.clientId === b.clientId && a.subject === b.subject && a.patient === b.patient;
}

/** How long a record not (yet) named by a subscription is kept. */
const UNCLAIMED_TTL_MS = 24 * 3600_000;

export class OwnerRecords {
  readonly #records: DocumentCollection<OwnerRecord>;

  constructor(documents: DocumentStore) {
    this.#records = documents.collection<OwnerRecord>('subscriptions.owners');
  }

  /** Records `principal` as the owner of the next version of `subscription`; returns the record's id. */
  async record(subscription: string, principal: Principal): Promise<string> {
    const id = randomBytes(18).toString('base64url');
    await this.#records.put(id, { subscription, principal, since: Date.now() }, { keys: { subscription }, expiresAt: Date.now() + UNCLAIMED_TTL_MS });
    return id;
  }

  /** The record `id` if it belongs to `subscription`. */
  async get(id: string, subscription: string): Promise<OwnerRecord | undefined> {
    const record = await this.#records.get(id);
    return record?.subscription === subscription ? record : undefined;
  }

  /**
   * Keeps record `keep` for good (no expiry) and removes the subscription's records older than it.
   * Newer ones are left alone: a client may be changing the subscription right now.
   */
  async prune(subscription: string, keep: string): Promise<void> {
    const records = await this.#records.findByKey('subscription', subscription);
    const kept = records.find((r) => r.id === keep);
    if (!kept) return;
    for (const stored of records) if (stored.value.since < kept.value.since) await this.#records.delete(stored.id);
    if (kept.expiresAt !== undefined) await this.#records.put(kept.id, kept.value, { keys: { subscription } });
  }

  /** Removes the records of a deleted subscription made before its deletion (epoch ms). */
  async removeBefore(subscription: string, deletedAt: number): Promise<void> {
    for (const stored of await this.#records.findByKey('subscription', subscription)) {
      if (stored.value.since <= deletedAt) await this.#records.delete(stored.id);
    }
  }
}
