/**
 * Administration for operators, through the pages (a signed-in operator, forms posted from
 * Bedside itself) and through the command functions the `bedside` CLI runs: users (create, reset
 * password, lock, link to a fhirUser, patients to select), clients (list, edit, rotate the secret, disable) and
 * resource servers, every change in the audit collection, no secret in it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminCommand } from '../../../src/auth/admin/commands.js';
import { openAdminService } from '../../../src/auth/admin/standalone.js';
import { asPage, Browser, isPage, type HtmlForm, type Page } from '../auth/support/browser.js';
import { decodeJwt, register, sampleAuthorization } from '../auth/support/clients.js';
import { userToken } from '../../support/user-tokens.js';
import { text } from './support/flows.js';
import { startOidcServer, type OidcTestServer as TestServer } from './support/server.js';

let server: TestServer;
let operator: Browser;
let backend: { id: string; secret: string };

/** Signs in through the account pages' own flow and lands on `path`. */
async function signedIn(username: string, password: string, path: string): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(server.baseUrl);
  let result = await browser.go(`${server.issuer}${path}`);
  if (isPage(result) && result.forms.some((f) => f.action.endsWith('/login'))) {
    result = await browser.submit(result.forms.find((f) => f.action.endsWith('/login'))!, { username, password });
  }
  return { browser, page: asPage(result) };
}

function formFor(page: Page, pathEnd: string, field?: [string, string]): HtmlForm {
  const form = page.forms.find(
    (f) => new URL(f.action).pathname.endsWith(pathEnd) && (!field || f.fields.some((x) => x.name === field[0] && x.value === field[1])),
  );
  if (!form) throw new Error(`no form to ${pathEnd} ${field ? field.join('=') : ''} on ${page.url}: ${text(page).slice(0, 300)}`);
  return form;
}

async function post(path: string, pathEnd: string, values: Record<string, string>, field?: [string, string]): Promise<Page> {
  const page = asPage(await operator.go(`${server.issuer}${path}`));
  return asPage(await operator.submit(formFor(page, pathEnd, field), values));
}

async function clientCredentials(id: string, secret: string): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/Patient.rs' }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

/** One sign-in attempt as the sample app: the HTTP status of the answer to the login form. */
async function signInOnce(username: string, password: string): Promise<number> {
  const browser = new Browser();
  const request = sampleAuthorization(server, { scope: 'openid user/*.rs' });
  const login = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
  const form = formFor(login, '/login');
  // The form's hidden fields (its CSRF token) go along, as a browser sends them.
  const hidden = form.fields.filter((f) => f.type === 'hidden').map((f) => [f.name, f.value]);
  const response = await browser.request(form.action, {
    method: 'POST',
    body: new URLSearchParams([...hidden, ['username', username], ['password', password]]),
  });
  return response.status;
}

const fhirStatus = async (token: string) => (await fetch(`${server.fhirBase}/Patient`, { headers: { authorization: `Bearer ${token}` } })).status;

beforeAll(async () => {
  server = await startOidcServer({ config: { revocationCheckMs: 0 } });
  operator = (await signedIn('admin', 'bedside-admin', '/admin/users')).browser;
  const registered = await register(server, {
    client_name: 'Lab sync',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'system/Patient.rs',
  });
  backend = { id: String(registered.body.client_id), secret: String(registered.body.client_secret) };
});
afterAll(async () => server?.stop());

describe('the admin pages', () => {
  it('are for operators only, and refuse forms posted from elsewhere', async () => {
    const { page } = await signedIn('dr.carter', 'bedside-demo', '/admin/users');
    expect(page.status).toBe(403);
    const users = asPage(await operator.go(`${server.issuer}/admin/users`));
    expect(users.status).toBe(200);
    expect(text(users)).toContain('dr.carter');
    const foreign = await fetch(`${server.issuer}/admin/users/lock`, {
      method: 'POST',
      headers: {
        cookie: [...operator.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'username=dr.carter',
    });
    expect(foreign.status).toBe(403);
  });

  it('users: create, reset password, lock (sessions and grants end), unlock, link to a fhirUser', async () => {
    const created = await post('/admin/users', '/create', {
      username: 'nurse.joy',
      password: 'first-password-1',
      name: 'Joy Nurse',
      fhirUser: 'Practitioner/practitioner-001',
    });
    expect(text(created)).toContain('User nurse.joy created.');
    const refused = await post('/admin/users', '/create', { username: 'nurse.ann', password: 'short', fhirUser: '' });
    expect(refused.status).toBe(400);
    expect(text(refused)).toContain('at least 10 characters');
    expect(text(await post('/admin/users', '/create', { username: 'nurse.ann', password: 'long-enough-1', fhirUser: 'Practitioner/nobody' }))).toContain(
      'does not exist',
    );

    const token = await userToken(server, { username: 'nurse.joy', password: 'first-password-1', scope: 'openid fhirUser user/*.rs offline_access' });
    expect(await fhirStatus(token.access_token)).toBe(200);

    await post('/admin/users', '/reset-password', { password: 'second-password-2' }, ['username', 'nurse.joy']);
    expect(await signInOnce('nurse.joy', 'first-password-1')).toBe(401);
    await userToken(server, { username: 'nurse.joy', password: 'second-password-2', scope: 'openid user/*.rs' });

    const locked = await post('/admin/users', '/lock', {}, ['username', 'nurse.joy']);
    expect(text(locked)).toMatch(/nurse\.joy is locked: signed out everywhere, \d+ grant\(s\) revoked/);
    expect(await fhirStatus(token.access_token)).toBe(401);
    const refresh = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token.refresh_token!, client_id: 'bedside-sample-app' }),
    });
    expect(refresh.status).toBe(400);
    expect(await signInOnce('nurse.joy', 'second-password-2')).toBe(403);

    await post('/admin/users', '/unlock', {}, ['username', 'nurse.joy']);
    await post('/admin/users', '/link', { fhirUser: 'Patient/patient-002' }, ['username', 'nurse.joy']);
    const relinked = await userToken(server, { username: 'nurse.joy', password: 'second-password-2', scope: 'openid fhirUser patient/*.rs launch/patient' });
    expect(decodeJwt(relinked.id_token!).fhirUser).toBe(`${server.fhirBase}/Patient/patient-002`);
    expect(relinked.patient).toBe('patient-002');
  });

  it('users: patients an account without a patient-deciding fhirUser may select, granted and taken away on the page', async () => {
    await post('/admin/users', '/create', { username: 'front.desk', password: 'front-desk-pass-1', fhirUser: '' });
    const granted = await post('/admin/users', '/patients', { patients: 'patient-001' }, ['username', 'front.desk']);
    expect(text(granted)).toContain('front.desk may select Patient patient-001.');
    const token = await userToken(server, {
      username: 'front.desk',
      password: 'front-desk-pass-1',
      scope: 'openid launch/patient patient/*.rs',
      patient: 'patient-001',
    });
    expect(token.patient).toBe('patient-001');
    expect(await fhirStatus(token.access_token)).toBe(200);

    const refused = await post('/admin/users', '/patients', { patients: 'patient-001 nobody-here' }, ['username', 'front.desk']);
    expect(refused.status).toBe(400);
    expect(text(refused)).toContain('Patient/nobody-here does not exist in the FHIR store');
    const removed = await post('/admin/users', '/patients', { patients: '' }, ['username', 'front.desk']);
    expect(text(removed)).toMatch(/front\.desk may select no patient\. 1 grant\(s\) revoked\./);
    expect(await fhirStatus(token.access_token)).toBe(401);
    // Practitioners and patient users get their patients from their fhirUser: no form for them.
    const users = asPage(await operator.go(`${server.issuer}/admin/users`));
    expect(users.forms.some((f) => f.action.endsWith('/patients') && f.fields.some((x) => x.name === 'username' && x.value === 'dr.carter'))).toBe(false);
    expect(users.forms.some((f) => f.action.endsWith('/patients') && f.fields.some((x) => x.name === 'username' && x.value === 'admin'))).toBe(true);
  });

  it('clients: list, edit, rotate the secret (the old one stops working), disable (tokens refused) and enable', async () => {
    const list = asPage(await operator.go(`${server.issuer}/admin/clients`));
    expect(text(list)).toContain('bedside-sample-app');
    expect(text(list)).toContain(backend.id);

    const edited = await post(
      '/admin/clients',
      '/edit',
      { client_name: 'Lab sync (nightly)', redirect_uris: '', post_logout_redirect_uris: '', scope: 'system/Patient.rs system/Observation.rs' },
      ['client_id', backend.id],
    );
    expect(text(edited)).toContain(`${backend.id} saved.`);
    expect(await server.bedside.app.auth.admin.getClient(backend.id)).toMatchObject({
      name: 'Lab sync (nightly)',
      scope: 'system/Patient.rs system/Observation.rs',
      firstParty: false,
    });
    const bad = await post('/admin/clients', '/edit', { client_name: 'x', redirect_uris: '', post_logout_redirect_uris: '', scope: 'patient/Nonsense.rs' }, [
      'client_id',
      backend.id,
    ]);
    expect(bad.status).toBe(400);

    const before = await clientCredentials(backend.id, backend.secret);
    expect(before.status).toBe(200);
    const rotated = await post('/admin/clients', '/rotate-secret', {}, ['client_id', backend.id]);
    const secret = /shown only now; the old one no longer works: ([A-Za-z0-9_-]{43})/.exec(text(rotated))?.[1];
    expect(secret).toBeTruthy();
    expect((await clientCredentials(backend.id, backend.secret)).body.error).toBe('invalid_client');
    const after = await clientCredentials(backend.id, secret!);
    expect(after.status).toBe(200);
    backend.secret = secret!;

    const disabled = await post('/admin/clients', '/disable', {}, ['client_id', backend.id]);
    expect(text(disabled)).toContain(`${backend.id} is disabled`);
    expect(await fhirStatus(after.body.access_token!)).toBe(401);
    expect((await clientCredentials(backend.id, backend.secret)).body.error).toBe('invalid_client');
    await post('/admin/clients', '/enable', {}, ['client_id', backend.id]);
    expect((await clientCredentials(backend.id, backend.secret)).status).toBe(200);
  });

  it('resource servers: register and remove', async () => {
    const saved = await post('/admin/resource-servers', '/save', {
      identifier: 'https://lab.example.org/api',
      name: 'Lab API',
      scopes: 'lab.read = Read lab orders\nlab.write = Place lab orders',
      ttl: '300',
    });
    expect(text(saved)).toContain('Lab API (https://lab.example.org/api) saved.');
    expect(server.bedside.app.auth.resourceServers.list()).toContainEqual(
      expect.objectContaining({
        identifier: 'https://lab.example.org/api',
        scopes: { 'lab.read': 'Read lab orders', 'lab.write': 'Place lab orders' },
        accessTokenTtlSeconds: 300,
      }),
    );
    const removed = await post('/admin/resource-servers', '/remove', {}, ['identifier', 'https://lab.example.org/api']);
    expect(text(removed)).toContain('removed');
    expect(server.bedside.app.auth.resourceServers.list()).toEqual([]);
  });

  it('every change is in the audit log, attributed to the operator, with no secret or password', async () => {
    const response = await operator.request(`${server.issuer}/admin/audit?outcome=admin&format=json`);
    const body = await response.text();
    const { records } = JSON.parse(body) as { records: Array<{ action: string; target: string; subject: string; method: string }> };
    const actions = records.map((r) => `${r.action} ${r.target}`);
    for (const expected of [
      'user.create user/nurse.joy',
      'user.reset-password user/nurse.joy',
      'user.lock user/nurse.joy',
      'user.unlock user/nurse.joy',
      'user.link-fhir-user user/nurse.joy',
      `client.edit client/${backend.id}`,
      `client.rotate-secret client/${backend.id}`,
      `client.disable client/${backend.id}`,
      `client.enable client/${backend.id}`,
      'resource-server.create resource-server/https://lab.example.org/api',
      'resource-server.remove resource-server/https://lab.example.org/api',
    ])
      expect(actions).toContain(expected);
    expect(records.every((r) => r.subject === 'admin' && r.method === 'POST')).toBe(true);
    expect(body).not.toContain(backend.secret);
    expect(body).not.toContain('second-password-2');
    const page = asPage(await operator.go(`${server.issuer}/admin/audit?outcome=admin`));
    expect(text(page)).toContain('user.lock user/nurse.joy');
  });
});

describe('the admin command', () => {
  async function run(command: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const admin = await openAdminService(server.bedside.config, server.bedside.storage);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runAdminCommand(command, args, admin, { out: (l) => out.push(l), err: (l) => err.push(l) }, 'ops-laptop:jo');
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('users, clients and resource-servers, audited as the operator who ran it', async () => {
    expect(
      (await run('users', 'create', 'cli.user', '--password', 'from-the-cli-1', '--fhir-user', 'Practitioner/practitioner-001', '--name', 'Cli User')).code,
    ).toBe(0);
    const list = await run('users', 'list');
    expect(list.out).toMatch(/cli\.user\s+Practitioner\/practitioner-001\s+-\s+active\s+password\s+by fhirUser/);
    expect((await run('users', 'patients', 'cli.user', 'all')).err).toMatch(/follow from its fhirUser \(Practitioner\/practitioner-001\)/);
    const reset = await run('users', 'reset-password', 'cli.user');
    const generated = /new password of cli\.user: (\S+)/.exec(reset.out)?.[1];
    expect(generated).toBeTruthy();
    await userToken(server, { username: 'cli.user', password: generated!, scope: 'openid user/*.rs' });
    expect((await run('users', 'lock', 'cli.user')).out).toMatch(/locked cli\.user/);
    expect((await run('users', 'link', 'cli.user', '--none')).code).toBe(0);
    expect((await server.bedside.app.auth.accounts.findByUsername('cli.user'))?.fhirUser).toBeUndefined();
    expect((await run('users', 'patients', 'cli.user', 'patient-001', 'Patient/patient-002')).out).toBe('cli.user may select Patient patient-001, patient-002');
    expect((await run('users', 'list')).out).toMatch(/cli\.user\s+-\s+-\s+locked\s+password\s+patient-001,patient-002/);
    expect((await server.bedside.app.auth.accounts.findByUsername('cli.user'))?.patientAccess).toEqual(['patient-001', 'patient-002']);
    expect((await run('users', 'patients', 'cli.user')).code).toBe(2);

    expect((await run('clients', 'list')).out).toContain('bedside-sample-app');
    const rotated = await run('clients', 'rotate-secret', backend.id);
    const secret = /\(shown once\): (\S+)/.exec(rotated.out)?.[1];
    expect((await clientCredentials(backend.id, secret!)).status).toBe(200);
    expect((await run('clients', 'edit', backend.id, '--first-party', 'true')).code).toBe(0);
    expect((await run('clients', 'show', backend.id)).out).toContain('"firstParty": true');
    expect((await run('clients', 'disable', 'bedside-account')).code).toBe(1);

    expect((await run('resource-servers', 'add', 'https://pharmacy.example.org/api', '--name', 'Pharmacy', '--scope', 'rx.read=Read prescriptions')).code).toBe(
      0,
    );
    expect((await run('resource-servers', 'list')).out).toMatch(/https:\/\/pharmacy\.example\.org\/api\s+Pharmacy\s+rx\.read\s+operator/);
    expect((await run('resource-servers', 'remove', 'https://pharmacy.example.org/api')).code).toBe(0);

    const records = (
      await server.bedside.storage.documents.collection<{ outcome: string; subject?: string; method: string; action?: string }>('audit').list({ limit: 200 })
    )
      .map((d) => d.value)
      .filter((r) => r.subject === 'ops-laptop:jo');
    expect(records.map((r) => r.action).sort()).toEqual([
      'client.edit',
      'client.rotate-secret',
      'resource-server.create',
      'resource-server.remove',
      'user.create',
      'user.link-fhir-user',
      'user.lock',
      'user.patient-access',
      'user.reset-password',
    ]);
    expect(records.every((r) => r.method === 'CLI' && r.outcome === 'admin')).toBe(true);
  });

  it('is part of the bedside command, on the store the environment names', async () => {
    const { main } = await import('../../../src/cli/main.js');
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bedside-admin-cli-'));
    const out: string[] = [];
    const io = {
      out: (t: string) => void out.push(t),
      err: (t: string) => void out.push(t),
      env: { DATA_DIR: dataDir, BEDSIDE_SEED: 'false', LOG_LEVEL: 'silent' },
    };
    try {
      expect(await main(['users', 'create', 'ops.one', '--password', 'long-password-1', '--operator'], io)).toBe(0);
      expect(await main(['users', 'list'], io)).toBe(0);
      expect(await main(['clients', 'list'], io)).toBe(0);
      expect(await main(['users'], io)).toBe(2);
      expect(out.join('')).toMatch(/created ops\.one\n[\s\S]*ops\.one\s+-\s+operator\s+active\s+password\s+-\n[\s\S]*CLIENT_ID/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('usage mistakes exit 2, refusals exit 1, with a message', async () => {
    expect(await run('users')).toMatchObject({ code: 2 });
    expect(await run('users', 'frobnicate', 'x')).toMatchObject({ code: 2 });
    expect(await run('nope')).toMatchObject({ code: 2 });
    const missing = await run('users', 'lock', 'nobody');
    expect(missing).toMatchObject({ code: 1, err: 'users: no user "nobody"' });
  });
});
