/**
 * The whole server on MongoDB (what `MONGODB_URI` selects): the authorization server's state,
 * tokens, the FHIR API with search, transactions and history, all through the MongoDB store.
 * Runs against CongoDB in CI, and against a real MongoDB when MONGODB_URI is set.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONGO_URI_VARIABLE } from '../../support/global-setup.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, userToken } from '../../support/user-tokens.js';

const uri = process.env.MONGODB_URI ?? process.env[CONGO_URI_VARIABLE];
const database = `bedside_server_${randomBytes(5).toString('hex')}`;
let server: TestServer;
let headers: Record<string, string>;

describe.skipIf(!uri)('Bedside on MongoDB', () => {
  beforeAll(async () => {
    server = await startTestServer({ storage: { kind: 'mongodb', uri: uri!, database }, seed: true });
    headers = { authorization: `Bearer ${await (await backendClient(server.baseUrl, 'system/*.cruds')).token()}`, 'content-type': 'application/fhir+json' };
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    const client = new MongoClient(uri!);
    await client
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  });

  it('reports the MongoDB store', () => {
    expect(server.bedside.storage.description).toMatch(/MongoDB/i);
  });

  it('serves the seeded sample data with search, includes and paging', async () => {
    const patients = (await (await fetch(`${server.fhirUrl}/Patient?_count=5&_total=accurate`, { headers })).json()) as {
      total: number;
      entry: unknown[];
      link: Array<{ relation: string; url: string }>;
    };
    expect(patients.total).toBe(12);
    expect(patients.entry).toHaveLength(5);
    const next = patients.link.find((l) => l.relation === 'next')!.url;
    expect(((await (await fetch(next, { headers })).json()) as { entry: unknown[] }).entry).toHaveLength(5);
    const obs = (await (
      await fetch(`${server.fhirUrl}/Observation?patient=patient-001&code=http://loinc.org|8867-4&_sort=-date&_include=Observation:patient&_count=3`, {
        headers,
      })
    ).json()) as { entry: Array<{ search: { mode: string }; resource: { resourceType: string; effectiveDateTime?: string } }> };
    const matches = obs.entry.filter((e) => e.search.mode === 'match');
    expect(matches).toHaveLength(3);
    const dates = matches.map((e) => e.resource.effectiveDateTime!);
    expect(dates).toEqual([...dates].sort().reverse());
    expect(obs.entry.filter((e) => e.search.mode === 'include').map((e) => e.resource.resourceType)).toEqual(['Patient']);
  });

  it('writes, versions, rolls back failed transactions and keeps history', async () => {
    const put = await fetch(`${server.fhirUrl}/Patient/mongo-1`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ resourceType: 'Patient', id: 'mongo-1', name: [{ family: 'Mongo' }] }),
    });
    expect(put.status).toBe(201);
    const stale = await fetch(`${server.fhirUrl}/Patient/mongo-1`, {
      method: 'PUT',
      headers: { ...headers, 'if-match': 'W/"2"' },
      body: JSON.stringify({ resourceType: 'Patient', id: 'mongo-1' }),
    });
    expect(stale.status).toBe(412);
    const failing = await fetch(server.fhirUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient', id: 'mongo-2' }, request: { method: 'PUT', url: 'Patient/mongo-2' } },
          { resource: { resourceType: 'Observation', status: 'final' }, request: { method: 'POST', url: 'Observation' } },
        ],
      }),
    });
    expect(failing.status).toBe(400);
    expect((await fetch(`${server.fhirUrl}/Patient/mongo-2`, { headers })).status).toBe(404);
    await fetch(`${server.fhirUrl}/Patient/mongo-1`, { method: 'DELETE', headers });
    expect((await fetch(`${server.fhirUrl}/Patient/mongo-1`, { headers })).status).toBe(410);
    const history = (await (await fetch(`${server.fhirUrl}/Patient/mongo-1/_history`, { headers })).json()) as { total: number };
    expect(history.total).toBe(2);
  });

  it('runs the user authorization flow with its sessions, grants and codes in MongoDB, and enforces the scopes', async () => {
    const token = await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.rs' });
    const own = await fetch(`${server.fhirUrl}/Patient/patient-001`, { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(own.status).toBe(200);
    const other = await fetch(`${server.fhirUrl}/Patient/patient-002`, { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(other.status).toBe(404);
  });

  it('full text, near, _filter and _list tell a patient user nothing about records outside her policy, counts included', async () => {
    const amy = (await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.rs' })).access_token;
    const list = {
      resourceType: 'List',
      id: 'mongo-other-list',
      status: 'current',
      mode: 'working',
      subject: { reference: 'Patient/patient-002' },
      entry: [{ item: { reference: 'Patient/patient-001' } }],
    };
    expect((await fetch(`${server.fhirUrl}/List/mongo-other-list`, { method: 'PUT', headers, body: JSON.stringify(list) })).status).toBe(201);
    const site = (await (await fetch(`${server.fhirUrl}/Location/community-site-0002`, { headers })).json()) as {
      position: { latitude: number; longitude: number };
    };
    const filter = (text: string) => `_filter=${encodeURIComponent(text)}`;
    // A value that exists outside Amy's policy, and a made-up one.
    const pairs: Array<readonly [string, string]> = [
      ['Patient?_text=garcia', 'Patient?_text=zyxwvq'],
      ['Condition?_content=%22viral sinusitis%22', 'Condition?_content=%22viral zyxwvq%22'],
      [`Observation?${filter('subject eq Patient/patient-002')}`, `Observation?${filter('subject eq Patient/patient-999')}`],
      [`Location?near=${site.position.latitude}|${site.position.longitude}|0.2|km`, 'Location?near=0|0|0.2|km'],
      ['Patient?_list=mongo-other-list', 'Patient?_list=no-such-list'],
    ];
    const answer = async (token: string, query: string) => {
      const res = await fetch(`${server.fhirUrl}/${query}`, { headers: { authorization: `Bearer ${token}` } });
      const { id: _id, meta: _meta, timestamp: _timestamp, link: _link, ...rest } = (await res.json()) as Record<string, unknown>;
      return { status: res.status, body: rest };
    };
    for (const [real, madeUp] of pairs) {
      for (const suffix of ['&_total=accurate', '&_summary=count']) {
        const outside = await answer(amy, real + suffix);
        expect(outside, `${real}${suffix}`).toEqual(await answer(amy, madeUp + suffix));
        expect(outside).toMatchObject({ status: 200, body: { total: 0 } });
        // Without the policy the two differ, so the pair would show a leak.
        expect((await answer(headers.authorization!.slice('Bearer '.length), real + suffix)).body.total, `unrestricted ${real}`).toBeGreaterThan(0);
      }
    }
  });

  it('passes the integrity check', async () => {
    const { extractIndex } = await import('../../../src/search/extract.js');
    const report = await server.bedside.storage.resources.verifyIntegrity({ reindex: (r) => extractIndex(r, { baseUrl: server.fhirUrl }) });
    expect(report.problems).toEqual([]);
    expect(report.resources).toBeGreaterThan(2000);
  }, 120_000);
});
