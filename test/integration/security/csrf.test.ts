/**
 * Cross-site request forgery: every POST form of the sign-in pages (login, patient picker,
 * consent, cancel) and of the account and operators' pages carries a token bound to its
 * interaction or session; a submission without it, with another one, or from another origin
 * changes nothing, while a plain HTTP client that submits the form's fields still works
 * (docs/contract.md). RP-initiated logout keeps oidc-provider's own `xsrf` token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRedirect, Browser } from '../auth/support/browser.js';
import { register, SAMPLE_APP, sampleAuthorization } from '../auth/support/clients.js';
import { authorizeInBrowser } from '../auth/support/flows.js';
import { startTestServer, type TestServer } from '../auth/support/server.js';
import { asPage, formBody, formTo, hiddenFields, loginPage, signIn, text, type Page } from './support.js';

let server: TestServer;
const EVIL = 'https://evil.example';

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

/** A raw POST as another site (or a careless client) would send it, with this browser's cookies. */
async function forge(browser: Browser, url: string, body: URLSearchParams, origin?: string): Promise<Response> {
  return browser.request(url, { method: 'POST', body, ...(origin ? { headers: { origin } } : {}) });
}

const loginFailures = () => server.bedside.storage.documents.collection<{ failures: number }>('auth.login-failures');

describe('sign-in pages (interaction)', () => {
  it('every POST form carries a token, different for each interaction', async () => {
    const first = await loginPage(new Browser(), server);
    const second = await loginPage(new Browser(), server);
    for (const form of first.page.forms.filter((f) => f.method === 'POST')) expect(hiddenFields(form).map(([n]) => n)).toContain('csrf');
    const token = (page: Page) => hiddenFields(formTo(page, '/login')).find(([n]) => n === 'csrf')![1];
    expect(token(first.page)).toMatch(/^[\w-]{43}$/);
    expect(token(first.page)).not.toBe(token(second.page));
  });

  it("a login without the token, with another interaction's token or from another origin signs nobody in and counts no failure", async () => {
    const browser = new Browser();
    const { page, form } = await loginPage(browser, server);
    const other = await loginPage(new Browser(), server);
    const credentials = { username: 'dr.carter', password: 'bedside-demo' };
    const attempts = [
      forge(browser, form.action, formBody(form, credentials, ['csrf'])),
      forge(browser, form.action, formBody(form, { ...credentials, csrf: hiddenFields(other.form).find(([n]) => n === 'csrf')![1] })),
      forge(browser, form.action, formBody(form, credentials), EVIL),
      forge(browser, form.action, formBody(form, credentials), 'null'),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(403);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toMatch(/not sent from its Bedside page/);
    }
    expect(await loginFailures().get('dr.carter')).toBeUndefined();
    // Still at the sign-in step; the genuine form works.
    const again = asPage(await browser.go(page.url));
    expect(again.forms.some((f) => f.action.endsWith('/login'))).toBe(true);
    const next = asPage(await signIn(browser, again, credentials.username, credentials.password, `${server.baseUrl}/sample-app/`));
    expect(next.forms.some((f) => f.action.endsWith('/patient'))).toBe(true);
  });

  it("a genuine submission works without an Origin (plain HTTP client) and with Bedside's own", async () => {
    for (const origin of [undefined, server.baseUrl]) {
      const browser = new Browser(origin);
      const { form } = await loginPage(browser, server);
      const response = await browser.request(form.action, { method: 'POST', body: formBody(form, { username: 'dr.carter', password: 'bedside-demo' }) });
      expect(response.status).toBe(303);
    }
  });

  it('a forged patient choice, approval or cancel changes nothing; the genuine approval then gives a code', async () => {
    const browser = new Browser();
    const { request, page } = await loginPage(browser, server);
    const picker = asPage(await signIn(browser, page, 'dr.carter', 'bedside-demo', request.redirectUri));
    const pick = formTo(picker, '/patient');
    expect((await forge(browser, pick.action, formBody(pick, { patient: 'patient-002' }, ['csrf']))).status).toBe(403);
    const cancel = formTo(picker, '/abort');
    expect((await forge(browser, cancel.action, formBody(cancel, {}, ['csrf']))).status).toBe(403);
    const consent = asPage(await browser.submit(pick, { patient: 'patient-001' }, undefined, request.redirectUri));
    expect(text(consent)).toContain('Amy Shaw');
    const approve = formTo(consent, '/consent');
    const forgedApproval = await forge(browser, approve.action, formBody(approve, { decision: 'approve' }, ['csrf']), EVIL);
    expect(forgedApproval.status).toBe(403);
    const back = asRedirect(await browser.submit(approve, {}, { name: 'decision', value: 'approve' }, request.redirectUri));
    expect(back.searchParams.get('code')).toBeTruthy();
  });

  it('the helper flows of the other suites (forms with their hidden fields) keep working', async () => {
    const { body } = await register(server, {
      client_name: 'CSRF check app',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: ['https://app.example/cb'],
      scope: 'openid patient/*.rs launch/patient',
    });
    const url = new URL(`${server.issuer}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: String(body.client_id),
      redirect_uri: 'https://app.example/cb',
      scope: 'openid patient/*.rs launch/patient',
      aud: server.fhirBase,
      state: 's1',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const back = await authorizeInBrowser(new Browser(), url.href, 'https://app.example/cb', { username: 'amy.shaw', password: 'bedside-demo' });
    expect(back.searchParams.get('code')).toBeTruthy();
  });
});

describe('hostile submissions', () => {
  it("any token but the page's own (random, multi-byte, huge, repeated) is a 403, never a 5xx or a redirect", async () => {
    const fc = await import('fast-check');
    const browser = new Browser();
    const { form } = await loginPage(browser, server);
    const token = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constant('é'.repeat(43)),
      fc.constant('A'.repeat(5000)),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(token, fc.constantFrom('login', 'patient', 'encounter', 'consent', 'abort'), async (value, step) => {
        const body = formBody(form, { username: 'dr.carter', password: 'bedside-demo' }, ['csrf']);
        for (const v of Array.isArray(value) ? value : [value]) body.append('csrf', v);
        const response = await browser.request(form.action.replace(/\/login$/, `/${step}`), { method: 'POST', body });
        await response.arrayBuffer();
        return response.status === 403 && response.headers.get('location') === null;
      }),
      { numRuns: 150 },
    );
  });
});

describe('the launcher API', () => {
  it('a cross-site form (text/plain, no preflight) cannot mint a launch: the API takes JSON only', async () => {
    const response = await fetch(`${server.baseUrl}/launcher/api/launch`, {
      method: 'POST',
      headers: { origin: EVIL, 'content-type': 'text/plain' },
      body: JSON.stringify({ launch_uri: 'https://evil.example/launch', patient: 'patient-001', simulate_ehr_session: true }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe("account and operators' pages (session)", () => {
  async function signedInAt(username: string, password: string, path: string): Promise<{ browser: Browser; page: Page }> {
    const browser = new Browser(server.baseUrl);
    let page = asPage(await browser.go(`${server.issuer}${path}`));
    if (page.forms.some((f) => f.action.endsWith('/login'))) page = asPage(await browser.submit(formTo(page, '/login'), { username, password }));
    return { browser, page };
  }

  it("revoking an app needs the session's token: same-origin requests without it, or with another user's, are refused", async () => {
    const amy = new Browser(server.baseUrl);
    const request = sampleAuthorization(server);
    await authorizeInBrowser(amy, request.url, request.redirectUri, { username: 'amy.shaw', password: 'bedside-demo' });
    const apps = asPage(await amy.go(`${server.issuer}/account/apps`));
    const revoke = formTo(apps, '/revoke');
    expect(hiddenFields(revoke).map(([n]) => n)).toEqual(['csrf', 'client_id']);
    // dr.carter's own session token (his connected-apps page has no form: take it from the operators' page of admin instead).
    const admin = await signedInAt('admin', 'bedside-admin', '/admin/grants');
    const foreignToken = hiddenFields(formTo(admin.page, '/rotate-keys')).find(([n]) => n === 'csrf')![1];
    for (const body of [formBody(revoke, {}, ['csrf']), formBody(revoke, { csrf: foreignToken })]) {
      const refused = await amy.request(revoke.action, { method: 'POST', body });
      expect(refused.status).toBe(403);
    }
    expect(text(asPage(await amy.go(`${server.issuer}/account/apps`)))).toContain('Bedside sample app');
    const done = asPage(await amy.submit(revoke, {}));
    expect(text(done)).toContain('revoked');
  });

  it("operators' forms (lock a user, rotate keys) need it too", async () => {
    const { browser, page } = await signedInAt('admin', 'bedside-admin', '/admin/users');
    const lock = page.forms.find((f) => f.action.endsWith('/lock') && f.fields.some((x) => x.name === 'username' && x.value === 'amy.shaw'))!;
    expect(hiddenFields(lock).map(([n]) => n)).toContain('csrf');
    expect((await browser.request(lock.action, { method: 'POST', body: formBody(lock, {}, ['csrf']) })).status).toBe(403);
    expect((await server.bedside.app.auth.accounts.findByUsername('amy.shaw'))?.locked).toBeFalsy();
    const grants = asPage(await browser.go(`${server.issuer}/admin/grants`));
    const rotate = formTo(grants, '/rotate-keys');
    const version = (await server.bedside.storage.documents.collection<{ version: number }>('auth.keys').get('current'))!.version;
    expect((await browser.request(rotate.action, { method: 'POST', body: formBody(rotate, {}, ['csrf']) })).status).toBe(403);
    expect((await server.bedside.storage.documents.collection<{ version: number }>('auth.keys').get('current'))!.version).toBe(version);
  });
});

describe('RP-initiated logout', () => {
  it("the confirmation needs oidc-provider's xsrf value: without it the session survives", async () => {
    const browser = new Browser();
    const request = sampleAuthorization(server);
    await authorizeInBrowser(browser, request.url, request.redirectUri, { username: 'dr.carter', password: 'bedside-demo', patient: 'patient-001' });
    const page = asPage(await browser.go(`${server.issuer}/logout?client_id=${SAMPLE_APP}`));
    const form = page.forms[0]!;
    expect(form.fields.map((f) => f.name)).toEqual(['xsrf']);
    const forged = await forge(browser, form.action, new URLSearchParams({ logout: 'yes' }));
    expect(forged.status).toBe(400);
    // Still signed in: the account page shows the user without a sign-in form.
    const still = asPage(await browser.go(`${server.issuer}/account/apps`));
    expect(text(still)).toContain('Signed in as dr.carter');
  });
});
