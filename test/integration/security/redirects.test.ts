/**
 * No open redirects: every redirect Bedside makes goes to Bedside itself or to a URI registered
 * for the client. Authorization errors go back only to a registered redirect_uri (anything else
 * is an error page), logout only to a registered post_logout_redirect_uri, the account pages'
 * `state` only to known pages, the federation callback only to the interaction it began from;
 * the launcher answers the launch URL in JSON and never redirects to it; odd paths never make
 * the static files or the launcher redirect elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEDERATION_STATE_COLLECTION } from '../../../src/auth/accounts/federation/service.js';
import { authorizationUrl, pkce, register } from '../auth/support/clients.js';
import { authorizeInBrowser } from '../auth/support/flows.js';
import { Browser } from '../auth/support/browser.js';
import { startOidcServer, type OidcTestServer } from '../oidc/support/server.js';

let server: OidcTestServer;
const APP = { redirect: 'https://app.example/cb', bye: 'https://app.example/bye' };
let clientId: string;

beforeAll(async () => {
  // One identity provider configured (never reached here), for the federation callback.
  const providers = [{ id: 'corp', name: 'Contoso', issuer: 'http://127.0.0.1:9/idp', clientId: 'bedside', clientSecret: 'corp-secret' }];
  server = await startOidcServer({ env: { FEDERATION_PROVIDERS: JSON.stringify(providers), ALLOW_PRIVATE_NETWORK_FETCH: 'true' } });
  const { body } = await register(server, {
    client_name: 'Redirect check',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [APP.redirect],
    post_logout_redirect_uris: [APP.bye],
    scope: 'openid patient/*.rs launch/patient',
  });
  clientId = String(body.client_id);
});
afterAll(async () => server?.stop());

/** One request, no redirect followed. */
const hop = (url: string, init: RequestInit = {}) => fetch(url, { redirect: 'manual', ...init });

/** A Location must stay on Bedside, or be exactly one of `registered` (with its query). */
function expectSafeLocation(location: string | null, registered: string[] = []): void {
  if (location === null) return;
  const target = new URL(location, server.baseUrl);
  if (target.origin === new URL(server.baseUrl).origin) {
    // Relative Locations must be paths, never protocol-relative (//host) or backslash tricks.
    if (!/^https?:/.test(location)) expect(location, location).toMatch(/^\/(?![/\\])/);
    return;
  }
  expect(registered, `redirect to ${location}`).toContain(`${target.origin}${target.pathname}`);
}

function authorize(params: Record<string, string | undefined>): string {
  const { challenge } = pkce();
  return authorizationUrl(server, {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: APP.redirect,
    scope: 'openid patient/*.rs',
    aud: server.fhirBase,
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  });
}

describe('authorization endpoint', () => {
  const unregistered = [
    'https://evil.example/cb',
    'https://app.example/cb/',
    'https://app.example/cb?next=https://evil.example',
    'https://app.example/cb#x',
    'https://app.example/cb/../evil',
    'https://APP.example/cb',
    'http://app.example/cb',
    'https://app.example.evil.example/cb',
    'https://app.example@evil.example/cb',
    'https://evil.example\\@app.example/cb',
    '//evil.example/cb',
    '/cb',
    'javascript:alert(1)',
  ];

  it.each(unregistered)('an unregistered redirect_uri %s gets an error page, never a redirect', async (redirectUri) => {
    // With a bad scope as well: the error must not travel to the unregistered URI either.
    for (const extra of [{}, { scope: 'not/a.scope' }, { code_challenge: undefined }]) {
      const response = await hop(authorize({ redirect_uri: redirectUri, ...extra }));
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    }
  });

  it("an omitted redirect_uri, another client's, or an unknown client gets an error page too", async () => {
    for (const params of [{ redirect_uri: undefined }, { redirect_uri: `${server.issuer}/account/callback` }, { client_id: 'nobody' }]) {
      const response = await hop(authorize(params));
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    }
  });

  it('errors go back to the registered redirect_uri, exactly, with the state', async () => {
    const response = await hop(authorize({ scope: 'not/a.scope' }));
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(APP.redirect);
    expect(location.searchParams.get('error')).toBe('invalid_scope');
    expect(location.searchParams.get('state')).toBe('st');
  });

  it('every hop of a whole sign-in stays on Bedside until the registered redirect_uri', async () => {
    const browser = new Browser();
    const locations: Array<string | null> = [];
    const request = browser.request.bind(browser);
    browser.request = async (url, init) => {
      const response = await request(url, init);
      locations.push(response.headers.get('location'));
      return response;
    };
    const back = await authorizeInBrowser(browser, authorize({ scope: 'openid patient/*.rs launch/patient' }), APP.redirect, {
      username: 'dr.carter',
      password: 'bedside-demo',
      patient: 'patient-001',
    });
    expect(`${back.origin}${back.pathname}`).toBe(APP.redirect);
    expect(locations.filter(Boolean).length).toBeGreaterThan(2);
    for (const location of locations) expectSafeLocation(location, [APP.redirect]);
  });
});

describe('RP-initiated logout', () => {
  it('goes only to a registered post_logout_redirect_uri', async () => {
    for (const uri of ['https://evil.example/bye', `${APP.bye}/`, 'https://app.example/cb', '//evil.example/bye']) {
      const response = await hop(`${server.issuer}/logout?client_id=${clientId}&post_logout_redirect_uri=${encodeURIComponent(uri)}`);
      expect(response.status, uri).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    }
    // Registered: the confirmation page (no session here), then exactly that URI.
    const ok = await hop(`${server.issuer}/logout?client_id=${clientId}&post_logout_redirect_uri=${encodeURIComponent(APP.bye)}&state=s`);
    expect(ok.status).toBe(200);
  });
});

describe('account pages', () => {
  it("the sign-in callback returns only to Bedside's own pages, whatever the state says", async () => {
    const cases: Array<[string, string]> = [
      ['https://evil.example/', '/oauth/account/apps'],
      ['//evil.example', '/oauth/account/apps'],
      ['/\\evil.example', '/oauth/account/apps'],
      ['/admin/../../evil', '/oauth/account/apps'],
      ['javascript:alert(1)', '/oauth/account/apps'],
      ['/admin/users', '/oauth/admin/users'],
      ['/admin/grants', '/oauth/admin/grants'],
    ];
    for (const [state, expected] of cases) {
      const response = await hop(`${server.issuer}/account/callback?code=x&state=${encodeURIComponent(state)}`);
      expect(response.status, state).toBe(303);
      expect(response.headers.get('location'), state).toBe(expected);
    }
    const failed = await hop(`${server.issuer}/account/callback?error=access_denied&state=${encodeURIComponent('https://evil.example/')}`);
    expect(failed.status).toBe(400);
    expect(failed.headers.get('location')).toBeNull();
  });

  it("a signed-out visitor is sent to Bedside's own authorization endpoint, for the account client", async () => {
    const response = await hop(`${server.issuer}/admin/users`);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${server.issuer}/authorize`);
    expect(location.searchParams.get('redirect_uri')).toBe(`${server.issuer}/account/callback`);
    expect(location.searchParams.get('state')).toBe('/admin/users');
  });
});

describe('federation callback', () => {
  it('an unknown state is an error page; a known one goes back to its own interaction only', async () => {
    const unknown = await hop(`${server.issuer}/federation/corp/callback?code=x&state=nope`);
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
    await server.bedside.storage.documents
      .collection(FEDERATION_STATE_COLLECTION)
      .put('known-state', { uid: 'the-interaction', provider: 'corp', verifier: 'v', nonce: 'n' });
    const known = await hop(`${server.issuer}/federation/corp/callback?error=access_denied&state=known-state&redirect_uri=https://evil.example/`);
    expect(known.status).toBe(303);
    expect(known.headers.get('location')).toBe('/oauth/interaction/the-interaction/federated?state=known-state');
  });
});

describe('launcher and static files', () => {
  it('POST /launcher/api/launch answers the launch URL in JSON and redirects nowhere', async () => {
    const response = await hop(`${server.baseUrl}/launcher/api/launch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ launch_uri: 'https://evil.example/launch', patient: 'patient-001' }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBeNull();
    expect(((await response.json()) as { url: string }).url).toMatch(/^https:\/\/evil\.example\/launch\?iss=/);
  });

  it('the EHR frame page is served as it is for any app URL (the browser frames it; no server redirect)', async () => {
    const response = await hop(`${server.baseUrl}/launcher/ehr?app=${encodeURIComponent('https://evil.example/')}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
  });

  it.each([
    '/sample-app?next=//evil.example',
    '/sample-app?x=1',
    '/tutorial',
    '/styles',
    '//evil.example/',
    '//evil.example/%2e%2e',
    '/%2F%2Fevil.example',
    '/styles/..%2F..%2F',
    '/\\evil.example',
    '/launcher/assets/%2F%2Fevil.example.js',
  ])('%s redirects only within Bedside', async (path) => {
    const response = await hop(`${server.baseUrl}${path}`);
    expect(response.status).toBeLessThan(500);
    expectSafeLocation(response.headers.get('location'));
  });
});
