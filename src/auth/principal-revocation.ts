/**
 * Whether the authorization behind a principal recorded earlier (an export job's owner) has
 * ended since: the stored facts the access-token verifier checks for a token
 * (auth/token-verification.ts: the grant, the client, the revoked `jti`s), plus the user's
 * account, which a token does not need to be checked against because locking an account revokes
 * its grants, but a job outlives its tokens.
 *
 * Each answer is a few primary-key reads in the shared store, so a revocation on any node is seen
 * by the next check on every node.
 */
import type { Principal } from '../access/policy.js';
import type { DocumentStore } from '../storage/document-store.js';
import { AccountStore } from './accounts.js';
import { oidcCollectionName } from './adapter.js';
import { REVOKED_JTI_COLLECTION } from './token-verification.js';

/** Why a principal's authorization has ended. */
export type Revocation =
  /** The user's grant is gone: revoked (revocation endpoint, grants page, refresh-token reuse), or expired. */
  | 'grant revoked or expired'
  /** A token without a grant (client_credentials, JWT bearer grant) was revoked by its `jti`. */
  | 'token revoked'
  /** The client was deleted (RFC 7592) or disabled by an operator. */
  | 'client removed'
  | 'account removed'
  | 'account locked'
  /** The user's fhirUser is no longer the one the principal acted as. */
  | 'fhirUser changed';

/** Why `principal`'s authorization has ended, or undefined while it stands. */
export type PrincipalRevocationCheck = (principal: Principal) => Promise<Revocation | undefined>;

export function createPrincipalRevocationCheck(documents: DocumentStore, fhirBaseUrl: string): PrincipalRevocationCheck {
  const grants = documents.collection(oidcCollectionName('Grant'));
  const clients = documents.collection(oidcCollectionName('Client'));
  const revokedJti = documents.collection(REVOKED_JTI_COLLECTION);
  const accounts = new AccountStore(documents, fhirBaseUrl);

  return async (principal) => {
    const { clientId, subject, grantId, tokenId } = principal;
    // A principal that names no client was not made from a token: nothing to revoke it by.
    if (!clientId) return undefined;
    // Backend services (client_credentials) are their own subject; anyone else is a user account.
    const user = subject !== undefined && subject !== clientId ? subject : undefined;
    const [client, grant, jti, account] = await Promise.all([
      clients.get(clientId),
      grantId ? grants.get(grantId) : undefined,
      !grantId && tokenId ? revokedJti.get(tokenId) : undefined,
      user ? accounts.findById(user) : undefined,
    ]);
    if (client === undefined) return 'client removed';
    if (grantId && grant === undefined) return 'grant revoked or expired';
    if (jti !== undefined) return 'token revoked';
    if (user) {
      if (!account) return 'account removed';
      if (account.locked) return 'account locked';
      if (principal.fhirUser !== undefined && account.fhirUser !== principal.fhirUser) return 'fhirUser changed';
    }
    return undefined;
  };
}
