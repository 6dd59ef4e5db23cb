/**
 * The inference suite: what a caller can learn about data outside its token's reach from
 * answers, not only from what comes back. For every path where a caller supplies criteria or
 * an id (chains, nested chains, `_has`, nested `_has`, includes, compartment search,
 * `$everything`, history, reads, conditional create, update and delete, If-None-Exist,
 * conditional references in a transaction, plain writes, export status, files and cancel), the
 * answer for a value that exists
 * only outside the token's reach must equal the answer for a made-up value: same status, same
 * `total`, same number of entries, same body once the value itself and server-made ids and times
 * are taken out. A refusal (403 for both) is equal too.
 *
 * Tokens: a patient token (standalone launch, patient/*.cruds), a patient user (user/*.cruds),
 * system tokens restricted by type and by a granular filter. Each probe is printed with its
 * statuses; the test fails on the first difference.
 *
 * The same holds where a signed-in user supplies a patient's name or id (the patient picker's
 * search and form, the launcher's directory and launch API without the sandbox): a patient the
 * user may not select answers exactly as one that does not exist.
 */
import type { Bundle, Resource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asPage, Browser, formTo } from '../auth/support/browser.js';
import { sampleAuthorization } from '../auth/support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken } from '../../support/user-tokens.js';
import { pollStatus, startExport } from '../bulk/support.js';
import { comparable, fhirCall } from '../../support/answers.js';

const A = 'patient-001';
const B = 'patient-002';
const MADE_UP = 'zz-made-up-9b1c';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

let server: TestServer;
let admin: string;

const call = (token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fhirCall(server.fhirUrl, token, method, path, body, headers);

const probes: Array<{ token: string; name: string; real: number; madeUp: number }> = [];

/**
 * Sends the request built for a value that exists only outside the token's reach and for a
 * made-up one, and requires equal answers. `setup` runs before each (e.g. to make the two
 * requests meet the same starting state).
 */
async function probe(
  tokenName: string,
  token: string,
  name: string,
  real: string,
  build: (value: string) => [string, string, unknown?, Record<string, string>?],
  madeUp = MADE_UP,
): Promise<void> {
  const [m1, p1, b1, h1] = build(real);
  const first = await call(token, m1, p1, b1, h1);
  const [m2, p2, b2, h2] = build(madeUp);
  const second = await call(token, m2, p2, b2, h2);
  probes.push({ token: tokenName, name, real: first.status, madeUp: second.status });
  expect(first.status, `${tokenName}: ${name}: ${m1} ${p1} answered ${JSON.stringify(first.body).slice(0, 300)}`).toBeLessThan(500);
  expect(comparable(first, [real]), `${tokenName}: ${name} tells a real value from a made-up one`).toBe(comparable(second, [madeUp]));
}

/** Facts about B's data (outside a patient-A token's reach) and about laboratory results. */
const facts = {
  bFamily: '',
  bObservation: '',
  bEncounter: '',
  bConditionCode: '',
  labCode: '',
};

async function adminSearch(path: string): Promise<Resource[]> {
  const res = await call(admin, 'GET', path);
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource!);
}

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  admin = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
  facts.bFamily = ((await call(admin, 'GET', `Patient/${B}`)).body as { name: Array<{ family: string }> }).name[0]!.family;
  const aFamily = ((await call(admin, 'GET', `Patient/${A}`)).body as { name: Array<{ family: string }> }).name[0]!.family;
  expect(facts.bFamily).not.toBe(aFamily);
  facts.bObservation = (await adminSearch(`Observation?subject=Patient/${B}&_count=1`))[0]!.id!;
  facts.bEncounter = (await adminSearch(`Encounter?subject=Patient/${B}&_count=1`))[0]!.id!;
  // A condition code B has and A has not.
  const codesOf = async (p: string) =>
    new Set(
      (await adminSearch(`Condition?subject=Patient/${p}&_count=200`)).flatMap((c) =>
        ((c as { code?: { coding?: Array<{ code?: string }> } }).code?.coding ?? []).map((x) => x.code!),
      ),
    );
  const aCodes = await codesOf(A);
  facts.bConditionCode = [...(await codesOf(B))].find((c) => !aCodes.has(c))!;
  expect(facts.bConditionCode).toBeTruthy();
  const lab = (await adminSearch(`Observation?category=${CATEGORY}|laboratory&_count=1`))[0] as unknown as { code: { coding: Array<{ code: string }> } };
  facts.labCode = lab.code.coding[0]!.code;
});

afterAll(async () => {
  console.log(`inference probes: ${probes.length}, all answers equal for real and made-up values`);
  for (const p of probes) console.log(`  ${p.token.padEnd(22)} ${p.name.padEnd(44)} ${p.real} / ${p.madeUp}`);
  await server?.stop();
});

/** Probes for a token bound to patient A's compartment (a patient launch or a patient user). */
async function compartmentProbes(name: string, token: string): Promise<void> {
  const obsFor = (subject: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'probe' }, subject: { reference: `Patient/${subject}` } });
  await probe(name, token, 'chain', facts.bFamily, (v) => ['GET', `Observation?subject:Patient.family=${encodeURIComponent(v)}&_total=accurate`]);
  await probe(name, token, 'nested chain (chain then _has)', facts.bConditionCode, (v) => [
    'GET',
    `Observation?subject:Patient._has:Condition:patient:code=${v}&_total=accurate`,
  ]);
  await probe(name, token, '_has', facts.bConditionCode, (v) => ['GET', `Patient?_has:Condition:patient:code=${v}&_total=accurate`]);
  await probe(name, token, 'nested _has', facts.bEncounter, (v) => [
    'GET',
    `Patient?_has:Encounter:patient:_has:Observation:encounter:_id=${v}&_total=accurate`,
  ]);
  await probe(name, token, '_has on the id of a foreign resource', facts.bObservation, (v) => [
    'GET',
    `Patient?_has:Observation:patient:_id=${v}&_total=accurate`,
  ]);
  await probe(name, token, 'search by id', facts.bObservation, (v) => ['GET', `Observation?_id=${v}&_total=accurate`]);
  await probe(name, token, 'search by reference', B, (v) => ['GET', `Observation?subject=Patient/${v}&_total=accurate`]);
  await probe(name, token, '_revinclude from a foreign patient', B, (v) => ['GET', `Patient?_id=${v}&_revinclude=Observation:patient&_total=accurate`]);
  await probe(name, token, '_include from a foreign encounter', facts.bEncounter, (v) => [
    'GET',
    `Encounter?_id=${v}&_include=Encounter:participant&_total=accurate`,
  ]);
  await probe(name, token, 'compartment search', B, (v) => ['GET', `Patient/${v}/Observation?_total=accurate`]);
  await probe(name, token, '$everything', B, (v) => ['GET', `Patient/${v}/$everything`]);
  await probe(name, token, 'read', facts.bObservation, (v) => ['GET', `Observation/${v}`]);
  await probe(name, token, 'vread', facts.bObservation, (v) => ['GET', `Observation/${v}/_history/1`]);
  await probe(name, token, 'instance history', facts.bObservation, (v) => ['GET', `Observation/${v}/_history`]);
  await probe(name, token, 'update (PUT to a foreign id)', facts.bObservation, (v) => ['PUT', `Observation/${v}`, { ...obsFor(A), id: v }]);
  await probe(name, token, 'patch', facts.bObservation, (v) => [
    'PATCH',
    `Observation/${v}`,
    [{ op: 'replace', path: '/status', value: 'amended' }],
    { 'content-type': 'application/json-patch+json' },
  ]);
  await probe(name, token, 'delete', facts.bObservation, (v) => ['DELETE', `Observation/${v}`]);
  await probe(name, token, 'If-None-Exist', facts.bObservation, (v) => ['POST', 'Observation', obsFor(A), { 'if-none-exist': `_id=${v}` }]);
  await probe(name, token, 'conditional update', facts.bObservation, (v) => ['PUT', `Observation?_id=${v}`, obsFor(A)]);
  await probe(name, token, 'conditional delete', facts.bObservation, (v) => ['DELETE', `Observation?_id=${v}`]);
  await probe(name, token, 'conditional patch', facts.bObservation, (v) => [
    'PATCH',
    `Observation?_id=${v}`,
    [{ op: 'replace', path: '/status', value: 'amended' }],
    { 'content-type': 'application/json-patch+json' },
  ]);
  await probe(name, token, 'conditional reference in a transaction', facts.bFamily, (v) => [
    'POST',
    '',
    {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...obsFor(A), performer: [{ reference: `Patient?family=${encodeURIComponent(v)}` }] }, request: { method: 'POST', url: 'Observation' } },
      ],
    },
  ]);
  await probe(name, token, 'ifNoneExist in a transaction', facts.bObservation, (v) => [
    'POST',
    '',
    { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: obsFor(A), request: { method: 'POST', url: 'Observation', ifNoneExist: `_id=${v}` } }] },
  ]);
  await probe(name, token, 'conditional PUT in a transaction', facts.bObservation, (v) => [
    'POST',
    '',
    { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: obsFor(A), request: { method: 'PUT', url: `Observation?_id=${v}` } }] },
  ]);
  await probe(name, token, 'batch of reads', facts.bObservation, (v) => [
    'POST',
    '',
    {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: `Observation/${v}` } }, { request: { method: 'GET', url: `Observation?_id=${v}` } }],
    },
  ]);
}

describe('what a token can learn about data outside its reach', () => {
  it('patient token (standalone launch, patient/*.cruds)', async () => {
    const token = await userToken(server, { ...PRACTITIONER, scope: 'launch/patient openid fhirUser patient/*.cruds', patient: A });
    expect(token.patient).toBe(A);
    await compartmentProbes('patient token', token.access_token);
  });

  it('patient user (user/*.cruds)', async () => {
    const token = await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.cruds' });
    await compartmentProbes('patient user', token.access_token);
  });

  it('system token restricted by type (system/Observation.rs)', async () => {
    const token = await (await backendClient(server.baseUrl, 'system/Observation.rs')).token();
    const name = 'system Observation only';
    await probe(name, token, 'chain into Patient', facts.bFamily, (v) => [
      'GET',
      `Observation?subject:Patient.family=${encodeURIComponent(v)}&_total=accurate`,
    ]);
    await probe(name, token, 'untyped chain', facts.bFamily, (v) => ['GET', `Observation?subject.family=${encodeURIComponent(v)}&_total=accurate`]);
    await probe(name, token, 'chain then _has into Condition', facts.bConditionCode, (v) => [
      'GET',
      `Observation?subject:Patient._has:Condition:patient:code=${v}&_total=accurate`,
    ]);
    await probe(name, token, '_has into Condition', facts.bConditionCode, (v) => [
      'GET',
      `Observation?_has:Condition:evidence-detail:code=${v}&_total=accurate`,
    ]);
    await probe(name, token, '_include of Patient', facts.bFamily, (v) => [
      'GET',
      `Observation?_include=Observation:subject:Patient&_count=1&code=${encodeURIComponent(v)}`,
    ]);
  });

  it("export status, files and cancel of someone else's job (another user of the same client, another client)", async () => {
    const practitioner = await userToken(server, { ...PRACTITIONER, scope: 'openid fhirUser user/*.rs' });
    const patientUser = await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.rs' });
    const backend = await (await backendClient(server.baseUrl, 'system/*.rs')).token();
    const jobOf = async (token: string) => {
      const statusUrl = await startExport(server.fhirUrl, token, 'Patient/$export', { query: { _type: 'Patient' } });
      const file = (await pollStatus(statusUrl, token)).manifest.output[0]!.url.split('/').pop()!;
      return { id: statusUrl.split('/').pop()!, file };
    };
    const jobs = { practitioner: await jobOf(practitioner.access_token), 'patient user': await jobOf(patientUser.access_token) };
    // A well-formed job id that names no job, so both requests reach the job lookup.
    const madeUp = crypto.randomUUID();
    const callers: Array<[string, string, keyof typeof jobs]> = [
      ['patient user (same client)', patientUser.access_token, 'practitioner'],
      ['practitioner (same client)', practitioner.access_token, 'patient user'],
      ['another client', backend, 'practitioner'],
    ];
    for (const [name, token, owner] of callers) {
      const job = jobs[owner];
      await probe(name, token, `export status of the ${owner}'s job`, job.id, (v) => ['GET', `bulkstatus/${v}`], madeUp);
      await probe(name, token, `export file of the ${owner}'s job`, job.id, (v) => ['GET', `bulkfiles/${v}/${job.file}`], madeUp);
      await probe(name, token, `export cancel of the ${owner}'s job`, job.id, (v) => ['DELETE', `bulkstatus/${v}`], madeUp);
    }
    // The probes changed nothing: each owner still has its export.
    expect((await call(practitioner.access_token, 'GET', `bulkstatus/${jobs.practitioner.id}`)).status).toBe(200);
    expect((await call(patientUser.access_token, 'GET', `bulkstatus/${jobs['patient user'].id}`)).status).toBe(200);
  });

  it('system token with a granular filter (vital signs only) and Patient', async () => {
    const token = await (await backendClient(server.baseUrl, `system/Observation.rs?category=${CATEGORY}|vital-signs system/Patient.rs`)).token();
    const name = 'system vital signs';
    await probe(name, token, '_has on the category', 'laboratory', (v) => ['GET', `Patient?_has:Observation:patient:category=${v}&_total=accurate`]);
    await probe(name, token, '_has on a lab code', facts.labCode, (v) => ['GET', `Patient?_has:Observation:patient:code=${v}&_total=accurate`]);
    await probe(name, token, 'search on a lab code', facts.labCode, (v) => ['GET', `Observation?code=${v}&_total=accurate`]);
    await probe(name, token, '_revinclude of lab results', facts.labCode, (v) => [
      'GET',
      `Patient?_revinclude=Observation:patient&_has:Observation:patient:code=${v}&_total=accurate`,
    ]);
  });
});

/** Like `probe`, for pages and the launcher's JSON: the answer without the value, the interaction's uid and CSRF token. */
async function pageProbe(who: string, name: string, real: string, send: (value: string) => Promise<{ status: number; text: string }>): Promise<void> {
  const scrub = (text: string, value: string) =>
    [value, encodeURIComponent(value), value.replace(/'/g, '&#39;')]
      .reduce((t, v) => t.split(v).join('{value}'), text)
      .replace(/\/interaction\/[\w-]+/g, '/interaction/{uid}')
      .replace(/name="csrf" value="[^"]*"/g, 'name="csrf"');
  const first = await send(real);
  const second = await send(MADE_UP);
  probes.push({ token: who, name, real: first.status, madeUp: second.status });
  expect(first.status, `${who}: ${name} answered ${first.text.slice(0, 300)}`).toBeLessThan(500);
  expect(scrub(first.text, real), `${who}: ${name} tells a real value from a made-up one`).toBe(scrub(second.text, MADE_UP));
}

describe('what a signed-in user can learn about patients they may not select', () => {
  it('the patient picker of a user granted one patient: search and a tampered choice', async () => {
    const actor = { id: 'test', via: 'command' as const };
    await server.bedside.app.auth.admin.createUser(actor, { username: 'clerk', password: 'clerk-password-1' });
    await server.bedside.app.auth.admin.setPatientAccess(actor, 'clerk', [A]);
    const browser = new Browser();
    const request = sampleAuthorization(server, { scope: 'openid launch/patient patient/*.rs' });
    const login = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
    const picker = asPage(await browser.submit(formTo(login, '/login'), { username: 'clerk', password: 'clerk-password-1' }, undefined, request.redirectUri));
    expect(
      formTo(picker, '/patient')
        .fields.filter((f) => f.name === 'patient')
        .map((f) => f.value),
    ).toEqual([A]);
    const asText = async (result: ReturnType<Browser['go']>) => {
      const page = asPage(await result);
      return { status: page.status, text: page.html };
    };
    const who = 'user granted patient A';
    await pageProbe(who, 'picker search by name', facts.bFamily, (v) => asText(browser.go(`${picker.url.split('?')[0]}?q=${encodeURIComponent(v)}`)));
    await pageProbe(who, 'picker search by id', B, (v) => asText(browser.go(`${picker.url.split('?')[0]}?q=${encodeURIComponent(v)}`)));
    await pageProbe(who, 'tampered patient choice', B, (v) =>
      asText(browser.submit(formTo(picker, '/patient'), { patient: v }, undefined, request.redirectUri)),
    );
  });

  it('the launcher without the sandbox: the operator without patient access, and an unauthenticated launch', async () => {
    const config = server.bedside.config;
    config.launcherSandbox = false;
    try {
      const operator = new Browser(server.baseUrl);
      const page = asPage(await operator.go(`${server.issuer}/admin/grants`));
      asPage(await operator.submit(formTo(page, '/login'), { username: 'admin', password: 'bedside-admin' }));
      const cookie = [...operator.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const get = async (path: string) => {
        const response = await fetch(`${server.baseUrl}/launcher/api/${path}`, { headers: { cookie } });
        return { status: response.status, text: await response.text() };
      };
      const who = 'operator, no patients';
      await pageProbe(who, 'launcher patient search', facts.bFamily, (v) => get(`patients?q=${encodeURIComponent(v)}`));
      await pageProbe(who, 'launcher patient by id', B, (v) => get(`patients/${v}`));
      await pageProbe(who, 'launcher encounters of a patient', B, (v) => get(`patients/${v}/encounters`));
      await pageProbe('no credentials', 'launch API', B, async (v) => {
        const response = await fetch(`${server.baseUrl}/launcher/api/launch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ launch_uri: `${server.baseUrl}/sample-app/launch`, patient: v }),
        });
        return { status: response.status, text: await response.text() };
      });
    } finally {
      config.launcherSandbox = true;
    }
  });
});
