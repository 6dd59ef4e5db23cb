/**
 * What the FHIR API's token verification reads from the authorization server's store, as a port
 * the authorization server implements (auth/issuer-records.ts) and the composition root (app.ts)
 * hands in: the issuer's public signing keys, and the records the revocation rule looks at
 * (token-verification.ts `revocationRules`). Every read is one primary-key lookup.
 */
import type { JSONWebKeySet } from 'jose';

export interface IssuerRecords {
  /** The public keys access tokens may be signed with (what the issuer's jwks_uri publishes). */
  publicKeys(): Promise<JSONWebKeySet>;
  /** Whether the client is registered (not deleted by itself, not disabled by an operator). */
  hasClient(clientId: string): Promise<boolean>;
  /** Whether the grant still exists (not revoked, not expired). */
  hasGrant(grantId: string): Promise<boolean>;
  /** Whether an access token without a grant was revoked by its id (`jti`). */
  isTokenIdRevoked(tokenId: string): Promise<boolean>;
  /** The user's account as revocation sees it; undefined when it is gone. */
  account(accountId: string): Promise<{ locked: boolean; fhirUser?: string } | undefined>;
}
