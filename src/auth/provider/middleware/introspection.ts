/**
 * Token introspection (RFC 7662) with SMART's fields, on top of oidc-provider's endpoint:
 * - access tokens are JWTs, which oidc-provider does not introspect: they are verified here with
 *   the same verifier the FHIR API uses, revocation included;
 * - every active answer carries SMART's `patient`, `encounter` and `fhirUser` when the token has
 *   them; anything else is `{"active": false}` alone;
 * - besides client authentication, a caller may present a Bearer access token holding Bedside's
 *   `introspection` scope (a resource server given a backend-service token).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/token-introspection.html
 */
import type { Middleware, ParameterizedContext } from 'koa';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { parse as parseQuery } from 'node:querystring';
import { AccessTokenError, looksLikeJwt, type AccessTokenVerifier } from '../../../access/token-verification.js';
import type { AccountStore } from '../../accounts/account-store.js';
import type { LaunchContexts } from '../../launch/contexts.js';
import type { ProviderRecords } from '../records.js';

export interface IntrospectionDependencies {
  /** Verifies the caller's own Bearer token (a token for the FHIR API holding `introspection`). */
  verifier: AccessTokenVerifier;
  /** Verifies the introspected token, for any resource server of this issuer. */
  issuedTokens: AccessTokenVerifier;
  /** Operator-configured access-token claims, reported when the token has them. */
  claimNames: readonly string[];
  launches: Pick<LaunchContexts, 'forGrant'>;
  accounts: Pick<AccountStore, 'findById' | 'fhirUserUrl'>;
  records: Pick<ProviderRecords, 'hasGrant'>;
}

type Introspection = Record<string, unknown> & { active: boolean };
const INACTIVE: Introspection = Object.freeze({ active: false });

/** Introspects one of Bedside's JWT access tokens; `callerClientId` limits public callers to their own tokens. */
async function introspectAccessToken(
  deps: IntrospectionDependencies,
  token: string,
  caller: { clientId: string; public: boolean } | undefined,
): Promise<Introspection> {
  try {
    // Tokens for any resource server of this issuer (the FHIR API and the registered ones).
    const verified = await deps.issuedTokens.verifyWithoutRevocation(token);
    if (caller?.public && verified.clientId !== caller.clientId) return INACTIVE;
    if (await deps.issuedTokens.isRevoked(verified.claims)) return INACTIVE;
    const mapped = deps.claimNames.filter((c) => verified.claims[c] !== undefined);
    const { claims } = verified;
    return {
      active: true,
      scope: claims.scope,
      client_id: claims.client_id,
      sub: claims.sub,
      exp: claims.exp,
      iat: claims.iat,
      iss: claims.iss,
      aud: claims.aud,
      jti: claims.jti,
      token_type: 'Bearer',
      ...(claims.fhirUser ? { fhirUser: claims.fhirUser } : {}),
      ...(claims.patient ? { patient: claims.patient } : {}),
      ...(claims.encounter ? { encounter: claims.encounter } : {}),
      ...Object.fromEntries(mapped.map((c) => [c, claims[c]])),
    };
  } catch (error) {
    if (error instanceof AccessTokenError) return INACTIVE;
    throw error;
  }
}

/** SMART fields for an active refresh token that oidc-provider introspected. */
async function smartFieldsOfRefreshToken(
  deps: IntrospectionDependencies,
  token: { grantId?: string; accountId?: string } | undefined,
): Promise<Record<string, unknown>> {
  if (!token) return {};
  const [context, account] = await Promise.all([
    token.grantId ? deps.launches.forGrant(token.grantId) : undefined,
    token.accountId ? deps.accounts.findById(token.accountId) : undefined,
  ]);
  const fhirUser = account && deps.accounts.fhirUserUrl(account);
  return {
    ...(fhirUser ? { fhirUser } : {}),
    ...(context?.patient ? { patient: context.patient } : {}),
    ...(context?.encounter ? { encounter: context.encounter } : {}),
  };
}

async function readForm(ctx: ParameterizedContext): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  const parsed = parseQuery(Buffer.concat(chunks).toString('utf8'));
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, Array.isArray(v) ? '' : (v ?? '')]));
}

function bearerError(ctx: ParameterizedContext, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('www-authenticate', `Bearer error="${error}", error_description="${description}"${error === 'insufficient_scope' ? ', scope="introspection"' : ''}`);
  ctx.body = { error, error_description: description };
}

/** The introspection endpoint's middleware (provider/routes.ts mounts it there). */
export function smartIntrospection(deps: IntrospectionDependencies, provider: () => Provider): Middleware {
  return async (ctx, next) => {
    const authorization = ctx.get('authorization');
    if (ctx.method === 'POST' && /^bearer /i.test(authorization)) {
      ctx.set('cache-control', 'no-store');
      try {
        const caller = await deps.verifier.verify(authorization.slice(7).trim());
        if (!caller.scopes.some((s) => s.raw === 'introspection')) {
          bearerError(ctx, 403, 'insufficient_scope', 'the bearer token does not hold the introspection scope');
          return;
        }
      } catch (error) {
        if (!(error instanceof AccessTokenError)) throw error;
        bearerError(ctx, 401, 'invalid_token', error.message);
        return;
      }
      const token = (await readForm(ctx)).token;
      if (!token) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_request', error_description: "missing required parameter 'token'" };
        return;
      }
      ctx.body = looksLikeJwt(token) ? await introspectAccessToken(deps, token, undefined) : await introspectRefreshToken(deps, provider(), token);
      return;
    }

    await next();
    const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (!oidc?.client || !body) return;
    if (body.error === 'unsupported_token_type' && typeof oidc.params?.token === 'string') {
      ctx.status = 200;
      ctx.body = await introspectAccessToken(deps, oidc.params.token, { clientId: oidc.client.clientId, public: oidc.client.clientAuthMethod === 'none' });
    } else if (body.active === true) {
      Object.assign(body, await smartFieldsOfRefreshToken(deps, oidc.entities.RefreshToken as { grantId?: string; accountId?: string } | undefined));
    }
  };
}

/** For Bearer-authorized callers: refresh tokens through the provider's own model. */
async function introspectRefreshToken(deps: IntrospectionDependencies, provider: Provider, value: string): Promise<Introspection> {
  const token = await provider.RefreshToken.find(value);
  if (!token?.isValid) return INACTIVE;
  if (token.grantId && !(await deps.records.hasGrant(token.grantId))) return INACTIVE;
  return {
    active: true,
    scope: token.scope,
    client_id: token.clientId,
    sub: token.accountId,
    exp: token.exp,
    iat: token.iat,
    iss: provider.issuer,
    ...(await smartFieldsOfRefreshToken(deps, token)),
  };
}
