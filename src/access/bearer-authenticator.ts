/**
 * Bearer-token verification in front of every non-public FHIR route: the JWT is verified
 * in-process (token-verification.ts: pinned ES256, issuer, audience = the FHIR base,
 * expiry), compiled into the request's AccessPolicy (token-policy.ts), and checked for
 * revocation (access/revocation.ts).
 *
 * Errors follow RFC 6750 §3: 401 with `WWW-Authenticate: Bearer realm=..., error="invalid_token"`
 * for a missing, malformed, expired, revoked or foreign token; the 403 insufficient_scope
 * answers come from the policy. Both carry an OperationOutcome body.
 *
 * Hot path: what a token is never changes (its verified claims, its compiled policy: one per
 * token id), so it is remembered until the token expires, also by the Authorization header as
 * sent (a client repeats it byte for byte, and a hit then skips parsing and hashing the token
 * again). Whether the token may still be used is not remembered there: every request asks the
 * revocation check, whose one decision per token id is kept at most REVOCATION_CHECK_MS and is
 * dropped at once by a revocation on this node. So another spelling of the header (`bearer`,
 * more spaces) reaches the same policy and the same decision, and can neither revive nor extend
 * a revoked token.
 */
import { LRUCache } from 'lru-cache';
import { AccessTokenError, type AccessTokenProblem, type AccessTokenVerifier, type VerifiedAccessToken } from './token-verification.js';
import { FhirError } from '../r4/errors.js';
import type { ResourceScope } from '../smart/scopes.js';
import type { Authenticator } from './authenticate.js';
import type { AccessPolicy } from './policy.js';
import type { PolicyCompiler } from './resource-access.js';
import type { RevocationCheck } from './revocation.js';
import type { TokenFacts } from './token-policy.js';

export interface BearerAuthenticatorOptions {
  verifier: AccessTokenVerifier;
  /** Whether a token's grant, token id, client or account has been revoked (decisions per token id). */
  revocation: RevocationCheck;
  /** Compiles a verified token's facts into its policy. */
  policies: PolicyCompiler;
  /** Operator-configured access-token claims copied into the principal (audit records). */
  auditClaims?: readonly string[];
  fhirBaseUrl: string;
  /** Compiled policies kept (one per live token). */
  policyCacheSize?: number;
}

interface KnownPolicy {
  policy: AccessPolicy;
  /** The token's `exp`, epoch ms. */
  expiresAt: number;
}

/** RFC 6750 §2.1: the scheme is case-insensitive; one or more spaces before the token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function createBearerAuthenticator(options: BearerAuthenticatorOptions): Authenticator {
  const realm = options.fhirBaseUrl;
  const policyCacheSize = options.policyCacheSize ?? 10_000;
  /**
   * Compiled policies per token id: what a token allows never changes, only whether it still may.
   * Each is used until its token's `exp` (a wall-clock instant, compared with Date.now()).
   */
  const policies = new LRUCache<string, KnownPolicy>({ max: policyCacheSize });
  /** The same, by the Authorization header as sent (any spelling): facts only, no validity. */
  const byHeader = new LRUCache<string, KnownPolicy>({ max: policyCacheSize });

  const policyOf = (verified: VerifiedAccessToken): AccessPolicy => {
    const jti = verified.claims.jti;
    const cached = policies.get(jti);
    if (cached && cached.expiresAt > Date.now()) return cached.policy;
    const policy = options.policies.compile(tokenFacts(verified, options.auditClaims));
    policies.set(jti, { policy, expiresAt: verified.expiresAt });
    return policy;
  };

  /** The token's policy, from the header: signature, type, issuer, audience and expiry checked. */
  const identify = async (authorization: string): Promise<AccessPolicy> => {
    const match = BEARER.exec(authorization.trim());
    if (!match) throw invalidToken(realm, 'The Authorization header is not "Bearer <token>"');
    let verified: VerifiedAccessToken;
    try {
      verified = await options.verifier.verifyWithoutRevocation(match[1]!);
    } catch (error) {
      if (error instanceof AccessTokenError) throw invalidToken(realm, describe(error.code));
      throw error;
    }
    const policy = policyOf(verified);
    byHeader.set(authorization, { policy, expiresAt: verified.expiresAt });
    return policy;
  };

  return {
    async authenticate(authorization) {
      if (!authorization) throw invalidToken(realm, 'The request has no access token: send Authorization: Bearer <token>');
      const known = byHeader.get(authorization);
      const policy = known && known.expiresAt > Date.now() ? known.policy : await identify(authorization);
      if ((await options.revocation.whyRevoked(policy.principal)) !== undefined) throw invalidToken(realm, describe('revoked'));
      return policy;
    },
  };
}

/** What a verified access token says, for its policy; `auditClaims` are copied into the principal. */
export function tokenFacts(verified: VerifiedAccessToken, auditClaims: readonly string[] = []): TokenFacts {
  return {
    scopes: verified.scopes.filter((s): s is ResourceScope => s.kind === 'resource'),
    clientId: verified.clientId,
    subject: verified.subject,
    ...(verified.fhirUser ? { fhirUser: verified.fhirUser } : {}),
    ...(verified.patient ? { patient: verified.patient } : {}),
    scopeStrings: (verified.claims.scope ?? '').split(' ').filter(Boolean),
    ...(verified.grantId ? { grantId: verified.grantId } : {}),
    tokenId: verified.claims.jti,
    claims: Object.fromEntries(auditClaims.filter((c) => verified.claims[c] !== undefined).map((c) => [c, verified.claims[c]])),
  };
}

function describe(problem: AccessTokenProblem): string {
  const reasons: Record<AccessTokenProblem, string> = {
    malformed: 'The access token is not a JWT issued by this server',
    signature: "The access token signature does not verify against this server's keys",
    algorithm: 'The access token is not signed with the algorithm this server uses',
    expired: 'The access token has expired',
    issuer: 'The access token was issued by another server',
    audience: 'The access token is for another resource server (aud is not this FHIR base)',
    type: 'The token is not an access token (typ at+jwt)',
    revoked: 'The access token has been revoked',
    claims: 'The access token lacks required claims',
  };
  return reasons[problem] ?? 'The access token is not valid';
}

/** 401 per RFC 6750 §3, with error="invalid_token" for every kind of bad or missing token. */
function invalidToken(realm: string, message: string): FhirError {
  const challenge = `Bearer realm="${realm}", error="invalid_token", error_description="${message.replace(/"/g, "'")}"`;
  return new FhirError(401, 'login', message, { headers: { 'www-authenticate': challenge } });
}
