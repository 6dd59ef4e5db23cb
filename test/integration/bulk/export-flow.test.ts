/**
 * Bulk Data $export end to end with a real backend-services client (client_credentials with a
 * signed JWT assertion): kick-off by GET and POST at the three levels, polling, the manifest,
 * downloads, the parameters (_type, _since, _typeFilter, _elements, patient), cancellation and
 * bad requests, on the sample data of fhir-data/ (12 patients, 4 Groups).
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Condition, Observation, OperationOutcome, Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientCompartmentTypes } from '../../../src/search/compartments.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { download, downloadAll, kickOff, patientsOf, pollStatus, runExport, startExport } from './support.js';

let server: TestServer;
let token: string;
let admin: string;
let counts: Record<string, number>;

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  token = await (await backendClient(server.baseUrl, 'system/*.rs')).token();
  admin = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
  counts = await server.bedside.storage.resources.countByType();
}, 120_000);
afterAll(async () => server?.stop());

async function search(query: string): Promise<{ total: number }> {
  const response = await fetch(`${server.fhirUrl}/${query}&_summary=count`, { headers: { authorization: `Bearer ${admin}` } });
  return (await response.json()) as { total: number };
}

describe('system-level export', () => {
  it('answers the kick-off with 202 and an absolute Content-Location, then 202 with X-Progress and Retry-After, then the manifest', async () => {
    const response = await kickOff(server.fhirUrl, token, '$export');
    expect(response.status).toBe(202);
    const statusUrl = response.headers.get('content-location')!;
    expect(statusUrl).toMatch(new RegExp(`^${server.fhirUrl}/bulkstatus/[0-9a-f-]{36}$`));
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');

    const { manifest, response: done, inProgress } = await pollStatus(statusUrl, token);
    for (const r of inProgress) {
      expect(r.headers.get('x-progress')).toBeTruthy();
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(done.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Date.parse(done.headers.get('expires')!)).toBeGreaterThan(Date.now());
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.request).toBe(`${server.fhirUrl}/$export`);
    expect(Date.parse(manifest.transactionTime)).toBeLessThanOrEqual(Date.now());
    expect(manifest.error).toEqual([]);
    // Every type in the store, each count as stored.
    const exported: Record<string, number> = {};
    for (const file of manifest.output) {
      expect(file.url.startsWith(`${server.fhirUrl}/bulkfiles/`)).toBe(true);
      exported[file.type] = (exported[file.type] ?? 0) + file.count;
    }
    expect(exported).toEqual(counts);
  });

  it("serves files as application/fhir+ndjson with Expires: one resource of the file's type per line", async () => {
    const manifest = await runExport(server.fhirUrl, token, '$export', { query: { _type: 'Patient,Observation' } });
    expect(manifest.output.map((f) => f.type).sort()).toEqual(['Observation', 'Patient']);
    for (const file of manifest.output) {
      const { response, resources, text } = await download(file.url, token);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/fhir+ndjson');
      expect(Date.parse(response.headers.get('expires')!)).toBeGreaterThan(Date.now());
      expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text));
      expect(text.endsWith('\n')).toBe(true);
      expect(resources).toHaveLength(file.count);
      expect(new Set(resources.map((r) => r.resourceType))).toEqual(new Set([file.type]));
      expect(new Set(resources.map((r) => r.id)).size).toBe(resources.length);
    }
    expect(manifest.output.find((f) => f.type === 'Observation')!.count).toBe(counts.Observation);
  });

  it('answers HEAD on a file with its headers and no body', async () => {
    const manifest = await runExport(server.fhirUrl, token, '$export', { query: { _type: 'Organization' } });
    const response = await fetch(manifest.output[0]!.url, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/fhir+ndjson');
    expect(await response.text()).toBe('');
  });

  it('_since exports only what changed at or after the instant', async () => {
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const current = (await (await fetch(`${server.fhirUrl}/Patient/patient-003`, { headers: { authorization: `Bearer ${admin}` } })).json()) as Patient;
    const put = await fetch(`${server.fhirUrl}/Patient/patient-003`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...current, active: false }),
    });
    expect(put.status).toBe(200);
    const manifest = await runExport(server.fhirUrl, token, '$export', { query: { _since: since } });
    expect(manifest.output.map((f) => [f.type, f.count])).toEqual([['Patient', 1]]);
    const [patient] = (await downloadAll(manifest, token)).get('Patient')!;
    expect(patient!.id).toBe('patient-003');
    expect((patient as Patient).active).toBe(false);
  });

  it('_typeFilter exports only the matching resources of its type; several filters for a type are ORed', async () => {
    const vital = await search('Observation?category=vital-signs');
    const lab = await search('Observation?category=laboratory');
    const one = await runExport(server.fhirUrl, token, '$export', { query: { _type: 'Observation,Patient', _typeFilter: 'Observation?category=vital-signs' } });
    const observations = (await downloadAll(one, token)).get('Observation') as Observation[];
    expect(observations).toHaveLength(vital.total);
    expect(observations.every((o) => o.category?.some((c) => c.coding?.some((x) => x.code === 'vital-signs')))).toBe(true);
    // Types without a filter are exported whole.
    expect(one.output.find((f) => f.type === 'Patient')!.count).toBe(counts.Patient);

    const two = await runExport(server.fhirUrl, token, '$export', {
      query: { _typeFilter: ['Observation?category=vital-signs', 'Observation?category=laboratory'], _type: 'Observation' },
    });
    expect(two.output.reduce((n, f) => n + f.count, 0)).toBe(vital.total + lab.total);
    // Comma-separated queries in one value are the same thing.
    const comma = await runExport(server.fhirUrl, token, '$export', {
      query: { _typeFilter: 'Observation?category=vital-signs,Observation?category=laboratory', _type: 'Observation' },
    });
    expect(comma.output.reduce((n, f) => n + f.count, 0)).toBe(vital.total + lab.total);
  });

  it('_elements keeps the listed and mandatory elements and marks resources SUBSETTED', async () => {
    const manifest = await runExport(server.fhirUrl, token, '$export', { query: { _type: 'Patient,Condition', _elements: 'Patient.gender,code' } });
    const byType = await downloadAll(manifest, token);
    for (const patient of byType.get('Patient') as Patient[]) {
      expect(Object.keys(patient).sort()).toEqual(['gender', 'id', 'meta', 'resourceType']);
      expect(patient.meta!.tag!.some((t) => t.code === 'SUBSETTED')).toBe(true);
    }
    for (const condition of byType.get('Condition') as Condition[]) {
      expect(condition.code).toBeDefined();
      expect(condition.subject).toBeDefined(); // mandatory
      expect(condition.onsetDateTime).toBeUndefined();
    }
  });

  it('accepts a POST kick-off with a Parameters body', async () => {
    const manifest = await runExport(server.fhirUrl, token, '$export', {
      parameters: [
        { name: '_type', valueString: 'Patient' },
        { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
        { name: '_since', valueInstant: '2000-01-01T00:00:00Z' },
      ],
    });
    expect(manifest.output.map((f) => [f.type, f.count])).toEqual([['Patient', counts.Patient]]);
    expect(manifest.request).toBe(`${server.fhirUrl}/$export`);
  });

  it('accepts the three _outputFormat spellings', async () => {
    for (const format of ['application/fhir+ndjson', 'application/ndjson', 'ndjson']) {
      const response = await kickOff(server.fhirUrl, token, '$export', { query: { _outputFormat: format, _type: 'Organization' } });
      expect(response.status).toBe(202);
      await pollStatus(response.headers.get('content-location')!, token);
    }
  });
});

describe('patient- and group-level export', () => {
  it('Patient/$export exports the Patient compartment of every patient, nothing outside it', async () => {
    const manifest = await runExport(server.fhirUrl, token, 'Patient/$export');
    const types = new Set(manifest.output.map((f) => f.type));
    for (const type of types) expect(['Patient', ...patientCompartmentTypes()]).toContain(type);
    for (const outside of ['Practitioner', 'Organization', 'Location', 'PractitionerRole']) expect(types.has(outside), outside).toBe(false);
    const exported = (type: string) => manifest.output.filter((f) => f.type === type).reduce((n, f) => n + f.count, 0);
    expect(exported('Observation')).toBe(counts.Observation);
    expect(exported('Patient')).toBe(counts.Patient);
    // A Group is in the compartment of its members (R4 CompartmentDefinition: Group.member).
    expect(exported('Group')).toBe(counts.Group);
  });

  it("Group/{id}/$export exports the compartments of the Group's members only", async () => {
    const manifest = await runExport(server.fhirUrl, token, 'Group/diabetes-cohort/$export', { query: { _type: 'Patient,Observation,Condition' } });
    const byType = await downloadAll(manifest, token);
    expect(
      byType
        .get('Patient')!
        .map((p) => p.id)
        .sort(),
    ).toEqual(['patient-001', 'patient-006']);
    for (const type of ['Observation', 'Condition']) {
      const resources = byType.get(type)!;
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect([...patientsOf(resource)].every((id) => ['patient-001', 'patient-006'].includes(id))).toBe(true);
    }
    const ownObservations = await search('Observation?patient=patient-001,patient-006');
    expect(byType.get('Observation')).toHaveLength(ownObservations.total);
  });

  it('POST patient limits a Group export to those members; non-members are reported in the error file', async () => {
    const manifest = await runExport(server.fhirUrl, token, 'Group/diabetes-cohort/$export', {
      parameters: [
        { name: '_type', valueString: 'Patient' },
        { name: 'patient', valueReference: { reference: 'Patient/patient-001' } },
        { name: 'patient', valueReference: { reference: 'Patient/patient-002' } },
      ],
    });
    const byType = await downloadAll(manifest, token);
    expect(byType.get('Patient')!.map((p) => p.id)).toEqual(['patient-001']);
    expect(manifest.error).toHaveLength(1);
    expect(manifest.error[0]!.type).toBe('OperationOutcome');
    const { resources } = await download(manifest.error[0]!.url, token);
    expect(JSON.stringify(resources)).toContain('Patient/patient-002 is not a member of Group/diabetes-cohort');
  });

  it('POST patient limits a Patient-level export; unknown patients are reported', async () => {
    const manifest = await runExport(server.fhirUrl, token, 'Patient/$export', {
      parameters: [
        { name: 'patient', valueReference: { reference: 'Patient/patient-003' } },
        { name: 'patient', valueReference: { reference: 'Patient/nobody' } },
      ],
    });
    const byType = await downloadAll(manifest, token);
    expect(byType.get('Patient')!.map((p) => p.id)).toEqual(['patient-003']);
    for (const resources of byType.values()) for (const r of resources) expect([...patientsOf(r)]).toContain('patient-003');
    const { resources } = await download(manifest.error[0]!.url, token);
    expect(JSON.stringify(resources)).toContain('Patient/nobody is not known');
  });

  it('404 for an unknown Group', async () => {
    const response = await kickOff(server.fhirUrl, token, 'Group/no-such-group/$export');
    expect(response.status).toBe(404);
    expect(((await response.json()) as OperationOutcome).resourceType).toBe('OperationOutcome');
  });

  it('advertises $export at system, Patient and Group level in the CapabilityStatement', async () => {
    const statement = (await (await fetch(`${server.fhirUrl}/metadata`)).json()) as {
      rest: Array<{
        operation?: Array<{ name: string; definition: string }>;
        resource: Array<{ type: string; operation?: Array<{ name: string; definition: string }> }>;
      }>;
    };
    const rest = statement.rest[0]!;
    expect(rest.operation).toContainEqual({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' });
    const of = (type: string) => rest.resource.find((r) => r.type === type)?.operation ?? [];
    expect(of('Patient')).toContainEqual({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export' });
    expect(of('Group')).toContainEqual({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export' });
  });

  it('has no $export at other levels', async () => {
    for (const pathname of ['Observation/$export', 'Patient/patient-001/$export', 'Group/$export']) {
      const response = await kickOff(server.fhirUrl, token, pathname);
      expect(response.status, pathname).toBe(404);
    }
  });
});

describe('cancellation', () => {
  it('DELETE on the status URL answers 202, then the status URL answers 404 with an OperationOutcome', async () => {
    const statusUrl = await startExport(server.fhirUrl, token, '$export');
    const deleted = await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect(deleted.status).toBe(202);
    expect(((await deleted.json()) as OperationOutcome).resourceType).toBe('OperationOutcome');
    const after = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(404);
    expect(((await after.json()) as OperationOutcome).issue[0]!.code).toBe('not-found');
    // The files go too (a running job's node removes them at its next checkpoint).
    const folder = path.join(server.config.export.dir, statusUrl.split('/').pop()!);
    await expect.poll(() => existsSync(folder), { timeout: 5000 }).toBe(false);
    expect((await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it('cancelling a completed export deletes its files at once', async () => {
    const statusUrl = await startExport(server.fhirUrl, token, '$export', { query: { _type: 'Patient' } });
    const { manifest } = await pollStatus(statusUrl, token);
    expect((await download(manifest.output[0]!.url, token)).response.status).toBe(200);
    expect((await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(202);
    expect((await download(manifest.output[0]!.url, token)).response.status).toBe(404);
    expect(existsSync(path.join(server.config.export.dir, statusUrl.split('/').pop()!))).toBe(false);
  });
});

describe('bad kick-off requests are refused with an OperationOutcome', () => {
  const cases: Array<{
    name: string;
    path?: string;
    query?: Record<string, string>;
    parameters?: Array<Record<string, unknown>>;
    headers?: Record<string, string>;
    body?: string;
    status?: number;
    lenientStatus?: number;
  }> = [
    { name: 'no Prefer: respond-async', headers: { prefer: 'return=minimal' } },
    { name: 'an unknown parameter', query: { foo: 'bar' }, lenientStatus: 202 },
    { name: 'includeAssociatedData (not supported)', query: { includeAssociatedData: 'LatestProvenanceResources' }, lenientStatus: 202 },
    { name: '_outputFormat text/csv', query: { _outputFormat: 'text/csv' } },
    { name: '_since that is not an instant', query: { _since: 'yesterday' } },
    { name: '_type with an unknown type', query: { _type: 'Patient,Spaceship' }, lenientStatus: 202 },
    { name: '_typeFilter without a type', query: { _typeFilter: 'category=laboratory' }, lenientStatus: 202 },
    { name: '_typeFilter with an unknown parameter', query: { _typeFilter: 'Observation?colour=blue' }, lenientStatus: 202 },
    { name: '_typeFilter with a result parameter', query: { _typeFilter: 'Observation?_sort=date' }, lenientStatus: 202 },
    { name: '_typeFilter for a type _type leaves out', query: { _type: 'Patient', _typeFilter: 'Observation?category=laboratory' }, lenientStatus: 202 },
    { name: '_elements that is not an element', query: { _elements: 'name.given' }, lenientStatus: 202 },
    { name: 'patient at system level', parameters: [{ name: 'patient', valueReference: { reference: 'Patient/patient-001' } }], lenientStatus: 202 },
    { name: 'patient on GET', path: 'Patient/$export', query: { patient: 'Patient/patient-001' }, lenientStatus: 202 },
    {
      name: 'patient that is not a Patient reference',
      path: 'Patient/$export',
      parameters: [{ name: 'patient', valueReference: { reference: 'Group/x' } }],
      lenientStatus: 202,
    },
    { name: 'a non-compartment _type at Patient level', path: 'Patient/$export', query: { _type: 'Practitioner' }, lenientStatus: 202 },
    { name: '_since twice', query: { _since: '2020-01-01T00:00:00Z' }, parameters: [{ name: '_since', valueInstant: '2021-01-01T00:00:00Z' }] },
    { name: 'a POST body that is not Parameters', body: JSON.stringify({ resourceType: 'Patient' }) },
    { name: 'a parameter without a value', parameters: [{ name: '_type' }] },
  ];
  for (const c of cases) {
    it(`400 for ${c.name}${c.lenientStatus ? ', accepted with Prefer: handling=lenient' : ''}`, async () => {
      const send = (prefer: string) => {
        const options = { ...(c.query ? { query: c.query } : {}), ...(c.parameters ? { parameters: c.parameters } : {}), headers: { prefer, ...c.headers } };
        if (c.body) {
          return fetch(`${server.fhirUrl}/${c.path ?? '$export'}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, prefer, 'content-type': 'application/fhir+json' },
            body: c.body,
          });
        }
        return kickOff(server.fhirUrl, token, c.path ?? '$export', options);
      };
      const strict = await send('respond-async');
      expect(strict.status).toBe(c.status ?? 400);
      const outcome = (await strict.json()) as OperationOutcome;
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0]!.severity).toBe('error');
      if (c.lenientStatus) {
        const lenient = await send('respond-async, handling=lenient');
        expect(lenient.status).toBe(c.lenientStatus);
        const body = (await lenient.json()) as OperationOutcome;
        expect(body.issue.some((i) => i.severity === 'warning' && i.diagnostics?.startsWith('Ignored'))).toBe(true);
        await fetch(lenient.headers.get('content-location')!, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      }
    });
  }

  it('404 for an unknown status URL, with an OperationOutcome', async () => {
    for (const id of ['00000000-0000-0000-0000-000000000000', 'not-a-job']) {
      const response = await fetch(`${server.fhirUrl}/bulkstatus/${id}`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(404);
      expect(((await response.json()) as OperationOutcome).resourceType).toBe('OperationOutcome');
    }
  });

  it('404 for a file the export does not have', async () => {
    const manifest = await runExport(server.fhirUrl, token, '$export', { query: { _type: 'Organization' } });
    const url = manifest.output[0]!.url;
    for (const name of ['Patient-1.ndjson', '..%2F..%2Fbedside.db', 'errors-1.ndjson']) {
      const response = await fetch(url.replace(/[^/]+$/, name), { headers: { authorization: `Bearer ${token}` } });
      expect(response.status, name).toBe(404);
    }
  });
});
