/**
 * Links between upstream identities and Bedside accounts (collection `auth.federated-identities`):
 * one document per (upstream issuer, upstream `sub`), the only stable key of a user at an OpenID
 * provider. Found by account too, for the admin page.
 *
 * https://openid.net/specs/openid-connect-core-1_0.html#ClaimStability
 */
import type { DocumentStore } from '../../../storage/document-store.js';

export const FEDERATED_IDENTITY_COLLECTION = 'auth.federated-identities';

export interface FederatedIdentity {
  provider: string;
  issuer: string;
  sub: string;
  accountId: string;
  linkedAt: number;
  /** How the link was made on the first sign-in. */
  how: 'matched' | 'provisioned' | 'operator';
  lastLoginAt: number;
}

export class FederatedIdentities {
  readonly #collection;

  constructor(documents: DocumentStore) {
    this.#collection = documents.collection<FederatedIdentity>(FEDERATED_IDENTITY_COLLECTION);
  }

  static key(issuer: string, sub: string): string {
    return `${issuer}|${sub}`;
  }

  async find(issuer: string, sub: string): Promise<FederatedIdentity | undefined> {
    return this.#collection.get(FederatedIdentities.key(issuer, sub));
  }

  async forAccount(accountId: string): Promise<FederatedIdentity[]> {
    return (await this.#collection.findByKey('accountId', accountId)).map((d) => d.value);
  }

  async save(identity: FederatedIdentity): Promise<void> {
    await this.#collection.put(FederatedIdentities.key(identity.issuer, identity.sub), identity, {
      keys: { accountId: identity.accountId, provider: identity.provider },
    });
  }

  async remove(issuer: string, sub: string): Promise<boolean> {
    return this.#collection.delete(FederatedIdentities.key(issuer, sub));
  }
}
