/**
 * Scope semantics at the FHIR API with tokens minted by the real provider: user/ scopes by
 * fhirUser, v1 and v2 letters (write never implies read), granular scopes, patient scopes
 * without patient context, non-compartment resources, revocation, and the audit log.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken } from '../../support/user-tokens.js';

let server: TestServer;
let admin: string;

async function fhir(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.fhirUrl}/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined, headers: response.headers };
}
const patientsIn = (bundle: any): Set<string> =>
  new Set(
    (bundle.entry ?? [])
      .filter((e: any) => e.search?.mode === 'match')
      .map((e: any) => (e.resource.resourceType === 'Patient' ? e.resource.id : (e.resource.subject ?? e.resource.patient)?.reference?.split('/')[1])),
  );

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  admin = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
}, 120_000);
afterAll(async () => server?.stop());

describe('user/ scopes reach what the user may see', () => {
  it('a practitioner with user/*.rs reads every patient', async () => {
    const { access_token } = await userToken(server, { ...PRACTITIONER, scope: 'openid fhirUser user/*.rs' });
    const res = await fhir(access_token, 'GET', 'Patient?_count=50');
    expect(res.status).toBe(200);
    expect(res.body!.entry.length).toBe(12);
  });

  it('a patient user with user/*.rs reads only their own compartment', async () => {
    const { access_token } = await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.rs' });
    const patients = await fhir(access_token, 'GET', 'Patient?_count=50');
    expect([...patientsIn(patients.body)]).toEqual(['patient-001']);
    const observations = await fhir(access_token, 'GET', 'Observation?_count=200');
    expect(observations.body!.entry.length).toBeGreaterThan(0);
    expect([...patientsIn(observations.body)]).toEqual(['patient-001']);
    expect((await fhir(access_token, 'GET', 'Patient/patient-002')).status).toBe(404);
  });

  it("reads the practitioners and organization a patient's records reference, not others", async () => {
    const { access_token } = await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.rs' });
    const own = await fhir(admin, 'GET', 'Patient/patient-001');
    const gp = own.body!.generalPractitioner[0].reference as string;
    expect((await fhir(access_token, 'GET', gp)).status).toBe(200);
    expect((await fhir(access_token, 'GET', 'Organization/bedside-general')).status).toBe(200);
    const practitioners = await fhir(admin, 'GET', 'Practitioner?_count=50');
    const referencedByAmy = new Set<string>();
    for (const e of (await fhir(admin, 'GET', 'Patient/patient-001/$everything?_count=1000')).body!.entry) {
      if (e.search.mode === 'include' && e.resource.resourceType === 'Practitioner') referencedByAmy.add(e.resource.id);
    }
    const unrelated = practitioners.body!.entry.map((e: any) => e.resource.id).filter((id: string) => !referencedByAmy.has(id));
    expect(unrelated.length).toBeGreaterThan(0);
    expect((await fhir(access_token, 'GET', `Practitioner/${unrelated[0]}`)).status).toBe(404);
    const visible = await fhir(access_token, 'GET', 'Practitioner?_count=50');
    expect(visible.body!.entry.map((e: any) => e.resource.id).sort()).toEqual([...referencedByAmy].sort());
  });
});

describe('letters and versions', () => {
  it('write never implies read: patient/Observation.c creates but cannot read or search', async () => {
    const { access_token } = await userToken(server, { ...PRACTITIONER, scope: 'launch/patient patient/Observation.c', patient: 'patient-003' });
    const created = await fhir(access_token, 'POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'c only' },
      subject: { reference: 'Patient/patient-003' },
    });
    expect(created.status).toBe(201);
    expect((await fhir(access_token, 'GET', `Observation/${created.body!.id}`)).status).toBe(403);
    expect((await fhir(access_token, 'GET', 'Observation?patient=patient-003')).status).toBe(403);
    expect((await fhir(access_token, 'DELETE', `Observation/${created.body!.id}`)).status).toBe(403);
  });

  it('v1 patient/*.read reads and searches but does not write', async () => {
    const token = await userToken(server, { ...PRACTITIONER, scope: 'launch/patient patient/*.read', patient: 'patient-003' });
    expect(token.scope.split(' ')).toContain('patient/*.read');
    expect((await fhir(token.access_token, 'GET', 'Patient/patient-003')).status).toBe(200);
    expect(
      (
        await fhir(token.access_token, 'POST', 'Observation', {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'x' },
          subject: { reference: 'Patient/patient-003' },
        })
      ).status,
    ).toBe(403);
  });

  it('granular scopes filter searches and deny reads of other instances', async () => {
    const token = await userToken(server, {
      ...PRACTITIONER,
      scope: 'launch/patient patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
      patient: 'patient-001',
    });
    const res = await fhir(token.access_token, 'GET', 'Observation?_count=500');
    expect(res.status).toBe(200);
    const categories = new Set(res.body!.entry.flatMap((e: any) => e.resource.category.flatMap((c: any) => c.coding.map((x: any) => x.code))));
    expect([...categories]).toEqual(['laboratory']);
    const vital = await fhir(admin, 'GET', 'Observation?patient=patient-001&category=vital-signs&_count=1');
    expect((await fhir(token.access_token, 'GET', `Observation/${vital.body!.entry[0].resource.id}`)).status).toBe(404);
  });
});

describe('context and lifecycle', () => {
  it('refuses patient/ scopes without a patient in the token', async () => {
    // A backend token cannot carry patient/ scopes, so a user token is asked without launch/patient.
    const token = await userToken(server, { ...PRACTITIONER, scope: 'openid fhirUser patient/*.rs' });
    expect(token.patient).toBeUndefined();
    const res = await fhir(token.access_token, 'GET', 'Observation?_count=1');
    expect(res.status).toBe(403);
    expect(res.body!.issue[0].diagnostics).toContain('no patient context');
  });

  it('refuses a token once its grant is revoked (within REVOCATION_CHECK_MS)', async () => {
    const token = await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.rs offline_access' });
    expect((await fhir(token.access_token, 'GET', 'Patient/patient-001')).status).toBe(200);
    const revoked = await fetch(`${server.issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: token.refresh_token!, client_id: 'bedside-sample-app' }),
    });
    expect(revoked.status).toBe(200);
    const deadline = Date.now() + server.config.revocationCheckMs + 2000;
    let status = 200;
    while (Date.now() < deadline && status === 200) {
      status = (await fhir(token.access_token, 'GET', 'Patient/patient-001')).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
  });

  it('records denied requests and writes in the audit log', async () => {
    await fhir('garbage', 'GET', 'Patient/patient-001');
    const created = await fhir(admin, 'POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'audited' },
      subject: { reference: 'Patient/patient-001' },
    });
    await new Promise((r) => setTimeout(r, 50));
    const records = (
      await server.bedside.storage.documents.collection<{ outcome: string; path: string; resource?: string; status: number }>('audit').list({ limit: 500 })
    ).map((d) => d.value);
    expect(records.some((r) => r.outcome === 'denied' && r.status === 401 && r.path === 'Patient/patient-001')).toBe(true);
    expect(records.some((r) => r.outcome === 'written' && r.resource === `Observation/${created.body!.id}`)).toBe(true);
  });
});
