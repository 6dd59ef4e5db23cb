/**
 * Who may hold patient context (the user policy, src/access/user-policy.ts), end to end through
 * the real sign-in pages driven without a browser, the real oidc-provider and the FHIR API:
 * - the operator account (no fhirUser) gets no patient context and no patient data unless an
 *   operator grants it patients; the practitioner gets the patient picked;
 * - a patient user holds only her own record: a tampered picker form is refused;
 * - with PRACTITIONER_PATIENTS=linked, the practitioner's picker, search, EHR launch completion,
 *   `user/` and `patient/` scopes reach only the patients linked to her, and the set follows the
 *   data within the revocation window;
 * - with LAUNCHER_SANDBOX off, the launch API and the launcher's directory need an operator
 *   session or a token with the `launcher` scope, and list only what the caller may see.
 */
import type { Bundle, Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asPage, asRedirect, Browser, formTo, type Page } from '../auth/support/browser.js';
import { sampleAuthorization, SAMPLE_APP, tokenRequest } from '../auth/support/clients.js';
import { authorizeInBrowser } from '../auth/support/flows.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken } from '../../support/user-tokens.js';

const OPERATOR = { username: 'admin', password: 'bedside-admin' };
const ACTOR = { id: 'test', via: 'command' as const };
/** Patients whose records link them to practitioner-001 (dr.carter): generalPractitioner and encounters. */
const LINKED = ['patient-001', 'patient-004', 'patient-006', 'patient-008', 'patient-012'];
const UNLINKED = 'patient-002';
const STANDALONE = 'openid fhirUser launch/patient patient/*.rs';

/** A server with every patient for practitioners and the launcher sandbox off. */
let open: TestServer;
/** A server with PRACTITIONER_PATIENTS=linked (launcher sandbox on). */
let linked: TestServer;

beforeAll(async () => {
  [open, linked] = await Promise.all([
    startTestServer({ seed: true, launcherSandbox: false }),
    startTestServer({ seed: true, practitionerPatients: 'linked', revocationCheckMs: 200 }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([open?.stop(), linked?.stop()]);
});

async function fhir(server: TestServer, token: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.fhirUrl}/${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const ids = (bundle: Bundle): string[] => (bundle.entry ?? []).map((e) => e.resource!.id!).sort();

/** Signs in at the authorization endpoint and stops at the first page after sign-in (or the app). */
async function signIn(server: TestServer, username: string, password: string, overrides: Record<string, string> = {}) {
  const browser = new Browser();
  const request = sampleAuthorization(server, { scope: STANDALONE, ...overrides });
  const login = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
  const next = await browser.submit(formTo(login, '/login'), { username, password }, undefined, request.redirectUri);
  return { browser, request, next };
}

const offered = (picker: Page): string[] =>
  formTo(picker, '/patient')
    .fields.filter((f) => f.name === 'patient')
    .map((f) => f.value)
    .sort();

/** The page as a user sees it, without what changes per interaction (uid, CSRF token). */
const visible = (page: Page): string => page.html.replace(/\/interaction\/[\w-]+/g, '/interaction/{uid}').replace(/name="csrf" value="[^"]*"/g, 'name="csrf"');

async function mint(server: TestServer, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.baseUrl}/launcher/api/launch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, string> };
}

/** A browser signed in as `username` on the operators' pages (the operator session). */
async function operatorSession(server: TestServer, username = OPERATOR.username, password = OPERATOR.password): Promise<Browser> {
  const browser = new Browser(server.baseUrl);
  const page = asPage(await browser.go(`${server.issuer}/admin/grants`));
  asPage(await browser.submit(formTo(page, '/login'), { username, password }));
  return browser;
}

const cookieHeader = (browser: Browser) => [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

describe('a standalone patient launch, by who is signed in', () => {
  it('the operator account (no fhirUser) gets no patient context: the app receives access_denied, not a token', async () => {
    const { request, next } = await signIn(open, OPERATOR.username, OPERATOR.password);
    const back = asRedirect(next);
    expect(back.searchParams.get('code')).toBeNull();
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toBe("admin may not open any patient's record, so the app cannot have a patient (launch/patient)");
    expect(back.searchParams.get('state')).toBe(request.state);
  });

  it('nor patient data with patient/ or user/ scopes and no launch/patient', async () => {
    const patientScopes = await userToken(open, { ...OPERATOR, scope: 'openid patient/*.rs' });
    expect(patientScopes.patient).toBeUndefined();
    expect((await fhir(open, patientScopes.access_token, 'Patient/patient-001')).status).toBe(403);
    expect((await fhir(open, patientScopes.access_token, 'Observation?patient=patient-001')).status).toBe(403);
    const userScopes = await userToken(open, { ...OPERATOR, scope: 'openid user/*.rs' });
    const read = await fhir(open, userScopes.access_token, 'Patient/patient-001');
    expect(read.status).toBe(403);
    expect(read.body.issue[0].diagnostics).toMatch(/no fhirUser that can see FHIR data/);
  });

  it('the practitioner picks from every patient and gets the one picked, with its data', async () => {
    const { next } = await signIn(open, PRACTITIONER.username, PRACTITIONER.password);
    expect(offered(asPage(next))).toHaveLength(12);
    const token = await userToken(open, { ...PRACTITIONER, scope: STANDALONE, patient: UNLINKED });
    expect(token.patient).toBe(UNLINKED);
    expect((await fhir(open, token.access_token, `Patient/${UNLINKED}`)).status).toBe(200);
    const observations = await fhir(open, token.access_token, 'Observation?_count=5');
    expect(observations.body.entry.length).toBeGreaterThan(0);
    expect(observations.body.entry.every((e: { resource: { subject: { reference: string } } }) => e.resource.subject.reference === `Patient/${UNLINKED}`)).toBe(
      true,
    );
  });

  it('an operator grant lets an account without fhirUser select exactly the granted patients; taking it away ends its tokens', async () => {
    const admin = open.bedside.app.auth.admin;
    await expect(admin.setPatientAccess(ACTOR, 'dr.carter', 'all')).rejects.toThrow(/follow from its fhirUser/);
    await expect(admin.setPatientAccess(ACTOR, 'admin', ['no-such-patient'])).rejects.toThrow(/does not exist/);
    await admin.setPatientAccess(ACTOR, 'admin', ['patient-003', 'patient-005']);
    try {
      const { next } = await signIn(open, OPERATOR.username, OPERATOR.password);
      expect(offered(asPage(next))).toEqual(['patient-003', 'patient-005']);
      const token = await userToken(open, { ...OPERATOR, scope: STANDALONE, patient: 'patient-005' });
      expect(token.patient).toBe('patient-005');
      expect((await fhir(open, token.access_token, 'Patient/patient-005')).status).toBe(200);
      // user/ scopes still reach nothing: the grant is for patient context only.
      expect((await fhir(open, (await userToken(open, { ...OPERATOR, scope: 'openid user/Patient.rs' })).access_token, 'Patient/patient-005')).status).toBe(
        403,
      );

      const { grantsRevoked } = await admin.setPatientAccess(ACTOR, 'admin', ['patient-003']);
      expect(grantsRevoked).toBeGreaterThan(0);
      // Within the revocation window (REVOCATION_CHECK_MS, 1 s here).
      await expect.poll(async () => (await fhir(open, token.access_token, 'Patient/patient-005')).status, { timeout: 2000, interval: 100 }).toBe(401);
      const audit = (await open.bedside.storage.documents.collection<{ action?: string; target?: string; reason?: string }>('audit').list({ limit: 1000 })).map(
        (d) => d.value,
      );
      expect(audit.filter((r) => r.action === 'user.patient-access' && r.target === 'user/admin').map((r) => r.reason)).toEqual(
        expect.arrayContaining([
          'Patient patient-003, patient-005 (was none)',
          expect.stringMatching(/^Patient patient-003 \(was Patient patient-003, patient-005\), \d+ grant\(s\) revoked$/),
        ]),
      );
    } finally {
      await admin.setPatientAccess(ACTOR, 'admin', null);
    }
  });

  it('a patient user holds only her own record: no picker, and a tampered picker form is refused', async () => {
    const { browser, request, next } = await signIn(open, PATIENT_USER.username, PATIENT_USER.password);
    const consent = asPage(next);
    expect(consent.forms.some((f) => f.action.endsWith('/patient'))).toBe(false);
    expect(consent.html).toMatch(/Amy Elizabeth Shaw/);
    const approve = formTo(consent, '/consent');
    const csrf = approve.fields.find((f) => f.name === 'csrf')!.value;
    const tampered = asPage(
      await browser.go(approve.action.replace(/\/consent$/, '/patient'), { method: 'POST', body: new URLSearchParams({ patient: UNLINKED, csrf }) }),
    );
    expect(tampered.status).toBe(403);
    expect(tampered.html).toMatch(/You may not choose that patient/);
    const back = asRedirect(await browser.submit(approve, {}, { name: 'decision', value: 'approve' }, request.redirectUri));
    const token = await tokenRequest(open, {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: request.redirectUri,
      client_id: SAMPLE_APP,
      code_verifier: request.verifier,
    });
    expect(token.body.patient).toBe(PATIENT_USER.fhirUser.split('/')[1]);
  });
});

describe('PRACTITIONER_PATIENTS=linked', () => {
  it('the picker lists and searches only linked patients; a tampered choice is refused like a made-up one', async () => {
    const { browser, next } = await signIn(linked, PRACTITIONER.username, PRACTITIONER.password);
    const picker = asPage(next);
    expect(offered(picker)).toEqual(LINKED);
    const search = async (q: string) => asPage(await browser.go(`${picker.url.split('?')[0]}?q=${encodeURIComponent(q)}`));
    expect(offered(await search("O'Brien"))).toEqual(['patient-004']);
    // José García exists but is not linked: his name finds exactly what a made-up name finds.
    const foreign = await search('García');
    const madeUp = await search('Zzyzx');
    expect(foreign.status).toBe(200);
    expect(visible(foreign).split('García').join('{q}')).toBe(visible(madeUp).split('Zzyzx').join('{q}'));
    expect(foreign.html).toMatch(/No patient matches/);

    const pick = formTo(picker, '/patient');
    const refused = asPage(await browser.submit(pick, { patient: UNLINKED }));
    const refusedMadeUp = asPage(await browser.submit(pick, { patient: 'zz-made-up' }));
    expect(refused.status).toBe(403);
    expect(refused.html).toMatch(/You may not choose that patient/);
    expect(offered(refused)).toEqual(LINKED);
    expect(visible(refused)).toBe(visible(refusedMadeUp));
    // The genuine choice still works afterwards.
    const consent = asPage(await browser.submit(formTo(refused, '/patient'), { patient: 'patient-004' }));
    expect(consent.html).toMatch(/Liam O&#39;Brien|Liam O'Brien/);
  });

  it('user/ scopes reach only the linked patients and their records', async () => {
    const token = (await userToken(linked, { ...PRACTITIONER, scope: 'openid fhirUser user/*.rs' })).access_token;
    expect(ids((await fhir(linked, token, 'Patient?_count=100')).body)).toEqual(LINKED);
    expect((await fhir(linked, token, `Patient/${UNLINKED}`)).status).toBe(404);
    expect((await fhir(linked, token, `Observation?patient=${UNLINKED}&_total=accurate`)).body.total).toBe(0);
    const observations = await fhir(linked, token, 'Observation?_count=1000&_elements=subject');
    const subjects = new Set(observations.body.entry.map((e: { resource: { subject: { reference: string } } }) => e.resource.subject.reference));
    expect([...subjects].sort()).toEqual(LINKED.map((id) => `Patient/${id}`));
  });

  it('patient/ scopes reach the picked linked patient', async () => {
    const token = await userToken(linked, { ...PRACTITIONER, scope: STANDALONE, patient: 'patient-006' });
    expect(token.patient).toBe('patient-006');
    expect((await fhir(linked, token.access_token, 'Patient/patient-006')).status).toBe(200);
    expect((await fhir(linked, token.access_token, `Patient/${UNLINKED}`)).status).toBe(404);
  });

  it('EHR launch completion for an unlinked patient is refused; for a linked one it works', async () => {
    const foreign = await mint(linked, { launch_uri: `${linked.baseUrl}/sample-app/launch`, patient: UNLINKED });
    expect(foreign.status).toBe(201);
    const request = sampleAuthorization(linked, { scope: 'launch openid fhirUser patient/*.rs', launch: foreign.body.launch! });
    const back = await authorizeInBrowser(new Browser(), request.url, request.redirectUri, PRACTITIONER);
    expect(back.searchParams.get('code')).toBeNull();
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toBe('the launch is for a patient whose record dr.carter may not open');

    const own = await mint(linked, { launch_uri: `${linked.baseUrl}/sample-app/launch`, patient: 'patient-008' });
    const token = await userToken(linked, { ...PRACTITIONER, scope: 'launch openid fhirUser patient/*.rs', launch: own.body.launch! });
    expect(token.patient).toBe('patient-008');
  });

  it('the linked set follows the data: a new encounter links a patient, deleting it unlinks her (within the revocation window)', async () => {
    const system = await (await backendClient(linked.baseUrl, 'system/*.cruds')).token();
    const user = (await userToken(linked, { ...PRACTITIONER, scope: 'openid fhirUser user/*.rs' })).access_token;
    const patientToken = await userToken(linked, { ...PRACTITIONER, scope: STANDALONE, patient: 'patient-001' });
    expect((await fhir(linked, user, `Patient/${UNLINKED}`)).status).toBe(404);

    const encounter = await fhir(linked, system, 'Encounter', {
      method: 'POST',
      body: {
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/${UNLINKED}` },
        participant: [{ individual: { reference: PRACTITIONER.fhirUser } }],
      },
    });
    expect(encounter.status).toBe(201);
    await new Promise((r) => setTimeout(r, 300));
    expect((await fhir(linked, user, `Patient/${UNLINKED}`)).status).toBe(200);
    const { next } = await signIn(linked, PRACTITIONER.username, PRACTITIONER.password);
    expect(offered(asPage(next))).toContain(UNLINKED);

    // Patient-001 stays linked (generalPractitioner); unlinking it ends what patient/ scopes reach.
    const patient = (await fhir(linked, system, 'Patient/patient-001')).body as Patient;
    const { generalPractitioner: _gp, ...withoutGp } = patient;
    expect((await fhir(linked, system, 'Patient/patient-001', { method: 'PUT', body: withoutGp })).status).toBe(200);
    const encounters = await fhir(linked, system, `Encounter?subject=Patient/patient-001&participant=${PRACTITIONER.fhirUser}&_count=1000&_elements=id`);
    expect(encounters.body.entry.length).toBeGreaterThan(0);
    for (const e of encounters.body.entry) expect((await fhir(linked, system, `Encounter/${e.resource.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await fhir(linked, system, `Encounter/${encounter.body.id}`, { method: 'DELETE' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await fhir(linked, user, `Patient/${UNLINKED}`)).status).toBe(404);
    expect((await fhir(linked, patientToken.access_token, 'Patient/patient-001')).status).toBe(404);
    expect((await fhir(linked, patientToken.access_token, 'Observation?_total=accurate')).body.total).toBe(0);
  });
});

describe('the launcher API and directory with LAUNCHER_SANDBOX=false', () => {
  const launch = () => ({ launch_uri: `${open.baseUrl}/sample-app/launch`, patient: 'patient-003' });

  it('a launch without credentials is 401, with a bearer challenge', async () => {
    const refused = await mint(open, launch());
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe(`Bearer realm="${open.baseUrl}", scope="launcher"`);
    expect(refused.body.error).toBe('unauthorized');
    expect(refused.body.error_description).toMatch(/sign in as an operator/);
    expect((await mint(open, launch(), { authorization: 'Bearer not-a-token' })).status).toBe(401);
  });

  it('an operator session mints (201); from another origin, or as a non-operator, it is 403', async () => {
    const operator = await operatorSession(open);
    const minted = await mint(open, launch(), { cookie: cookieHeader(operator), origin: open.baseUrl });
    expect(minted.status).toBe(201);
    expect(new URL(minted.body.url!).searchParams.get('launch')).toBe(minted.body.launch);
    // The launch completes for a user who may select the patient.
    expect((await userToken(open, { ...PRACTITIONER, scope: 'launch openid patient/*.rs', launch: minted.body.launch! })).patient).toBe('patient-003');

    expect((await mint(open, launch(), { cookie: cookieHeader(operator), origin: 'https://evil.example' })).status).toBe(403);
    expect((await mint(open, launch(), { cookie: cookieHeader(operator) })).status).toBe(403);
    const doctor = await operatorSession(open, PRACTITIONER.username, PRACTITIONER.password);
    const notOperator = await mint(open, launch(), { cookie: cookieHeader(doctor), origin: open.baseUrl });
    expect(notOperator.status).toBe(403);
    expect(notOperator.body.error_description).toMatch(/dr\.carter is not an operator/);
    // Simulated EHR sessions stay a sandbox convenience, even for operators.
    expect(
      (
        await mint(
          open,
          { ...launch(), practitioner: 'practitioner-001', simulate_ehr_session: true },
          { cookie: cookieHeader(operator), origin: open.baseUrl },
        )
      ).status,
    ).toBe(403);
  });

  it('a backend-services token with the launcher scope mints (201); one without it is 403 insufficient_scope', async () => {
    const automation = await backendClient(open.baseUrl, 'launcher system/Patient.rs');
    expect((await mint(open, launch(), { authorization: `Bearer ${await automation.token('launcher')}` })).status).toBe(201);
    const other = await mint(open, launch(), { authorization: `Bearer ${await automation.token('system/Patient.rs')}` });
    expect(other.status).toBe(403);
    expect(other.body.error).toBe('insufficient_scope');
    expect(other.headers.get('www-authenticate')).toBe(`Bearer realm="${open.baseUrl}", error="insufficient_scope", scope="launcher"`);
  });

  it("the directory answers callers the same way, listing only what the caller's own policy reaches", async () => {
    const list = async (path: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${open.baseUrl}/launcher/api/${path}`, { headers });
      return { status: response.status, body: (await response.json()) as any };
    };
    expect((await list('patients')).status).toBe(401);
    expect((await list('clients')).status).toBe(401);
    expect((await list('config')).status).toBe(200);

    const operator = { cookie: cookieHeader(await operatorSession(open)) };
    // The operator may launch, but sees no patient data without a patient grant.
    expect(await list('patients', operator)).toEqual({ status: 200, body: [] });
    expect((await list('patients/patient-003', operator)).status).toBe(404);
    expect(await list('patients/patient-003/encounters', operator)).toEqual({ status: 200, body: [] });
    expect((await list('practitioners', operator)).body.map((p: { id: string }) => p.id)).toContain('practitioner-001');
    expect((await list('clients', operator)).status).toBe(200);
    await open.bedside.app.auth.admin.setPatientAccess(ACTOR, 'admin', ['patient-003']);
    try {
      expect((await list('patients', operator)).body.map((p: { id: string }) => p.id)).toEqual(['patient-003']);
      expect((await list('patients/patient-003/encounters', operator)).body.length).toBeGreaterThan(0);
    } finally {
      await open.bedside.app.auth.admin.setPatientAccess(ACTOR, 'admin', null);
    }

    const automation = await backendClient(open.baseUrl, 'launcher system/Patient.rs');
    const withPatients = { authorization: `Bearer ${await automation.token('launcher system/Patient.rs')}` };
    expect((await list('patients', withPatients)).body).toHaveLength(12);
    const launchOnly = { authorization: `Bearer ${await automation.token('launcher')}` };
    expect(await list('patients', launchOnly)).toEqual({ status: 200, body: [] });
  });
});
