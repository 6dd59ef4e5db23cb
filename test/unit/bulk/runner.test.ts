/**
 * The export runner on a real embedded store, with a scan that can be held mid-export: graceful
 * shutdown hands the job back with its checkpoint, another node resumes it, two nodes never run
 * the same job, and a cancellation or the end of the owner's authorization is noticed at the next
 * checkpoint.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExportFiles } from '../../../src/bulk/files.js';
import type { ExportJob } from '../../../src/bulk/job.js';
import { JobStore } from '../../../src/bulk/job-store.js';
import { ExportRunner, type RunnerOptions } from '../../../src/bulk/runner.js';
import { createLogger } from '../../../src/log.js';
import { openStorage, type Storage } from '../../../src/storage/open.js';
import type { ResourceStore } from '../../../src/storage/resource-store.js';
import { createResourceAccess } from '../../../src/access/resource-access.js';
import { unrestrictedPolicy } from '../../../src/access/unrestricted.js';
import { tempDir } from '../../support/server.js';

let dir: string;
let storage: Storage;
let jobs: JobStore;
let files: ExportFiles;
const runners: ExportRunner[] = [];
/** What the owner check answers (the server wires it to the authorization server's records). */
let revocation: string | undefined;

/** A store whose Observation scan stops after its first batch until `release()`. */
function heldStore(store: ResourceStore): { store: ResourceStore; held: Promise<void>; release(): void } {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const held = new Promise<void>((r) => (reached = r));
  // Every other method runs on the real store (its private fields need `this` to be it).
  const wrapped = new Proxy(store, {
    get: (target, name) =>
      name === 'scan' ? scan : typeof Reflect.get(target, name) === 'function' ? Reflect.get(target, name).bind(target) : Reflect.get(target, name),
  });
  const scan: ResourceStore['scan'] = async function* (request) {
    let n = 0;
    for await (const version of store.scan(request)) {
      if (request.resourceType === 'Observation' && n++ === 100) {
        reached();
        await gate;
      }
      yield version;
    }
  };
  return { store: wrapped, held, release };
}

function options(store: ResourceStore): RunnerOptions {
  return {
    access: createResourceAccess(store, { fhirBaseUrl: 'http://localhost/fhir', referenceWindowMs: 0 }).access,
    resume: () => unrestrictedPolicy,
    ownerRevoked: async () => revocation,
    jobs,
    files,
    logger: createLogger('silent'),
    fhirBaseUrl: 'http://localhost/fhir',
    maxFileBytes: 1024 * 1024,
    fileTtlMs: 60_000,
    batchSize: 100,
    checkpointMs: 0,
    leaseMs: 30_000,
    pollMs: 60_000,
    sweepMs: 60_000,
    maxTakeovers: 3,
    orphanAgeMs: 60_000,
  };
}

function runner(store: ResourceStore): ExportRunner {
  const created = new ExportRunner(options(store));
  runners.push(created);
  return created;
}

function queuedJob(): ExportJob {
  return {
    id: crypto.randomUUID(),
    owner: { subject: 'system' },
    request: 'http://localhost/fhir/$export',
    level: 'system',
    transactionTime: new Date().toISOString(),
    types: [{ type: 'Patient' }, { type: 'Observation' }],
    state: 'queued',
    createdAt: Date.now(),
    issues: [],
    progress: { typeIndex: 0, exported: 0 },
    output: [],
    errors: [],
    attempts: 0,
    takeovers: 0,
  };
}

async function settled(id: string, state: ExportJob['state'] | 'gone'): Promise<ExportJob | undefined> {
  let job: ExportJob | undefined;
  await expect.poll(async () => ((job = await jobs.get(id)) ? job.state : 'gone'), { timeout: 5000, interval: 20 }).toBe(state);
  return job;
}

beforeEach(async () => {
  revocation = undefined;
  dir = tempDir('bedside-runner-');
  storage = await openStorage({ kind: 'embedded', dataDir: dir });
  jobs = new JobStore(storage.documents);
  files = new ExportFiles(path.join(dir, 'exports'));
  const put = (resourceType: string, id: string) => ({ resourceType, id, resource: { resourceType, id } as never, index: [], method: 'PUT' as const });
  await storage.resources.bulkPut([
    ...Array.from({ length: 10 }, (_, i) => put('Patient', `p${i}`)),
    ...Array.from({ length: 1000 }, (_, i) => put('Observation', `o${i}`)),
  ]);
});

afterEach(async () => {
  for (const r of runners.splice(0)) await r.close();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('export runner', () => {
  it('hands a running job back on shutdown, with its checkpoint; the next node resumes it', async () => {
    const job = queuedJob();
    await jobs.create(job);
    const held = heldStore(storage.resources);
    const first = runner(held.store);
    first.start();
    await held.held;
    const closing = first.close();
    held.release();
    await closing;
    const handedBack = (await jobs.get(job.id))!;
    expect(handedBack.state).toBe('queued');
    expect(handedBack.lease).toBeUndefined();
    expect(handedBack.progress.typeIndex).toBe(1); // Patient finished, Observation in progress
    expect(handedBack.output.map((f) => f.type)).toEqual(['Patient']);

    runner(storage.resources).start();
    const done = (await settled(job.id, 'completed'))!;
    expect(done.attempts).toBe(2);
    expect(done.takeovers).toBe(0);
    expect(done.output.map((f) => [f.type, f.count])).toEqual([
      ['Patient', 10],
      ['Observation', 1000],
    ]);
    expect(readdirSync(path.join(dir, 'exports', job.id)).sort()).toEqual(['Observation-1.2.ndjson', 'Patient-1.ndjson']);
  });

  it('runs a job once when several nodes look for work at the same time', async () => {
    const job = queuedJob();
    await jobs.create(job);
    const nodes = [runner(storage.resources), runner(storage.resources), runner(storage.resources)];
    for (const node of nodes) node.wake();
    const done = (await settled(job.id, 'completed'))!;
    expect(done.attempts).toBe(1);
    expect(readdirSync(path.join(dir, 'exports', job.id)).sort()).toEqual(['Observation-1.ndjson', 'Patient-1.ndjson']);
  });

  it('notices a cancellation at its next checkpoint and deletes the files and the job', async () => {
    const job = queuedJob();
    await jobs.create(job);
    const held = heldStore(storage.resources);
    runner(held.store).start();
    await held.held;
    expect(existsSync(path.join(dir, 'exports', job.id))).toBe(true);
    await jobs.update(job.id, (current) => ({ ...current, state: 'cancelled' }));
    held.release();
    await settled(job.id, 'gone');
    await expect.poll(() => existsSync(path.join(dir, 'exports', job.id)), { timeout: 5000, interval: 20 }).toBe(false);
  });

  it('stops a running job at its next checkpoint when its owner is revoked: failed, revoked, files deleted', async () => {
    const job = queuedJob();
    await jobs.create(job);
    const held = heldStore(storage.resources);
    runner(held.store).start();
    await held.held;
    expect(readdirSync(path.join(dir, 'exports', job.id))).toContain('Patient-1.ndjson');
    revocation = 'grant revoked';
    held.release();
    const ended = (await settled(job.id, 'failed'))!;
    expect(ended.revoked).toBe('grant revoked');
    expect(ended.failure).toContain('(grant revoked)');
    expect(ended.output).toEqual([]);
    expect(ended.lease).toBeUndefined();
    expect(ended.progress.typeIndex).toBe(1); // stopped within Observation, never completed
    await expect.poll(() => existsSync(path.join(dir, 'exports', job.id)), { timeout: 5000, interval: 20 }).toBe(false);
  });

  it('does not start a queued job whose owner is revoked', async () => {
    const job = queuedJob();
    await jobs.create(job);
    revocation = 'client removed';
    runner(storage.resources).wake();
    const ended = (await settled(job.id, 'failed'))!;
    expect(ended.revoked).toBe('client removed');
    expect(ended.progress.exported).toBe(0);
    await expect.poll(() => existsSync(path.join(dir, 'exports', job.id)), { timeout: 5000, interval: 20 }).toBe(false);
  });

  it('sweeps the files of completed jobs whose owner is revoked', async () => {
    const job = queuedJob();
    await jobs.create(job);
    runner(storage.resources).wake();
    await settled(job.id, 'completed');
    const sweeping = new ExportRunner(options(storage.resources));
    await sweeping.sweep();
    expect((await jobs.get(job.id))!.state).toBe('completed');
    revocation = 'account locked';
    await sweeping.sweep();
    const ended = (await jobs.get(job.id))!;
    expect([ended.state, ended.revoked, ended.output]).toEqual(['failed', 'account locked', []]);
    await expect.poll(() => existsSync(path.join(dir, 'exports', job.id)), { timeout: 5000, interval: 20 }).toBe(false);
  });

  it('sweeps expired jobs with their files, and folders whose job is gone', async () => {
    const job = queuedJob();
    await jobs.create(job);
    const node = runner(storage.resources);
    node.wake();
    await settled(job.id, 'completed');
    await jobs.update(job.id, (current) => ({ ...current, filesExpireAt: Date.now() - 1 }));
    const orphan = path.join(dir, 'exports', crypto.randomUUID());
    await files.folder(path.basename(orphan));
    const sweeping = new ExportRunner({ ...options(storage.resources), orphanAgeMs: 0 });
    await sweeping.sweep();
    expect(await jobs.get(job.id)).toBeUndefined();
    await expect.poll(() => existsSync(path.join(dir, 'exports', job.id)), { timeout: 5000, interval: 20 }).toBe(false);
    expect(existsSync(orphan)).toBe(false);
  });
});
