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
import { providerLookups, RevokedTokens } from './provider/records.js';

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
