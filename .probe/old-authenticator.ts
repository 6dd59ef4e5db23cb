/**
 * Bearer-token verification in front of every non-public FHIR route: the JWT is verified
 * in-process (auth/token-verification.ts: pinned ES256, issuer, audience = the FHIR base,
 * expiry, revocation) and compiled into the request's AccessPolicy (token-policy.ts).
 *
 * Errors follow RFC 6750 §3: 401 with `WWW-Authenticate: Bearer realm=..., error="invalid_token"`
 * for a missing, malformed, expired, revoked or foreign token; the 403 insufficient_scope
 * answers come from the policy. Both carry an OperationOutcome body.
 *
 * Hot path: verified tokens are cached by the verifier (no signature check per request), the
 * compiled policy is cached per token, and the revocation check may be reused for
 * `revocationCacheMs` (config REVOCATION_CHECK_MS), which is then how late a revocation can be.
 */
import { AccessTokenError, type AccessTokenVerifier, type VerifiedAccessToken } from './old-verifier.js';
import { FhirError } from '../src/fhir/errors.js';
import type { ResourceScope } from '../src/smart/scopes.js';
import type { Authenticator } from '../src/access/authenticate.js';
import type { AccessPolicy } from '../src/access/policy.js';
import type { PolicyCompiler } from '../src/access/resource-access.js';

export interface BearerAuthenticatorOptions {
  verifier: AccessTokenVerifier;
  /** How long a token's "not revoked" answer is reused (REVOCATION_CHECK_MS). */
  revocationCheckMs?: number;
  /** Compiles a verified token's facts into its policy. */
  policies: PolicyCompiler;
  /** Operator-configured access-token claims copied into the principal (audit records). */
  auditClaims?: readonly string[];
  fhirBaseUrl: string;
  /** Compiled policies kept (one per live token). */
  policyCacheSize?: number;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function createBearerAuthenticator(options: BearerAuthenticatorOptions): Authenticator {
  const realm = options.fhirBaseUrl;
  const revocationCheckMs = options.revocationCheckMs ?? 0;
  const policies = new Map<string, { policy: AccessPolicy; expiresAt: number }>();
  /**
   * The hot path: a token seen recently, keyed by the whole Authorization header that carried it
   * (never a part of it), with its policy, expiry and the time until which its revocation check
   * stays valid.
   */
  const recent = new Map<string, { policy: AccessPolicy; expiresAt: number; checkedUntil: number }>();
  const policyCacheSize = options.policyCacheSize ?? 10_000;

  return {
    async authenticate(authorization) {
      if (!authorization) throw invalidToken(realm, 'The request has no access token: send Authorization: Bearer <token>');
      // Keyed by the whole header as sent: a client repeats it byte for byte, and a hit skips parsing.
      const now = Date.now();
      const hit = recent.get(authorization);
      if (hit && hit.checkedUntil > now && hit.expiresAt > now) return hit.policy;
      const match = BEARER.exec(authorization.trim());
      if (!match) throw invalidToken(realm, 'The Authorization header is not "Bearer <token>"');
      let verified: VerifiedAccessToken;
      try {
        verified = await options.verifier.verify(match[1]!);
      } catch (error) {
        if (error instanceof AccessTokenError) throw invalidToken(realm, describe(error));
        throw error;
      }
      const remember = (policy: AccessPolicy): AccessPolicy => {
        if (revocationCheckMs > 0) {
          if (recent.size >= policyCacheSize) recent.delete(recent.keys().next().value as string);
          recent.set(authorization, { policy, expiresAt: verified.expiresAt, checkedUntil: Date.now() + revocationCheckMs });
        }
        return policy;
      };
      const cached = policies.get(verified.claims.jti);
      if (cached && cached.expiresAt > Date.now()) return remember(cached.policy);
      const policy = options.policies.compile({
          scopes: verified.scopes.filter((s): s is ResourceScope => s.kind === 'resource'),
          clientId: verified.clientId,
          subject: verified.subject,
          ...(verified.fhirUser ? { fhirUser: verified.fhirUser } : {}),
          ...(verified.patient ? { patient: verified.patient } : {}),
          scopeStrings: (verified.claims.scope ?? '').split(' ').filter(Boolean),
          ...(verified.grantId ? { grantId: verified.grantId } : {}),
          tokenId: verified.claims.jti,
          claims: Object.fromEntries((options.auditClaims ?? []).filter((c) => verified.claims[c] !== undefined).map((c) => [c, verified.claims[c]])),
      });
      if (policies.size >= policyCacheSize) {
        for (const [jti, entry] of policies) if (entry.expiresAt <= Date.now()) policies.delete(jti);
        if (policies.size >= policyCacheSize) policies.delete(policies.keys().next().value as string);
      }
      policies.set(verified.claims.jti, { policy, expiresAt: verified.expiresAt });
      return remember(policy);
    },
  };
}

function describe(error: AccessTokenError): string {
  const reasons: Record<AccessTokenError['code'], string> = {
    malformed: 'The access token is not a JWT issued by this server',
    signature: 'The access token signature does not verify against this server\'s keys',
    algorithm: 'The access token is not signed with the algorithm this server uses',
    expired: 'The access token has expired',
    issuer: 'The access token was issued by another server',
    audience: 'The access token is for another resource server (aud is not this FHIR base)',
    type: 'The token is not an access token (typ at+jwt)',
    revoked: 'The access token has been revoked',
    claims: 'The access token lacks required claims',
  };
  return reasons[error.code] ?? 'The access token is not valid';
}

/** 401 per RFC 6750 §3, with error="invalid_token" for every kind of bad or missing token. */
function invalidToken(realm: string, message: string): FhirError {
  const challenge = `Bearer realm="${realm}", error="invalid_token", error_description="${message.replace(/"/g, "'")}"`;
  return new FhirError(401, 'login', message, { headers: { 'www-authenticate': challenge } });
}
