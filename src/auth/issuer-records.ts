/**
 * The authorization server's side of the FHIR API's IssuerRecords port (access/issuer-records.ts):
 * its public keys and the records token revocation is decided on (grants, clients, revoked token
 * ids, accounts), read from the shared store. app.ts hands it to the access layer.
 */
import type { JSONWebKeySet } from 'jose';
import type { IssuerRecords } from '../access/issuer-records.js';
import type { DocumentStore } from '../storage/document-store.js';
import { ACCOUNT_COLLECTION, type StoredAccount } from './accounts/account-store.js';
import { publicJwks, readKeySet } from './provider/keys.js';
import { providerLookups } from './provider/records.js';

/** The collection of revoked access-token ids (for tokens without a grant), kept until they expire. */
export const REVOKED_JTI_COLLECTION = 'auth.revoked-jti';

/** Access tokens without a grant (client_credentials, JWT bearer), revoked by their id. */
export class RevokedTokens {
  readonly #collection;

  constructor(documents: DocumentStore) {
    this.#collection = documents.collection<{ clientId: string }>(REVOKED_JTI_COLLECTION);
  }

  /** Lists the token's id as revoked until a minute after it expires. */
  async revoke(claims: { jti: string; client_id: string; exp: number }): Promise<void> {
    await this.#collection.put(claims.jti, { clientId: claims.client_id }, { expiresAt: claims.exp * 1000 + 60_000 });
  }

  async isRevoked(tokenId: string): Promise<boolean> {
    return (await this.#collection.get(tokenId)) !== undefined;
  }
}

export function issuerRecords(documents: DocumentStore): IssuerRecords {
  const { hasGrant, hasClient } = providerLookups(documents);
  const revoked = new RevokedTokens(documents);
  const accounts = documents.collection<StoredAccount>(ACCOUNT_COLLECTION);
  return {
    async publicKeys() {
      const keySet = await readKeySet(documents);
      return keySet ? (publicJwks(keySet) as JSONWebKeySet) : { keys: [] };
    },
    hasClient,
    hasGrant,
    isTokenIdRevoked: (tokenId) => revoked.isRevoked(tokenId),
    async account(accountId) {
      const account = await accounts.get(accountId);
      return account && { locked: account.locked === true, ...(account.fhirUser ? { fhirUser: account.fhirUser } : {}) };
    },
  };
}
