/**
 * $export on every store implementation (embedded SQLite, and the MongoDB store on CongoDB or the
 * MONGODB_URI of the environment): the scans, the compartment and `_typeFilter` conditions and
 * the job documents behave the same on both.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig, type StorageConfig } from '../../../src/config.js';
import { CONGO_URI_VARIABLE } from '../../support/global-setup.js';
import { startTestServer, tempDir, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { downloadAll, patientsOf, runExport } from './support.js';

const stores: Array<[string, StorageConfig | undefined]> = [['embedded', undefined]];
const mongoUri = process.env.MONGODB_URI ?? process.env[CONGO_URI_VARIABLE];
if (mongoUri) stores.push([process.env.MONGODB_URI ? 'mongodb' : 'congodb', { kind: 'mongodb', uri: mongoUri, database: `bedside_bulk_${randomBytes(4).toString('hex')}` }]);

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
  entries.push({ resource: { resourceType: 'Group', id: 'g', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p-a' } }, { entity: { reference: 'Patient/p-c' } }] } });
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
    const loaded = await fetch(server.fhirUrl, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify(data()) });
    expect(loaded.status).toBe(200);
    token = await (await backendClient(server.baseUrl, 'system/*.rs')).token();
  }, 120_000);
  afterAll(async () => server?.stop());

  it('exports every type at system level', async () => {
    const manifest = await runExport(server.fhirUrl, token, '$export');
    expect(Object.fromEntries(manifest.output.map((f) => [f.type, f.count]))).toEqual({ Condition: 3, Group: 1, Observation: 12, Patient: 3, Practitioner: 1 });
  });

  it('applies _typeFilter and _since', async () => {
    const manifest = await runExport(server.fhirUrl, token, '$export', { query: { _type: 'Observation', _typeFilter: 'Observation?category=laboratory', _since: '2000-01-01T00:00:00Z' } });
    expect(manifest.output.map((f) => [f.type, f.count])).toEqual([['Observation', 3]]);
    const later = await runExport(server.fhirUrl, token, '$export', { query: { _since: new Date(Date.now() + 60_000).toISOString() } });
    expect(later.output).toEqual([]);
  });

  it('exports the compartments of every patient, and of a Group\'s members', async () => {
    const all = await runExport(server.fhirUrl, token, 'Patient/$export');
    expect(Object.fromEntries(all.output.map((f) => [f.type, f.count]))).toEqual({ Condition: 3, Group: 1, Observation: 12, Patient: 3 });
    const group = await runExport(server.fhirUrl, token, 'Group/g/$export', { query: { _type: 'Patient,Observation,Condition' } });
    const byType = await downloadAll(group, token);
    for (const resources of byType.values()) for (const r of resources) expect(['p-a', 'p-c']).toEqual(expect.arrayContaining([...patientsOf(r)]));
    expect(byType.get('Observation')).toHaveLength(8);
  });
});
