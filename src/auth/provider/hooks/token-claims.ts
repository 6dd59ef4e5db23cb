/**
 * Claims Bedside adds to its JWT access tokens (oidc-provider `extraTokenClaims`), so the FHIR
 * API can enforce without a lookup: `fhirUser` (absolute URL of the user's FHIR resource),
 * `patient` and `encounter` (the grant's launch context) and `grant_id` (for the revocation check).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import type { AccessToken, ClientCredentials, KoaContextWithOIDC, UnknownObject } from 'oidc-provider';
import type { AccountStore } from '../../accounts/account-store.js';
import type { LaunchContexts } from '../../launch/contexts.js';
import type { ClaimMapper } from '../../policy/claims.js';

export interface TokenClaimsDependencies {
  launches: Pick<LaunchContexts, 'forGrant'>;
  accounts: Pick<AccountStore, 'findById' | 'fhirUserUrl'>;
  claims: Pick<ClaimMapper, 'claimsFor'>;
}

export function smartTokenClaims(deps: TokenClaimsDependencies) {
  return async (_ctx: KoaContextWithOIDC, token: AccessToken | ClientCredentials): Promise<UnknownObject | undefined> => {
    if (token.kind !== 'AccessToken') return undefined;
    const { grantId, accountId } = token;
    const [context, account] = await Promise.all([
      grantId ? deps.launches.forGrant(grantId) : undefined,
      accountId ? deps.accounts.findById(accountId) : undefined,
    ]);
    const fhirUser = account && deps.accounts.fhirUserUrl(account);
    // The operator's claim mappings for access tokens (claims/), gated by the token's scopes and audience.
    const mapped = account
      ? await deps.claims.claimsFor(account, {
          target: 'access_token',
          scopes: token.scopes,
          ...(token.resourceServer?.audience ? { audience: token.resourceServer.audience } : {}),
        })
      : {};
    return {
      ...mapped,
      ...(fhirUser ? { fhirUser } : {}),
      ...(context?.patient ? { patient: context.patient } : {}),
      ...(context?.encounter ? { encounter: context.encounter } : {}),
      ...(grantId ? { grant_id: grantId } : {}),
    };
  };
}
