/**
 * Registering clients from the launcher page with the real registration endpoint (RFC 7591), and
 * getting backend-service tokens with their credentials: a public client (no secret), a
 * confidential symmetric one (client_secret_basic: the server issues the secret) or an asymmetric
 * one (private_key_jwt: the key pair is generated here, in the browser, and only the public key is
 * sent). Credentials stay in this page's memory; the page shows them once, for copying.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html
 * https://hl7.org/fhir/smart-app-launch/STU2.2/backend-services.html
 */
import { base64Url, randomString } from '../common/jwt.js';

export type ClientKind = 'public' | 'symmetric' | 'asymmetric';
export type KeyAlgorithm = 'ES384' | 'RS384';

export interface RegisteredClient {
  client_id: string;
  client_name?: string;
  token_endpoint_auth_method: string;
  grant_types: string[];
  redirect_uris: string[];
  scope?: string;
  client_secret?: string;
  [key: string]: unknown;
}

export interface Credentials {
  clientId: string;
  kind: ClientKind;
  secret?: string;
  key?: { alg: KeyAlgorithm; kid: string; privateKey: CryptoKey; privateJwk: JsonWebKey };
}

export interface RegistrationRequest {
  name: string;
  kind: ClientKind;
  alg: KeyAlgorithm;
  /** Backend services use client_credentials and no redirect URI. */
  backend: boolean;
  redirectUri: string;
  scope: string;
  initialAccessToken?: string;
}

const KEY_PARAMS: Record<KeyAlgorithm, RsaHashedKeyGenParams | EcKeyGenParams> = {
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
  RS384: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' },
};
const SIGN_PARAMS: Record<KeyAlgorithm, AlgorithmIdentifier | EcdsaParams> = {
  ES384: { name: 'ECDSA', hash: 'SHA-384' },
  RS384: { name: 'RSASSA-PKCS1-v1_5' },
};

async function generateKey(alg: KeyAlgorithm): Promise<NonNullable<Credentials['key']> & { publicJwk: JsonWebKey }> {
  const pair = (await crypto.subtle.generateKey(KEY_PARAMS[alg], true, ['sign', 'verify'])) as CryptoKeyPair;
  const kid = randomString(9);
  const publicJwk = { ...(await crypto.subtle.exportKey('jwk', pair.publicKey)), kid, alg, use: 'sig' } as JsonWebKey;
  delete (publicJwk as Record<string, unknown>).key_ops;
  delete (publicJwk as Record<string, unknown>).ext;
  const privateJwk = { ...(await crypto.subtle.exportKey('jwk', pair.privateKey)), kid, alg } as JsonWebKey;
  return { alg, kid, privateKey: pair.privateKey, privateJwk, publicJwk };
}

/** Registers a client; returns the registration response and the credentials to keep. */
export async function registerClient(
  registrationEndpoint: string,
  request: RegistrationRequest,
): Promise<{ client: RegisteredClient; credentials: Credentials; sent: Record<string, unknown> }> {
  const key = request.kind === 'asymmetric' ? await generateKey(request.alg) : undefined;
  const metadata: Record<string, unknown> = {
    client_name: request.name,
    token_endpoint_auth_method: { public: 'none', symmetric: 'client_secret_basic', asymmetric: 'private_key_jwt' }[request.kind],
    grant_types: request.backend ? ['client_credentials'] : ['authorization_code', 'refresh_token'],
    response_types: request.backend ? [] : ['code'],
    ...(request.backend ? {} : { redirect_uris: [request.redirectUri] }),
    ...(key ? { token_endpoint_auth_signing_alg: key.alg, jwks: { keys: [key.publicJwk] } } : {}),
    scope: request.scope,
  };
  const response = await fetch(registrationEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(request.initialAccessToken ? { authorization: `Bearer ${request.initialAccessToken}` } : {}),
    },
    body: JSON.stringify(metadata),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status !== 201 || typeof body.client_id !== 'string') {
    const error = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    throw new Error(`${error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}`);
  }
  const client = body as RegisteredClient;
  return {
    client,
    credentials: {
      clientId: client.client_id,
      kind: request.kind,
      ...(client.client_secret ? { secret: client.client_secret } : {}),
      ...(key ? { key: { alg: key.alg, kid: key.kid, privateKey: key.privateKey, privateJwk: key.privateJwk } } : {}),
    },
    sent: metadata,
  };
}

/** A SMART client assertion (RFC 7523) signed with the client's private key. */
export async function clientAssertion(credentials: Credentials, tokenEndpoint: string): Promise<string> {
  const key = credentials.key;
  if (!key) throw new Error('this client has no private key');
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown) => base64Url(new TextEncoder().encode(JSON.stringify(value)));
  const input = `${encode({ alg: key.alg, kid: key.kid, typ: 'JWT' })}.${encode({ iss: credentials.clientId, sub: credentials.clientId, aud: tokenEndpoint, jti: randomString(16), iat: now, exp: now + 240 })}`;
  const signature = await crypto.subtle.sign(SIGN_PARAMS[key.alg], key.privateKey, new TextEncoder().encode(input));
  return `${input}.${base64Url(signature)}`;
}

/** SMART Backend Services: client_credentials with a client assertion, or with the secret. */
export async function backendToken(credentials: Credentials, tokenEndpoint: string, scope: string): Promise<Record<string, unknown>> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (credentials.key) {
    form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    form.set('client_assertion', await clientAssertion(credentials, tokenEndpoint));
  } else if (credentials.secret) {
    headers.authorization = `Basic ${btoa(`${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.secret)}`)}`;
  } else {
    throw new Error('a public client cannot use client_credentials: register a symmetric or asymmetric backend client');
  }
  const response = await fetch(tokenEndpoint, { method: 'POST', headers, body: form });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${String(body.error ?? `HTTP ${response.status}`)}${body.error_description ? `: ${String(body.error_description)}` : ''}`);
  return body;
}
