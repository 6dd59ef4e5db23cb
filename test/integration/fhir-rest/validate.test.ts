/**
 * `$validate` and profile validation of writes over real HTTP, against R4 core's own profiles
 * (heartrate, bp: built in, no package needed): the OperationOutcome a client gets, with element
 * paths; the stored resource validated through the caller's policy; a write that breaks a
 * profile it claims refused with 422 (and nothing stored), or accepted with VALIDATE_PROFILES=off.
 * https://hl7.org/fhir/R4/resource-operation-validate.html
 */
import type { OperationOutcome } from 'fhir/r4';
import { Client } from 'fhir-kit-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, userToken } from '../../support/user-tokens.js';

const HEART_RATE = 'http://hl7.org/fhir/StructureDefinition/heartrate';
const BP = 'http://hl7.org/fhir/StructureDefinition/bp';
const JSON_HEADERS = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };

type Json = Record<string, any>;

const heartRate = (extra: Json = {}): Json => ({
  resourceType: 'Observation',
  meta: { profile: [HEART_RATE] },
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: 'Patient/patient-001' },
  effectiveDateTime: '2024-05-01T09:30:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  ...extra,
});

let server: TestServer;
let auth: Record<string, string>;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, on = server) {
  const response = await fetch(`${on.fhirUrl}/${path}`, {
    method,
    headers: { ...JSON_HEADERS, ...auth, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : undefined };
}

const paths = (outcome: Json | undefined) => (outcome!.issue as Json[]).map((i) => `${i.severity} ${i.expression?.[0] ?? ''}`);

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  auth = { authorization: `Bearer ${await (await backendClient(server.baseUrl)).token()}` };
}, 120_000);
afterAll(async () => {
  await server.stop();
});

describe('$validate', () => {
  it('answers a conforming resource with one informational issue naming what it checked', async () => {
    const { status, body } = await call('POST', 'Observation/$validate', heartRate());
    expect(status).toBe(200);
    expect(body).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational', diagnostics: `No issues found (checked against R4 and ${HEART_RATE})` }],
    });
  });

  it('lists R4 errors and profile errors with their element paths, still with 200', async () => {
    const resource = heartRate({ status: 'bogus', code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] } });
    resource.valueQuantity.code = 'mm[Hg]';
    const { status, body } = await call('POST', 'Observation/$validate', resource);
    expect(status).toBe(200);
    expect(body!.resourceType).toBe('OperationOutcome');
    expect(paths(body)).toEqual(['error Observation.status', 'error Observation.code.coding', 'error Observation.valueQuantity.code']);
    expect(body!.issue[2]).toEqual({
      severity: 'error',
      code: 'value',
      diagnostics: `must be exactly "/min", not "mm[Hg]" (profile ${HEART_RATE})`,
      expression: ['Observation.valueQuantity.code'],
    });
  });

  it('checks against the profile parameter as well as the declared ones; mode=profile against the parameter only', async () => {
    const both = await call('POST', `Observation/$validate?profile=${encodeURIComponent(BP)}`, heartRate());
    expect(paths(both.body)).toContain('error Observation.component');
    const parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: heartRate({ meta: { profile: [BP] } }) },
        { name: 'mode', valueCode: 'profile' },
        { name: 'profile', valueUri: HEART_RATE },
      ],
    };
    const only = await call('POST', 'Observation/$validate', parameters);
    expect(only.status).toBe(200);
    expect(only.body!.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
  });

  it('warns about a profile it does not have, without failing the resource', async () => {
    const unknown = 'http://example.org/fhir/StructureDefinition/not-here';
    const { status, body } = await call('POST', 'Observation/$validate', heartRate({ meta: { profile: [unknown] } }));
    expect(status).toBe(200);
    expect(body!.issue).toEqual([
      {
        severity: 'warning',
        code: 'not-found',
        diagnostics: `profile ${unknown} is not known here, so the resource was not checked against it`,
        expression: ['Observation'],
      },
    ]);
  });

  it('validates a stored resource at instance level (GET and POST), read through the policy', async () => {
    const created = await call('POST', 'Observation', heartRate(), { prefer: 'return=representation' });
    expect(created.status).toBe(201);
    const id = created.body!.id as string;
    const ok = await call('GET', `Observation/${id}/$validate`);
    expect(ok.status).toBe(200);
    expect(ok.body!.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
    const againstBp = await call('GET', `Observation/${id}/$validate?profile=${encodeURIComponent(BP)}`);
    expect(paths(againstBp.body)).toContain('error Observation.component');
    expect((await call('GET', 'Observation/nope/$validate')).status).toBe(404);

    const patientToken = await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser launch/patient patient/*.rs', patient: 'patient-001' });
    const asPatient = { authorization: `Bearer ${patientToken.access_token}` };
    const own = await call('POST', 'Observation/$validate', heartRate(), asPatient);
    expect(own.status).toBe(200);
    const others = (await call('GET', 'Observation?subject=Patient/patient-002&_count=1')).body!.entry[0].resource.id as string;
    const forbidden = await call('GET', `Observation/${others}/$validate`, undefined, asPatient);
    expect([403, 404]).toContain(forbidden.status);
    expect(forbidden.body!.resourceType).toBe('OperationOutcome');
  }, 60_000);

  it('checks mode=update (the id) and mode=delete (the resource exists)', async () => {
    const update = await call('POST', 'Observation/abc/$validate?mode=update', heartRate({ id: 'xyz' }));
    expect(update.status).toBe(200);
    expect(update.body!.issue).toEqual([
      { severity: 'error', code: 'value', diagnostics: 'The id "xyz" does not match the URL ("abc")', expression: ['Observation.id'] },
    ]);
    expect((await call('GET', 'Patient/patient-001/$validate?mode=delete')).body!.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
    expect((await call('GET', 'Patient/nope/$validate?mode=delete')).status).toBe(404);
  });

  it.each([
    ['no resource at type level', 'POST', 'Observation/$validate', undefined, 'Nothing to validate'],
    ['a resource of another type', 'POST', 'Observation/$validate', { resourceType: 'Patient' }, 'not a Observation'],
    ['an unknown mode', 'POST', 'Observation/$validate?mode=strict', heartRate(), 'Unknown $validate mode'],
    ['mode=profile without a profile', 'POST', 'Observation/$validate?mode=profile', heartRate(), 'needs a profile parameter'],
    ['an unknown parameter', 'POST', 'Observation/$validate?lenient=true', heartRate(), 'Unknown parameter'],
    [
      'two resources in Parameters',
      'POST',
      'Observation/$validate',
      {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: heartRate() },
          { name: 'resource', resource: heartRate() },
        ],
      },
      'one resource',
    ],
  ])('refuses %s with 400', async (_what, method, path, body, words) => {
    const { status, body: outcome } = await call(method, path, body);
    expect(status).toBe(400);
    expect(outcome!.issue[0].diagnostics).toContain(words);
  });

  it('works from fhir-kit-client as a type-level operation', async () => {
    const client = new Client({ baseUrl: server.fhirUrl, customHeaders: auth });
    const outcome = (await client.operation({
      name: '$validate',
      resourceType: 'Observation',
      method: 'POST',
      input: heartRate({ status: 'bogus' }),
    })) as unknown as OperationOutcome;
    expect(outcome.issue.map((i) => i.expression?.[0])).toEqual(['Observation.status']);
  });

  it('is listed in the CapabilityStatement at type and instance level', async () => {
    const statement = (await (await fetch(`${server.fhirUrl}/metadata`)).json()) as Json;
    const observation = (statement.rest[0].resource as Json[]).find((r) => r.type === 'Observation')!;
    expect(observation.operation).toContainEqual(
      expect.objectContaining({ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }),
    );
  });
});

describe('writes under VALIDATE_PROFILES=declared (the default)', () => {
  const count = async (code: string) => (await call('GET', `Observation?code=${code}&_summary=count`)).body!.total as number;

  it('refuses a resource that breaks a profile it claims with 422 and the path, and stores nothing', async () => {
    const before = await count('http://loinc.org|8480-6');
    const { status, body } = await call('POST', 'Observation', heartRate({ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] } }));
    expect(status).toBe(422);
    expect(body!.issue[0]).toMatchObject({
      severity: 'error',
      code: 'processing',
      diagnostics: expect.stringContaining('does not conform to the profiles it claims'),
    });
    expect(body!.issue.slice(1)).toEqual([expect.objectContaining({ severity: 'error', code: 'required', expression: ['Observation.code.coding'] })]);
    expect(await count('http://loinc.org|8480-6')).toBe(before);
  });

  it('checks updates, patches and transaction entries too', async () => {
    const created = await call('POST', 'Observation', heartRate(), { prefer: 'return=representation' });
    const id = created.body!.id as string;
    const put = await call(
      'PUT',
      `Observation/${id}`,
      heartRate({ id, valueQuantity: { value: 72, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }),
    );
    expect(put.status).toBe(422);
    expect(put.body!.issue[1].expression).toEqual(['Observation.valueQuantity.code']);
    const patch = await call('PATCH', `Observation/${id}`, [{ op: 'remove', path: '/category' }], { 'content-type': 'application/json-patch+json' });
    expect(patch.status).toBe(422);
    expect(patch.body!.issue[1].expression).toEqual(['Observation.category']);
    const transaction = await call('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:1b9e0c7c-9f5d-4a43-9d43-6c8c5f0a0001', resource: heartRate(), request: { method: 'POST', url: 'Observation' } },
        {
          fullUrl: 'urn:uuid:1b9e0c7c-9f5d-4a43-9d43-6c8c5f0a0002',
          resource: heartRate({ category: undefined }),
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    expect(transaction.status).toBe(422);
    expect(JSON.stringify(transaction.body)).toContain('Observation.category');
  });

  it('accepts a resource claiming a profile it does not have, with a warning in the OperationOutcome', async () => {
    const unknown = 'http://example.org/fhir/StructureDefinition/not-here';
    const { status, body } = await call('POST', 'Observation', heartRate({ meta: { profile: [unknown] } }), { prefer: 'return=OperationOutcome' });
    expect(status).toBe(201);
    expect(body!.issue).toEqual([
      expect.objectContaining({ severity: 'information' }),
      {
        severity: 'warning',
        code: 'not-found',
        diagnostics: `profile ${unknown} is not known here, so the resource was not checked against it`,
        expression: ['Observation'],
      },
    ]);
    const batch = await call('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: heartRate({ meta: { profile: [unknown] } }), request: { method: 'POST', url: 'Observation' } }],
    });
    expect(batch.body!.entry[0].response.status).toMatch(/^201/);
    expect(batch.body!.entry[0].response.outcome.issue[1]).toMatchObject({ severity: 'warning', code: 'not-found' });
  });

  it('accepts the same broken resource when VALIDATE_PROFILES=off', async () => {
    const off = await startTestServer({ validateProfiles: 'off' });
    try {
      const token = await (await backendClient(off.baseUrl)).token();
      const response = await call(
        'POST',
        'Observation',
        heartRate({ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] } }),
        { authorization: `Bearer ${token}` },
        off,
      );
      expect(response.status).toBe(201);
    } finally {
      await off.stop();
    }
  });
});
