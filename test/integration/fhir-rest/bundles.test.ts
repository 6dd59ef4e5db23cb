/**
 * batch and transaction Bundles over real HTTP. https://hl7.org/fhir/R4/http.html#transaction
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

let server: TestServer;
let base: string;
let auth: Record<string, string>;

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/fhir+json', ...auth, ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}
async function get(path: string) {
  const response = await fetch(`${base}/${path}`, { headers: auth });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

beforeAll(async () => {
  server = await startTestServer();
  base = server.fhirUrl;
  auth = { authorization: `Bearer ${await (await backendClient(server.baseUrl)).token()}` };
});
afterAll(async () => {
  await server.stop();
});

describe('transaction', () => {
  it('creates entries, resolves urn:uuid fullUrls in every reference, and answers with status, location and etag in entry order', async () => {
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'heart rate' },
            subject: { reference: 'urn:uuid:22222222-2222-4222-8222-222222222222' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          fullUrl: 'urn:uuid:22222222-2222-4222-8222-222222222222',
          resource: { resourceType: 'Patient', name: [{ family: 'Tx' }], identifier: [{ system: 'urn:tx', value: 'p1' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        { resource: { resourceType: 'Practitioner', id: 'tx-pr', name: [{ family: 'Doc' }] }, request: { method: 'PUT', url: 'Practitioner/tx-pr' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'transaction-response' });
    const [obs, pat, pr] = res.body.entry.map((e: any) => e.response);
    expect(obs.status).toBe('201 Created');
    expect(pat.status).toBe('201 Created');
    expect(pr.status).toBe('201 Created');
    expect(pr.location).toBe(`${base}/Practitioner/tx-pr/_history/1`);
    expect(obs.etag).toBe('W/"1"');
    const patientId = /Patient\/([^/]+)\/_history/.exec(pat.location)![1];
    const obsId = /Observation\/([^/]+)\/_history/.exec(obs.location)![1];
    const observation = await get(`Observation/${obsId}`);
    expect(observation.body.subject.reference).toBe(`Patient/${patientId}`);
  });

  it('is all or nothing: one invalid entry rolls back every other entry', async () => {
    const before = (await get('Patient?identifier=urn:tx:atomic|a')).body.entry?.length ?? 0;
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', identifier: [{ system: 'urn:tx:atomic', value: 'a' }] }, request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Patient', id: 'atomic-put', identifier: [{ system: 'urn:tx:atomic', value: 'a' }] },
          request: { method: 'PUT', url: 'Patient/atomic-put' },
        },
        { resource: { resourceType: 'Observation', status: 'final' }, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].diagnostics).toContain('Bundle.entry[2]');
    expect((await get('Patient?identifier=urn:tx:atomic|a')).body.entry?.length ?? 0).toBe(before);
    expect((await get('Patient/atomic-put')).status).toBe(404);
  });

  it('processes DELETE, POST, PUT, GET in that order and supports ifNoneExist and conditional references', async () => {
    await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', id: 'tx-del' }, request: { method: 'PUT', url: 'Patient/tx-del' } },
        { resource: { resourceType: 'Patient', id: 'tx-keep' }, request: { method: 'PUT', url: 'Patient/tx-keep' } },
      ],
    });
    const org = { resourceType: 'Organization', identifier: [{ system: 'urn:tx:org', value: 'acme' }], name: 'Acme' };
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: 'Patient/tx-keep' } },
        { resource: org, request: { method: 'POST', url: 'Organization', ifNoneExist: 'identifier=urn:tx:org|acme' } },
        { request: { method: 'DELETE', url: 'Patient/tx-del' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.entry[0].response.status).toBe('200 OK');
    expect(res.body.entry[0].resource).toMatchObject({ resourceType: 'Patient', id: 'tx-keep' });
    expect(res.body.entry[2].response.status).toBe('200 OK');
    expect(res.body.entry[1].response.status).toBe('201 Created');
    expect((await get('Patient/tx-del')).status).toBe(410);
    // Run again: the organization exists now, so ifNoneExist finds it (200), and a conditional reference resolves to it.
    const again = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: org, request: { method: 'POST', url: 'Organization', ifNoneExist: 'identifier=urn:tx:org|acme' } },
        {
          resource: { resourceType: 'Patient', id: 'tx-cref', managingOrganization: { reference: 'Organization?identifier=urn:tx:org|acme' } },
          request: { method: 'PUT', url: 'Patient/tx-cref' },
        },
      ],
    });
    expect(again.status).toBe(200);
    expect(again.body.entry[0].response.status).toBe('200 OK');
    const orgId = /Organization\/([^/]+)\//.exec(again.body.entry[0].response.location)![1];
    expect((await get('Patient/tx-cref')).body.managingOrganization.reference).toBe(`Organization/${orgId}`);
  });

  it('refuses a reference to a urn:uuid that no entry has, and two entries changing the same resource', async () => {
    const dangling = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Patient', link: [{ other: { reference: 'urn:uuid:99999999-9999-4999-8999-999999999999' }, type: 'seealso' }] },
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    });
    expect(dangling.status).toBe(400);
    const twice = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', id: 'twice' }, request: { method: 'PUT', url: 'Patient/twice' } },
        { request: { method: 'DELETE', url: 'Patient/twice' } },
      ],
    });
    expect(twice.status).toBe(400);
    expect((await get('Patient/twice')).status).toBe(404);
  });

  it('refuses two entries with the same fullUrl (bdl-7) with 400 and writes nothing', async () => {
    const fullUrl = 'urn:uuid:33333333-3333-4333-8333-333333333333';
    for (const [first, second] of [
      [
        { method: 'POST', url: 'Patient' },
        { method: 'POST', url: 'Patient' },
      ],
      [
        { method: 'POST', url: 'Patient' },
        { method: 'PUT', url: 'Patient/dup-full-url' },
      ],
    ]) {
      const res = await post({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient', name: [{ family: 'DupBefore' }] }, request: { method: 'POST', url: 'Patient' } },
          { fullUrl, resource: { resourceType: 'Patient', name: [{ family: 'DupFirst' }] }, request: first },
          { fullUrl, resource: { resourceType: 'Patient', id: 'dup-full-url', name: [{ family: 'DupSecond' }] }, request: second },
          {
            resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: fullUrl } },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'invariant',
            diagnostics: `Bundle.entry[1].fullUrl "${fullUrl}" is also the fullUrl of Bundle.entry[2] (bdl-7: fullUrl must be unique in a Bundle)`,
            expression: ['Bundle.entry[1].fullUrl', 'Bundle.entry[2].fullUrl'],
          },
        ],
      });
    }
    for (const family of ['DupBefore', 'DupFirst', 'DupSecond']) expect((await get(`Patient?family=${family}`)).body.entry).toBeUndefined();
    expect((await get('Patient/dup-full-url')).status).toBe(404);
  });

  it('accepts the same fullUrl with different meta.versionId, as bdl-7 allows', async () => {
    const fullUrl = `${base}/Patient/versioned-dup`;
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl,
          resource: { resourceType: 'Patient', id: 'versioned-dup', meta: { versionId: '1' } },
          request: { method: 'PUT', url: 'Patient/versioned-dup' },
        },
        {
          fullUrl,
          resource: { resourceType: 'Patient', id: 'versioned-dup-b', meta: { versionId: '2' } },
          request: { method: 'PUT', url: 'Patient/versioned-dup-b' },
        },
      ],
    });
    expect(res.status).toBe(200);
  });

  it('refuses a conditional update, delete or patch that resolves to a resource another entry changes', async () => {
    await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Patient', id: 'overlap', identifier: [{ system: 'urn:overlap', value: '1' }] },
          request: { method: 'PUT', url: 'Patient/overlap' },
        },
      ],
    });
    const patch = {
      resourceType: 'Binary',
      contentType: 'application/json-patch+json',
      data: Buffer.from(JSON.stringify([{ op: 'add', path: '/gender', value: 'other' }])).toString('base64'),
    };
    for (const conditional of [
      {
        resource: { resourceType: 'Patient', identifier: [{ system: 'urn:overlap', value: '1' }], gender: 'male' },
        request: { method: 'PUT', url: 'Patient?identifier=urn:overlap|1' },
      },
      { request: { method: 'DELETE', url: 'Patient?identifier=urn:overlap|1' } },
      { resource: patch, request: { method: 'PATCH', url: 'Patient?identifier=urn:overlap|1' } },
    ]) {
      const res = await post({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { resourceType: 'Patient', id: 'overlap', identifier: [{ system: 'urn:overlap', value: '1' }], gender: 'female' },
            request: { method: 'PUT', url: 'Patient/overlap' },
          },
          conditional,
        ],
      });
      expect(res.status, conditional.request.method).toBe(400);
      expect(res.body.issue[0].diagnostics).toBe(
        'Bundle.entry[1] and Bundle.entry[0] both change Patient/overlap (one of them through its search criteria); a transaction may touch a resource once',
      );
    }
    const current = await get('Patient/overlap');
    expect(current.body.meta.versionId).toBe('1');
    expect(current.body.gender).toBeUndefined();
  });
});

describe('batch', () => {
  it('runs entries independently and reports each outcome', async () => {
    const res = await post({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', id: 'batch-1' }, request: { method: 'PUT', url: 'Patient/batch-1' } },
        { resource: { resourceType: 'Patient', bogus: true }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/batch-1' } },
        { request: { method: 'GET', url: 'Patient/nope' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    const statuses = res.body.entry.map((e: any) => e.response.status);
    expect(statuses).toEqual(['201 Created', '400 Bad Request', '200 OK', '404 Not Found']);
    expect(res.body.entry[1].response.outcome.resourceType).toBe('OperationOutcome');
    expect(res.body.entry[2].resource).toMatchObject({ resourceType: 'Patient', id: 'batch-1' });
    expect((await get('Patient/batch-1')).status).toBe(200);
  });

  it('fails every entry that shares its fullUrl with another (bdl-7) and runs the rest', async () => {
    const fullUrl = 'urn:uuid:44444444-4444-4444-8444-444444444444';
    const res = await post({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { fullUrl, resource: { resourceType: 'Patient', name: [{ family: 'BatchDupA' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', name: [{ family: 'BatchDupOk' }] }, request: { method: 'POST', url: 'Patient' } },
        { fullUrl, request: { method: 'GET', url: 'Patient/batch-1' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: any) => e.response.status)).toEqual(['400 Bad Request', '201 Created', '400 Bad Request']);
    expect(res.body.entry[0].response.outcome.issue[0]).toMatchObject({
      code: 'invariant',
      diagnostics: `Bundle.entry[0].fullUrl "${fullUrl}" is also the fullUrl of Bundle.entry[2] (bdl-7: fullUrl must be unique in a Bundle)`,
    });
    expect(res.body.entry[2].response.outcome.issue[0].diagnostics).toBe(
      `Bundle.entry[2].fullUrl "${fullUrl}" is also the fullUrl of Bundle.entry[0] (bdl-7: fullUrl must be unique in a Bundle)`,
    );
    expect((await get('Patient?family=BatchDupA')).body.entry).toBeUndefined();
    expect((await get('Patient?family=BatchDupOk')).body.entry).toHaveLength(1);
  });

  it('refuses bundles of other types, nested bundles and missing requests with 400', async () => {
    expect((await post({ resourceType: 'Bundle', type: 'collection', entry: [] })).status).toBe(400);
    expect((await post({ resourceType: 'Patient' })).status).toBe(400);
    const nested = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Bundle', type: 'batch' }, request: { method: 'POST', url: '/' } }],
    });
    expect(nested.status).toBe(400);
    const noRequest = await post({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' } }] });
    expect(noRequest.status).toBe(400);
    expect(noRequest.body.issue[0].diagnostics).toContain('Bundle.entry[0].request');
  });
});
