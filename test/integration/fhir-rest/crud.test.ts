/**
 * FHIR REST interactions over real HTTP: read, vread, create, update (and update-as-create),
 * delete, history, conditional create/update/delete, PATCH, headers and Prefer.
 * https://hl7.org/fhir/R4/http.html
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateForWrite } from '../../../src/fhir/validation.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

let server: TestServer;
let base: string;
let auth: Record<string, string>;

const JSON_HEADERS = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/${path}`, {
    method,
    headers: { ...JSON_HEADERS, ...auth, ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

const patient = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: `MRN-${Math.random().toString(36).slice(2)}` }],
  name: [{ family: 'Shaw', given: ['Amy'] }],
  gender: 'female',
  birthDate: '1987-02-20',
  ...extra,
});

beforeAll(async () => {
  server = await startTestServer();
  base = server.fhirUrl;
  auth = { authorization: `Bearer ${await (await backendClient(server.baseUrl)).token()}` };
});
afterAll(async () => {
  await server.stop();
});

describe('metadata', () => {
  it('serves a CapabilityStatement that is valid R4, publicly, listing every resource type with its search parameters', async () => {
    const response = await fetch(`${base}/metadata`);
    expect(response.status).toBe(200);
    const statement = (await response.json()) as Record<string, any>;
    expect(() => validateForWrite(statement, 'CapabilityStatement')).not.toThrow();
    expect(statement).toMatchObject({
      resourceType: 'CapabilityStatement',
      fhirVersion: '4.0.1',
      kind: 'instance',
      format: expect.arrayContaining(['application/fhir+json']),
    });
    const rest = statement.rest[0];
    expect(rest.resource).toHaveLength(146);
    const patient = rest.resource.find((r: any) => r.type === 'Patient');
    expect(patient.interaction.map((i: any) => i.code)).toEqual(
      expect.arrayContaining(['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type']),
    );
    expect(patient.searchParam.map((p: any) => p.name)).toEqual(expect.arrayContaining(['name', 'birthdate', 'identifier', '_id', '_lastUpdated']));
    expect(rest.interaction.map((i: any) => i.code)).toEqual(expect.arrayContaining(['transaction', 'batch', 'search-system', 'history-system']));
    expect(rest.security.extension[0].url).toBe('http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
  });

  it('declares that it instantiates the Bulk Data CapabilityStatement, whose $export it offers', async () => {
    const statement = (await (await fetch(`${base}/metadata`)).json()) as Record<string, any>;
    expect(statement.instantiates).toEqual(['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data']);
    expect(statement.rest[0].operation).toContainEqual({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' });
  });
});

describe('create and read', () => {
  it('creates with a server-assigned id and returns Location, ETag, Last-Modified and the resource', async () => {
    const res = await call('POST', 'Patient', patient({ id: 'client-chosen' }));
    expect(res.status).toBe(201);
    const id = res.body!.id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(id).not.toBe('client-chosen');
    expect(res.headers.get('location')).toBe(`${base}/Patient/${id}/_history/1`);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('last-modified')).toBe(new Date(res.body!.meta.lastUpdated).toUTCString());
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(res.body!.meta.versionId).toBe('1');

    const read = await call('GET', `Patient/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
    expect(read.headers.get('etag')).toBe('W/"1"');
  });

  it('answers 404 with an OperationOutcome for an unknown id, and for an unknown type', async () => {
    const missing = await call('GET', 'Patient/does-not-exist');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
    const unknownType = await call('GET', 'Pateint/1');
    expect(unknownType.status).toBe(404);
    expect(unknownType.body!.issue[0].diagnostics).toContain('Unknown resource type "Pateint"');
  });

  it('answers 304 to a conditional read with the current ETag', async () => {
    const created = await call('POST', 'Patient', patient());
    const res = await fetch(`${base}/Patient/${created.body!.id}`, { headers: { ...auth, 'if-none-match': 'W/"1"' } });
    expect(res.status).toBe(304);
  });

  it('honours Prefer: return=minimal and return=OperationOutcome', async () => {
    const minimal = await call('POST', 'Patient', patient(), { prefer: 'return=minimal' });
    expect(minimal.status).toBe(201);
    expect(minimal.body).toBeUndefined();
    expect(minimal.headers.get('location')).toMatch(/\/Patient\/[0-9a-f-]+\/_history\/1$/);
    const outcome = await call('POST', 'Patient', patient(), { prefer: 'return=OperationOutcome' });
    expect(outcome.status).toBe(201);
    expect(outcome.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'information' }] });
  });
});

describe('update, vread, delete and history', () => {
  it('creates with the client id on PUT, then versions every update', async () => {
    const first = await call('PUT', 'Patient/put-create-1', patient({ id: 'put-create-1' }));
    expect(first.status).toBe(201);
    expect(first.body!.meta.versionId).toBe('1');
    const second = await call('PUT', 'Patient/put-create-1', patient({ id: 'put-create-1', gender: 'other' }));
    expect(second.status).toBe(200);
    expect(second.body!.meta.versionId).toBe('2');
    expect(second.headers.get('etag')).toBe('W/"2"');
    const v1 = await call('GET', 'Patient/put-create-1/_history/1');
    expect(v1.status).toBe(200);
    expect(v1.body!.gender).toBe('female');
    const v3 = await call('GET', 'Patient/put-create-1/_history/3');
    expect(v3.status).toBe(404);
  });

  it('refuses a stale If-Match with 412 and accepts the current one', async () => {
    await call('PUT', 'Patient/if-match-1', patient({ id: 'if-match-1' }));
    await call('PUT', 'Patient/if-match-1', patient({ id: 'if-match-1', gender: 'male' }));
    const stale = await call('PUT', 'Patient/if-match-1', patient({ id: 'if-match-1' }), { 'if-match': 'W/"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body!.resourceType).toBe('OperationOutcome');
    const current = await call('PUT', 'Patient/if-match-1', patient({ id: 'if-match-1' }), { 'if-match': 'W/"2"' });
    expect(current.status).toBe(200);
    expect(current.body!.meta.versionId).toBe('3');
  });

  it('deletes as a new version: read gives 410, vread of the old version still works, history shows the deletion', async () => {
    await call('PUT', 'Patient/to-delete', patient({ id: 'to-delete' }));
    const deleted = await call('DELETE', 'Patient/to-delete');
    expect(deleted.status).toBe(200);
    expect(deleted.body!.resourceType).toBe('OperationOutcome');
    expect(deleted.headers.get('etag')).toBe('W/"2"');
    const read = await call('GET', 'Patient/to-delete');
    expect(read.status).toBe(410);
    expect(read.body!.issue[0].code).toBe('deleted');
    expect((await call('GET', 'Patient/to-delete/_history/1')).status).toBe(200);
    expect((await call('GET', 'Patient/to-delete/_history/2')).status).toBe(410);
    const again = await call('DELETE', 'Patient/to-delete');
    expect(again.status).toBe(200);
    const history = await call('GET', 'Patient/to-delete/_history');
    expect(history.body).toMatchObject({ resourceType: 'Bundle', type: 'history', total: 2 });
    expect(history.body!.entry.map((e: any) => e.request.method)).toEqual(['DELETE', 'PUT']);
    expect(history.body!.entry[0].resource).toBeUndefined();
    expect(history.body!.entry[0].response).toMatchObject({ status: '204 No Content', etag: 'W/"2"' });
    const recreated = await call('PUT', 'Patient/to-delete', patient({ id: 'to-delete' }));
    expect(recreated.status).toBe(201);
    expect(recreated.body!.meta.versionId).toBe('3');
  });

  it('pages type and system history newest first with _count, _since and next links', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call('POST', 'Practitioner', { resourceType: 'Practitioner', name: [{ family: `P${i}` }] })).body!.id);
    const page1 = await call('GET', 'Practitioner/_history?_count=2');
    expect(page1.body!.entry).toHaveLength(2);
    expect(page1.body!.total).toBe(5);
    const seen = page1.body!.entry.map((e: any) => e.resource.id);
    let next = page1.body!.link.find((l: any) => l.relation === 'next')?.url as string | undefined;
    while (next) {
      const page = await (await fetch(next, { headers: auth })).json();
      seen.push(...page.entry.map((e: any) => e.resource.id));
      next = page.link.find((l: any) => l.relation === 'next')?.url;
    }
    expect(seen).toEqual([...ids].reverse());
    const future = await call('GET', `_history?_since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.body!.total).toBe(0);
    const bad = await call('GET', '_history?_since=yesterday');
    expect(bad.status).toBe(400);
  });

  it('refuses an impossible _since or _at date (never rolled over into the next month)', async () => {
    await call('PUT', 'Patient/since-check', patient({ id: 'since-check' }));
    for (const path of [
      '_history?_since=2020-02-31',
      'Practitioner/_history?_since=2021-02-29T10:00:00Z',
      '_history?_at=2020-04-31',
      'Patient/since-check/$everything?_since=2020-06-31',
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body!.issue[0].diagnostics, path).toMatch(/must be a FHIR date or instant/);
    }
  });
});

describe('validation', () => {
  const cases: Array<[string, string, string, unknown, number, string]> = [
    ['invalid JSON', 'POST', 'Patient', '{"resourceType": "Patient",', 400, 'not valid JSON'],
    [
      'a resourceType that differs from the URL',
      'POST',
      'Patient',
      { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
      400,
      'does not match the URL',
    ],
    ['an unknown resourceType', 'POST', 'Patient', { resourceType: 'Pateint' }, 400, 'Unknown resourceType'],
    ['an unknown element', 'POST', 'Patient', { resourceType: 'Patient', nmae: [{ family: 'x' }] }, 400, 'nmae'],
    ['a mistyped element', 'POST', 'Patient', { resourceType: 'Patient', active: 'yes' }, 400, 'Patient.active'],
    ['a bad date', 'POST', 'Patient', { resourceType: 'Patient', birthDate: '20-02-1987' }, 400, 'Patient.birthDate'],
    ['a missing required element', 'POST', 'Observation', { resourceType: 'Observation', code: { text: 'x' } }, 400, 'Observation.status'],
    ['an id that differs from the URL', 'PUT', 'Patient/abc', { resourceType: 'Patient', id: 'xyz' }, 400, 'does not match the URL'],
    ['an update without id', 'PUT', 'Patient/abc', { resourceType: 'Patient' }, 400, 'has no id'],
    ['an invalid id', 'PUT', 'Patient/abc', { resourceType: 'Patient', id: 'a b' }, 400, 'Invalid id'],
    ['a body that is not an object', 'POST', 'Patient', '[1,2]', 400, 'must be a FHIR resource'],
    ['XML outside the FHIR namespace', 'POST', 'Patient', '<Patient/>', 400, 'not in the FHIR namespace'],
  ];
  it.each(cases)('rejects %s', async (_name, method, path, body, status, message) => {
    const headers: Record<string, string> = path === 'Patient' && body === '<Patient/>' ? { 'content-type': 'application/fhir+xml' } : {};
    const res = await call(method, path, body, headers);
    expect(res.status).toBe(status);
    expect(res.body!.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body!.issue)).toContain(message);
    // A rejected write changes nothing.
    if (path.startsWith('Patient/')) expect((await call('GET', path)).status).toBe(404);
  });

  it('answers 413 for a body over the limit', async () => {
    const big = patient({ text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(17 * 1024 * 1024)}</div>` } });
    const res = await call('POST', 'Patient', big);
    expect(res.status).toBe(413);
    expect(res.body!.issue[0].code).toBe('too-costly');
  });

  it('refuses JSON nested beyond the limit without crashing', async () => {
    const deep = `{"resourceType":"Patient","extension":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const res = await call('POST', 'Patient', deep);
    expect(res.status).toBe(400);
    expect(res.body!.issue[0].diagnostics).toContain('nested deeper');
  });

  it('answers 406 for a _format that is neither JSON nor XML and 405 for an unsupported method on a route', async () => {
    expect((await call('GET', 'metadata?_format=html')).status).toBe(406);
    expect((await call('DELETE', '_history')).status).toBe(405);
  });
});

describe('conditional interactions', () => {
  it('creates once with If-None-Exist, then returns the existing resource', async () => {
    const body = patient({ identifier: [{ system: 'urn:test:cc', value: 'once' }] });
    const first = await call('POST', 'Patient', body, { 'if-none-exist': 'identifier=urn:test:cc|once' });
    expect(first.status).toBe(201);
    const second = await call('POST', 'Patient', body, { 'if-none-exist': 'identifier=urn:test:cc|once' });
    expect(second.status).toBe(200);
    expect(second.body!.id).toBe(first.body!.id);
  });

  it('conditional update updates the single match, creates when none, and refuses several with 412', async () => {
    const created = await call('PUT', 'Patient?identifier=urn:test:cu|1', patient({ identifier: [{ system: 'urn:test:cu', value: '1' }] }));
    expect(created.status).toBe(201);
    const updated = await call('PUT', 'Patient?identifier=urn:test:cu|1', patient({ identifier: [{ system: 'urn:test:cu', value: '1' }], gender: 'male' }));
    expect(updated.status).toBe(200);
    expect(updated.body!.id).toBe(created.body!.id);
    expect(updated.body!.meta.versionId).toBe('2');
    await call('POST', 'Patient', patient({ identifier: [{ system: 'urn:test:cu', value: 'dup' }] }));
    await call('POST', 'Patient', patient({ identifier: [{ system: 'urn:test:cu', value: 'dup' }] }));
    const several = await call('PUT', 'Patient?identifier=urn:test:cu|dup', patient());
    expect(several.status).toBe(412);
    expect(several.body!.issue[0].code).toBe('multiple-matches');
  });

  it('conditional delete deletes the one match', async () => {
    const created = await call('POST', 'Patient', patient({ identifier: [{ system: 'urn:test:cd', value: '1' }] }));
    const res = await call('DELETE', 'Patient?identifier=urn:test:cd|1');
    expect(res.status).toBe(200);
    expect((await call('GET', `Patient/${created.body!.id}`)).status).toBe(410);
  });
});

describe('PATCH', () => {
  it('applies a JSON Patch, versions it, and refuses invalid patches without changes', async () => {
    await call('PUT', 'Patient/patch-1', patient({ id: 'patch-1' }));
    const ok = await call('PATCH', 'Patient/patch-1', [{ op: 'replace', path: '/gender', value: 'male' }], { 'content-type': 'application/json-patch+json' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ gender: 'male', meta: { versionId: '2' } });
    const invalidResult = await call('PATCH', 'Patient/patch-1', [{ op: 'add', path: '/bogus', value: 1 }], { 'content-type': 'application/json-patch+json' });
    expect(invalidResult.status).toBe(400);
    const badOp = await call('PATCH', 'Patient/patch-1', [{ op: 'jump', path: '/gender' }], { 'content-type': 'application/json-patch+json' });
    expect(badOp.status).toBe(400);
    const failedTest = await call('PATCH', 'Patient/patch-1', [{ op: 'test', path: '/gender', value: 'female' }], {
      'content-type': 'application/json-patch+json',
    });
    expect(failedTest.status).toBe(400);
    // application/fhir+json is FHIRPath Patch: a JSON Patch array sent as it is refused, with a hint.
    const wrongType = await call('PATCH', 'Patient/patch-1', [{ op: 'replace', path: '/gender', value: 'other' }]);
    expect(wrongType.status).toBe(400);
    expect(wrongType.body!.issue[0].diagnostics).toContain('application/json-patch+json');
    const unknownType = await call('PATCH', 'Patient/patch-1', 'gender=other', { 'content-type': 'text/plain' });
    expect(unknownType.status).toBe(415);
    expect((await call('GET', 'Patient/patch-1')).body!.meta.versionId).toBe('2');
  });

  it('refuses patches through __proto__, constructor or prototype, whatever the operation: 400, resource unchanged, nothing polluted', async () => {
    await call('PUT', 'Patient/patch-proto', patient({ id: 'patch-proto' }));
    const jsonPatch = { 'content-type': 'application/json-patch+json' };
    const pointers = [
      '/__proto__',
      '/__proto__/polluted',
      '/name/0/__proto__',
      '/name/__proto__/x',
      '/constructor',
      '/constructor/prototype/polluted',
      '/name/0/constructor/prototype',
      '/prototype',
      '/name/0/family/__proto__',
    ];
    for (const pointer of pointers) {
      for (const operation of [
        { op: 'add', path: pointer, value: { polluted: true } },
        { op: 'replace', path: pointer, value: { polluted: true } },
        { op: 'remove', path: pointer },
        { op: 'test', path: pointer, value: {} },
        { op: 'copy', from: '/name', path: pointer },
        { op: 'move', from: pointer, path: '/name' },
      ]) {
        const res = await call('PATCH', 'Patient/patch-proto', [operation], jsonPatch);
        expect(res.status, JSON.stringify(operation)).toBe(400);
        expect(res.body!.resourceType).toBe('OperationOutcome');
        expect(res.body!.issue[0]).toMatchObject({ severity: 'error', code: 'invalid' });
        expect(res.body!.issue[0].diagnostics).toMatch(
          /^Invalid JSON Patch: operation 1 (path|from) ".*" names "(__proto__|constructor|prototype)", which is not a FHIR element$/,
        );
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await call('GET', 'Patient/patch-proto')).body!.meta.versionId).toBe('1');
  });

  it('refuses operations outside RFC 6902 and patches the library cannot apply with 400, never 500', async () => {
    await call('PUT', 'Patient/patch-odd', patient({ id: 'patch-odd' }));
    const jsonPatch = { 'content-type': 'application/json-patch+json' };
    const cases: Array<[unknown[], RegExp]> = [
      [[{ op: '_get', path: '/name' }], /op "_get" \(expected add, remove, replace, move, copy or test\)/],
      [[{ op: 'move', from: '/name', path: '/name/0' }], /moves "\/name" into itself/],
      [[{ op: 'move', path: '/name' }], /needs a "from" string/],
      [[{ op: 'add', path: 7, value: 1 }], /needs a "path" string/],
      [[null], /operation 1 is not an object/],
      [[{ op: 'add', path: '/name/99999999999999999999', value: { family: 'x' } }], /JSON Patch could not be applied|Invalid JSON Patch/],
      [[{ op: 'replace', path: '', value: [] }], /./],
    ];
    for (const [operations, message] of cases) {
      const res = await call('PATCH', 'Patient/patch-odd', operations, jsonPatch);
      expect(res.status, JSON.stringify(operations)).toBe(400);
      expect(res.body!.issue[0].diagnostics, JSON.stringify(operations)).toMatch(message);
    }
    expect((await call('GET', 'Patient/patch-odd')).body!.meta.versionId).toBe('1');
  });

  it('applies the same checks to a JSON Patch carried in a Bundle Binary', async () => {
    await call('PUT', 'Patient/patch-bundle', patient({ id: 'patch-bundle' }));
    const binary = (operations: unknown) => ({
      resourceType: 'Binary',
      contentType: 'application/json-patch+json',
      data: Buffer.from(JSON.stringify(operations)).toString('base64'),
    });
    const res = await call('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: binary([{ op: 'add', path: '/__proto__/polluted', value: true }]), request: { method: 'PATCH', url: 'Patient/patch-bundle' } },
        { resource: binary([{ op: 'replace', path: '/gender', value: 'other' }]), request: { method: 'PATCH', url: 'Patient/patch-bundle' } },
      ],
    });
    expect(res.body!.entry.map((e: any) => e.response.status)).toEqual(['400 Bad Request', '200 OK']);
    expect(res.body!.entry[0].response.outcome.issue[0].diagnostics).toMatch(/names "__proto__"/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
