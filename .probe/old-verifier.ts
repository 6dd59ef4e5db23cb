/**
 * Verifying Bedside's access tokens in-process, for the FHIR API (resource-server enforcement)
 * and the introspection endpoint.
 *
 * Access tokens are JWTs (`typ: at+jwt`, RFC 9068) signed with ES256 by a key from the shared key
 * set (auth/keys.ts), with `iss` = the issuer, `aud` = the FHIR base, `exp` at most one hour
 * ahead (five minutes for backend services), and claims `scope`, `client_id`, `sub`, `jti`,
 * `fhirUser` (absolute URL, when the user has one), `patient` and `encounter` (launch context,
 * when granted) and `grant_id` (when the token comes from a user's grant).
 *
 * Revocation: a token with `grant_id` is revoked when its grant is gone (revoked at the
 * revocation endpoint, from the connected-apps or grants page, by refresh-token reuse, or
 * expired); a token without one (client_credentials, JWT bearer grant) is revoked when its `jti`
 * was revoked at the revocation endpoint; any token is revoked when its client was deleted. The
 * check is two primary-key reads in the shared store, so it takes effect on every node for the
 * next request. With `revocationCacheMs` the verifier may remember a "not revoked" answer for
 * that long, which is then the worst-case delay.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#response-5
 */
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { DocumentStore } from '../src/storage/document-store.js';
import { parseScopes, type Scope } from '../src/smart/scopes.js';
import { oidcCollectionName } from '../src/auth/adapter.js';
import { ACCESS_TOKEN_ALG, publicJwks, readKeySet } from '../src/auth/keys.js';

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
  documents: DocumentStore;
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
  /** How long a "not revoked" answer may be reused (default 0: checked on every call). */
  revocationCacheMs?: number;
  /** How many verified tokens to remember (signature checks skipped for them). */
  cacheSize?: number;
}

export interface AccessTokenVerifier {
  /** Verifies signature (ES256 only), type, issuer, audience, expiry and revocation. Throws AccessTokenError. */
  verify(token: string): Promise<VerifiedAccessToken>;
  /** Verifies everything but revocation (introspection reports revocation itself). */
  verifyWithoutRevocation(token: string): Promise<VerifiedAccessToken>;
  /** Whether a verified token has been revoked since it was issued. */
  isRevoked(claims: AccessTokenClaims): Promise<boolean>;
  /** The current public keys (what jwks_uri publishes), from the shared store. */
  publicJwks(): Promise<JSONWebKeySet>;
  /** Forgets cached keys and verifications (after a key rotation, in tests). */
  reset(): void;
}

/** The collection of revoked access-token ids (for tokens without a grant). */
export const REVOKED_JTI_COLLECTION = 'auth.revoked-jti';

const RELOAD_KEYS_AT_MOST_EVERY_MS = 1000;

/** Creates a verifier; one per process is enough. */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const { documents, issuer } = options;
  const audience = typeof options.audience === 'string' ? options.audience : undefined;
  const acceptsAudience = typeof options.audience === 'function' ? options.audience : undefined;
  const fhirBaseUrl = options.fhirBaseUrl ?? audience ?? '';
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  const revocationCacheMs = options.revocationCacheMs ?? 0;
  const cacheSize = options.cacheSize ?? 10_000;
  const grants = documents.collection(oidcCollectionName('Grant'));
  const clients = documents.collection(oidcCollectionName('Client'));
  const revokedJti = documents.collection(REVOKED_JTI_COLLECTION);

  let keys: { jwks: JSONWebKeySet; getKey: ReturnType<typeof createLocalJWKSet>; loadedAt: number } | undefined;
  const verified = new Map<string, VerifiedAccessToken>();
  const notRevokedUntil = new Map<string, number>();

  async function loadKeys(): Promise<NonNullable<typeof keys>> {
    const keySet = await readKeySet(documents);
    const jwks = keySet ? (publicJwks(keySet) as JSONWebKeySet) : { keys: [] };
    keys = { jwks, getKey: createLocalJWKSet(jwks), loadedAt: Date.now() };
    return keys;
  }

  async function verifySignature(token: string): Promise<JWTPayload> {
    const current = keys ?? (await loadKeys());
    const options = { issuer, ...(audience ? { audience } : {}), algorithms: [ACCESS_TOKEN_ALG], typ: 'at+jwt', clockTolerance, requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', ...(audience ? [] : ['aud'])] };
    try {
      return (await jwtVerify(token, current.getKey, options)).payload;
    } catch (error) {
      // A key rotated on another node: reload once, then retry.
      if (error instanceof joseErrors.JWKSNoMatchingKey && Date.now() - current.loadedAt > RELOAD_KEYS_AT_MOST_EVERY_MS) {
        const reloaded = await loadKeys();
        return (await jwtVerify(token, reloaded.getKey, options)).payload;
      }
      throw error;
    }
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
    const claims = payload as AccessTokenClaims;
    const result: VerifiedAccessToken = {
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
    if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string);
    verified.set(token, result);
    return checkAudience(result);
  }

  function checkAudience(result: VerifiedAccessToken): VerifiedAccessToken {
    const aud = result.claims.aud;
    if (acceptsAudience && !acceptsAudience(typeof aud === 'string' ? [aud] : aud)) {
      throw new AccessTokenError('audience', 'the access token is not meant for a resource server of this issuer');
    }
    return result;
  }

  async function isRevoked(claims: AccessTokenClaims): Promise<boolean> {
    const cacheKey = claims.jti;
    if (revocationCacheMs > 0 && (notRevokedUntil.get(cacheKey) ?? 0) > Date.now()) return false;
    const [grantGone, jtiRevoked, clientGone] = await Promise.all([
      claims.grant_id ? grants.get(claims.grant_id).then((g) => g === undefined) : Promise.resolve(false),
      claims.grant_id ? Promise.resolve(false) : revokedJti.get(claims.jti).then((r) => r !== undefined),
      clients.get(claims.client_id).then((c) => c === undefined),
    ]);
    const revoked = grantGone || jtiRevoked || clientGone;
    if (!revoked && revocationCacheMs > 0) {
      if (notRevokedUntil.size >= cacheSize) notRevokedUntil.delete(notRevokedUntil.keys().next().value as string);
      notRevokedUntil.set(cacheKey, Date.now() + revocationCacheMs);
    }
    return revoked;
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
      return (keys ?? (await loadKeys())).jwks;
    },
    reset() {
      keys = undefined;
      verified.clear();
      notRevokedUntil.clear();
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
    return new AccessTokenError('signature', 'the access token signature does not verify with any of this server\'s keys');
  }
  return new AccessTokenError('malformed', 'the access token is not a well-formed JWT');
}
