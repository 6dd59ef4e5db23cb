/**
 * The HTTP side of `$export`, as FHIR interactions behind the same bearer verification as every
 * FHIR route: kick-off (system, Patient, Group), status polling, cancellation and file download.
 * Status, cancellation and files belong to the client and user that kicked the export off, for as
 * long as their authorization stands (bulk/ownership.ts).
 *
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html
 */
import type { OperationOutcome } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import type { InteractionHandler } from '../fhir/api.js';
import type { FhirContext } from '../fhir/context.js';
import { FhirError, badRequest, forbidden, notFound } from '../r4/errors.js';
import { preferences, type FhirRequest, type FhirResponse } from '../fhir/request.js';
import type { ExportFiles } from './files.js';
import { manifest, progressText, statusUrl, type ExportJob, type ExportLevel } from './job.js';
import type { JobStore } from './job-store.js';
import { endRevokedJob, endedJob, ownsJob, revokedAnswer, unknownJob, type OwnerCheck } from './ownership.js';
import { exportParameters } from './parameters.js';
import { assertLevelAllowed, planExport } from './plan.js';

export interface BulkHandlersContext {
  jobs: JobStore;
  files: ExportFiles;
  /** Starts queued work on this node now. */
  wake(): void;
  /** Removes a job and its files (expired or cancelled). */
  discard(jobId: string): Promise<void>;
  /** Exports a client may have queued or running at once (429 above). */
  maxActivePerClient: number;
  /** Why a job's owner may no longer have it (bulk/ownership.ts), or undefined. */
  ownerRevoked: OwnerCheck;
  /** How long a failed job's answer stays (its files' lifetime). */
  fileTtlMs: number;
}

const NDJSON = 'application/fhir+ndjson';
const RETRY_AFTER_SECONDS = '1';
const JOB_ID = /^[0-9a-f-]{36}$/;

/** `$export` kick-off at one level. https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-kick-off-request */
export function kickOff(bulk: BulkHandlersContext, level: ExportLevel): InteractionHandler {
  return async (context, request) => {
    const prefer = preferences(request);
    if (!('respond-async' in prefer)) throw badRequest('$export runs asynchronously: send the header Prefer: respond-async');
    const lenient = prefer.handling === 'lenient';
    const base = context.services.config.fhirBaseUrl;
    assertLevelAllowed(context.policy, level, base);
    const params = exportParameters(request, level, lenient, base, context.services.searchRegistry());
    const clientId = context.policy.restricted ? context.policy.principal.clientId : undefined;
    if (context.policy.restricted && !clientId) throw forbidden('$export needs an access token issued to a client');
    if (clientId) await checkQuota(bulk, clientId);
    const plan = await planExport(context, level, params, lenient, request.params.id);
    const now = Date.now();
    const job: ExportJob = {
      id: randomUUID(),
      ...(clientId ? { clientId } : {}),
      owner: context.policy.principal,
      request: requestUrl(base, request),
      level,
      ...(level === 'group' ? { groupId: request.params.id! } : {}),
      ...(plan.patients ? { patients: plan.patients } : {}),
      transactionTime: new Date(now).toISOString(),
      ...(params.since !== undefined ? { since: params.since } : {}),
      ...(params.elements ? { elements: params.elements } : {}),
      types: plan.types,
      state: 'queued',
      createdAt: now,
      issues: plan.issues,
      progress: { typeIndex: 0, exported: 0 },
      output: [],
      errors: [],
      attempts: 0,
      takeovers: 0,
    };
    await bulk.jobs.create(job);
    bulk.wake();
    const ignored = [...params.ignored, ...plan.ignored];
    const outcome: OperationOutcome = {
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'information', code: 'informational', diagnostics: `Export ${job.id} accepted: poll the Content-Location URL for its status` },
        ...ignored.map((what) => ({
          severity: 'warning' as const,
          code: 'not-supported' as const,
          diagnostics: `Ignored (Prefer: handling=lenient): ${what}`,
        })),
      ],
    };
    return { status: 202, headers: { 'content-location': statusUrl(base, job.id) }, body: outcome };
  };
}

/** GET on the status URL. https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-status-request */
export function status(bulk: BulkHandlersContext): InteractionHandler {
  return async (context, request): Promise<FhirResponse> => {
    const job = await ownedJob(bulk, context, request);
    switch (job.state) {
      case 'queued':
      case 'running':
        return { status: 202, headers: { 'x-progress': progressText(job), 'retry-after': RETRY_AFTER_SECONDS, 'cache-control': 'no-store' } };
      case 'failed':
        if (job.revoked) throw revokedAnswer(job);
        throw new FhirError(500, 'exception', job.failure ?? 'The export failed');
      default:
        return {
          status: 200,
          headers: { 'content-type': 'application/json; charset=utf-8', expires: httpDate(job.filesExpireAt!), 'cache-control': 'no-store' },
          body: { json: JSON.stringify(manifest(job, context.services.config.fhirBaseUrl)) },
        };
    }
  };
}

/** DELETE on the status URL. https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-delete-request */
export function cancel(bulk: BulkHandlersContext): InteractionHandler {
  return async (context, request) => {
    const job = await ownedJob(bulk, context, request);
    const after = await bulk.jobs.update(job.id, (current) =>
      current.state === 'queued' || current.state === 'running' ? { ...current, state: 'cancelled' } : undefined,
    );
    // A running job's node removes its files when it notices (within a second); nothing else runs the rest.
    const runningElsewhere = after?.state === 'cancelled' && (after.lease?.until ?? 0) > Date.now();
    if (after && !runningElsewhere) await bulk.discard(job.id);
    return {
      status: 202,
      headers: {},
      body: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'information', code: 'informational', diagnostics: `Export ${job.id} cancelled; its files are deleted` }],
      },
    };
  };
}

/** GET of one output or error file. https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-output-file-request */
export function download(bulk: BulkHandlersContext): InteractionHandler {
  return async (context, request) => {
    if (request.fromBundle) throw badRequest('Export files are downloaded directly, not through a batch Bundle');
    const job = await ownedJob(bulk, context, request);
    const name = request.params.file ?? '';
    const file = job.state === 'completed' ? [...job.output, ...job.errors].find((f) => f.name === name) : undefined;
    if (!file) throw notFound(`Export ${job.id} has no file ${name.slice(0, 80)}`);
    const opened = await bulk.files.open(job.id, file.name);
    if (!opened) throw notFound(`The file ${file.name} of export ${job.id} is gone`);
    return {
      status: 200,
      headers: { expires: httpDate(job.filesExpireAt!), 'cache-control': 'private, no-store' },
      stream: { contentType: NDJSON, length: opened.length, body: opened.body },
    };
  };
}

/**
 * The job of the URL, if it is still there and belongs to the caller (bulk/ownership.ts): one 404
 * for an unknown, cancelled or someone else's job. For the owner, an expired job is a 404 too,
 * and a job whose owner's authorization has ended is ended now (or, while a node runs it, shown
 * as ended: that node stops it at its next checkpoint).
 */
async function ownedJob(bulk: BulkHandlersContext, context: FhirContext, request: FhirRequest): Promise<ExportJob> {
  const id = request.params.jobId ?? '';
  const job = JOB_ID.test(id) ? await bulk.jobs.get(id) : undefined;
  if (!job || job.state === 'cancelled' || !ownsJob(context.policy, job)) throw unknownJob(id);
  if (job.filesExpireAt !== undefined && job.filesExpireAt <= Date.now()) {
    await bulk.discard(job.id);
    throw notFound(`Export ${id} has expired and its files are deleted`);
  }
  if (job.revoked) return job;
  const revoked = await bulk.ownerRevoked(job.owner);
  if (!revoked) return job;
  const ended = await endRevokedJob(bulk.jobs, bulk.files, job.id, revoked, bulk.fileTtlMs);
  return ended?.revoked ? ended : endedJob(job, revoked, Date.now(), bulk.fileTtlMs);
}

/**
 * The quota is the client's, shared by all its users (the users of one public app). Its answer
 * says only that the client is at its limit, a number fixed in the code: not how many jobs there
 * are, whose they are, or anything about them.
 */
async function checkQuota(bulk: BulkHandlersContext, clientId: string): Promise<void> {
  const active = (await bulk.jobs.ofClient(clientId)).filter((j) => j.state === 'queued' || j.state === 'running');
  if (active.length >= bulk.maxActivePerClient) {
    throw new FhirError(
      429,
      'throttled',
      `This client has reached its limit of ${bulk.maxActivePerClient} exports in progress at once (for all its users together); wait for one to finish or cancel one of yours (DELETE its status URL)`,
      { headers: { 'retry-after': '10' } },
    );
  }
}

function requestUrl(base: string, request: FhirRequest): string {
  const query = request.query.toString();
  return `${base}/${request.path}${query ? `?${query}` : ''}`;
}

function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
