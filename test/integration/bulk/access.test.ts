/**
 * $export exports only what the token allows, and its status URL and files belong to the client
 * (and user) that started it: `system/` scopes as the client registered them, `patient/` scopes
 * limited to the launch patient's compartment (and refused at system level), another client's
 * token answered as for an unknown job, no token refused. The two-users-of-one-client and
 * revocation cases are in ownership.test.ts.
 */
import type { OperationOutcome, Resource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken } from '../../support/user-tokens.js';
import { download, downloadAll, kickOff, patientsOf, pollStatus, runExport, startExport } from './support.js';

let server: TestServer;
let token: string;
let other: string;

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  token = await (await backendClient(server.baseUrl, 'system/*.rs')).token();
  other = await (await backendClient(server.baseUrl, 'system/*.rs')).token();
}, 120_000);
afterAll(async () => server?.stop());

describe('the status URL and the files belong to the client that kicked off', () => {
  it("answers another client's token on status, files and DELETE as for a made-up job (404); the owner still gets them", async () => {
    const statusUrl = await startExport(server.fhirUrl, token, '$export', { query: { _type: 'Patient' } });
    const { manifest } = await pollStatus(statusUrl, token);
    const fileUrl = manifest.output[0]!.url;
    const jobId = statusUrl.split('/').pop()!;
    const madeUp = crypto.randomUUID();
    for (const [method, url] of [
      ['GET', statusUrl],
      ['GET', fileUrl],
      ['DELETE', statusUrl],
    ] as const) {
      const response = await fetch(url, { method, headers: { authorization: `Bearer ${other}` } });
      const unknown = await fetch(url.replace(jobId, madeUp), { method, headers: { authorization: `Bearer ${other}` } });
      expect(response.status, `${method} ${url}`).toBe(404);
      expect(unknown.status).toBe(404);
      const body = (await response.json()) as OperationOutcome;
      expect(body.issue[0]!.code).toBe('not-found');
      expect(JSON.stringify(body).split(jobId).join('{id}')).toBe(
        JSON.stringify(await unknown.json())
          .split(madeUp)
          .join('{id}'),
      );
    }
    expect((await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await download(fileUrl, token)).resources).toHaveLength(manifest.output[0]!.count);
  });

  it('refuses requests without a token (401 with WWW-Authenticate) at every step', async () => {
    const statusUrl = await startExport(server.fhirUrl, token, '$export', { query: { _type: 'Patient' } });
    const { manifest } = await pollStatus(statusUrl, token);
    const kick = await kickOff(server.fhirUrl, undefined, '$export');
    for (const response of [kick, await fetch(statusUrl), await fetch(manifest.output[0]!.url), await fetch(statusUrl, { method: 'DELETE' })]) {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });
});

describe('only what the scopes allow is exported', () => {
  it('a client registered for system/Patient.rs and system/Observation.rs exports only those types', async () => {
    const narrow = await (await backendClient(server.baseUrl, 'system/Patient.rs system/Observation.rs')).token();
    const manifest = await runExport(server.fhirUrl, narrow, '$export');
    expect([...new Set(manifest.output.map((f) => f.type))].sort()).toEqual(['Observation', 'Patient']);
  });

  it('asking for a type the scopes do not allow is a 403, or left out with handling=lenient', async () => {
    const narrow = await (await backendClient(server.baseUrl, 'system/Patient.rs')).token();
    const strict = await kickOff(server.fhirUrl, narrow, '$export', { query: { _type: 'Patient,Condition' } });
    expect(strict.status).toBe(403);
    expect(strict.headers.get('www-authenticate')).toContain('insufficient_scope');
    const lenient = await kickOff(server.fhirUrl, narrow, '$export', {
      query: { _type: 'Patient,Condition' },
      headers: { prefer: 'respond-async, handling=lenient' },
    });
    expect(lenient.status).toBe(202);
    const { manifest } = await pollStatus(lenient.headers.get('content-location')!, narrow);
    expect(manifest.output.map((f) => f.type)).toEqual(['Patient']);
  });

  it('a token without search rights on any type cannot export', async () => {
    const writer = await (await backendClient(server.baseUrl, 'system/Observation.c')).token();
    const response = await kickOff(server.fhirUrl, writer, '$export');
    expect(response.status).toBe(403);
  });

  it('granular scopes filter the export (system/Observation.rs?category=laboratory)', async () => {
    const lab = await (await backendClient(server.baseUrl, 'system/Observation.rs?category=laboratory')).token();
    const manifest = await runExport(server.fhirUrl, lab, '$export');
    const observations = (await downloadAll(manifest, lab)).get('Observation')!;
    expect(observations.length).toBeGreaterThan(0);
    for (const o of observations) expect(JSON.stringify((o as { category?: unknown }).category)).toContain('"laboratory"');
  });

  it("patient/ scopes export only the launch patient's compartment, at Patient level", async () => {
    const { access_token: patientToken, patient } = await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser launch/patient patient/*.rs' });
    expect(patient).toBe('patient-001');
    const manifest = await runExport(server.fhirUrl, patientToken, 'Patient/$export');
    const byType = await downloadAll(manifest, patientToken);
    expect(byType.get('Patient')!.map((p) => p.id)).toEqual(['patient-001']);
    expect(byType.get('Observation')!.length).toBeGreaterThan(0);
    for (const [type, resources] of byType) {
      for (const resource of resources) {
        // A Group is in the compartment of each of its members (R4 CompartmentDefinition).
        if (type === 'Group') {
          expect([...patientsOf(resource)]).toContain('patient-001');
          continue;
        }
        const patients = patientsOf(resource);
        // Compartment resources are patient-001's; referenced ones (practitioners ...) name no patient.
        if (patients.size) expect([...patients], `${type}/${resource.id}`).toEqual(['patient-001']);
      }
    }
    expect(byType.has('Practitioner')).toBe(false);
  });

  it("a practitioner's patient/ token with a picked patient reaches that patient only; a cohort Group is out of its reach", async () => {
    const { access_token: picked } = await userToken(server, { ...PRACTITIONER, scope: 'openid fhirUser launch/patient patient/*.rs', patient: 'patient-006' });
    const manifest = await runExport(server.fhirUrl, picked, 'Patient/$export', { query: { _type: 'Patient,Condition' } });
    const byType = await downloadAll(manifest, picked);
    const all: Resource[] = [...byType.values()].flat();
    expect(all.length).toBeGreaterThan(1);
    for (const resource of all) expect([...patientsOf(resource)]).toEqual(['patient-006']);
    // The cohort names other patients besides patient-006: it is not patient-006's record alone,
    // so its export answers as a made-up Group's does (access/own-records.ts).
    const answer = async (id: string) => {
      const response = await kickOff(server.fhirUrl, picked, `Group/${id}/$export`, { query: { _type: 'Patient,Observation' } });
      return { status: response.status, body: (await response.text()).split(id).join('{id}') };
    };
    const cohort = await answer('diabetes-cohort');
    expect(cohort.status).toBe(404);
    expect(cohort).toEqual(await answer('zz-made-up-cohort'));
  });
});
