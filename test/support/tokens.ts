/**
 * Real access tokens for tests, from the real authorization server: a backend-services client
 * registered over RFC 7591 with its own key, and a client_credentials grant with a signed JWT
 * assertion (SMART Backend Services).
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';

export interface BackendClient {
  clientId: string;
  /** RFC 7592 client configuration endpoint and its registration access token (to read or delete the client). */
  registration: { uri: string; accessToken: string };
  /** A fresh access token (backend tokens live five minutes). */
  token(scope?: string): Promise<string>;
  /** Revokes one of its access tokens at the revocation endpoint (RFC 7009), authenticated with its key. */
  revoke(token: string): Promise<Response>;
}

/** Registers a backend client allowed `scope` and returns a way to get its tokens. */
export async function backendClient(baseUrl: string, scope = 'system/*.cruds'): Promise<BackendClient> {
  const issuer = `${baseUrl}/oauth`;
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = `test-${randomBytes(6).toString('hex')}`;
  const registration = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'test backend',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES384',
      grant_types: ['client_credentials'],
      response_types: [],
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' }] },
      scope,
    }),
  });
  const client = (await registration.json()) as { client_id?: string; registration_client_uri?: string; registration_access_token?: string };
  if (registration.status !== 201 || !client.client_id) throw new Error(`registration failed: ${registration.status} ${JSON.stringify(client)}`);
  const clientId = client.client_id;
  /** A private_key_jwt client assertion (RFC 7523), for the token endpoint and the others. */
  const clientAssertion = async (): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: clientId, sub: clientId, aud: `${issuer}/token`, jti: randomBytes(16).toString('hex'), iat: now, exp: now + 240 })
      .setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' })
      .sign(privateKey);
  };
  return {
    clientId,
    registration: { uri: client.registration_client_uri!, accessToken: client.registration_access_token! },
    async revoke(token) {
      return fetch(`${issuer}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: await clientAssertion(),
        }),
      });
    },
    async token(asked = scope) {
      const assertion = await clientAssertion();
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          scope: asked,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      });
      const body = (await response.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
  };
}

/** fetch with a bearer token. */
export function authorizedFetch(token: string): typeof fetch {
  return (input, init = {}) => fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
}
