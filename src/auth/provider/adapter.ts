/**
 * oidc-provider's storage adapter over the DocumentStore port: one collection per model
 * (`oidc.Session`, `oidc.Grant`, `oidc.AuthorizationCode`, `oidc.RefreshToken`, `oidc.Client`
 * ...), with expiry and the secondary keys the provider looks things up by (grantId, uid,
 * userCode) plus accountId and clientId for the grants page. Because the DocumentStore lives in
 * the same database as the resources, every Bedside node sees the same sessions, codes and tokens.
 *
 * The expected interface: https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 *
 * Two operations are made atomic here where the provider's find-then-write would race between
 * nodes: `consume` (single-use codes and rotated refresh tokens) and the replay-detection insert
 * (a private_key_jwt assertion's jti accepted once).
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { DocumentCollection, DocumentKeys, DocumentStore } from '../../storage/document-store.js';

/** Prefix of every collection the provider uses (the grants page lists them). */
export const OIDC_COLLECTION_PREFIX = 'oidc.';

export function oidcCollectionName(model: string): string {
  return `${OIDC_COLLECTION_PREFIX}${model}`;
}

const SECONDARY_KEYS = ['grantId', 'uid', 'userCode', 'accountId', 'clientId'] as const;

function keysOf(payload: AdapterPayload): DocumentKeys {
  const keys: DocumentKeys = {};
  for (const name of SECONDARY_KEYS) {
    const value = (payload as Record<string, unknown>)[name];
    if (typeof value === 'string') keys[name] = value;
  }
  return keys;
}

/** One model's storage. */
export class DocumentStoreAdapter implements Adapter {
  readonly #collection: DocumentCollection<AdapterPayload>;

  constructor(
    readonly model: string,
    documents: DocumentStore,
  ) {
    this.#collection = documents.collection<AdapterPayload>(oidcCollectionName(model));
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const options = { keys: keysOf(payload), ...(expiresIn ? { expiresAt: Date.now() + expiresIn * 1000 } : {}) };
    if (this.model === 'ReplayDetection') {
      // The provider checked with find() first; a concurrent request may have won since.
      if (!(await this.#collection.insert(id, payload, options))) {
        throw new errors.InvalidClientAuth('client assertion tokens must only be used once');
      }
      return;
    }
    await this.#collection.put(id, payload, options);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#collection.get(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return (await this.#collection.findByKey('userCode', userCode))[0]?.value;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return (await this.#collection.findByKey('uid', uid))[0]?.value;
  }

  /** Marks a code or refresh token used; a second consumer (another request, another node) loses. */
  async consume(id: string): Promise<void> {
    for (;;) {
      const stored = await this.#collection.getStored(id);
      if (!stored) throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'authorization code'} not found`);
      if (stored.value.consumed) throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'authorization code'} already used`);
      const value = { ...stored.value, consumed: Math.floor(Date.now() / 1000) };
      const options = { keys: stored.keys, ...(stored.expiresAt ? { expiresAt: stored.expiresAt } : {}) };
      if (await this.#collection.replaceIf(id, stored.updatedAt, value, options)) return;
    }
  }

  async destroy(id: string): Promise<void> {
    await this.#collection.delete(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#collection.deleteByKey('grantId', grantId);
  }
}

/** The factory oidc-provider's `adapter` option takes. */
export function documentStoreAdapter(documents: DocumentStore): (model: string) => Adapter {
  return (model) => new DocumentStoreAdapter(model, documents);
}
