/**
 * The userinfo endpoint for Bedside's access tokens.
 *
 * oidc-provider's userinfo accepts only tokens it minted for itself (no audience); Bedside's
 * access tokens are JWTs for the FHIR API, because a SMART app gets one token for both. So this
 * hook answers userinfo for any JWT access token of this issuer whose audience is the FHIR API and
 * whose scope holds `openid`: signature (ES256), issuer, audience, expiry and revocation are
 * checked by the same verifier the FHIR API uses, the account must exist and not be locked, and
 * the claims released are those of the token's scopes (openid: sub; profile; email; fhirUser)
 * plus the operator's claim mappings for `userinfo`. Tokens for other resource servers are refused
 * (`invalid_token`): those APIs are not this endpoint.
 *
 * https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
 * https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Client, Provider } from 'oidc-provider';
import { corsFromRedirectOrigins } from '../../policy/clients.js';
import { AccessTokenError, looksLikeJwt, type AccessTokenVerifier } from '../../../access/token-verification.js';
import type { AccountStore } from '../../accounts/account-store.js';
import type { ClaimMapper } from '../../policy/claims.js';

export interface UserinfoDependencies {
  /** Verifies tokens for the FHIR API (the only audience userinfo answers). */
  verifier: AccessTokenVerifier;
  accounts: Pick<AccountStore, 'findById' | 'toOidcAccount'>;
  claims: Pick<ClaimMapper, 'scopeClaims' | 'claimsFor'>;
}

/** The claims each OpenID scope releases (before claim mappings are added). */
export const STANDARD_SCOPE_CLAIMS: Readonly<Record<string, string[]>> = Object.freeze({
  openid: ['sub'],
  fhirUser: ['fhirUser'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  email: ['email'],
});

function bearer(ctx: ParameterizedContext): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(ctx.get('authorization').trim());
  return match?.[1];
}

function refuse(ctx: ParameterizedContext, status: 401 | 403, error: 'invalid_token' | 'insufficient_scope', description: string): void {
  ctx.status = status;
  ctx.set(
    'www-authenticate',
    `Bearer error="${error}", error_description="${description.replace(/"/g, "'")}"${error === 'insufficient_scope' ? ', scope="openid"' : ''}`,
  );
  ctx.body = { error, error_description: description };
}

/** The userinfo endpoint's middleware (provider/routes.ts mounts it there). */
export function jwtUserinfo(deps: UserinfoDependencies, provider: () => Provider): Middleware {
  const scopeClaims = deps.claims.scopeClaims(STANDARD_SCOPE_CLAIMS);
  return async (ctx, next) => {
    if (!['GET', 'POST'].includes(ctx.method)) return next();
    const token = bearer(ctx);
    if (!token || !looksLikeJwt(token)) return next();
    ctx.set('cache-control', 'no-store');
    let verified;
    try {
      verified = await deps.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof AccessTokenError)) throw error;
      return refuse(
        ctx,
        401,
        'invalid_token',
        error.code === 'audience' ? 'the access token is for another resource server; userinfo accepts tokens for the FHIR API' : error.message,
      );
    }
    const scopes = new Set((verified.claims.scope ?? '').split(' ').filter(Boolean));
    if (!scopes.has('openid')) return refuse(ctx, 403, 'insufficient_scope', 'the access token was not granted the openid scope');
    const account = await deps.accounts.findById(verified.subject);
    if (!account || account.locked) return refuse(ctx, 401, 'invalid_token', 'the access token does not belong to an active user');

    const origin = ctx.get('origin');
    if (origin) {
      const client = (await provider().Client.find(verified.clientId)) as Client | undefined;
      if (client && corsFromRedirectOrigins(ctx as never, origin, client)) ctx.set({ 'access-control-allow-origin': origin, vary: 'Origin' });
    }

    const released = new Set([...scopes].flatMap((s) => scopeClaims[s] ?? []));
    const all: Record<string, unknown> = {
      ...(await deps.accounts.toOidcAccount(account).claims('userinfo', [...scopes].join(' '), {}, [])),
      ...(await deps.claims.claimsFor(account, { target: 'userinfo', scopes })),
    };
    ctx.status = 200;
    ctx.body = Object.fromEntries(Object.entries(all).filter(([name, value]) => released.has(name) && value !== undefined));
  };
}
