/**
 * Security headers on every HTML page: a Content-Security-Policy without inline script, framing
 * only by Bedside itself for the sign-in and account pages (the EHR frame) and by nobody for the
 * launcher, nosniff, a same-origin Referrer-Policy, and HSTS when BASE_URL is https (on the FHIR
 * API and the token endpoints too). The sign-in pages let their forms end at the app's redirect
 * URI (`form-action`), the provider's own pages (form_post, logout) carry no `form-action`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formTargetSource } from '../../../src/security/headers.js';
import { authorizationUrl, pkce, register, SAMPLE_APP, sampleAuthorization } from '../auth/support/clients.js';
import { authorizeInBrowser } from '../auth/support/flows.js';
import { startTestServer, type TestServer } from '../auth/support/server.js';
import { asPage, formTo, loginPage, RecordingBrowser, signIn, type Page } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

/** The CSP as directive → sources. */
function csp(headers: Headers): Map<string, string[]> {
  const value = headers.get('content-security-policy');
  expect(value, 'Content-Security-Policy').toBeTruthy();
  return new Map(
    value!
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...sources] = d.split(/\s+/);
        return [name!, sources];
      }),
  );
}

/** What every Bedside HTML page must have, whoever renders it. */
function expectPageHeaders(headers: Headers, framing: 'self' | 'none', where: string): Map<string, string[]> {
  const policy = csp(headers);
  expect(headers.get('content-type'), where).toMatch(/^text\/html/);
  expect(policy.get('script-src'), where).toBeDefined();
  expect(
    policy.get('script-src')!.filter((s) => !["'self'", "'none'"].includes(s) && !s.startsWith("'sha256-")),
    where,
  ).toEqual([]);
  expect(policy.get('default-src'), where).toEqual(["'self'"]);
  expect(policy.get('base-uri'), where).toEqual(["'none'"]);
  expect(policy.get('frame-ancestors'), where).toEqual([`'${framing}'`]);
  expect(headers.get('x-frame-options'), where).toBe(framing === 'self' ? 'SAMEORIGIN' : 'DENY');
  expect(headers.get('x-content-type-options'), where).toBe('nosniff');
  expect(headers.get('referrer-policy'), where).toMatch(/^(same-origin|no-referrer)$/);
  expect(headers.get('strict-transport-security'), `${where}: no HSTS on plain http`).toBeNull();
  expect(headers.get('access-control-allow-origin'), `${where}: pages have no CORS`).toBeNull();
  return policy;
}

/** Server-rendered sign-in and account pages: no script at all, no inline style or handler. */
function expectNoInlineCode(page: Page): void {
  expect(page.html).not.toMatch(/<script/i);
  expect(page.html).not.toMatch(/\sstyle=/i);
  expect(page.html).not.toMatch(/\son[a-z]+=/i);
}

describe('sign-in, consent and account pages', () => {
  it("login, patient picker, consent: helmet's headers, framing by Bedside only, forms may end at the app", async () => {
    const { body } = await register(server, {
      client_name: 'Elsewhere app',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: ['https://app.example/cb'],
      scope: 'openid launch/patient patient/*.rs',
    });
    const browser = new RecordingBrowser();
    const request = sampleAuthorization(server, {
      client_id: String(body.client_id),
      redirect_uri: 'https://app.example/cb',
      scope: 'openid launch/patient patient/*.rs',
    });
    const login = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
    const picker = asPage(await signIn(browser, login, 'dr.carter', 'bedside-demo', request.redirectUri));
    const consent = asPage(await browser.submit(formTo(picker, '/patient'), { patient: 'patient-001' }, undefined, request.redirectUri));
    for (const [name, page] of [
      ['login', login],
      ['patient picker', picker],
      ['consent', consent],
    ] as const) {
      const policy = expectPageHeaders(browser.headersOf(page.url), 'self', name);
      expect(policy.get('form-action'), name).toEqual(["'self'", 'https://app.example']);
      expect(browser.headersOf(page.url).get('cache-control')).toBe('no-store');
      expectNoInlineCode(page);
    }
  });

  it('account, grants, audit and admin pages', async () => {
    const browser = new RecordingBrowser(server.baseUrl);
    let page = asPage(await browser.go(`${server.issuer}/admin/grants`));
    page = asPage(await browser.submit(formTo(page, '/login'), { username: 'admin', password: 'bedside-admin' }));
    for (const path of ['/account/apps', '/admin/grants', '/admin/audit', '/admin/users', '/admin/clients', '/admin/resource-servers']) {
      const url = `${server.issuer}${path}`;
      page = asPage(await browser.go(url));
      expect(page.status, path).toBe(200);
      const policy = expectPageHeaders(browser.headersOf(url), 'self', path);
      expect(policy.get('form-action'), path).toEqual(["'self'"]);
      expectNoInlineCode(page);
    }
  });

  it("the provider's own pages (error, logout, signed out) have the same headers, without form-action", async () => {
    const browser = new RecordingBrowser();
    const error = `${server.issuer}/authorize?client_id=nobody&response_type=code&redirect_uri=https://evil.example/`;
    const page = asPage(await browser.go(error));
    expect(page.status).toBe(400);
    const signedIn = sampleAuthorization(server, { scope: 'openid patient/*.rs launch/patient' });
    await authorizeInBrowser(browser, signedIn.url, signedIn.redirectUri, { username: 'amy.shaw', password: 'bedside-demo' });
    const logout = `${server.issuer}/logout?client_id=${SAMPLE_APP}`;
    const logoutPage = asPage(await browser.go(logout));
    const done = asPage(await browser.submit(logoutPage.forms[0]!, {}, { name: 'logout', value: 'yes' }));
    for (const [url, name] of [
      [error, 'error'],
      [logout, 'logout'],
      [done.url, 'signed out'],
    ] as const) {
      const policy = expectPageHeaders(browser.headersOf(url), 'self', name);
      expect(policy.has('form-action'), name).toBe(false);
    }
    expectNoInlineCode(page);
    expectNoInlineCode(logoutPage);
  });

  it('form_post responses: the inline auto-submit script is allowed by its hash, the form may go to the app', async () => {
    const browser = new RecordingBrowser();
    const { request, page } = await loginPage(browser, server, { response_mode: 'form_post', scope: 'openid patient/*.rs launch/patient' });
    let next = asPage(await signIn(browser, page, 'amy.shaw', 'bedside-demo', request.redirectUri));
    next = asPage(await browser.submit(formTo(next, '/consent'), {}, { name: 'decision', value: 'approve' }, request.redirectUri));
    expect(next.html).toMatch(/<form method="post" action="http:\/\/127\.0\.0\.1:\d+\/sample-app\/"/);
    const policy = expectPageHeaders(browser.headersOf(next.url), 'self', 'form_post');
    expect(policy.get('script-src')!.some((s) => s.startsWith("'sha256-"))).toBe(true);
    expect(policy.has('form-action')).toBe(false);
  });

  it("CSP sources for where a form may end: an origin, or a native app's scheme", () => {
    expect(formTargetSource('https://app.example:8443/cb?x=1')).toBe('https://app.example:8443');
    expect(formTargetSource('com.example.app:/oauth2redirect')).toBe('com.example.app:');
    expect(formTargetSource('not a url')).toBeUndefined();
  });
});

describe('launcher pages', () => {
  it.each([
    ['/', 'none'],
    ['/launcher/ehr', 'none'],
    ['/tutorial/', 'none'],
    // The EHR frame (Bedside itself) frames the sample app.
    ['/sample-app/', 'self'],
    ['/sample-app/launch', 'self'],
  ] as const)('%s keeps its own policy (frame-ancestors %s)', async (path, framing) => {
    const response = await fetch(`${server.baseUrl}${path}`);
    expect(response.status).toBe(200);
    expectPageHeaders(response.headers, framing, path);
    expect(csp(response.headers).get('script-src')).toEqual(path === '/tutorial/' ? ["'none'"] : ["'self'"]);
  });
});

describe('every response', () => {
  it('nosniff on the FHIR API, the token endpoint, discovery, static files and 404s', async () => {
    const { challenge } = pkce();
    for (const url of [
      `${server.fhirBase}/metadata`,
      `${server.fhirBase}/Patient`,
      `${server.issuer}/token`,
      `${server.issuer}/jwks`,
      `${server.issuer}/.well-known/openid-configuration`,
      `${server.baseUrl}/styles/bedside.css`,
      `${server.baseUrl}/nothing-here`,
      authorizationUrl(server, { client_id: SAMPLE_APP, response_type: 'code', code_challenge: challenge }),
    ]) {
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(response.headers.get('strict-transport-security'), url).toBeNull();
    }
  });
});

describe('https BASE_URL (behind a TLS-terminating proxy)', () => {
  let behindProxy: TestServer;
  const publicBase = 'https://bedside.example';
  beforeAll(async () => {
    behindProxy = await startTestServer({ baseUrl: publicBase, trustProxy: true });
  });
  afterAll(async () => behindProxy?.stop());

  const viaProxy = (path: string) =>
    fetch(`${behindProxy.bedside.listenUrl}${path}`, { redirect: 'manual', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'bedside.example' } });

  it('HSTS on pages, the FHIR API and the token endpoints; pages upgrade insecure requests', async () => {
    for (const path of ['/', '/oauth/admin/grants', '/fhir/metadata', '/fhir/Patient', '/oauth/jwks', '/oauth/token', '/sample-app/', '/styles/bedside.css']) {
      const response = await viaProxy(path);
      expect(response.headers.get('strict-transport-security'), path).toBe('max-age=31536000; includeSubDomains');
    }
    const logout = await viaProxy('/oauth/logout');
    expect(logout.status).toBe(200);
    expect(csp(logout.headers).has('upgrade-insecure-requests')).toBe(true);
  });
});
