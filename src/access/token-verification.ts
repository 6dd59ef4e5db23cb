/**
 * Verifying Bedside's access tokens in-process, for the FHIR API (resource-server enforcement)
 * and the authorization server's own checks (introspection, userinfo, the gateway check).
 *
 * Access tokens are JWTs (`typ: at+jwt`, RFC 9068) signed with ES256 by a key of the issuer's
 * shared key set, with `iss` = the issuer, `aud` = the FHIR base, `exp` at most one hour
 * ahead (five minutes for backend services), and claims `scope`, `client_id`, `sub`, `jti`,
 * `fhirUser` (absolute URL, when the user has one), `patient` and `encounter` (launch context,
 * when granted) and `grant_id` (when the token comes from a user's grant).
 *
 * What the verifier reads from the authorization server's store (its keys, and the records the
 * revocation rule looks at) comes through the IssuerRecords port (issuer-records.ts), which the
 * authorization server implements: this layer imports nothing from it.
 *
 * Revocation (`revocationRules`): a token with `grant_id` is revoked when its grant is gone
 * (revoked at the revocation endpoint, from the connected-apps or grants page, by logout for a
 * grant without offline_access, by refresh-token reuse, or expired); a token without one
 * (client_credentials, JWT bearer grant) is revoked when its `jti` was revoked at the revocation
 * endpoint; any token is revoked when its client was deleted or disabled, and a user's token when
 * the account is locked or gone, or now links another fhirUser. The check reads the shared store
 * (primary-key reads, in parallel) on every call: this verifier remembers signatures, never
 * revocation answers. The FHIR API keeps one "not revoked" decision per token id for at most
 * REVOCATION_CHECK_MS (revocation.ts).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#response-5
 */
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { parseScopes, type Scope } from '../smart/scopes.js';
import type { IssuerRecords } from './issuer-records.js';

/** Access tokens are signed with this algorithm, and verified with it only (pinned). */
export const ACCESS_TOKEN_ALG = 'ES256';

/** Why a token was refused; stable codes for WWW-Authenticate descriptions and tests. */
export type AccessTokenProblem = 'malformed' | 'signature' | 'algorithm' | 'expired' | 'issuer' | 'audience' | 'type' | 'revoked' | 'claims';

export class AccessTokenError extends Error {
  constructor(
    readonly code: AccessTokenProblem,
    message: string,
  ) {
    super(message);
    this.name = 'AccessTokenError';
  }
}

/** The claims of a Bedside access token. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
  fhirUser?: string;
  patient?: string;
  encounter?: string;
  grant_id?: string;
}

export interface VerifiedAccessToken {
  claims: AccessTokenClaims;
  /** Parsed `scope` (unparseable tokens cannot occur: the server only grants valid scopes). */
  scopes: Scope[];
  clientId: string;
  subject: string;
  /** Relative reference (`Practitioner/123`), from the absolute `fhirUser` claim. */
  fhirUser?: string;
  patient?: string;
  encounter?: string;
  grantId?: string;
  /** Epoch ms. */
  expiresAt: number;
}

export interface AccessTokenVerifierOptions {
  /** The issuer's keys and the records revocation is decided on. */
  records: IssuerRecords;
  /** `iss` every token must carry. */
  issuer: string;
  /**
   * `aud` every token must carry: the FHIR base URL; or a test any audience must pass (tokens of
   * this issuer for any of its resource servers: introspection, revocation).
   */
  audience: string | ((audience: readonly string[]) => boolean);
  /** The FHIR base, for relative fhirUser references (defaults to `audience` when that is a string). */
  fhirBaseUrl?: string;
  clockToleranceSeconds?: number;
  /** How many verified tokens to remember (signature checks skipped for them). */
  cacheSize?: number;
}

export interface AccessTokenVerifier {
  /** Verifies signature (ES256 only), type, issuer, audience, expiry and revocation. Throws AccessTokenError. */
  verify(token: string): Promise<VerifiedAccessToken>;
  /** Verifies everything but revocation (introspection reports revocation itself). */
  verifyWithoutRevocation(token: string): Promise<VerifiedAccessToken>;
  /** Whether a verified token has been revoked since it was issued (revocationRules); never cached. */
  isRevoked(claims: AccessTokenClaims): Promise<boolean>;
  /** The current public keys (what jwks_uri publishes), from the shared store. */
  publicJwks(): Promise<JSONWebKeySet>;
  /** Forgets cached keys and verifications (after a key rotation, in tests). */
  reset(): void;
}

/**
 * What revocation is decided on: a token's claims, or the same facts recorded from one (an
 * export job's owner). Without `grant_id`, `jti` names the token on the revoked list.
 */
export interface RevocationFacts {
  client_id: string;
  sub: string;
  jti?: string;
  grant_id?: string;
  /** The user's FHIR resource the token acts as, relative (`Practitioner/123`). */
  fhirUser?: string;
}

/** Why a token (or a principal recorded from one) no longer stands; stable, shown to its owner. */
export type Revocation = 'client removed' | 'grant revoked or expired' | 'token revoked' | 'account removed' | 'account locked' | 'fhirUser changed';

const RELOAD_KEYS_AT_MOST_EVERY_MS = 1000;

/**
 * What revokes a token, read from the shared store on every call (primary-key reads in parallel):
 * its client is gone (deleted or disabled); its grant is gone; without a grant, its `jti` is on
 * the revoked list; for a user's token, the account is gone or locked, or now links another
 * fhirUser than the one the token acts as.
 */
export function revocationRules(records: IssuerRecords): { whyRevoked(facts: RevocationFacts): Promise<Revocation | undefined> } {
  return {
    async whyRevoked(facts) {
      // A client's own token (client_credentials) has sub = client_id; any other acts for an account.
      const user = facts.sub !== facts.client_id ? facts.sub : undefined;
      const [client, grant, revoked, account] = await Promise.all([
        records.hasClient(facts.client_id),
        facts.grant_id ? records.hasGrant(facts.grant_id) : undefined,
        !facts.grant_id && facts.jti ? records.isTokenIdRevoked(facts.jti) : undefined,
        user ? records.account(user) : undefined,
      ]);
      if (!client) return 'client removed';
      if (facts.grant_id && !grant) return 'grant revoked or expired';
      if (revoked) return 'token revoked';
      if (user) {
        if (account === undefined) return 'account removed';
        if (account.locked) return 'account locked';
        if (facts.fhirUser !== undefined && account.fhirUser !== facts.fhirUser) return 'fhirUser changed';
      }
      return undefined;
    },
  };
}

/** The issuer's public keys as jose reads them, reloaded at most once a second when a kid is unknown. */
function keyCache(records: IssuerRecords) {
  let keys: { jwks: JSONWebKeySet; getKey: ReturnType<typeof createLocalJWKSet>; loadedAt: number } | undefined;
  const load = async () => {
    const jwks = await records.publicKeys();
    keys = { jwks, getKey: createLocalJWKSet(jwks), loadedAt: Date.now() };
    return keys;
  };
  return {
    current: async () => keys ?? (await load()),
    /** Reloads after a key rotated on another node, unless the keys were read just now. */
    reloadIfStale: async (loadedAt: number) => (Date.now() - loadedAt > RELOAD_KEYS_AT_MOST_EVERY_MS ? load() : undefined),
    reset: () => {
      keys = undefined;
    },
  };
}

/** The verified token in the shape its users read (relative fhirUser, parsed scopes, expiry in ms). */
function toVerified(claims: AccessTokenClaims, fhirBaseUrl: string): VerifiedAccessToken {
  return {
    claims,
    scopes: parseScopes(claims.scope).scopes,
    clientId: claims.client_id,
    subject: claims.sub,
    ...(claims.fhirUser ? { fhirUser: relativeFhirUser(claims.fhirUser, fhirBaseUrl) } : {}),
    ...(claims.patient ? { patient: claims.patient } : {}),
    ...(claims.encounter ? { encounter: claims.encounter } : {}),
    ...(claims.grant_id ? { grantId: claims.grant_id } : {}),
    expiresAt: claims.exp * 1000,
  };
}

/** Creates a verifier; one per process is enough. */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const { issuer } = options;
  const audience = typeof options.audience === 'string' ? options.audience : undefined;
  const acceptsAudience = typeof options.audience === 'function' ? options.audience : undefined;
  const fhirBaseUrl = options.fhirBaseUrl ?? audience ?? '';
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  const cacheSize = options.cacheSize ?? 10_000;
  const rules = revocationRules(options.records);
  const isRevoked = async (claims: AccessTokenClaims): Promise<boolean> =>
    (await rules.whyRevoked({ ...claims, ...(claims.fhirUser ? { fhirUser: relativeFhirUser(claims.fhirUser, fhirBaseUrl) } : {}) })) !== undefined;
  const keys = keyCache(options.records);
  /** Verified tokens by their text, least recently used dropped first. */
  const verified = new LRUCache<string, VerifiedAccessToken>({ max: cacheSize });
  const checks = {
    issuer,
    ...(audience ? { audience } : {}),
    algorithms: [ACCESS_TOKEN_ALG],
    typ: 'at+jwt',
    clockTolerance,
    requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', ...(audience ? [] : ['aud'])],
  };

  async function verifySignature(token: string): Promise<JWTPayload> {
    const current = await keys.current();
    try {
      return (await jwtVerify(token, current.getKey, checks)).payload;
    } catch (error) {
      // A key rotated on another node: reload once, then retry.
      const reloaded = error instanceof joseErrors.JWKSNoMatchingKey ? await keys.reloadIfStale(current.loadedAt) : undefined;
      if (reloaded) return (await jwtVerify(token, reloaded.getKey, checks)).payload;
      throw error;
    }
  }

  function checkAudience(result: VerifiedAccessToken): VerifiedAccessToken {
    const aud = result.claims.aud;
    if (acceptsAudience && !acceptsAudience(typeof aud === 'string' ? [aud] : aud)) {
      throw new AccessTokenError('audience', 'the access token is not meant for a resource server of this issuer');
    }
    return result;
  }

  async function verifyWithoutRevocation(token: string): Promise<VerifiedAccessToken> {
    const cached = verified.get(token);
    if (cached) {
      // The set of accepted audiences can shrink (a resource server removed): checked on every use.
      if (cached.expiresAt + clockTolerance * 1000 > Date.now()) return checkAudience(cached);
      verified.delete(token);
    }
    let payload: JWTPayload;
    try {
      payload = await verifySignature(token);
    } catch (error) {
      throw toAccessTokenError(error);
    }
    const result = toVerified(payload as AccessTokenClaims, fhirBaseUrl);
    verified.set(token, result);
    return checkAudience(result);
  }

  return {
    verifyWithoutRevocation,
    isRevoked,
    async verify(token) {
      const result = await verifyWithoutRevocation(token);
      if (await isRevoked(result.claims)) throw new AccessTokenError('revoked', 'the access token has been revoked');
      return result;
    },
    async publicJwks() {
      return (await keys.current()).jwks;
    },
    reset() {
      keys.reset();
      verified.clear();
    },
  };
}

/**
 * Whether `token` has the shape of a JWT (a decodable protected header). Bedside's access tokens
 * are JWTs and its refresh tokens opaque, so this tells them apart without verifying anything.
 */
export function looksLikeJwt(token: string): boolean {
  try {
    return !!decodeProtectedHeader(token);
  } catch {
    return false;
  }
}

/** `http://host/fhir/Practitioner/1` → `Practitioner/1` when it is on this server's FHIR base. */
export function relativeFhirUser(fhirUser: string, fhirBaseUrl: string): string {
  return fhirUser.startsWith(`${fhirBaseUrl}/`) ? fhirUser.slice(fhirBaseUrl.length + 1) : fhirUser;
}

function toAccessTokenError(error: unknown): AccessTokenError {
  if (error instanceof joseErrors.JWTExpired) return new AccessTokenError('expired', 'the access token has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === 'iss') return new AccessTokenError('issuer', 'the access token was not issued by this server');
    if (claim === 'aud') return new AccessTokenError('audience', 'the access token is not meant for this FHIR server');
    if (claim === 'typ') return new AccessTokenError('type', 'the token is not an access token (typ must be at+jwt)');
    return new AccessTokenError('claims', `the access token has an invalid or missing "${claim}" claim`);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new AccessTokenError('algorithm', `access tokens must be signed with ${ACCESS_TOKEN_ALG}`);
  if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) {
    return new AccessTokenError('signature', "the access token signature does not verify with any of this server's keys");
  }
  return new AccessTokenError('malformed', 'the access token is not a well-formed JWT');
}
