/**
 * The CORS policy, exactly (docs/SECURITY.md lists it):
 * - FHIR API and SMART discovery: any origin (`*`), never credentials (bearer tokens, not
 *   cookies), the headers a client needs exposed, preflights answered for the FHIR methods.
 * - OpenID discovery and JWKS: any origin (oidc-provider echoes it), no credentials.
 * - Token, introspection and revocation endpoints: preflight for any origin, but the answer
 *   carries `Access-Control-Allow-Origin` only for Bedside's own origin and the origins of the
 *   client's registered redirect URIs (`clientBasedCORS`); from elsewhere the request is refused.
 * - userinfo: the origins of the token's client's redirect URIs.
 * - Everything else (sign-in and account pages, the launcher and its API, registration): no CORS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkce, register, sampleAuthorization, tokenRequest } from '../auth/support/clients.js';
import { authorizeInBrowser } from '../auth/support/flows.js';
import { Browser } from '../auth/support/browser.js';
import { startTestServer, type TestServer } from '../auth/support/server.js';

let server: TestServer;
const APP_ORIGIN = 'https://app.example';
const EVIL = 'https://evil.example';
let appClient: string;

beforeAll(async () => {
  server = await startTestServer();
  const { body } = await register(server, {
    client_name: 'Browser app',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [`${APP_ORIGIN}/cb`],
    scope: 'openid fhirUser patient/*.rs launch/patient offline_access',
  });
  appClient = String(body.client_id);
});
afterAll(async () => server?.stop());

const FHIR_EXPOSED = 'Location, Content-Location, ETag, Last-Modified, WWW-Authenticate, X-Request-Id, X-Progress, Retry-After, Expires';

/** The access-control headers of a response, by name. */
function cors(response: Response): Record<string, string> {
  const found: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name.startsWith('access-control-')) found[name] = value;
  });
  return found;
}

const preflight = (url: string, origin: string, method: string, headers?: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) },
  });

describe('FHIR API and SMART discovery: any origin, no credentials', () => {
  it.each(['/metadata', '/.well-known/smart-configuration', '/Patient'])('GET %s from any origin', async (path) => {
    for (const origin of [EVIL, 'null', APP_ORIGIN]) {
      const response = await fetch(`${server.fhirBase}${path}`, { headers: { origin } });
      expect(cors(response), `${path} from ${origin}`).toEqual({ 'access-control-allow-origin': '*', 'access-control-expose-headers': FHIR_EXPOSED });
    }
  });

  it('the preflight allows the FHIR methods and request headers, for ten minutes, never credentials', async () => {
    const response = await preflight(`${server.fhirBase}/Observation/1`, EVIL, 'PUT', 'authorization, content-type, if-match');
    expect(response.status).toBe(204);
    expect(cors(response)).toEqual({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': FHIR_EXPOSED,
      'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': 'Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, Prefer, X-Request-Id',
      'access-control-max-age': '600',
    });
  });

  it('a 401 is readable cross-origin, with its WWW-Authenticate', async () => {
    const response = await fetch(`${server.fhirBase}/Patient`, { headers: { origin: EVIL } });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
  });
});

describe('OpenID discovery and JWKS: any origin', () => {
  it.each(['/.well-known/openid-configuration', '/jwks'])('%s echoes the origin, no credentials', async (path) => {
    const response = await fetch(`${server.issuer}${path}`, { headers: { origin: EVIL } });
    expect(cors(response)).toEqual({ 'access-control-allow-origin': EVIL });
    expect(response.headers.get('vary')).toMatch(/Origin/);
    const pre = await preflight(`${server.issuer}${path}`, EVIL, 'GET');
    expect(pre.status).toBe(204);
    expect(cors(pre)).toEqual({ 'access-control-allow-origin': EVIL, 'access-control-allow-methods': 'GET', 'access-control-max-age': '3600' });
  });

  it('the SMART style document: any origin', async () => {
    const response = await fetch(`${server.issuer}/smart-style.json`, { headers: { origin: EVIL } });
    expect(cors(response)).toEqual({ 'access-control-allow-origin': '*' });
  });
});

describe("token, introspection, revocation: the client's own origins", () => {
  const codeExchange = (clientId: string, origin: string) =>
    fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        code: 'not-a-code',
        redirect_uri: `${APP_ORIGIN}/cb`,
        code_verifier: pkce().verifier,
      }),
    });

  it('a preflight is answered for any origin (the client is not known yet)', async () => {
    for (const path of ['/token', '/introspect', '/revoke']) {
      const response = await preflight(`${server.issuer}${path}`, EVIL, 'POST', 'content-type');
      expect(response.status).toBe(204);
      expect(cors(response)).toEqual({
        'access-control-allow-origin': EVIL,
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '3600',
      });
    }
  });

  it('from the origin of a registered redirect URI: allowed (the answer is readable)', async () => {
    const response = await codeExchange(appClient, APP_ORIGIN);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_grant');
    expect(cors(response)).toEqual({ 'access-control-allow-origin': APP_ORIGIN, 'access-control-expose-headers': 'WWW-Authenticate' });
  });

  it("from Bedside's own origin (the launcher): allowed", async () => {
    const response = await codeExchange(appClient, server.baseUrl);
    expect(cors(response)['access-control-allow-origin']).toBe(server.baseUrl);
  });

  it('from any other origin: refused, and not readable', async () => {
    for (const path of ['/token', '/introspect', '/revoke']) {
      const response =
        path === '/token'
          ? await codeExchange(appClient, EVIL)
          : await fetch(`${server.issuer}${path}`, {
              method: 'POST',
              headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ token: 'x', client_id: appClient }),
            });
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { error_description: string }).error_description).toMatch(/origin https:\/\/evil\.example not allowed/);
      expect(response.headers.get('access-control-allow-origin'), path).toBeNull();
    }
  });

  it('without an Origin (a server-side client) nothing changes', async () => {
    const response = await tokenRequest(server, {
      grant_type: 'authorization_code',
      client_id: appClient,
      code: 'x',
      redirect_uri: `${APP_ORIGIN}/cb`,
      code_verifier: pkce().verifier,
    });
    expect(response.body.error).toBe('invalid_grant');
  });
});

describe("userinfo: the token's client's origins", () => {
  it("answers with CORS for the client's redirect origin, without for another", async () => {
    const request = sampleAuthorization(server, {
      client_id: appClient,
      redirect_uri: `${APP_ORIGIN}/cb`,
      scope: 'openid fhirUser patient/*.rs launch/patient',
    });
    const back = await authorizeInBrowser(new Browser(), request.url, request.redirectUri, { username: 'amy.shaw', password: 'bedside-demo' });
    const tokens = await tokenRequest(server, {
      grant_type: 'authorization_code',
      client_id: appClient,
      code: back.searchParams.get('code')!,
      redirect_uri: request.redirectUri,
      code_verifier: request.verifier,
    });
    const token = String(tokens.body.access_token);
    const own = await fetch(`${server.issuer}/userinfo`, { headers: { origin: APP_ORIGIN, authorization: `Bearer ${token}` } });
    expect(own.status).toBe(200);
    expect(cors(own)).toEqual({ 'access-control-allow-origin': APP_ORIGIN });
    const other = await fetch(`${server.issuer}/userinfo`, { headers: { origin: EVIL, authorization: `Bearer ${token}` } });
    expect(cors(other)).toEqual({});
  });
});

describe('pages, the launcher and registration: no CORS', () => {
  it.each([
    ['GET', '/oauth/authorize'],
    ['GET', '/oauth/account/apps'],
    ['GET', '/oauth/admin/users'],
    ['GET', '/'],
    ['GET', '/launcher/api/config'],
    ['GET', '/launcher/api/patients'],
    ['POST', '/launcher/api/launch'],
    ['POST', '/oauth/register'],
    ['GET', '/sample-app/'],
  ])('%s %s', async (method, path) => {
    const response = await fetch(`${server.baseUrl}${path}`, {
      method,
      redirect: 'manual',
      headers: { origin: EVIL, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
    expect(cors(response), `${method} ${path}`).toEqual({});
    const pre = await preflight(`${server.baseUrl}${path}`, EVIL, method, 'content-type');
    expect(cors(pre), `OPTIONS ${path}`).toEqual({});
  });
});
