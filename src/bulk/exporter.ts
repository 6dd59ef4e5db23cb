/**
 * Runs one claimed export job: for each planned type, stream the store's `scan` (batches of
 * current versions, never the whole type) through the scope check and `_elements` into NDJSON
 * files, yielding to the event loop after every batch so the API keeps answering.
 *
 * Checkpoints (at most every CHECKPOINT_MS and after each type) renew the job's lease and record
 * progress; they are also where a cancellation, a lost lease or the end of the owner's
 * authorization (bulk/ownership.ts) is noticed. A resumed job keeps
 * the files of the types its checkpoint lists as done and exports the type in progress again.
 */
import type { SearchRegistry } from '../search/registry.js';
import type { OperationOutcomeIssue } from 'fhir/r4';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { applyElements } from '../fhir/projection.js';
import type { GuardedStore } from '../access/guarded-store.js';
import type { AccessPolicy, Principal } from '../access/policy.js';
import type { ResourceAccess } from '../access/resource-access.js';
import type { Logger } from '../log.js';
import type { StoredVersion } from '../storage/resource-store.js';
import { versionJson } from '../storage/stored-version.js';
import type { ExportFiles } from './files.js';
import type { ExportFile, ExportJob, TypePlan } from './job.js';
import type { JobStore } from './job-store.js';
import { NdjsonWriter } from './ndjson-writer.js';
import type { OwnerCheck } from './ownership.js';
import { groupPatients, typeScope, type PatientSet } from './scope.js';

export interface ExporterEnvironment {
  /** The store, bound to each job's owner when the job runs. */
  access: ResourceAccess;
  /** The policy of a job's owner as it is now (compiled again from the recorded principal). */
  resume(owner: Principal): AccessPolicy;
  /** Why the owner's authorization has ended (the job then stops), or undefined. */
  ownerRevoked: OwnerCheck;
  jobs: JobStore;
  files: ExportFiles;
  logger: Logger;
  fhirBaseUrl: string;
  /** The search parameters in force, for `_typeFilter` (R4's when absent). */
  searchRegistry?: () => SearchRegistry;
  maxFileBytes: number;
  fileTtlMs: number;
  /** This node's id, the owner of the leases it takes. */
  nodeId: string;
  leaseMs: number;
  /** Resources per scan batch: between two batches the event loop runs. */
  batchSize: number;
  checkpointMs: number;
}

/** Why a job stopped before its end without failing. */
export class JobInterrupted extends Error {
  constructor(
    readonly reason: 'cancelled' | 'lost-lease' | 'shutdown' | 'revoked',
    /** What ended the owner's authorization (reason `revoked`). */
    readonly detail?: string,
  ) {
    super(`export interrupted: ${reason}${detail ? ` (${detail})` : ''}`);
    this.name = 'JobInterrupted';
  }
}

/** Runs `claimed` (state running, leased to this node) to completion. Resolves to the completed job. */
export async function runExport(env: ExporterEnvironment, claimed: ExportJob, signal: AbortSignal): Promise<ExportJob> {
  let job = claimed;
  let lastCheckpoint = Date.now();

  /** Stops the job when its owner's authorization has ended. */
  const checkOwner = async (): Promise<void> => {
    const revoked = await env.ownerRevoked(job.owner);
    if (revoked) throw new JobInterrupted('revoked', revoked);
  };

  /** Records `change` if the job is still ours and running; throws JobInterrupted otherwise. */
  const checkpoint = async (change: Partial<ExportJob>): Promise<void> => {
    if (signal.aborted) throw new JobInterrupted('shutdown');
    await checkOwner();
    const stored = await env.jobs.update(job.id, (current) =>
      current.state === 'running' && current.lease?.owner === env.nodeId
        ? { ...current, ...change, lease: { owner: env.nodeId, until: Date.now() + env.leaseMs } }
        : undefined,
    );
    if (!stored || stored.state === 'cancelled') throw new JobInterrupted('cancelled');
    if (stored.state !== 'running' || stored.lease?.owner !== env.nodeId) throw new JobInterrupted('lost-lease');
    job = stored;
    lastCheckpoint = Date.now();
  };

  const folder = await env.files.folder(job.id);
  // Files of finished types stay; anything else was left by an interrupted attempt.
  await env.files.removeExcept(job.id, new Set(job.output.map((f) => f.name)));
  // Everything below reads as the job's owner may, now: if the owner still may at all.
  await checkOwner();
  const store = env.access.bind(env.resume(job.owner));
  const counts = await countsOf(store, job);
  const patients = await patientSet(store, env.fhirBaseUrl, job);
  const estimate = job.types.reduce((n, t) => n + (counts.get(t.type) ?? 0), 0);
  let exported = job.output.reduce((n, f) => n + f.count, 0);
  await checkpoint({ progress: { ...job.progress, exported, estimate } });

  for (let index = job.progress.typeIndex; index < job.types.length; index++) {
    const plan = job.types[index]!;
    let files: ExportFile[] = [];
    if (counts.get(plan.type)) {
      const writer = new NdjsonWriter(folder, plan.type, env.maxFileBytes, (n) => fileName(plan.type, n, job.attempts));
      try {
        await exportType(env, store, job, plan, patients, writer, signal, async (n) => {
          if (Date.now() - lastCheckpoint >= env.checkpointMs) {
            await checkpoint({ progress: { typeIndex: index, exported: exported + n, estimate, currentType: plan.type } });
          }
        });
        files = await writer.finish();
      } catch (error) {
        await writer.abort();
        throw error;
      }
    }
    exported += files.reduce((n, f) => n + f.count, 0);
    // A type that wrote nothing needs no checkpoint of its own (a system export plans all 146 types).
    if (files.length > 0 || Date.now() - lastCheckpoint >= env.checkpointMs || index === job.types.length - 1) {
      await checkpoint({ output: [...job.output, ...files], progress: { typeIndex: index + 1, exported, estimate } });
    }
  }

  const errors = job.issues.length ? await writeIssues(folder, job.issues, env.maxFileBytes) : [];
  await checkOwner();
  const now = Date.now();
  const done = await env.jobs.update(job.id, (current) =>
    current.state === 'running' && current.lease?.owner === env.nodeId
      ? {
          ...current,
          state: 'completed',
          errors,
          completedAt: now,
          filesExpireAt: now + env.fileTtlMs,
          lease: undefined,
          progress: { ...current.progress, currentType: undefined },
        }
      : undefined,
  );
  if (!done || done.state === 'cancelled') throw new JobInterrupted('cancelled');
  if (done.state !== 'completed') throw new JobInterrupted('lost-lease');
  env.logger.info({ job: job.id, resources: exported, files: done.output.length, ms: now - (done.startedAt ?? done.createdAt) }, 'export completed');
  return done;
}

/** Streams one type into `writer`; `tick` gets the count written so far after every batch. */
async function exportType(
  env: ExporterEnvironment,
  store: GuardedStore,
  job: ExportJob,
  plan: TypePlan,
  patients: PatientSet,
  writer: NdjsonWriter,
  signal: AbortSignal,
  tick: (written: number) => Promise<void>,
): Promise<void> {
  const scope = typeScope(plan, job.level !== 'system', patients, env.fhirBaseUrl, env.searchRegistry?.());
  const project = projection(job.elements, plan.type);
  let scanned = 0;
  let written = 0;
  const scan = store.scan({
    resourceType: plan.type,
    ...(scope.where ? { where: scope.where } : {}),
    ...(job.since !== undefined ? { since: job.since } : {}),
    batchSize: env.batchSize,
  });
  for await (const version of scan) {
    if (!scope.accept || scope.accept(version)) {
      await writer.write(project(version));
      written++;
    }
    if (++scanned % env.batchSize === 0) {
      // The scan fetches its next batch on the next iteration: let requests run first.
      await yieldToEventLoop();
      if (signal.aborted) throw new JobInterrupted('shutdown');
      await tick(written);
    }
  }
}

/** How many resources of each planned type the owner may see (for the progress estimate). */
async function countsOf(store: GuardedStore, job: ExportJob): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { type } of job.types) {
    const page = await store.search({ types: [type], where: { op: 'true' }, sort: [], limit: 0, total: 'accurate' });
    counts.set(type, page.total ?? 0);
  }
  return counts;
}

/** The patients a Patient- or Group-level export is limited to (undefined: every patient). */
async function patientSet(store: GuardedStore, fhirBaseUrl: string, job: ExportJob): Promise<PatientSet> {
  if (job.level !== 'group') return job.patients ? new Set(job.patients) : undefined;
  const group = await store.read('Group', job.groupId!);
  if (!group || group.deleted) throw new Error(`Group/${job.groupId} was deleted before its export ran`);
  let members = groupPatients(group.resource as Parameters<typeof groupPatients>[0], fhirBaseUrl);
  if (job.patients) members = members.filter((id) => job.patients!.includes(id));
  return new Set(members);
}

/** `_elements` for one type: the bare names plus those qualified with the type. */
function projection(elements: string[] | undefined, type: string): (version: StoredVersion) => string {
  const names = (elements ?? []).flatMap((element) => {
    const dot = element.indexOf('.');
    if (dot < 0) return [element];
    return element.slice(0, dot) === type ? [element.slice(dot + 1)] : [];
  });
  if (names.length === 0) return (version) => versionJson(version)!;
  return (version) => JSON.stringify(applyElements(version.resource!, names));
}

/** `Observation-1.ndjson`; a resumed attempt's files get their own names, never reusing an earlier attempt's. */
function fileName(type: string, n: number, attempt: number): string {
  return attempt > 1 ? `${type}-${n}.${attempt}.ndjson` : `${type}-${n}.ndjson`;
}

/** The manifest's error file: one OperationOutcome per issue. */
async function writeIssues(folder: string, issues: OperationOutcomeIssue[], maxBytes: number): Promise<ExportFile[]> {
  const writer = new NdjsonWriter(folder, 'OperationOutcome', maxBytes, (n) => `errors-${n}.ndjson`);
  for (const issue of issues) await writer.write(JSON.stringify({ resourceType: 'OperationOutcome', issue: [issue] }));
  return writer.finish();
}
