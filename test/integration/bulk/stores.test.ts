/**
 * $export on every store implementation (embedded SQLite, and the MongoDB store on CongoDB or the
 * MONGODB_URI of the environment): the scans, the compartment and `_typeFilter` conditions and
 * the job documents behave the same on both, and so do who may see a job and the end of a job
 * whose token was revoked (read from the authorization server's documents in the same store).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig, type StorageConfig } from '../../../src/config.js';
import { CONGO_URI_VARIABLE } from '../../support/global-setup.js';
import { startTestServer, tempDir, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { download, downloadAll, patientsOf, pollStatus, runExport, startExport } from './support.js';

const stores: Array<[string, StorageConfig | undefined]> = [['embedded', undefined]];
const mongoUri = process.env.MONGODB_URI ?? process.env[CONGO_URI_VARIABLE];
if (mongoUri)
  stores.push([
    process.env.MONGODB_URI ? 'mongodb' : 'congodb',
    { kind: 'mongodb', uri: mongoUri, database: `bedside_bulk_${randomBytes(4).toString('hex')}` },
  ]);

/** Three patients, each with a few Observations (one of them laboratory) and a Condition; a Group of two. */
function data(): Bundle {
  const entries: Array<{ resource: Record<string, unknown> }> = [];
  for (const p of ['a', 'b', 'c']) {
    entries.push({ resource: { resourceType: 'Patient', id: `p-${p}`, name: [{ family: p }] } });
    entries.push({ resource: { resourceType: 'Condition', id: `c-${p}`, subject: { reference: `Patient/p-${p}` }, code: { text: 'x' } } });
    for (let i = 0; i < 4; i++) {
      const category = i === 0 ? 'laboratory' : 'vital-signs';
      entries.push({
        resource: {
          resourceType: 'Observation',
          id: `o-${p}-${i}`,
          status: 'final',
          category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
          code: { text: 'x' },
          subject: { reference: `Patient/p-${p}` },
        },
      });
    }
  }
  entries.push({ resource: { resourceType: 'Practitioner', id: 'dr' } });
  entries.push({
    resource: {
      resourceType: 'Group',
      id: 'g',
      type: 'person',
      actual: true,
      member: [{ entity: { reference: 'Patient/p-a' } }, { entity: { reference: 'Patient/p-c' } }],
    },
  });
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: entries.map(({ resource }) => ({ resource: resource as never, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
  };
}

describe.each(stores)('$export on the %s store', (_name, storage) => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer({ ...(storage ? { storage, export: { ...testConfig().export, dir: path.join(tempDir(), 'exports') } } : {}) });
    const admin = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
    const loaded = await fetch(server.fhirUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(data()),
    });
    expect(loaded.status).toBe(200);
    token = await (await backendClient(server.baseUrl, 'system/*.rs')).token();
  }, 120_000);
  afterAll(async () => server?.stop());

  it('exports every type at system level', async () => {
    const manifest = await runExport(server.fhirUrl, token, '$export');
    expect(Object.fromEntries(manifest.output.map((f) => [f.type, f.count]))).toEqual({ Condition: 3, Group: 1, Observation: 12, Patient: 3, Practitioner: 1 });
  });

  it('applies _typeFilter and _since', async () => {
    const manifest = await runExport(server.fhirUrl, token, '$export', {
      query: { _type: 'Observation', _typeFilter: 'Observation?category=laboratory', _since: '2000-01-01T00:00:00Z' },
    });
    expect(manifest.output.map((f) => [f.type, f.count])).toEqual([['Observation', 3]]);
    const later = await runExport(server.fhirUrl, token, '$export', { query: { _since: new Date(Date.now() + 60_000).toISOString() } });
    expect(later.output).toEqual([]);
  });

  it("exports the compartments of every patient, and of a Group's members", async () => {
    const all = await runExport(server.fhirUrl, token, 'Patient/$export');
    expect(Object.fromEntries(all.output.map((f) => [f.type, f.count]))).toEqual({ Condition: 3, Group: 1, Observation: 12, Patient: 3 });
    const group = await runExport(server.fhirUrl, token, 'Group/g/$export', { query: { _type: 'Patient,Observation,Condition' } });
    const byType = await downloadAll(group, token);
    for (const resources of byType.values()) for (const r of resources) expect(['p-a', 'p-c']).toEqual(expect.arrayContaining([...patientsOf(r)]));
    expect(byType.get('Observation')).toHaveLength(8);
  });

  it("belongs to its client: another client gets a made-up job's answer; revoking the kick-off token ends the export", async () => {
    const owner = await backendClient(server.baseUrl, 'system/*.rs');
    const first = await owner.token();
    const statusUrl = await startExport(server.fhirUrl, first, '$export', { query: { _type: 'Patient' } });
    const fileUrl = (await pollStatus(statusUrl, first)).manifest.output[0]!.url;
    const jobId = statusUrl.split('/').pop()!;
    const madeUp = crypto.randomUUID();
    for (const [method, url] of [
      ['GET', statusUrl],
      ['GET', fileUrl],
      ['DELETE', statusUrl],
    ] as const) {
      const real = await fetch(url, { method, headers: { authorization: `Bearer ${token}` } });
      const fake = await fetch(url.replace(jobId, madeUp), { method, headers: { authorization: `Bearer ${token}` } });
      expect([real.status, fake.status], `${method} ${url}`).toEqual([404, 404]);
      expect((await real.text()).split(jobId).join('{id}')).toBe((await fake.text()).split(madeUp).join('{id}'));
    }
    // A token without a grant is revoked by its jti: the export it started ends with it.
    const second = await owner.token();
    expect((await download(fileUrl, second)).response.status).toBe(200);
    expect((await owner.revoke(first)).status).toBe(200);
    expect((await download(fileUrl, second)).response.status).toBe(404);
    const status = await fetch(statusUrl, { headers: { authorization: `Bearer ${second}` } });
    expect(status.status).toBe(403);
    expect(((await status.json()) as OperationOutcome).issue[0]!.diagnostics).toContain('(token revoked)');
  });
});
