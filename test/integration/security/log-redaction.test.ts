/**
 * Secrets never reach the log, even at LOG_LEVEL=trace: a Bedside whose pino logger writes into
 * this test runs every flow that handles one (passwords right and wrong, authorization codes,
 * access, refresh and id tokens with rotation and reuse, client secrets, client assertions,
 * introspection, revocation, the FHIR API with good and tampered tokens and tokens in the query,
 * operators resetting passwords and rotating secrets, errors along the way), then the whole log
 * is searched for every one of those values and for the server's private keys and secrets.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBedside, type RunningBedside } from '../../../src/bedside.js';
import { testConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { asPage, Browser, formTo } from '../auth/support/browser.js';
import { ASSERTION_TYPE, clientAssertion, clientKey, register, sampleAuthorization, tokenRequest, type ClientKey } from '../auth/support/clients.js';
import { authorizeInBrowser } from '../auth/support/flows.js';
import { freePort, type TestServer } from '../auth/support/server.js';
import { formBody, hiddenFields } from './support.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The log as written (pino's JSON lines). */
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

let bedside: RunningBedside;
let server: TestServer;
const dirs: string[] = [];
/** Every secret value the flows saw: none may be in the log. */
const secrets = new Map<string, string>();
const keep = (what: string, value: unknown) => {
  if (typeof value === 'string' && value.length >= 8) secrets.set(value, what);
};

beforeAll(async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bedside-logs-'));
  const seedDir = mkdtempSync(path.join(tmpdir(), 'bedside-logs-seed-'));
  dirs.push(dataDir, seedDir);
  for (const file of ['accounts.json', 'clients.json']) cpSync(path.join(REPO, 'fhir-data', file), path.join(seedDir, file));
  cpSync(path.join(REPO, 'test/integration/auth/fixtures/clinical.json'), path.join(seedDir, 'clinical.json'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const config = testConfig({
    port,
    host: '127.0.0.1',
    baseUrl,
    fhirBaseUrl: `${baseUrl}/fhir`,
    storage: { kind: 'embedded', dataDir },
    seed: true,
    seedDir,
    revocationCheckMs: 0,
  });
  bedside = await startBedside(config, createLogger('trace', { destination: sink }));
  server = {
    bedside,
    config,
    baseUrl,
    fhirBase: config.fhirBaseUrl,
    fhirUrl: config.fhirBaseUrl,
    issuer: `${baseUrl}/oauth`,
    dataDir,
    stop: async () => undefined,
  };
});
afterAll(async () => {
  await bedside?.stop(1000);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const fhir = (pathAndQuery: string, token?: string) =>
  fetch(`${server.fhirBase}${pathAndQuery}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('with LOG_LEVEL=trace', () => {
  it('runs the flows that handle secrets', async () => {
    // Passwords: a wrong one, then the right one, through the sign-in form.
    keep('password', 'bedside-demo');
    keep('wrong password', 'wrong-password-123');
    const browser = new Browser();
    const request = sampleAuthorization(server, { scope: 'openid fhirUser launch/patient patient/*.rs offline_access' });
    const login = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
    keep('csrf token', hiddenFields(formTo(login, '/login')).find(([n]) => n === 'csrf')?.[1]);
    const wrong = await browser.request(formTo(login, '/login').action, {
      method: 'POST',
      body: formBody(formTo(login, '/login'), { username: 'dr.carter', password: 'wrong-password-123' }),
    });
    expect(wrong.status).toBe(401);
    const back = await authorizeInBrowser(browser, request.url, request.redirectUri, {
      username: 'dr.carter',
      password: 'bedside-demo',
      patient: 'patient-001',
    });
    const code = back.searchParams.get('code')!;
    keep('authorization code', code);
    keep('code verifier', request.verifier);
    for (const [name, value] of browser.cookies) keep(`cookie ${name}`, value);

    // Code exchange and refresh with rotation (their error paths at the end: they revoke the grant).
    const tokens = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: request.redirectUri,
      client_id: 'bedside-sample-app',
      code_verifier: request.verifier,
    });
    expect(tokens.status).toBe(200);
    for (const name of ['access_token', 'refresh_token', 'id_token']) keep(name, tokens.body[name]);
    const refreshed = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: String(tokens.body.refresh_token),
      client_id: 'bedside-sample-app',
    });
    expect(refreshed.status).toBe(200);
    keep('rotated access_token', refreshed.body.access_token);
    keep('rotated refresh_token', refreshed.body.refresh_token);

    // FHIR API: good token, tampered token, token in the query string.
    const access = String(refreshed.body.access_token);
    expect((await fhir('/Patient/patient-001', access)).status).toBe(200);
    expect((await fhir('/Patient/patient-001', `${access.slice(0, -4)}AAAA`)).status).toBe(401);
    expect((await fhir(`/Patient?access_token=${access}&code=${code}`)).status).toBe(401);

    // A confidential client: registration returns its secret; client_credentials with it and with a wrong one.
    const confidential = await register(server, {
      client_name: 'Lab sync',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'system/Patient.rs',
    });
    const clientId = String(confidential.body.client_id);
    const clientSecret = String(confidential.body.client_secret);
    keep('client_secret', clientSecret);
    keep('registration_access_token', confidential.body.registration_access_token);
    const basic = (secret: string) => ({ authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` });
    const service = await tokenRequest(server, { grant_type: 'client_credentials', scope: 'system/Patient.rs' }, basic(clientSecret));
    expect(service.status).toBe(200);
    keep('backend access_token', service.body.access_token);
    keep('wrong client secret', 'not-the-client-secret-42');
    expect((await tokenRequest(server, { grant_type: 'client_credentials', scope: 'system/Patient.rs' }, basic('not-the-client-secret-42'))).status).toBe(401);
    expect(
      (
        await tokenRequest(server, {
          grant_type: 'client_credentials',
          scope: 'system/Patient.rs',
          client_id: clientId,
          client_secret: 'not-the-client-secret-42',
        })
      ).status,
    ).toBe(401);
    // The password grant is refused, with the password in the request.
    expect((await tokenRequest(server, { grant_type: 'password', username: 'dr.carter', password: 'bedside-demo' }, basic(clientSecret))).status).toBe(400);

    // Introspection and revocation with the confidential client.
    const introspected = await fetch(`${server.issuer}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(clientSecret) },
      body: new URLSearchParams({ token: access }),
    });
    expect(((await introspected.json()) as { active: boolean }).active).toBe(true);
    // A reused rotated refresh token and a replayed code (both revoke the grant), then a revocation.
    expect(
      (await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: String(tokens.body.refresh_token), client_id: 'bedside-sample-app' })).status,
    ).toBe(400);
    expect(
      (
        await tokenRequest(server, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: request.redirectUri,
          client_id: 'bedside-sample-app',
          code_verifier: request.verifier,
        })
      ).status,
    ).toBe(400);
    await fetch(`${server.issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: String(refreshed.body.refresh_token), client_id: 'bedside-sample-app' }),
    });
    expect((await fhir('/Patient/patient-001', access)).status).toBe(401);

    // private_key_jwt: a good assertion, a replayed one and one signed by another key.
    const key: ClientKey = await clientKey('ES384');
    const other = await clientKey('ES384');
    const asymmetric = await register(server, {
      client_name: 'Backend',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES384',
      jwks: { keys: [key.publicJwk] },
      scope: 'system/*.rs',
    });
    const backendId = String(asymmetric.body.client_id);
    const assertion = await clientAssertion(server, backendId, key);
    keep('client assertion', assertion);
    keep('client assertion signature', assertion.split('.')[2]);
    const jwtGrant = (a: string) =>
      tokenRequest(server, { grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: ASSERTION_TYPE, client_assertion: a });
    expect((await jwtGrant(assertion)).status).toBe(200);
    expect((await jwtGrant(assertion)).status).toBe(401);
    const forged = await clientAssertion(server, backendId, key, { signWith: other });
    keep('forged assertion', forged);
    expect((await jwtGrant(forged)).status).toBe(401);
    const exported = await (await import('jose')).exportJWK(key.privateKey);
    keep('client private key d', exported.d);

    // Operators: a new user with a password, a password reset and a rotated client secret, through the pages.
    const operator = new Browser(server.baseUrl);
    let page = asPage(await operator.go(`${server.issuer}/admin/users`));
    page = asPage(await operator.submit(formTo(page, '/login'), { username: 'admin', password: 'bedside-admin' }));
    keep('operator password', 'bedside-admin');
    keep('new user password', 'first-secret-password-1');
    page = asPage(await operator.submit(formTo(page, '/create'), { username: 'nurse.log', password: 'first-secret-password-1' }));
    expect(page.status).toBe(200);
    const reset = page.forms.find((f) => f.action.endsWith('/reset-password') && f.fields.some((x) => x.value === 'nurse.log'))!;
    keep('reset password', 'second-secret-password-2');
    page = asPage(await operator.submit(reset, { password: 'second-secret-password-2' }));
    page = asPage(await operator.go(`${server.issuer}/admin/clients`));
    const rotate = page.forms.find((f) => f.action.endsWith('/rotate-secret') && f.fields.some((x) => x.value === clientId))!;
    page = asPage(await operator.submit(rotate, {}));
    keep('rotated client secret', /<code>([^<]+)<\/code><\/p>/.exec(page.html)?.[1]);
    // An authorization error page (rendered by the provider, logged at debug).
    await fetch(`${server.issuer}/authorize?client_id=nobody&response_type=code`);

    // The server's own secrets.
    const keySet = (await bedside.storage.documents
      .collection<{ signing: Array<{ jwk: { d?: string; p?: string; q?: string } }>; cookieSecrets: string[] }>('auth.keys')
      .get('current'))!;
    for (const k of keySet.signing) for (const part of ['d', 'p', 'q'] as const) keep(`signing key ${part}`, k.jwk[part]);
    for (const s of keySet.cookieSecrets) keep('cookie secret', s);
    keep('csrf secret', (await bedside.storage.documents.collection<{ key: string }>('security.secrets').get('csrf'))?.key);
  });

  it('wrote a trace-level log of those flows', () => {
    const entries = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(entries.length).toBeGreaterThan(15);
    expect(entries.some((e) => e.msg === 'fhir request')).toBe(true);
    // Refused clients are warnings with their reason; other OAuth errors debug lines.
    expect(entries.filter((e) => e.msg === 'oauth error' || e.msg === 'client authentication failed').length).toBeGreaterThan(5);
    expect(entries.some((e) => e.msg === 'client authentication failed')).toBe(true);
    expect(secrets.size).toBeGreaterThan(25);
  });

  it('holds none of the secrets', () => {
    const log = lines.join('\n');
    const leaked = [...secrets].filter(([value]) => log.includes(value) || log.includes(encodeURIComponent(value))).map(([, what]) => what);
    expect(leaked).toEqual([]);
    // And no credential-looking field is written in clear.
    for (const line of lines) {
      expect(line).not.toMatch(
        /"(authorization|cookie|password|client_secret|access_token|refresh_token|id_token|code_verifier|client_assertion|assertion)":"(?!\[redacted\])/i,
      );
    }
  });
});

describe('the logger', () => {
  it.each(['json', 'pretty'] as const)('redacts credential fields wherever a caller might put them (LOG_FORMAT=%s)', (format) => {
    const out: string[] = [];
    const logger = createLogger('trace', {
      format,
      destination: new Writable({
        write(chunk: Buffer, _e, done) {
          out.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    logger.info(
      {
        password: 'p-1',
        code: 'c-1',
        body: {
          password: 'p-2',
          client_secret: 's-1',
          clientSecret: 's-2',
          code: 'c-2',
          code_verifier: 'v-1',
          refresh_token: 'r-1',
          access_token: 'a-1',
          id_token: 'i-1',
          client_assertion: 'ca-1',
          registration_access_token: 'rat-1',
          csrf: 'x-1',
          xsrf: 'x-2',
        },
        req: { headers: { authorization: 'Bearer a-2', cookie: 'bedside_session=k-1' } },
        headers: { 'set-cookie': ['bedside_session=k-2'] },
        kept: 'visible',
      },
      'redaction check',
    );
    const written = out.join('');
    for (const secret of ['p-1', 'p-2', 'c-1', 'c-2', 's-1', 's-2', 'v-1', 'r-1', 'a-1', 'a-2', 'i-1', 'ca-1', 'rat-1', 'x-1', 'x-2', 'k-1', 'k-2'])
      expect(written).not.toMatch(new RegExp(`\\b${secret}\\b`));
    expect(written).toContain(format === 'json' ? '"kept":"visible"' : 'kept: "visible"');
  });
});
