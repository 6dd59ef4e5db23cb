/**
 * Revocation takes effect at once on the node that handled it: after each way of revoking (the
 * revocation endpoint for access and refresh tokens, the operators' grants page, the connected-
 * apps page, logout ending online_access, refresh-token reuse, a locked account, a disabled or
 * self-deleted client), the very next FHIR request on this node is 401 `invalid_token`, whatever
 * the spelling of its Authorization header, with REVOCATION_CHECK_MS at its default (1 s) and at
 * 60 s (where only the in-process notice can explain a 401 this soon). Every token is used first
 * with every spelling, so a cache keyed by spelling would have something to answer from. Real
 * HTTP, the real provider, real tokens. Other nodes: test/integration/reliability/scale-out.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asPage, asRedirect, Browser, formTo, isPage, type HtmlForm, type Page } from '../auth/support/browser.js';
import { authorizationUrl, clientKey, pkce, register, SAMPLE_APP, tokenRequest, type ClientKey } from '../auth/support/clients.js';
import { text } from '../oidc/support/flows.js';
import { startOidcServer, type OidcTestServer as TestServer } from '../oidc/support/server.js';
import { userToken } from '../../support/user-tokens.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TRUSTED_ISSUER = 'https://idp.example';
const APP = { redirect: 'http://127.0.0.1:9/ward/cb', bye: 'http://127.0.0.1:9/ward/bye' };

/** Spellings of one header that the FHIR API accepts (RFC 6750: case-insensitive scheme). */
const spellings = (token: string) => [`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `Bearer    ${token}`, `bEaReR  ${token}`];

describe.each([
  ['at its default (1 s)', undefined],
  ['at 60 s', 60_000],
])('REVOCATION_CHECK_MS %s', (_label, revocationCheckMs) => {
  let server: TestServer;
  let operator: Browser;
  let issuerKey: ClientKey;
  let backend: { id: string; secret: string };
  let ward: { id: string; registrationUri: string; registrationToken: string };
  let bearerApp: { id: string; secret: string };
  const patient = () => `${server.fhirBase}/Patient/patient-001`;

  const read = (authorization: string) => fetch(patient(), { headers: { authorization } });

  /** Uses the token with every spelling (200 each), so each one had its chance to be cached. */
  async function expectAccepted(token: string): Promise<void> {
    for (const header of spellings(token)) expect((await read(header)).status, header).toBe(200);
  }

  /** The very next request, with every spelling and a tab too, is 401 invalid_token. */
  async function expectRefused(token: string): Promise<void> {
    for (const header of [...spellings(token), `Bearer\t${token}`]) {
      const response = await read(header);
      expect(response.status, header).toBe(401);
      expect(response.headers.get('www-authenticate'), header).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
      expect(((await response.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    }
  }

  async function signedIn(username: string, password: string, path: string): Promise<{ browser: Browser; page: Page }> {
    const browser = new Browser(server.baseUrl);
    let result = await browser.go(`${server.issuer}${path}`);
    if (isPage(result) && result.forms.some((f) => f.action.endsWith('/login'))) {
      result = await browser.submit(result.forms.find((f) => f.action.endsWith('/login'))!, { username, password });
    }
    return { browser, page: asPage(result) };
  }

  function formFor(page: Page, pathEnd: string, field: [string, string]): HtmlForm {
    const form = page.forms.find((f) => new URL(f.action).pathname.endsWith(pathEnd) && f.fields.some((x) => x.name === field[0] && x.value === field[1]));
    if (!form) throw new Error(`no form to ${pathEnd} ${field.join('=')} on ${page.url}: ${text(page).slice(0, 300)}`);
    return form;
  }

  /** Submits an operator's form (admin pages, grants page) from its page. */
  async function operatorPost(path: string, pathEnd: string, field: [string, string], values: Record<string, string> = {}): Promise<Page> {
    const page = asPage(await operator.go(`${server.issuer}${path}`));
    return asPage(await operator.submit(formFor(page, pathEnd, field), values));
  }

  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

  async function backendToken(): Promise<string> {
    const response = await tokenRequest(server, { grant_type: 'client_credentials', scope: 'system/Patient.rs' }, basic(backend.id, backend.secret));
    expect(response.status).toBe(200);
    return String(response.body.access_token);
  }

  async function revoke(token: string, client: Record<string, string>, hint?: string): Promise<void> {
    const headers = 'authorization' in client ? client : {};
    const body = new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}), ...('client_id' in client ? client : {}) });
    const response = await fetch(`${server.issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
    expect(response.status).toBe(200);
  }

  const sampleToken = (username = 'dr.carter', password = 'bedside-demo', scope = 'openid fhirUser user/*.rs offline_access') =>
    userToken(server, { username, password, scope });

  async function bearerGrantToken(sub: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({
      iss: TRUSTED_ISSUER,
      sub,
      aud: `${server.issuer}/token`,
      jti: randomBytes(8).toString('hex'),
      iat: now,
      exp: now + 120,
    })
      .setProtectedHeader({ alg: 'RS384', kid: issuerKey.kid })
      .sign(issuerKey.privateKey);
    return tokenRequest(server, { grant_type: JWT_BEARER, assertion, scope: 'user/*.rs' }, basic(bearerApp.id, bearerApp.secret));
  }

  /** Signs in to the ward app in `browser` (its session), consents, and exchanges the code. */
  async function wardSignIn(browser: Browser, scope: string): Promise<Record<string, string>> {
    const { verifier, challenge } = pkce();
    const url = authorizationUrl(server, {
      response_type: 'code',
      client_id: ward.id,
      redirect_uri: APP.redirect,
      scope,
      aud: server.fhirBase,
      state: 's1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    let result = await browser.go(url, { stopAt: APP.redirect });
    for (let i = 0; i < 5 && isPage(result); i++) {
      if (result.forms.some((f) => f.action.endsWith('/login')))
        result = await browser.submit(formTo(result, '/login'), { username: 'dr.carter', password: 'bedside-demo' }, undefined, APP.redirect);
      else result = await browser.submit(formTo(result, '/consent'), {}, { name: 'decision', value: 'approve' }, APP.redirect);
    }
    const code = asRedirect(result).searchParams.get('code')!;
    const response = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: APP.redirect,
      client_id: ward.id,
      code_verifier: verifier,
    });
    expect(response.status).toBe(200);
    return response.body as Record<string, string>;
  }

  beforeAll(async () => {
    issuerKey = await clientKey('RS384');
    server = await startOidcServer({
      config: {
        ...(revocationCheckMs !== undefined ? { revocationCheckMs } : {}),
        jwtBearerIssuers: [{ issuer: TRUSTED_ISSUER, jwks: { keys: [issuerKey.publicJwk as Record<string, unknown>] } }],
      },
    });
    expect(server.config.revocationCheckMs).toBe(revocationCheckMs ?? 1000);
    operator = (await signedIn('admin', 'bedside-admin', '/admin/users')).browser;
    const confidential = { token_endpoint_auth_method: 'client_secret_basic', response_types: [], redirect_uris: [] };
    const registered = await register(server, { ...confidential, client_name: 'Lab sync', grant_types: ['client_credentials'], scope: 'system/Patient.rs' });
    backend = { id: String(registered.body.client_id), secret: String(registered.body.client_secret) };
    const bearer = await register(server, { ...confidential, client_name: 'Gateway', grant_types: [JWT_BEARER], scope: 'user/*.rs' });
    bearerApp = { id: String(bearer.body.client_id), secret: String(bearer.body.client_secret) };
    const wardApp = await register(server, {
      client_name: 'Ward board',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [APP.redirect],
      post_logout_redirect_uris: [APP.bye],
      scope: 'openid fhirUser online_access offline_access user/*.rs',
    });
    ward = {
      id: String(wardApp.body.client_id),
      registrationUri: String(wardApp.body.registration_client_uri),
      registrationToken: String(wardApp.body.registration_access_token),
    };
  }, 60_000);
  afterAll(async () => server?.stop());

  it("a backend-service token (no grant) revoked at the revocation endpoint: the next request is 401; the client's other tokens still work", async () => {
    const [token, other] = [await backendToken(), await backendToken()];
    await expectAccepted(token);
    await expectAccepted(other);
    await revoke(token, basic(backend.id, backend.secret), 'access_token');
    await expectRefused(token);
    expect((await read(`Bearer ${other}`)).status).toBe(200);
  });

  it("a user's access token revoked at the revocation endpoint (its grant ends): the next request is 401", async () => {
    const tokens = await sampleToken();
    const unrelated = await sampleToken();
    await expectAccepted(tokens.access_token);
    await revoke(tokens.access_token, { client_id: SAMPLE_APP });
    await expectRefused(tokens.access_token);
    expect((await read(`Bearer ${unrelated.access_token}`)).status).toBe(200);
  });

  it('a refresh token revoked at the revocation endpoint ends its grant: the access token is 401 at once', async () => {
    const tokens = await sampleToken();
    await expectAccepted(tokens.access_token);
    await revoke(tokens.refresh_token!, { client_id: SAMPLE_APP }, 'refresh_token');
    await expectRefused(tokens.access_token);
  });

  it('reuse of a rotated refresh token revokes the grant: the access tokens are 401 at once', async () => {
    const tokens = await sampleToken();
    const rotated = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: SAMPLE_APP });
    expect(rotated.status).toBe(200);
    await expectAccepted(tokens.access_token);
    await expectAccepted(String(rotated.body.access_token));
    const reuse = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: SAMPLE_APP });
    expect(reuse.body.error).toBe('invalid_grant');
    await expectRefused(tokens.access_token);
    await expectRefused(String(rotated.body.access_token));
  });

  it("a grant revoked on the operators' grants page: the next request is 401", async () => {
    const tokens = await sampleToken();
    await expectAccepted(tokens.access_token);
    const grantId = String(JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).grant_id);
    const page = await operatorPost('/admin/grants', '/admin/grants/revoke', ['grant_id', grantId]);
    expect(text(page)).toContain('Grant revoked');
    await expectRefused(tokens.access_token);
  });

  it('an app disconnected on the connected-apps page: the next request is 401', async () => {
    const tokens = await sampleToken('amy.shaw', 'bedside-demo', 'openid fhirUser user/*.rs');
    await expectAccepted(tokens.access_token);
    const { browser, page } = await signedIn('amy.shaw', 'bedside-demo', '/account/apps');
    const done = asPage(await browser.submit(formFor(page, '/account/apps/revoke', ['client_id', SAMPLE_APP]), {}));
    expect(text(done)).toContain('revoked');
    await expectRefused(tokens.access_token);
  });

  it('logout ends the online_access grant: its access token is 401 at once; another session is untouched', async () => {
    const browser = new Browser();
    const online = await wardSignIn(browser, 'openid user/*.rs online_access');
    const elsewhere = await wardSignIn(new Browser(), 'openid user/*.rs online_access');
    await expectAccepted(online.access_token!);
    await expectAccepted(elsewhere.access_token!);
    const logout = new URL(`${server.issuer}/logout`);
    logout.search = new URLSearchParams({ id_token_hint: online.id_token!, post_logout_redirect_uri: APP.bye, state: 'bye' }).toString();
    const page = asPage(await browser.go(logout.href));
    const back = asRedirect(await browser.submit(page.forms[0]!, {}, { name: 'logout', value: 'yes' }, APP.bye));
    expect(back.searchParams.get('state')).toBe('bye');
    await expectRefused(online.access_token!);
    expect((await read(`Bearer ${elsewhere.access_token}`)).status).toBe(200);
  });

  it('an account locked by an operator: its tokens, with a grant or without (JWT bearer grant), are 401 at once; no new token', async () => {
    const username = `nurse.${randomBytes(3).toString('hex')}`;
    await server.bedside.app.auth.admin.createUser(
      { id: 'test', via: 'command' },
      { username, password: 'nurse-password-1', fhirUser: 'Practitioner/practitioner-001' },
    );
    const withGrant = await sampleToken(username, 'nurse-password-1', 'openid user/*.rs');
    const issued = await bearerGrantToken(username);
    expect(issued.status).toBe(200);
    const withoutGrant = String(issued.body.access_token);
    expect(JSON.parse(Buffer.from(withoutGrant.split('.')[1]!, 'base64url').toString()).grant_id).toBeUndefined();
    await expectAccepted(withGrant.access_token);
    await expectAccepted(withoutGrant);

    const page = await operatorPost('/admin/users', '/lock', ['username', username]);
    expect(text(page)).toContain(`${username} is locked`);
    await expectRefused(withGrant.access_token);
    await expectRefused(withoutGrant);
    expect((await bearerGrantToken(username)).body.error).toBe('invalid_grant');
  });

  it('an account an operator links to another fhirUser: tokens acting as the previous one are 401 at once', async () => {
    const username = `nurse.${randomBytes(3).toString('hex')}`;
    await server.bedside.app.auth.admin.createUser(
      { id: 'test', via: 'command' },
      { username, password: 'nurse-password-1', fhirUser: 'Practitioner/practitioner-001' },
    );
    const before = await sampleToken(username, 'nurse-password-1', 'openid fhirUser user/*.rs');
    await expectAccepted(before.access_token);
    await operatorPost('/admin/users', '/link', ['username', username], { fhirUser: 'Patient/patient-001' });
    await expectRefused(before.access_token);
    const after = await sampleToken(username, 'nurse-password-1', 'openid fhirUser user/*.rs');
    await expectAccepted(after.access_token);
  });

  it('a client disabled by an operator: its tokens are 401 at once', async () => {
    const registered = await register(server, {
      token_endpoint_auth_method: 'client_secret_basic',
      response_types: [],
      redirect_uris: [],
      client_name: 'Nightly',
      grant_types: ['client_credentials'],
      scope: 'system/Patient.rs',
    });
    const id = String(registered.body.client_id);
    const response = await tokenRequest(
      server,
      { grant_type: 'client_credentials', scope: 'system/Patient.rs' },
      basic(id, String(registered.body.client_secret)),
    );
    const token = String(response.body.access_token);
    await expectAccepted(token);
    const page = await operatorPost('/admin/clients', '/disable', ['client_id', id]);
    expect(text(page)).toContain(`${id} is disabled`);
    await expectRefused(token);
  });

  it('a client that deletes its own registration (RFC 7592): its tokens are 401 at once', async () => {
    const tokens = await wardSignIn(new Browser(), 'openid user/*.rs offline_access');
    await expectAccepted(tokens.access_token!);
    const deleted = await fetch(ward.registrationUri, { method: 'DELETE', headers: { authorization: `Bearer ${ward.registrationToken}` } });
    expect(deleted.status).toBe(204);
    await expectRefused(tokens.access_token!);
  });
});
