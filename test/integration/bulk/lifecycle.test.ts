/**
 * The life of export jobs and files: files split at EXPORT_FILE_SIZE, deleted when they expire
 * (EXPORT_FILE_TTL), and jobs surviving a server that stopped mid-export: the next server resumes
 * from the checkpoint (finished types kept, the type in progress exported again), and a job that
 * keeps killing servers fails cleanly with an OperationOutcome.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OperationOutcome } from 'fhir/r4';
import { afterAll, describe, expect, it } from 'vitest';
import { startBedside, type RunningBedside } from '../../../src/bedside.js';
import type { ExportJob } from '../../../src/bulk/job.js';
import { JobStore } from '../../../src/bulk/job-store.js';
import { testConfig, type Config } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { openStorage } from '../../../src/storage/open.js';
import { freePort, startTestServer, tempDir, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { download, downloadAll, pollStatus, runExport, startExport } from './support.js';

const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

async function server(overrides: Partial<Config>): Promise<{ server: TestServer; token: string }> {
  const started = await startTestServer({ seed: true, ...overrides });
  stops.push(() => started.stop());
  return { server: started, token: await (await backendClient(started.baseUrl, 'system/*.rs')).token() };
}

describe('file size', () => {
  it('splits a type into files of at most EXPORT_FILE_SIZE bytes, one resource per line, none lost or repeated', async () => {
    const { server: small, token } = await server({ export: { ...testConfig().export, dir: path.join(tempDir(), 'exports'), maxFileBytes: 16 * 1024 } });
    const manifest = await runExport(small.fhirUrl, token, '$export', { query: { _type: 'Observation,Patient' } });
    const observations = manifest.output.filter((f) => f.type === 'Observation');
    expect(observations.length).toBeGreaterThan(5);
    const ids = new Set<string>();
    for (const file of observations) {
      const { resources, text } = await download(file.url, token);
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(16 * 1024);
      expect(resources).toHaveLength(file.count);
      for (const r of resources) ids.add(r.id!);
    }
    const counts = await small.bedside.storage.resources.countByType();
    expect(ids.size).toBe(counts.Observation);
    expect(observations.reduce((n, f) => n + f.count, 0)).toBe(counts.Observation);
  });
});

describe('expiry', () => {
  it('deletes files when they expire: status and files answer 404, the folder is gone', async () => {
    const { server: brief, token } = await server({ export: { ...testConfig().export, dir: path.join(tempDir(), 'exports'), fileTtlSeconds: 1 } });
    const statusUrl = await startExport(brief.fhirUrl, token, '$export', { query: { _type: 'Patient' } });
    const { manifest, response } = await pollStatus(statusUrl, token);
    const expires = Date.parse(response.headers.get('expires')!);
    expect(expires - Date.now()).toBeLessThanOrEqual(1000);
    const folder = path.join(brief.config.export.dir, statusUrl.split('/').pop()!);
    expect(existsSync(folder)).toBe(true);
    // The sweep runs every quarter of the lifetime: no request is needed to delete them.
    await expect.poll(() => existsSync(folder), { timeout: 5000, interval: 100 }).toBe(false);
    const status = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(status.status).toBe(404);
    expect(((await status.json()) as OperationOutcome).resourceType).toBe('OperationOutcome');
    expect((await download(manifest.output[0]!.url, token)).response.status).toBe(404);
  });
});

describe('restarts', () => {
  const dataDir = tempDir('bedside-export-restart-');
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  /** A server on the data folder (on the same port each time: the test client's token URL stays valid). */
  let port: number | undefined;
  async function start(): Promise<{ bedside: RunningBedside; baseUrl: string; config: Config }> {
    port ??= await freePort();
    const baseUrl = `http://localhost:${port}`;
    const config = testConfig({ port, host: '127.0.0.1', baseUrl, fhirBaseUrl: `${baseUrl}/fhir`, storage: { kind: 'embedded', dataDir }, seed: false });
    const bedside = await startBedside(config, createLogger('silent'));
    return { bedside, baseUrl, config };
  }

  /** A job as a node that died during its second type would have left it. */
  function crashedJob(clientId: string, overrides: Partial<ExportJob> = {}): ExportJob {
    return {
      id: crypto.randomUUID(),
      clientId,
      owner: { clientId, subject: clientId, scopes: ['system/*.rs'] },
      request: 'http://localhost/fhir/$export?_type=Patient,Observation',
      level: 'system',
      transactionTime: new Date().toISOString(),
      types: [{ type: 'Patient' }, { type: 'Observation' }],
      state: 'running',
      createdAt: Date.now() - 60_000,
      issues: [],
      progress: { typeIndex: 1, exported: 1200, currentType: 'Observation' },
      output: [{ type: 'Patient', name: 'Patient-1.ndjson', count: 3, bytes: 0 }],
      errors: [],
      // The dead node's lease has run out.
      lease: { owner: 'a-node-that-died', until: Date.now() - 1 },
      attempts: 1,
      takeovers: 0,
      ...overrides,
    };
  }

  it('resumes a job whose node died: finished types are kept, the type in progress is exported again', async () => {
    // A first server: data and a registered client (both kept in the store).
    const first = await start();
    const client = await backendClient(first.baseUrl, 'system/*.rs');
    const admin = await (await backendClient(first.baseUrl, 'system/*.cruds')).token();
    const entries = Array.from({ length: 40 }, (_, i) => ({
      resource: { resourceType: 'Observation', id: `obs-${i}`, status: 'final', code: { text: 'restart' }, subject: { reference: 'Patient/p1' } },
      request: { method: 'PUT', url: `Observation/obs-${i}` },
    }));
    const loaded = await fetch(`${first.baseUrl}/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: { resourceType: 'Patient', id: 'p1' }, request: { method: 'PUT', url: 'Patient/p1' } }, ...entries],
      }),
    });
    expect(loaded.status).toBe(200);
    await first.bedside.stop();

    // What the dead node left: its job document, the Patient file it finished, half an Observation file.
    const storage = await openStorage({ kind: 'embedded', dataDir });
    const jobs = new JobStore(storage.documents);
    const job = crashedJob(client.clientId);
    const poisoned = crashedJob(client.clientId, { takeovers: 3 });
    await jobs.create(job);
    await jobs.create(poisoned);
    await storage.close();
    const folder = path.join(dataDir, 'exports', job.id);
    mkdirSync(folder, { recursive: true });
    const patients = `${['{"resourceType":"Patient","id":"kept-1"}', '{"resourceType":"Patient","id":"kept-2"}', '{"resourceType":"Patient","id":"kept-3"}'].join('\n')}\n`;
    writeFileSync(path.join(folder, 'Patient-1.ndjson'), patients);
    writeFileSync(path.join(folder, 'Observation-1.ndjson'), '{"resourceType":"Observation","id":"obs-0"}\n{"resourceTy');

    // The next server takes the job over at once (the lease ran out) and finishes it.
    const second = await start();
    stops.push(() => second.bedside.stop());
    const token = await client.token();
    const { manifest } = await pollStatus(`${second.config.fhirBaseUrl}/bulkstatus/${job.id}`, token);
    expect(manifest.output.map((f) => [f.type, f.count])).toEqual([
      ['Patient', 3],
      ['Observation', 40],
    ]);
    // The Patient file is the one the dead node finished, untouched.
    expect(readFileSync(path.join(folder, 'Patient-1.ndjson'), 'utf8')).toBe(patients);
    const byType = await downloadAll(manifest, token);
    expect(
      byType
        .get('Observation')!
        .map((o) => o.id)
        .sort(),
    ).toEqual(entries.map((e) => e.resource.id).sort());
    // The half-written file of the interrupted attempt is gone; the new attempt's files have their own names.
    expect(readdirSync(folder).sort()).toEqual(['Observation-1.2.ndjson', 'Patient-1.ndjson']);

    // A job that has already been taken over from dead nodes three times fails with an OperationOutcome.
    await expect
      .poll(async () => (await fetch(`${second.config.fhirBaseUrl}/bulkstatus/${poisoned.id}`, { headers: { authorization: `Bearer ${token}` } })).status, {
        timeout: 5000,
      })
      .toBe(500);
    const failed = await fetch(`${second.config.fhirBaseUrl}/bulkstatus/${poisoned.id}`, { headers: { authorization: `Bearer ${token}` } });
    const outcome = (await failed.json()) as OperationOutcome;
    expect(outcome.issue[0]!.code).toBe('exception');
    expect(outcome.issue[0]!.diagnostics).toContain('interrupted 4 times');
  });
});
