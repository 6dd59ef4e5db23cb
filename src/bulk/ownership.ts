/**
 * Who an export belongs to, and what becomes of it when that person's authorization ends.
 *
 * - An export belongs to its owner: the client and the user that started it (for a backend
 *   service, the client is the user: its `sub`). Status, files and DELETE need a token with the
 *   same `client_id` and the same `sub`; the patient context, grant and scopes of that token may
 *   differ (the job runs with the owner's recorded policy whoever polls it). Anyone else gets
 *   the 404 of an unknown job, the same status and body apart from the id, so someone else's job
 *   cannot be told from a made-up id.
 * - When the owner's authorization ends (the grant revoked, the token revoked for tokens without
 *   a grant, the account locked or removed or its fhirUser changed, the client deleted or
 *   disabled), the job ends: state `failed` with `revoked` set, its files deleted. A running job
 *   notices at its next checkpoint (bulk/exporter.ts); a queued, completed or failed one when its
 *   status or files are next asked for (every such request checks) or at the runner's next
 *   sweep. The owner, with a new token, is then told why on the status URL (403); the files are
 *   404.
 *
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-status-request
 */
import type { AccessPolicy, Principal } from '../access/policy.js';
import { FhirError, notFound } from '../r4/errors.js';
import type { ExportFiles } from './files.js';
import type { ExportJob } from './job.js';
import type { JobStore } from './job-store.js';

/**
 * Why the authorization of a job's owner has ended (e.g. `grant revoked`), or undefined while it
 * stands. Injected (app.ts wires it to the authorization server's records).
 */
export type OwnerCheck = (owner: Principal) => Promise<string | undefined>;

/** Whether `policy`'s principal may see `job`: same client and same user, or enforcement off. */
export function ownsJob(policy: AccessPolicy, job: ExportJob): boolean {
  if (!policy.restricted) return true;
  const caller = policy.principal;
  const owner = job.owner;
  return !!caller.clientId && !!caller.subject && caller.clientId === owner.clientId && caller.subject === owner.subject;
}

/** The answer for a job id that is unknown, cancelled, or someone else's: one answer for all three. */
export function unknownJob(id: string): FhirError {
  return notFound(`No export job ${id.slice(0, 40)} for this token (unknown, cancelled, expired, or started by another client or user)`);
}

/** What the owner's status URL says about a job that ended with its owner's authorization. */
export function revokedAnswer(job: ExportJob): FhirError {
  return new FhirError(403, 'forbidden', job.failure ?? revokedFailure(job.revoked ?? 'authorization ended'));
}

export function revokedFailure(reason: string): string {
  return `The export was stopped and its files deleted because the authorization it was started with has ended (${reason}); start a new export`;
}

/**
 * The job as it is once ended for `reason`: failed, revoked, without files. `filesExpireAt` keeps
 * the job's document (and so its answer to the owner) for the files' lifetime.
 */
export function endedJob(job: ExportJob, reason: string, now: number, fileTtlMs: number): ExportJob {
  return {
    ...job,
    state: 'failed',
    failure: revokedFailure(reason),
    revoked: reason,
    output: [],
    errors: [],
    completedAt: job.completedAt ?? now,
    filesExpireAt: job.filesExpireAt ?? now + fileTtlMs,
    lease: undefined,
  };
}

/**
 * Ends a job no node is running (queued, completed, failed) because its owner's authorization
 * ended, and deletes its files. A running job is left to its node, which ends it at its next
 * checkpoint. Resolves to the job as stored afterwards.
 */
export async function endRevokedJob(jobs: JobStore, files: ExportFiles, id: string, reason: string, fileTtlMs: number): Promise<ExportJob | undefined> {
  const now = Date.now();
  const after = await jobs.update(id, (current) =>
    (current.state === 'queued' || current.state === 'completed' || current.state === 'failed') && !current.revoked
      ? endedJob(current, reason, now, fileTtlMs)
      : undefined,
  );
  if (after?.revoked) await files.remove(id);
  return after;
}
