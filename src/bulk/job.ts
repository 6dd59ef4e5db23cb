/**
 * An export job as it is kept in the DocumentStore (collection `bulk.jobs`), shared by every node:
 * what was asked, who asked it, and how far the export has got.
 *
 * Lifecycle: `queued` (kick-off) → `running` (a node holds its lease) → `completed` | `failed`;
 * `cancelled` from `queued` or `running` (DELETE on the status URL). When the owner's
 * authorization ends (grant revoked, account locked, client removed ...), the job ends as
 * `failed` with `revoked` set, from any state but `cancelled`, and its files are deleted
 * (bulk/ownership.ts). A running job whose lease
 * runs out (its node died) is taken over by any node and resumed from its checkpoint: the types
 * already finished keep their files, the type in progress starts again.
 *
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html
 */
import type { OperationOutcomeIssue } from 'fhir/r4';
import type { Principal } from '../access/policy.js';

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Which `$export` was called. */
export type ExportLevel = 'system' | 'patient' | 'group';

/** One resource type to export, with what restricts it beyond the owner's policy. */
export interface TypePlan {
  type: string;
  /** `_typeFilter` queries for this type (`code=...&status=...`), any of which a resource must match. */
  filters?: string[];
}

/** A finished NDJSON file. */
export interface ExportFile {
  /** Resource type of its lines (`OperationOutcome` for error files). */
  type: string;
  /** File name within the job's folder, e.g. `Observation-2.ndjson`. */
  name: string;
  count: number;
  bytes: number;
}

export interface ExportJob {
  id: string;
  /** The owner's client, the key of its quota (maxActivePerClient). Absent when enforcement is off. */
  clientId?: string;
  /**
   * Who asked (client, user, patient context, grant, scopes): the job runs with this principal's
   * policy, compiled again when it runs, never with a copy taken at kick-off. Only tokens of the
   * same client and the same user may poll, cancel and download (bulk/ownership.ts).
   */
  owner: Principal;
  /** The kick-off request URL, for the manifest's `request`. */
  request: string;
  level: ExportLevel;
  /** Group level: the Group's id (its members are read when the export runs). */
  groupId?: string;
  /** `patient` parameter (POST): only these patients' compartments. */
  patients?: string[];
  /** FHIR instant of the kick-off: the manifest's `transactionTime`, the next export's `_since`. */
  transactionTime: string;
  /** `_since` as epoch ms. */
  since?: number;
  /** `_elements`: bare element names, or `Type.element`. */
  elements?: string[];
  types: TypePlan[];
  state: JobState;
  createdAt: number;
  /** Issues to report in the manifest's error file (unknown patients, ...). */
  issues: OperationOutcomeIssue[];
  /** Checkpoint: types before `typeIndex` are done and their files listed in `output`. */
  progress: { typeIndex: number; exported: number; estimate?: number; currentType?: string };
  output: ExportFile[];
  errors: ExportFile[];
  /** Held by the node running the job, renewed at every checkpoint. */
  lease?: { owner: string; until: number };
  /** How many times a node has started (or resumed) the job. */
  attempts: number;
  /** How many of those took over from a node that stopped without handing the job back (crashed). */
  takeovers: number;
  /** When the latest attempt started. */
  startedAt?: number;
  completedAt?: number;
  /** When the files are deleted (completed and failed jobs). */
  filesExpireAt?: number;
  /** Why the job failed (state `failed`). */
  failure?: string;
  /** The job failed because its owner's authorization ended: what ended it (e.g. `grant revoked`). */
  revoked?: string;
}

/** The completion manifest. https://hl7.org/fhir/uv/bulkdata/STU2/export.html#response---complete-status */
export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: true;
  output: Array<{ type: string; url: string; count: number }>;
  error: Array<{ type: string; url: string; count: number }>;
}

/** The status URL of a job (the kick-off's Content-Location). */
export function statusUrl(fhirBase: string, jobId: string): string {
  return `${fhirBase}/bulkstatus/${jobId}`;
}

/** The download URL of one of a job's files. */
export function fileUrl(fhirBase: string, jobId: string, name: string): string {
  return `${fhirBase}/bulkfiles/${jobId}/${name}`;
}

export function manifest(job: ExportJob, fhirBase: string): Manifest {
  const entry = (f: ExportFile) => ({ type: f.type, url: fileUrl(fhirBase, job.id, f.name), count: f.count });
  return {
    transactionTime: job.transactionTime,
    request: job.request,
    requiresAccessToken: true,
    output: job.output.map(entry),
    error: job.errors.map(entry),
  };
}

/** The `X-Progress` text of a running job. */
export function progressText(job: ExportJob): string {
  if (job.state === 'queued') return 'queued';
  const { exported, estimate, currentType } = job.progress;
  const share = estimate ? ` (about ${Math.min(99, Math.floor((exported / Math.max(estimate, 1)) * 100))}%)` : '';
  return `${exported} resources exported${share}${currentType ? `, now ${currentType}` : ''}`;
}
