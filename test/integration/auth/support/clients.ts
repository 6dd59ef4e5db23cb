/**
 * Client-side helpers: PKCE, authorization URLs, key pairs for private_key_jwt, registration.
 */
import { createHash, randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { TestServer } from './server.js';

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const SAMPLE_APP = 'bedside-sample-app';

export function sampleRedirect(server: TestServer): string {
  return `${server.baseUrl}/sample-app/`;
}

export function authorizationUrl(server: TestServer, params: Record<string, string | undefined>): string {
  const url = new URL(`${server.issuer}/authorize`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

/** A standard authorization request for the sample app; override any parameter (undefined removes it). */
export function sampleAuthorization(server: TestServer, overrides: Record<string, string | undefined> = {}) {
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString('base64url');
  const params = {
    response_type: 'code',
    client_id: SAMPLE_APP,
    redirect_uri: sampleRedirect(server),
    scope: 'openid fhirUser launch/patient patient/*.rs offline_access',
    state,
    aud: server.fhirBase,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  return { url: authorizationUrl(server, params), verifier, state, redirectUri: params.redirect_uri ?? sampleRedirect(server) };
}

export async function tokenRequest(
  server: TestServer,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

export interface ClientKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
  alg: 'RS384' | 'ES384';
}

export async function clientKey(alg: 'RS384' | 'ES384'): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`;
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, kid, alg };
}

/** A SMART client assertion; override claims or header to break it. */
export async function clientAssertion(
  server: TestServer,
  clientId: string,
  key: ClientKey,
  override: { claims?: Record<string, unknown>; header?: Record<string, unknown>; expiresIn?: number; signWith?: ClientKey } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const signer = override.signWith ?? key;
  return new SignJWT({
    iss: clientId,
    sub: clientId,
    aud: `${server.issuer}/token`,
    jti: randomBytes(16).toString('hex'),
    exp: now + (override.expiresIn ?? 240),
    iat: now,
    ...override.claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...override.header })
    .sign(signer.privateKey);
}

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export async function register(
  server: TestServer,
  metadata: Record<string, unknown>,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(metadata),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
