/**
 * FHIRPath Patch over real HTTP (https://hl7.org/fhir/R4/fhirpatch.html, http.html#patch): a
 * Parameters body in JSON and in XML, the result validated like an update, errors that name the
 * failing operation (400/422, never 500) with nothing written, If-Match, conditional patch, the
 * token's scopes, and PATCH entries of transactions (FHIRPath Patch and JSON Patch in a Binary).
 */
import type { ParametersParameter } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceFromXml, resourceToXml } from '../../../src/fhir/xml/index.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

type Json = Record<string, any>;

let server: TestServer;
let base: string;
let writer: Record<string, string>;
let reader: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  base = server.fhirUrl;
  writer = { authorization: `Bearer ${await (await backendClient(server.baseUrl, 'system/*.cruds')).token()}` };
  reader = { authorization: `Bearer ${await (await backendClient(server.baseUrl, 'system/*.rs')).token()}` };
});
afterAll(async () => {
  await server.stop();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/${path}`, {
    method,
    headers: { 'content-type': 'application/fhir+json', ...writer, ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  const json = text && (response.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as Json) : undefined;
  return { status: response.status, headers: response.headers, text, body: json };
}

const op = (type: string, path: string, extra: ParametersParameter[] = []): ParametersParameter => ({
  name: 'operation',
  part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...extra],
});
const patch = (...operations: ParametersParameter[]) => ({ resourceType: 'Parameters', parameter: operations });

async function freshPatient(id: string): Promise<void> {
  const put = await call('PUT', `Patient/${id}`, {
    resourceType: 'Patient',
    id,
    identifier: [{ system: 'urn:test:fpp', value: id }],
    name: [{ use: 'official', family: 'Shaw', given: ['Amy', 'E'] }],
    telecom: [
      { system: 'phone', value: '1' },
      { system: 'email', value: 'a@example.org' },
    ],
    gender: 'female',
    birthDate: '1987-02-20',
  });
  expect(put.status).toBeLessThan(300);
}

describe('PATCH with a FHIRPath Patch', () => {
  it('applies add, insert, delete, replace and move in one request (application/fhir+json)', async () => {
    await freshPatient('fpp-1');
    const response = await call(
      'PATCH',
      'Patient/fpp-1',
      patch(
        op('add', 'Patient', [
          { name: 'name', valueString: 'active' },
          { name: 'value', valueBoolean: true },
        ]),
        op('insert', 'Patient.name[0].given', [
          { name: 'index', valueInteger: 1 },
          { name: 'value', valueString: 'Elizabeth' },
        ]),
        op('delete', "Patient.name[0].given.where($this = 'E')"),
        op('replace', "Patient.name.where(use = 'official').family", [{ name: 'value', valueString: 'Shaw-Smith' }]),
        op('move', 'Patient.telecom', [
          { name: 'source', valueInteger: 1 },
          { name: 'destination', valueInteger: 0 },
        ]),
      ),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('W/"2"');
    expect(response.body).toMatchObject({
      active: true,
      name: [{ family: 'Shaw-Smith', given: ['Amy', 'Elizabeth'] }],
      telecom: [{ system: 'email' }, { system: 'phone' }],
      meta: { versionId: '2' },
    });
    expect((await call('GET', 'Patient/fpp-1')).body).toEqual(response.body);
  });

  it('takes the Parameters in XML and answers in XML', async () => {
    await freshPatient('fpp-xml');
    const body = resourceToXml(patch(op('replace', 'Patient.birthDate', [{ name: 'value', valueDate: '1990-01-02' }])));
    const response = await call('PATCH', 'Patient/fpp-xml', body, { 'content-type': 'application/fhir+xml', accept: 'application/fhir+xml' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/fhir+xml; charset=utf-8');
    expect(resourceFromXml(response.text)).toMatchObject({ id: 'fpp-xml', birthDate: '1990-01-02' });
  });

  it('validates the result like an update: 400 with the element, nothing written', async () => {
    await freshPatient('fpp-invalid');
    const response = await call('PATCH', 'Patient/fpp-invalid', patch(op('replace', 'Patient.birthDate', [{ name: 'value', valueString: 'last tuesday' }])));
    expect(response.status).toBe(400);
    expect(response.body!.issue.some((i: Json) => i.expression?.includes('Patient.birthDate'))).toBe(true);
    const gender = await call('PATCH', 'Patient/fpp-invalid', patch(op('replace', 'Patient.gender', [{ name: 'value', valueCode: 'robot' }])));
    expect(gender.status).toBe(400);
    expect(JSON.stringify(gender.body)).toContain('required value set');
    expect((await call('GET', 'Patient/fpp-invalid')).body!.meta.versionId).toBe('1');
  });

  it('names the failing operation in 400 and 422 OperationOutcomes, writes nothing, and never answers 500', async () => {
    await freshPatient('fpp-errors');
    const cases: Array<[unknown, number, string]> = [
      [
        patch(op('delete', 'Patient.telecom[5]'), op('replace', 'Patient.deceased', [{ name: 'value', valueBoolean: true }])),
        422,
        'FHIRPath Patch operation 2 (replace Patient.deceased): the path selects nothing',
      ],
      [
        patch(
          op('add', 'Patient.__proto__', [
            { name: 'name', valueString: 'polluted' },
            { name: 'value', valueString: 'x' },
          ]),
        ),
        422,
        'operation 1 (add Patient.__proto__)',
      ],
      [patch(op('delete', 'Patient.descendants()')), 400, 'descendants() is not allowed'],
      [patch(op('replace', 'Patient.name[', [{ name: 'value', valueString: 'x' }])), 400, 'not valid FHIRPath'],
      [patch(op('teleport', 'Patient.name')), 400, '"type" must be one of'],
      [{ resourceType: 'Parameters' }, 400, 'at least one "operation"'],
      [{ resourceType: 'Parameters', parameter: [{ name: 'operation', valueString: 'x' }] }, 400, 'operation 1'],
      [{ resourceType: 'Patient' }, 400, 'takes a Parameters resource'],
      ['{"resourceType":"Parameters","parameter":', 400, 'not valid JSON'],
    ];
    for (const [body, status, text] of cases) {
      const response = await call('PATCH', 'Patient/fpp-errors', body);
      expect(response.status, text).toBe(status);
      expect(response.body!.resourceType).toBe('OperationOutcome');
      expect(response.body!.issue.map((i: Json) => i.diagnostics).join(' | '), text).toContain(text);
    }
    expect((await call('GET', 'Patient/fpp-errors')).body!.meta.versionId).toBe('1');
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('keeps If-Match (412 on a stale version) and conditional patch, and needs the update scope', async () => {
    await freshPatient('fpp-guard');
    const body = patch(op('replace', 'Patient.gender', [{ name: 'value', valueCode: 'other' }]));
    expect((await call('PATCH', 'Patient/fpp-guard', body, { 'if-match': 'W/"7"' })).status).toBe(412);
    expect((await call('PATCH', 'Patient/fpp-guard', body, reader)).status).toBe(403);
    const conditional = await call('PATCH', 'Patient?identifier=urn:test:fpp|fpp-guard', body, { 'if-match': 'W/"1"' });
    expect(conditional.status).toBe(200);
    expect(conditional.body).toMatchObject({ id: 'fpp-guard', gender: 'other' });
    expect((await call('PATCH', 'Patient/fpp-absent', body)).status).toBe(404);
  });
});

describe('PATCH entries in a transaction', () => {
  it('apply a FHIRPath Patch (Parameters) and a JSON Patch (Binary) in one transaction', async () => {
    await freshPatient('fpp-tx-1');
    await freshPatient('fpp-tx-2');
    const jsonPatch = Buffer.from(JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }])).toString('base64');
    const response = await call(
      'POST',
      '',
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: patch(
              op('add', 'Patient', [
                { name: 'name', valueString: 'active' },
                { name: 'value', valueBoolean: false },
              ]),
            ),
            request: { method: 'PATCH', url: 'Patient/fpp-tx-1' },
          },
          {
            resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: jsonPatch },
            request: { method: 'PATCH', url: 'Patient/fpp-tx-2' },
          },
        ],
      },
      { prefer: 'return=representation' },
    );
    expect(response.status).toBe(200);
    expect(response.body!.entry.map((e: Json) => e.response.status)).toEqual(['200 OK', '200 OK']);
    expect((await call('GET', 'Patient/fpp-tx-1')).body).toMatchObject({ active: false, meta: { versionId: '2' } });
    expect((await call('GET', 'Patient/fpp-tx-2')).body).toMatchObject({ gender: 'male', meta: { versionId: '2' } });
  });

  it('roll the whole transaction back when a FHIRPath Patch entry fails, naming the entry and the operation', async () => {
    await freshPatient('fpp-tx-3');
    const response = await call('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', id: 'fpp-tx-new', gender: 'male' }, request: { method: 'PUT', url: 'Patient/fpp-tx-new' } },
        {
          resource: patch(op('replace', 'Patient.multipleBirth', [{ name: 'value', valueBoolean: true }])),
          request: { method: 'PATCH', url: 'Patient/fpp-tx-3' },
        },
      ],
    });
    expect(response.status).toBe(422);
    expect(response.body!.issue[0].diagnostics).toContain(
      'Bundle.entry[1] (PATCH Patient/fpp-tx-3): FHIRPath Patch operation 1 (replace Patient.multipleBirth)',
    );
    expect((await call('GET', 'Patient/fpp-tx-new')).status).toBe(404);
  });

  it('in a batch, a failing PATCH entry fails alone', async () => {
    await freshPatient('fpp-batch');
    const response = await call('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: patch(op('delete', 'Patient.telecom')), request: { method: 'PATCH', url: 'Patient/fpp-batch' } },
        { resource: patch(op('delete', "Patient.telecom.where(system = 'phone')")), request: { method: 'PATCH', url: 'Patient/fpp-batch' } },
        { resource: { resourceType: 'Observation' }, request: { method: 'PATCH', url: 'Patient/fpp-batch' } },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body!.entry.map((e: Json) => e.response.status)).toEqual(['422 Unprocessable Entity', '200 OK', '415 Unsupported Media Type']);
    expect((await call('GET', 'Patient/fpp-batch')).body!.telecom).toEqual([{ system: 'email', value: 'a@example.org' }]);
  });
});
