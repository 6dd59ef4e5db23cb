/**
 * One test per check the authorization server makes: each bad request is refused with the right
 * OAuth error, and never yields a code or a token.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html
 * https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html
 */
import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asPage, asRedirect, Browser } from './support/browser.js';
import { ASSERTION_TYPE, clientAssertion, clientKey, register, sampleAuthorization, SAMPLE_APP, tokenRequest, type ClientKey } from './support/clients.js';
import { authorizeInBrowser } from './support/flows.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
const user = { username: 'dr.carter', password: 'bedside-demo', patient: 'patient-001' };

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

/** Authorizes as the sample app through the pages and returns the redirect back. */
async function authorize(overrides: Record<string, string | undefined> = {}) {
  const request = sampleAuthorization(server, overrides);
  const back = await authorizeInBrowser(new Browser(), request.url, request.redirectUri, user);
  return { ...request, back, code: back.searchParams.get('code') };
}

/** An authorization request that must come back as an error redirect without reaching any page. */
async function errorRedirect(overrides: Record<string, string | undefined>) {
  const request = sampleAuthorization(server, overrides);
  const back = asRedirect(await new Browser().go(request.url, { stopAt: request.redirectUri }));
  expect(back.searchParams.get('code')).toBeNull();
  expect(back.searchParams.get('state')).toBe(request.state);
  return back;
}

function exchange(code: string, verifier: string | undefined, extra: Record<string, string> = {}) {
  return tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: `${server.baseUrl}/sample-app/`,
    client_id: SAMPLE_APP,
    ...(verifier !== undefined ? { code_verifier: verifier } : {}),
    ...extra,
  });
}

describe('authorization request checks', () => {
  it('PKCE 1/4: no code_challenge → invalid_request redirect', async () => {
    const back = await errorRedirect({ code_challenge: undefined, code_challenge_method: undefined });
    expect(back.searchParams.get('error')).toBe('invalid_request');
  });

  it('plain PKCE is refused', async () => {
    const back = await errorRedirect({ code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' });
    expect(back.searchParams.get('error')).toBe('invalid_request');
  });

  it('aud missing or not this FHIR server → error redirect with state, never a code', async () => {
    expect((await errorRedirect({ aud: undefined })).searchParams.get('error')).toBe('invalid_request');
    const bad = await errorRedirect({ aud: 'https://evil.example/fhir' });
    expect(bad.searchParams.get('error')).toBe('invalid_request');
    expect(bad.searchParams.get('error_description')).toMatch(/aud/);
  });

  it('state comes back byte for byte', async () => {
    const state = 'a b+c/d=e&f%g~ü"<>{}';
    const { back } = await authorize({ state });
    expect(back.searchParams.get('state')).toBe(state);
  });

  it('malformed scopes and scopes beyond the client registration → invalid_scope', async () => {
    for (const scope of ['launch/patient patient/Observation.sr', 'patient/Observaton.rs', 'openid  launch', 'system/*.rs']) {
      const back = await errorRedirect({ scope });
      expect(back.searchParams.get('error')).toBe('invalid_scope');
    }
    // bedside-sample-app registered no `patient/*.write`-like letters beyond cruds, but never `introspection`.
    expect((await errorRedirect({ scope: 'introspection' })).searchParams.get('error')).toBe('invalid_scope');
  });

  it('the launch scope needs a live launch value', async () => {
    expect((await errorRedirect({ scope: 'launch patient/*.rs' })).searchParams.get('error')).toBe('invalid_request');
    const unknown = await errorRedirect({ scope: 'launch patient/*.rs', launch: 'no-such-launch' });
    expect(unknown.searchParams.get('error_description')).toMatch(/launch/);
  });

  it('an unknown client or an unregistered redirect_uri gets an error page, not a redirect', async () => {
    for (const overrides of [{ client_id: 'no-such-client' }, { redirect_uri: 'https://evil.example/callback' }]) {
      const request = sampleAuthorization(server, overrides);
      const page = asPage(await new Browser().go(request.url, { stopAt: 'https://evil.example' }));
      expect(page.status).toBe(400);
      expect(page.html).toMatch(/invalid_client|invalid_redirect_uri/);
    }
  });

  it('the authorization endpoint takes POST (authorize-post)', async () => {
    const request = sampleAuthorization(server);
    const url = new URL(request.url);
    const browser = new Browser();
    const first = await browser.go(`${url.origin}${url.pathname}`, { method: 'POST', body: url.searchParams, stopAt: request.redirectUri });
    const back = await authorizeInBrowser(browser, asPage(first).url, request.redirectUri, user);
    expect(back.searchParams.get('code')).toBeTruthy();
  });
});

describe('token request checks (authorization code)', () => {
  it('PKCE 2/4: no code_verifier → invalid_grant', async () => {
    const { code } = await authorize();
    expect((await exchange(code!, undefined)).body.error).toBe('invalid_grant');
  });

  it('PKCE 3/4: wrong code_verifier → invalid_grant', async () => {
    const { code } = await authorize();
    expect((await exchange(code!, randomBytes(32).toString('base64url'))).body.error).toBe('invalid_grant');
  });

  it('PKCE 4/4: malformed code_verifier (too short) → invalid_request, no token', async () => {
    const { code } = await authorize();
    const response = await exchange(code!, 'short');
    expect(response.body.error).toBe('invalid_request');
    expect(response.body.access_token).toBeUndefined();
  });

  it('a code is single-use: reuse fails and revokes what the first use issued', async () => {
    const { code, verifier } = await authorize();
    const first = await exchange(code!, verifier);
    expect(first.status).toBe(200);
    const second = await exchange(code!, verifier);
    expect(second.body.error).toBe('invalid_grant');
    await expect(server.bedside.app.auth.verifier.verify(String(first.body.access_token))).rejects.toMatchObject({ code: 'revoked' });
  });

  it('codes are short-lived (60 s)', async () => {
    const request = sampleAuthorization(server);
    const back = await authorizeInBrowser(new Browser(), request.url, request.redirectUri, user);
    const codes = await server.bedside.storage.documents.collection('oidc.AuthorizationCode').list({ limit: 1 });
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(codes[0]!.expiresAt! - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('a redirect_uri other than the one of the authorization request → invalid_grant', async () => {
    const { code, verifier } = await authorize();
    expect((await exchange(code!, verifier, { redirect_uri: `${server.baseUrl}/other/` })).body.error).toBe('invalid_grant');
  });

  it('an unknown client → invalid_client', async () => {
    const { code, verifier } = await authorize();
    expect((await exchange(code!, verifier, { client_id: 'no-such-client' })).body.error).toBe('invalid_client');
  });

  it('an unknown grant type → unsupported_grant_type', async () => {
    const response = await tokenRequest(server, { grant_type: 'urn:example:nonsense', client_id: SAMPLE_APP });
    expect(response.body.error).toBe('unsupported_grant_type');
  });

  it('the password grant → unsupported_grant_type pointing to the right flows', async () => {
    for (const extra of [{ client_id: SAMPLE_APP }, { client_id: 'no-such-client' }]) {
      const response = await tokenRequest(server, { grant_type: 'password', username: 'dr.carter', password: 'bedside-demo', ...extra });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('unsupported_grant_type');
      expect(String(response.body.error_description)).toMatch(/authorization code grant with PKCE/);
    }
  });

  it('token responses are never cached', async () => {
    const { code, verifier } = await authorize();
    const response = await exchange(code!, verifier);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
  });
});

describe('private_key_jwt assertion checks (backend services)', () => {
  let key: ClientKey;
  let clientId: string;

  beforeAll(async () => {
    key = await clientKey('ES384');
    const registered = await register(server, {
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
      scope: 'system/*.rs',
    });
    clientId = String(registered.body.client_id);
  });

  const backendToken = (assertion: string, type = ASSERTION_TYPE) =>
    tokenRequest(server, { grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: type, client_assertion: assertion });

  it('a good assertion works (baseline)', async () => {
    expect((await backendToken(await clientAssertion(server, clientId, key))).status).toBe(200);
  });

  it('bad assertion type → refused', async () => {
    const response = await backendToken(await clientAssertion(server, clientId, key), 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer');
    expect(['invalid_request', 'invalid_client']).toContain(response.body.error);
    expect(response.body.access_token).toBeUndefined();
  });

  it('signature by another key with the same kid → invalid_client', async () => {
    const other = await clientKey('ES384');
    expect((await backendToken(await clientAssertion(server, clientId, key, { signWith: other }))).body.error).toBe('invalid_client');
  });

  it('audience other than the token endpoint → invalid_client', async () => {
    for (const aud of [server.issuer, 'https://other.example/token']) {
      expect((await backendToken(await clientAssertion(server, clientId, key, { claims: { aud } }))).body.error).toBe('invalid_client');
    }
  });

  it('expired, or expiring more than 5 minutes ahead → invalid_client', async () => {
    expect((await backendToken(await clientAssertion(server, clientId, key, { expiresIn: -60 }))).body.error).toBe('invalid_client');
    expect((await backendToken(await clientAssertion(server, clientId, key, { expiresIn: 600 }))).body.error).toBe('invalid_client');
  });

  it('a replayed jti → invalid_client', async () => {
    const assertion = await clientAssertion(server, clientId, key);
    expect((await backendToken(assertion)).status).toBe(200);
    expect((await backendToken(assertion)).body.error).toBe('invalid_client');
  });

  it('sub other than the client, or no kid → invalid_client', async () => {
    expect((await backendToken(await clientAssertion(server, clientId, key, { claims: { sub: 'someone-else' } }))).body.error).toBe('invalid_client');
    expect((await backendToken(await clientAssertion(server, clientId, key, { header: { kid: undefined } }))).body.error).toBe('invalid_client');
  });
});

describe('tampered or expired access tokens at introspection and in the verifier', () => {
  let accessToken: string;
  let secret: string;
  let introspector: string;

  beforeAll(async () => {
    const registered = await register(server, {
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'system/*.rs',
    });
    introspector = String(registered.body.client_id);
    secret = String(registered.body.client_secret);
    const { code, verifier } = await authorize();
    accessToken = String((await exchange(code!, verifier)).body.access_token);
  });

  const introspect = async (token: string) => {
    const response = await fetch(`${server.issuer}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${introspector}:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ token }),
    });
    return response.json();
  };

  async function signWithServerKey(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
    const keySet = (await server.bedside.storage.documents.collection<{ signing: Array<{ alg: string; jwk: JWK }> }>('auth.keys').get('current'))!;
    const es = keySet.signing.find((k) => k.alg === 'ES256')!;
    const original = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    return new SignJWT({ ...original, ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: es.jwk.kid, ...header })
      .sign(await importJWK(es.jwk, 'ES256'));
  }

  it('the genuine token is active (baseline)', async () => {
    expect(await introspect(accessToken)).toMatchObject({ active: true });
  });

  it('a tampered payload → {"active": false}; verifier: signature', async () => {
    const [h, p, s] = accessToken.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = [h, Buffer.from(JSON.stringify({ ...payload, patient: 'patient-002' })).toString('base64url'), s].join('.');
    expect(await introspect(tampered)).toEqual({ active: false });
    await expect(server.bedside.app.auth.verifier.verify(tampered)).rejects.toMatchObject({ code: 'signature' });
  });

  it('an expired token (signed by the server key) → {"active": false}; verifier: expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWithServerKey({ iat: now - 7200, exp: now - 3600 });
    expect(await introspect(expired)).toEqual({ active: false });
    await expect(server.bedside.app.auth.verifier.verify(expired)).rejects.toMatchObject({ code: 'expired' });
  });

  it('wrong audience, a foreign key with the right kid, alg none, garbage → inactive', async () => {
    const wrongAudience = await signWithServerKey({ aud: 'https://other.example/fhir' });
    await expect(server.bedside.app.auth.verifier.verify(wrongAudience)).rejects.toMatchObject({ code: 'audience' });
    const foreign = await clientKey('ES384');
    const kid = JSON.parse(Buffer.from(accessToken.split('.')[0]!, 'base64url').toString()).kid as string;
    const forged = await new SignJWT(JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()))
      .setProtectedHeader({ alg: 'ES384', kid, typ: 'at+jwt' })
      .sign(foreign.privateKey);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${accessToken.split('.')[1]}.`;
    for (const token of [wrongAudience, forged, none, 'garbage', `${accessToken}x`]) {
      expect(await introspect(token)).toEqual({ active: false });
      await expect(server.bedside.app.auth.verifier.verify(token)).rejects.toThrow();
    }
  });
});
