/**
 * OpenID Connect completeness: userinfo for Bedside's JWT access tokens (claims by granted
 * scope, openid-client's fetchUserInfo), RP-initiated logout that ends the session and with it
 * the app's online_access refresh token and access tokens (offline_access survives), and the
 * authorization request's prompt=login|consent|none, max_age and login_hint, including silent
 * sign-in for an operator-marked first-party client.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asPage, asRedirect, Browser, formTo, isPage } from '../auth/support/browser.js';
import { authorizationUrl, decodeJwt, pkce, register } from '../auth/support/clients.js';
import { text } from './support/flows.js';
import { startOidcServer, type OidcTestServer as TestServer } from './support/server.js';

let server: TestServer;
const APP = { redirect: 'http://127.0.0.1:9/ward/cb', bye: 'http://127.0.0.1:9/ward/bye' };
let ward: string;
let portal: string;
const LEE = { username: 'lee.ward', password: 'ward-password-1' };

beforeAll(async () => {
  // The FHIR API checks revocation on every request here (REVOCATION_CHECK_MS=0), so logout shows at once.
  server = await startOidcServer({ config: { revocationCheckMs: 0 } });
  const metadata = {
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [APP.redirect],
    post_logout_redirect_uris: [APP.bye],
    scope: 'openid profile email fhirUser online_access offline_access user/*.rs',
  };
  ward = String((await register(server, { ...metadata, client_name: 'Ward board' })).body.client_id);
  portal = String((await register(server, { ...metadata, client_name: 'Staff portal' })).body.client_id);
  const admin = server.bedside.app.auth.admin;
  await admin.editClient({ id: 'test', via: 'command' }, portal, { firstParty: true });
  await admin.createUser(
    { id: 'test', via: 'command' },
    { ...LEE, name: 'Lee Ward', email: 'lee.ward@example.org', fhirUser: 'Practitioner/practitioner-001' },
  );
});
afterAll(async () => server?.stop());

interface Started {
  url: string;
  verifier: string;
  state: string;
  clientId: string;
}

function start(clientId: string, params: Record<string, string | undefined> = {}): Started {
  const { verifier, challenge } = pkce();
  const state = Math.random().toString(36).slice(2);
  const url = authorizationUrl(server, {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: APP.redirect,
    scope: 'openid profile user/*.rs',
    aud: server.fhirBase,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  });
  return { url, verifier, state, clientId };
}

/** Follows the pages: signs in when asked, approves consent; returns the redirect to the app. */
async function authorize(browser: Browser, started: Started, user = LEE): Promise<{ back: URL; pages: string[] }> {
  const pages: string[] = [];
  let result = await browser.go(started.url, { stopAt: APP.redirect });
  for (let i = 0; i < 5 && isPage(result); i++) {
    const path = result.forms.map((f) => new URL(f.action).pathname);
    if (path.some((p) => p.endsWith('/login'))) {
      pages.push('login');
      result = await browser.submit(formTo(result, '/login'), user, undefined, APP.redirect);
    } else if (path.some((p) => p.endsWith('/consent'))) {
      pages.push('consent');
      result = await browser.submit(formTo(result, '/consent'), {}, { name: 'decision', value: 'approve' }, APP.redirect);
    } else {
      throw new Error(`unexpected page ${result.url}: ${text(result).slice(0, 300)}`);
    }
  }
  return { back: asRedirect(result), pages };
}

async function exchange(started: Started, back: URL): Promise<Record<string, string>> {
  expect(back.searchParams.get('state')).toBe(started.state);
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: back.searchParams.get('code') ?? '',
      redirect_uri: APP.redirect,
      client_id: started.clientId,
      code_verifier: started.verifier,
    }),
  });
  const body = (await response.json()) as Record<string, string>;
  if (response.status !== 200) throw new Error(`token: ${JSON.stringify(body)}`);
  return body;
}

async function signIn(browser: Browser, clientId: string, params: Record<string, string | undefined> = {}): Promise<Record<string, string>> {
  const started = start(clientId, params);
  return exchange(started, (await authorize(browser, started)).back);
}

async function refresh(clientId: string, refreshToken: string): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

async function userinfo(token: string): Promise<Response> {
  return fetch(`${server.issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
}

const fhirStatus = async (token: string) => (await fetch(`${server.fhirBase}/Patient`, { headers: { authorization: `Bearer ${token}` } })).status;

describe('userinfo', () => {
  it('discovery advertises userinfo and end_session', async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.userinfo_endpoint).toBe(`${server.issuer}/userinfo`);
    expect(discovery.end_session_endpoint).toBe(`${server.issuer}/logout`);
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(['sub', 'fhirUser', 'name', 'email']));
  });

  it('answers the access token with the claims its scopes release', async () => {
    const all = await signIn(new Browser(), ward, { scope: 'openid profile email fhirUser user/*.rs' });
    const response = await userinfo(all.access_token!);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({
      sub: 'lee.ward',
      name: 'Lee Ward',
      preferred_username: 'lee.ward',
      email: 'lee.ward@example.org',
      fhirUser: `${server.fhirBase}/Practitioner/practitioner-001`,
    });

    const openidOnly = await signIn(new Browser(), ward, { scope: 'openid user/*.rs' });
    expect(await (await userinfo(openidOnly.access_token!)).json()).toEqual({ sub: 'lee.ward' });
  });

  it('works for a certified relying party (openid-client fetchUserInfo)', async () => {
    const config = await oidc.discovery(new URL(server.issuer), ward, { token_endpoint_auth_method: 'none' }, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const tokens = await signIn(new Browser(), ward, { scope: 'openid email user/*.rs' });
    expect(await oidc.fetchUserInfo(config, tokens.access_token!, 'lee.ward')).toEqual({ sub: 'lee.ward', email: 'lee.ward@example.org' });
  });

  it('refuses a token without openid (403 insufficient_scope), a revoked one and garbage (401 invalid_token)', async () => {
    const noOpenid = await signIn(new Browser(), ward, { scope: 'user/*.rs', aud: server.fhirBase });
    const refused = await userinfo(noOpenid.access_token!);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);

    const revoked = await signIn(new Browser(), ward, { scope: 'openid user/*.rs' });
    await fetch(`${server.issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: revoked.access_token!, client_id: ward }),
    });
    const gone = await userinfo(revoked.access_token!);
    expect(gone.status).toBe(401);
    expect(gone.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect((await userinfo('not-a-token')).status).toBe(401);
  });
});

describe('RP-initiated logout', () => {
  it('ends the session: online_access refresh tokens and their access tokens stop working, offline_access survives', async () => {
    const browser = new Browser();
    const online = await signIn(browser, ward, { scope: 'openid user/*.rs online_access' });
    // Another app of the same session (a second authorization of the same app would replace the first).
    const offline = await signIn(browser, portal, { scope: 'openid user/*.rs offline_access' });
    expect(online.refresh_token).toBeTruthy();
    expect(offline.refresh_token).toBeTruthy();
    const refreshed = await refresh(ward, online.refresh_token!);
    expect(refreshed.status).toBe(200);
    expect(await fhirStatus(refreshed.body.access_token!)).toBe(200);

    const logout = new URL(`${server.issuer}/logout`);
    logout.search = new URLSearchParams({ id_token_hint: online.id_token!, post_logout_redirect_uri: APP.bye, state: 'bye-1' }).toString();
    const page = asPage(await browser.go(logout.href));
    expect(page.status).toBe(200);
    expect(text(page)).toContain('Ward board asks to sign you out of Bedside');
    const form = page.forms[0]!;
    expect(form.fields.map((f) => f.name)).toEqual(['xsrf']);
    expect(form.buttons).toEqual([
      { name: 'logout', value: 'yes' },
      { name: '', value: '' },
    ]);
    const back = asRedirect(await browser.submit(form, {}, { name: 'logout', value: 'yes' }, APP.bye));
    expect(`${back.origin}${back.pathname}`).toBe(APP.bye);
    expect(back.searchParams.get('state')).toBe('bye-1');

    expect(await refresh(ward, refreshed.body.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await fhirStatus(refreshed.body.access_token!)).toBe(401);
    expect(await fhirStatus(online.access_token!)).toBe(401);
    const stillOffline = await refresh(portal, offline.refresh_token!);
    expect(stillOffline.status).toBe(200);
    expect(await fhirStatus(stillOffline.body.access_token!)).toBe(200);

    // Signed out: a silent request is told to sign in, a normal one shows the sign-in page.
    const silent = start(ward, { prompt: 'none' });
    expect(asRedirect(await browser.go(silent.url, { stopAt: APP.redirect })).searchParams.get('error')).toBe('login_required');
    expect((await authorize(browser, start(ward))).pages).toEqual(['login', 'consent']);
  });

  it('without a post_logout_redirect_uri the browser lands on a "signed out" page; an unregistered one is refused', async () => {
    const browser = new Browser();
    const tokens = await signIn(browser, ward, { scope: 'openid user/*.rs' });
    const page = asPage(await browser.go(`${server.issuer}/logout?client_id=${ward}`));
    const done = asPage(await browser.submit(page.forms[0]!, {}, { name: 'logout', value: 'yes' }));
    expect(text(done)).toContain('You are signed out of Bedside');
    const foreign = asPage(
      await browser.go(`${server.issuer}/logout?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`),
    );
    expect(foreign.status).toBe(400);
  });
});

describe('prompt, max_age, login_hint', () => {
  it('discovery lists exactly the prompt values the provider honours (prompt_values_supported)', async () => {
    for (const document of ['openid-configuration', 'oauth-authorization-server']) {
      const metadata = (await (await fetch(`${server.issuer}/.well-known/${document}`)).json()) as { prompt_values_supported?: string[] };
      expect(metadata.prompt_values_supported, document).toEqual(['none', 'login', 'consent']);
    }
    // Each listed value is taken up (a page to sign in, or a protocol answer), none refused as unsupported.
    for (const prompt of ['none', 'login', 'consent']) {
      const result = await new Browser().go(start(ward, { prompt }).url, { stopAt: APP.redirect });
      if (prompt === 'none') expect(asRedirect(result).searchParams.get('error')).toBe('login_required');
      else expect(formTo(asPage(result), '/login').method).toBe('POST');
    }
    // Anything else, Bedside's internal patient-picker prompt included, is refused.
    for (const prompt of ['select_account', 'create', 'smart_context']) {
      const back = asRedirect(await new Browser().go(start(ward, { prompt }).url, { stopAt: APP.redirect }));
      expect(back.searchParams.get('error'), prompt).toBe('invalid_request');
      expect(back.searchParams.get('error_description'), prompt).toBe('unsupported prompt value requested');
    }
  });

  it('prompt=login asks to sign in again despite the session; login_hint fills in the username', async () => {
    const browser = new Browser();
    const first = await signIn(browser, ward);
    const again = start(ward, { prompt: 'login', login_hint: 'lee.ward' });
    const login = asPage(await browser.go(again.url, { stopAt: APP.redirect }));
    expect(formTo(login, '/login').fields.find((f) => f.name === 'username')?.value).toBe('lee.ward');
    const { back, pages } = await authorize(browser, again);
    expect(pages).toEqual(['login', 'consent']);
    const tokens = await exchange(again, back);
    expect(decodeJwt(tokens.id_token!).sub).toBe(decodeJwt(first.id_token!).sub);
  });

  it('max_age: a recent sign-in is reused, an older one is asked again; the id_token carries auth_time', async () => {
    const browser = new Browser();
    await signIn(browser, ward);
    const recent = start(ward, { max_age: '3600' });
    const { back, pages } = await authorize(browser, recent);
    expect(pages).toEqual(['consent']);
    const authTime = decodeJwt((await exchange(recent, back)).id_token!).auth_time as number;
    expect(Math.abs(authTime - Date.now() / 1000)).toBeLessThan(10);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await authorize(browser, start(ward, { max_age: '1' }))).pages).toEqual(['login', 'consent']);
  });

  it('prompt=none: login_required without a session, consent_required for a third-party app', async () => {
    const fresh = start(ward, { prompt: 'none' });
    const back = asRedirect(await new Browser().go(fresh.url, { stopAt: APP.redirect }));
    expect(back.searchParams.get('error')).toBe('login_required');
    expect(back.searchParams.get('state')).toBe(fresh.state);
    const browser = new Browser();
    await signIn(browser, ward);
    expect(asRedirect(await browser.go(start(ward, { prompt: 'none' }).url, { stopAt: APP.redirect })).searchParams.get('error')).toBe('consent_required');
  });

  it('a first-party app skips consent, signs in silently with prompt=none, and shows consent when it asks with prompt=consent', async () => {
    const browser = new Browser();
    const first = start(portal, { scope: 'openid profile user/*.rs' });
    const { back, pages } = await authorize(browser, first);
    expect(pages).toEqual(['login']);
    expect((await exchange(first, back)).scope).toBe('openid profile user/*.rs');

    const silent = start(portal, { prompt: 'none', scope: 'openid fhirUser user/*.rs' });
    const silentBack = asRedirect(await browser.go(silent.url, { stopAt: APP.redirect }));
    const tokens = await exchange(silent, silentBack);
    expect(decodeJwt(tokens.id_token!)).toMatchObject({ sub: 'lee.ward', fhirUser: `${server.fhirBase}/Practitioner/practitioner-001` });
    expect(await fhirStatus(tokens.access_token!)).toBe(200);

    expect((await authorize(browser, start(portal, { prompt: 'consent' }))).pages).toEqual(['consent']);
  });

  it('dynamic registration cannot make a client first-party', async () => {
    const attempt = await register(server, { redirect_uris: [APP.redirect], token_endpoint_auth_method: 'none', bedside_first_party: true });
    expect(attempt.status).toBe(400);
    expect(attempt.body.error).toBe('invalid_client_metadata');
  });
});
