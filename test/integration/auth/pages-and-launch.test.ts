/**
 * The pages and the launcher API as a user and an automation see them: sign-in with throttling,
 * consent (deny, labelled checkboxes, granular options), EHR launch values (single-use, expiring,
 * checked), a patient user confined to her own record, "connected apps" with revoke, and the
 * operators' grants page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asPage, asRedirect, Browser, formTo } from './support/browser.js';
import { sampleAuthorization, SAMPLE_APP, tokenRequest } from './support/clients.js';
import { authorizeInBrowser } from './support/flows.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

async function mintLaunch(body: Record<string, unknown>) {
  const response = await fetch(`${server.baseUrl}/launcher/api/launch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

async function signInAndGetTokens(browser: Browser, username: string, overrides: Record<string, string | undefined> = {}, patient?: string) {
  const request = sampleAuthorization(server, overrides);
  const back = await authorizeInBrowser(browser, request.url, request.redirectUri, { username, password: 'bedside-demo', ...(patient ? { patient } : {}) });
  const response = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code: back.searchParams.get('code')!,
    redirect_uri: request.redirectUri,
    client_id: SAMPLE_APP,
    code_verifier: request.verifier,
  });
  return response.body;
}

describe('launcher API (POST /launcher/api/launch)', () => {
  it('returns 201 with the launch value and the app URL carrying iss and launch', async () => {
    const { status, body } = await mintLaunch({ launch_uri: 'https://app.example/launch?x=1', patient: 'patient-001' });
    expect(status).toBe(201);
    const url = new URL(body.url!);
    expect(url.origin + url.pathname).toBe('https://app.example/launch');
    expect(url.searchParams.get('x')).toBe('1');
    expect(url.searchParams.get('iss')).toBe(server.fhirBase);
    expect(url.searchParams.get('launch')).toBe(body.launch);
  });

  it('refuses bad input: no patient, a bad launch_uri, references that do not exist', async () => {
    expect((await mintLaunch({ launch_uri: 'https://app.example/launch' })).status).toBe(400);
    expect((await mintLaunch({ launch_uri: 'javascript:alert(1)', patient: 'patient-001' })).status).toBe(400);
    expect((await mintLaunch({ launch_uri: 'https://app.example/launch', patient: 'nobody' })).status).toBe(422);
    expect((await mintLaunch({ launch_uri: 'https://app.example/launch', patient: 'patient-001', encounter: 'nope' })).status).toBe(422);
  });

  it('a launch value is single-use', async () => {
    const { body } = await mintLaunch({ launch_uri: 'https://app.example/launch', patient: 'patient-002' });
    const tokens = await signInAndGetTokens(new Browser(), 'dr.carter', { scope: 'launch patient/*.rs', launch: body.launch });
    expect(tokens.patient).toBe('patient-002');
    const again = sampleAuthorization(server, { scope: 'launch patient/*.rs', launch: body.launch });
    const back = asRedirect(await new Browser().go(again.url, { stopAt: again.redirectUri }));
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('state')).toBe(again.state);
  });

  it('a launch value expires after 5 minutes', async () => {
    const launch = await server.bedside.app.auth.launches.mint(
      { launchUri: 'https://app.example/launch', patient: 'patient-001', needPatientBanner: true },
      Date.now() - 5 * 60 * 1000 - 1000,
    );
    const request = sampleAuthorization(server, { scope: 'launch patient/*.rs', launch });
    const back = asRedirect(await new Browser().go(request.url, { stopAt: request.redirectUri }));
    expect(back.searchParams.get('error_description')).toMatch(/expired/);
  });

  it('a patient user cannot take an EHR launch for another patient', async () => {
    const { body } = await mintLaunch({ launch_uri: 'https://app.example/launch', patient: 'patient-002' });
    const request = sampleAuthorization(server, { scope: 'launch patient/*.rs', launch: body.launch });
    const back = await authorizeInBrowser(new Browser(), request.url, request.redirectUri, { username: 'amy.shaw', password: 'bedside-demo' });
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('code')).toBeNull();
  });
});

describe('sign-in, consent', () => {
  it('pages are labelled HTML forms with the contract field names, working without JavaScript', async () => {
    const browser = new Browser();
    const request = sampleAuthorization(server, { scope: 'openid fhirUser launch/patient patient/Observation.rs patient/Condition.rs' });
    const login = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
    expect(login.html).toMatch(/<label for="username">/);
    expect(login.html).toMatch(/<label for="password">/);
    expect(login.html).not.toMatch(/<script/);
    const picker = asPage(await browser.submit(formTo(login, '/login'), { username: 'dr.carter', password: 'bedside-demo' }, undefined, request.redirectUri));
    expect(
      formTo(picker, '/patient')
        .fields.filter((f) => f.name === 'patient')
        .map((f) => f.value),
    ).toEqual(expect.arrayContaining(['patient-001', 'patient-002']));
    const consent = asPage(await browser.submit(formTo(picker, '/patient'), { patient: 'patient-002' }, undefined, request.redirectUri));
    expect(consent.html).toMatch(/Ben Okafor/);
    const form = formTo(consent, '/consent');
    const scopes = form.fields.filter((f) => f.name === 'scope');
    expect(scopes.filter((f) => f.checked).map((f) => f.value)).toEqual([
      'openid',
      'fhirUser',
      'launch/patient',
      'patient/Observation.rs',
      'patient/Condition.rs',
    ]);
    expect(scopes.filter((f) => !f.checked).map((f) => f.value)).toContain(
      'patient/Condition.rs?category=http://hl7.org/fhir/us/core/CodeSystem/condition-category|problem-list-item',
    );
    expect(form.buttons).toEqual([
      { name: 'decision', value: 'approve' },
      { name: 'decision', value: 'deny' },
    ]);
    const denied = asRedirect(await browser.submit(form, {}, { name: 'decision', value: 'deny' }, request.redirectUri));
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('state')).toBe(request.state);
  });

  it('a wrong password is refused; five failures lock the username', async () => {
    const browser = new Browser();
    const request = sampleAuthorization(server);
    let page = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
    for (let i = 1; i <= 5; i++) {
      page = asPage(await browser.submit(formTo(page, '/login'), { username: 'admin', password: `wrong-${i}` }, undefined, request.redirectUri));
      expect(page.status).toBe(i < 5 ? 401 : 429);
    }
    page = asPage(await browser.submit(formTo(page, '/login'), { username: 'admin', password: 'bedside-admin' }, undefined, request.redirectUri));
    expect(page.status).toBe(429);
    expect(page.html).toMatch(/Too many failed sign-ins/);
    // Unlock for the other tests (the lock would last 15 minutes).
    await server.bedside.storage.documents.collection('auth.login-failures').delete('admin');
  });
});

describe('connected apps (management_endpoint)', () => {
  it('lists the apps a user authorized and revokes one at once', async () => {
    const browser = new Browser(server.baseUrl);
    const tokens = await signInAndGetTokens(browser, 'amy.shaw');
    expect(tokens.patient).toBe('patient-001');
    const page = asPage(await browser.go(`${server.issuer}/account/apps`));
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/Bedside sample app/);
    // Not from Bedside's own pages: refused.
    const forged = await new Browser().request(`${server.issuer}/account/apps/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: SAMPLE_APP }),
      headers: { cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; '), origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect((await server.bedside.app.auth.verifier.verify(String(tokens.access_token))).patient).toBe('patient-001');
    const after = asPage(await browser.submit(formTo(page, '/revoke'), {}));
    expect(after.html).toMatch(/revoked/);
    await expect(server.bedside.app.auth.verifier.verify(String(tokens.access_token))).rejects.toMatchObject({ code: 'revoked' });
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: SAMPLE_APP });
    expect(refreshed.body.error).toBe('invalid_grant');
  });

  it('sends a signed-out visitor through the sign-in pages and back', async () => {
    const browser = new Browser(server.baseUrl);
    let page = asPage(await browser.go(`${server.issuer}/account/apps`));
    page = asPage(await browser.submit(formTo(page, '/login'), { username: 'dr.carter', password: 'bedside-demo' }));
    expect(page.url).toBe(`${server.issuer}/account/apps`);
    expect(page.html).toMatch(/Signed in as <strong>dr.carter/);
  });
});

describe('grants and tokens page (operators)', () => {
  it('shows where tokens are stored and every grant; revokes; refuses non-operators', async () => {
    const tokens = await signInAndGetTokens(new Browser(), 'dr.carter', {}, 'patient-002');
    const admin = new Browser(server.baseUrl);
    let page = asPage(await admin.go(`${server.issuer}/admin/grants`));
    page = asPage(await admin.submit(formTo(page, '/login'), { username: 'admin', password: 'bedside-admin' }));
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/Access tokens are not stored/);
    expect(page.html).toMatch(/oidc\.RefreshToken/);
    expect(page.html).toMatch(/embedded SQLite/);
    const payload = JSON.parse(Buffer.from(String(tokens.access_token).split('.')[1]!, 'base64url').toString()) as { grant_id: string };
    const revoke = page.forms.find((f) => f.fields.some((x) => x.name === 'grant_id' && x.value === payload.grant_id))!;
    expect(revoke).toBeTruthy();
    page = asPage(await admin.submit(revoke));
    expect(page.html).toMatch(/Grant revoked/);
    await expect(server.bedside.app.auth.verifier.verify(String(tokens.access_token))).rejects.toMatchObject({ code: 'revoked' });

    const doctor = new Browser(server.baseUrl);
    let denied = asPage(await doctor.go(`${server.issuer}/admin/grants`));
    denied = asPage(await doctor.submit(formTo(denied, '/login'), { username: 'dr.carter', password: 'bedside-demo' }));
    expect(denied.status).toBe(403);
  });
});
