/**
 * The authorization server's side of the FHIR API's IssuerRecords port (access/issuer-records.ts):
 * its public keys and the records token revocation is decided on, read from the shared store.
 */
import type { JSONWebKeySet } from 'jose';
import type { IssuerRecords } from '../access/issuer-records.js';
import type { DocumentStore } from '../storage/document-store.js';
import { ACCOUNT_COLLECTION, type StoredAccount } from './accounts.js';
import { oidcCollectionName } from './adapter.js';
import { publicJwks, readKeySet } from './keys.js';

/** The collection of revoked access-token ids (for tokens without a grant), kept until they expire. */
export const REVOKED_JTI_COLLECTION = 'auth.revoked-jti';

export function issuerRecords(documents: DocumentStore): IssuerRecords {
  const grants = documents.collection(oidcCollectionName('Grant'));
  const clients = documents.collection(oidcCollectionName('Client'));
  const revokedJti = documents.collection(REVOKED_JTI_COLLECTION);
  const accounts = documents.collection<StoredAccount>(ACCOUNT_COLLECTION);
  return {
    async publicKeys() {
      const keySet = await readKeySet(documents);
      return keySet ? (publicJwks(keySet) as JSONWebKeySet) : { keys: [] };
    },
    hasClient: async (clientId) => (await clients.get(clientId)) !== undefined,
    hasGrant: async (grantId) => (await grants.get(grantId)) !== undefined,
    isTokenIdRevoked: async (tokenId) => (await revokedJti.get(tokenId)) !== undefined,
    async account(accountId) {
      const account = await accounts.get(accountId);
      return account && { locked: account.locked === true, ...(account.fhirUser ? { fhirUser: account.fhirUser } : {}) };
    },
  };
}
