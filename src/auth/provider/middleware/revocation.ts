/**
 * Token revocation (RFC 7009) of JWT access tokens, which oidc-provider only revokes when they
 * are opaque: a token from a user's grant revokes that grant (and with it the refresh tokens and
 * every other access token of that launch, as oidc-provider does for its own tokens); a token
 * without a grant (client_credentials, JWT bearer) is put on the revoked-jti list until it expires.
 * Either way the FHIR API refuses it from its next request on this node (a revocation notice) and
 * within REVOCATION_CHECK_MS on the others (see access/token-verification.ts and access/revocation.ts).
 *
 * https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
import type { Middleware } from 'koa';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { AccessTokenError, type AccessTokenVerifier } from '../../../access/token-verification.js';
import type { RevocationNotices } from '../../../security/revocation-notices.js';
import type { ProviderRecords, RevokedTokens } from '../records.js';

export interface RevocationDependencies {
  /** Verifies the token to revoke, for any resource server of this issuer. */
  issuedTokens: AccessTokenVerifier;
  records: Pick<ProviderRecords, 'revokeGrant'>;
  revokedTokens: RevokedTokens;
  revocations: RevocationNotices;
}

/** The revocation endpoint's middleware (provider/routes.ts mounts it there). */
export function jwtRevocation(deps: RevocationDependencies): Middleware {
  return async (ctx, next) => {
    await next();
    const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (!oidc?.client || body?.error !== 'unsupported_token_type' || typeof oidc.params?.token !== 'string') return;
    // RFC 7009 §2.2: invalid tokens do not cause an error response.
    ctx.status = 200;
    ctx.body = '';
    let claims;
    try {
      ({ claims } = await deps.issuedTokens.verifyWithoutRevocation(oidc.params.token));
    } catch (error) {
      if (error instanceof AccessTokenError) return;
      throw error;
    }
    if (claims.client_id !== oidc.client.clientId) {
      if (oidc.client.clientAuthMethod === 'none') return;
      const refusal = new errors.InvalidRequest('client is not authorized to revoke the presented token');
      ctx.status = refusal.status;
      ctx.body = { error: refusal.error, error_description: refusal.error_description };
      return;
    }
    if (claims.grant_id) await deps.records.revokeGrant(claims.grant_id);
    else {
      await deps.revokedTokens.revoke(claims);
      deps.revocations.announce({ tokenId: claims.jti });
    }
  };
}
