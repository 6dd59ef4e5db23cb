/**
 * The RFC 7523 JWT bearer authorization grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`):
 * a client exchanges an assertion signed by an issuer the operator trusts (JWT_BEARER_ISSUERS)
 * for an access token acting as the Bedside user the assertion's `sub` names. The client itself
 * authenticates as usual and must have registered this grant type.
 *
 * https://www.rfc-editor.org/rfc/rfc7523#section-2.1
 * https://github.com/panva/node-oidc-provider/tree/main/docs#registergranttype
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { errors, type Provider, type TokenEndpointGrantContext } from 'oidc-provider';
import type { TrustedAssertionIssuer } from '../../../config/jwt-bearer-issuers.js';
import { errorReasons, type Logger } from '../../../log.js';
import type { OutboundFetch } from '../../../security/outbound-fetch.js';
import { MAX_ASSERTION_LIFETIME_SECONDS } from '../../policy/clients.js';
import type { ParseOptions } from '../../../smart/scopes.js';
import type { AccountStore } from '../../accounts/account-store.js';
import { checkRequestedScopes, fhirResourceServer } from '../../policy/scopes.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ASSERTION_ALGS = ['RS256', 'RS384', 'ES256', 'ES384'];

function keyResolver(issuer: TrustedAssertionIssuer, fetch: OutboundFetch): JWTVerifyGetKey {
  return issuer.jwksUri ? createRemoteJWKSet(new URL(issuer.jwksUri), { [customFetch]: fetch }) : createLocalJWKSet(issuer.jwks as JSONWebKeySet);
}

/**
 * Whether jwtVerify failed because the issuer's JWKS could not be had (refused by the outbound
 * policy, unreachable, slow, not 200, not JSON) rather than because of the assertion.
 */
function keysUnavailable(error: unknown): boolean {
  return !(error instanceof joseErrors.JOSEError) || error instanceof joseErrors.JWKSTimeout || error.code === 'ERR_JOSE_GENERIC';
}

export interface JwtBearerDependencies {
  /** JWT_BEARER_ISSUERS. */
  issuers: readonly TrustedAssertionIssuer[];
  /** Fetches the issuers' keys under the outbound-fetch policy. */
  fetch: OutboundFetch;
  /** What an assertion's `aud` may name: the token endpoint or the issuer. */
  audiences: string[];
  fhirBaseUrl: string;
  parse: ParseOptions;
  accounts: Pick<AccountStore, 'findById' | 'findByUsername'>;
  logger: Logger;
}

type TrustedKeys = { issuer: TrustedAssertionIssuer; keys: JWTVerifyGetKey };

/** The assertion's claims, verified against its trusted issuer's keys; any failure is `invalid_grant`. */
async function verifyAssertion(assertion: string, trusted: ReadonlyMap<string, TrustedKeys>, deps: JwtBearerDependencies): Promise<JWTPayload> {
  let iss: string | undefined;
  try {
    iss = decodeJwt(assertion).iss;
  } catch {
    throw new errors.InvalidGrant('the assertion is not a JWT');
  }
  const issuer = iss ? trusted.get(iss) : undefined;
  if (!issuer) throw new errors.InvalidGrant('the assertion issuer is not trusted by this server');
  try {
    const options = {
      issuer: issuer.issuer.issuer,
      audience: deps.audiences,
      algorithms: ASSERTION_ALGS,
      requiredClaims: ['exp', 'sub', 'jti'],
      clockTolerance: 5,
    };
    return (await jwtVerify(assertion, issuer.keys, options)).payload;
  } catch (error) {
    if (keysUnavailable(error)) {
      deps.logger.warn(
        { issuer: issuer.issuer.issuer, jwksUri: issuer.issuer.jwksUri, reason: errorReasons(error) },
        'JWT bearer issuer keys could not be fetched',
      );
      throw new errors.InvalidGrant("the assertion issuer's keys could not be fetched");
    }
    const reason =
      error instanceof joseErrors.JWTExpired
        ? 'the assertion has expired'
        : error instanceof joseErrors.JWTClaimValidationFailed
          ? `the assertion's "${error.claim}" claim is invalid`
          : 'the assertion signature does not verify';
    throw new errors.InvalidGrant(reason);
  }
}

/** Registers the grant on a provider when the operator trusts at least one issuer. */
export function registerJwtBearerGrant(provider: Provider, deps: JwtBearerDependencies): void {
  const trusted = new Map(deps.issuers.map((i) => [i.issuer, { issuer: i, keys: keyResolver(i, deps.fetch) }]));
  if (trusted.size === 0) return;
  const resourceServer = fhirResourceServer({ fhirBaseUrl: deps.fhirBaseUrl, parse: deps.parse });

  provider.registerGrantType(
    JWT_BEARER_GRANT,
    async (ctx: TokenEndpointGrantContext) => {
      const assertion = ctx.oidc.params.assertion;
      if (typeof assertion !== 'string' || !assertion) throw new errors.InvalidRequest("missing required parameter 'assertion'");
      const payload = await verifyAssertion(assertion, trusted, deps);
      if (payload.exp! > Math.floor(Date.now() / 1000) + MAX_ASSERTION_LIFETIME_SECONDS + 5) {
        throw new errors.InvalidGrant(`the assertion must expire within ${MAX_ASSERTION_LIFETIME_SECONDS} seconds`);
      }
      if (!(await provider.ReplayDetection.unique(payload.iss!, payload.jti!, payload.exp!))) {
        throw new errors.InvalidGrant('the assertion was already used (jti seen before)');
      }
      const account = (await deps.accounts.findById(payload.sub!)) ?? (await deps.accounts.findByUsername(payload.sub!));
      if (!account) throw new errors.InvalidGrant('the assertion subject is not a user of this server');
      if (account.locked) throw new errors.InvalidGrant('the assertion subject is locked by an operator');

      const scopes = checkRequestedScopes(ctx, ctx.oidc.client, deps.parse);
      const contextual = scopes.find((s) => (s.kind === 'resource' && s.context === 'patient') || s.kind === 'launch' || s.kind === 'duration');
      if (contextual)
        throw new errors.InvalidScope(
          `scope "${contextual.raw}" needs a launch or a refresh token, which the JWT bearer grant does not give: use user/ scopes`,
          contextual.raw,
        );

      const token = new provider.AccessToken({
        accountId: account.id,
        client: ctx.oidc.client,
        grantId: undefined as unknown as string,
        gty: JWT_BEARER_GRANT,
        scope: scopes.map((s) => s.raw).join(' '),
      });
      token.resourceServer = new provider.ResourceServer(deps.fhirBaseUrl, resourceServer(ctx, deps.fhirBaseUrl, ctx.oidc.client));
      ctx.oidc.entity('AccessToken', token);
      const value = await token.save();
      ctx.body = { access_token: value, token_type: 'Bearer', expires_in: token.expiration, scope: token.scope };
    },
    ['assertion', 'scope'],
  );
}
