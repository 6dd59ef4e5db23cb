/**
 * Bulk Data Access IG 2.0.0 `$export`, put together: the operations (system, Patient type,
 * Group instance), the status and file routes, and the background runner.
 *
 * | URL (below the FHIR base)          | what                                        |
 * | ---------------------------------- | ------------------------------------------- |
 * | `$export`, `Patient/$export`, `Group/{id}/$export` | kick-off, GET or POST      |
 * | `bulkstatus/{job}`                 | GET status / manifest, DELETE cancels       |
 * | `bulkfiles/{job}/{file}`           | GET an NDJSON file (streamed)               |
 *
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html
 */
import type { SearchRegistry } from '../search/registry.js';
import type { AccessPolicy, Principal } from '../access/policy.js';
import type { ResourceAccess } from '../access/resource-access.js';
import type { Operation, Route } from '../fhir/api.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { DocumentStore } from '../storage/document-store.js';
import { ExportFiles } from './files.js';
import { cancel, download, kickOff, status, type BulkHandlersContext } from './handlers.js';
import { JobStore } from './job-store.js';
import type { OwnerCheck } from './ownership.js';
import { ExportRunner } from './runner.js';

/** Tuning that is not configuration: sensible for every deployment, changed here if ever. */
const TUNING = {
  /** Resources per scan batch; the event loop runs between batches. */
  batchSize: 250,
  /** How long a job stays with a node that stopped renewing (a crash) before another takes it. */
  leaseMs: 30_000,
  pollMs: 2000,
  maxTakeovers: 3,
  maxActivePerClient: 5,
  orphanAgeMs: 10 * 60_000,
};

export interface BulkExport {
  operations: Operation[];
  routes: Route[];
  /** Starts running jobs and sweeping expired files on this node (the server does; tools do not). */
  start(): void;
  /** Stops the runner; a running job is handed back with its checkpoint. */
  close(): Promise<void>;
}

export interface BulkExportDependencies {
  config: Config;
  documents: DocumentStore;
  logger: Logger;
  /** Jobs read the data through the store bound to their owner's policy. */
  access: ResourceAccess;
  /** The policy of a job's owner as it is now. */
  resume(owner: Principal): AccessPolicy;
  /**
   * Why a job owner's authorization has ended (grant or token revoked, account locked, client
   * removed ...), or undefined while it stands: the job then stops and its files go
   * (bulk/ownership.ts).
   */
  ownerRevoked: OwnerCheck;
  /** The search parameters in force, for `_typeFilter` (R4's when absent). */
  searchRegistry?: () => SearchRegistry;
}

export function createBulkExport({ config, documents, logger, access, resume, ownerRevoked, searchRegistry }: BulkExportDependencies): BulkExport {
  const jobs = new JobStore(documents);
  const files = new ExportFiles(config.export.dir);
  const fileTtlMs = config.export.fileTtlSeconds * 1000;
  const runner = new ExportRunner({
    access,
    resume,
    ownerRevoked,
    jobs,
    files,
    logger,
    fhirBaseUrl: config.fhirBaseUrl,
    ...(searchRegistry ? { searchRegistry } : {}),
    maxFileBytes: config.export.maxFileBytes,
    fileTtlMs,
    batchSize: TUNING.batchSize,
    checkpointMs: config.export.checkpointMs,
    leaseMs: TUNING.leaseMs,
    pollMs: TUNING.pollMs,
    // Expired files go within a quarter of their lifetime (and within a minute).
    sweepMs: Math.min(60_000, Math.max(250, fileTtlMs / 4)),
    maxTakeovers: TUNING.maxTakeovers,
    orphanAgeMs: TUNING.orphanAgeMs,
  });
  const bulk: BulkHandlersContext = {
    jobs,
    files,
    wake: () => runner.wake(),
    discard: (id) => runner.discard(id),
    maxActivePerClient: TUNING.maxActivePerClient,
    ownerRevoked,
    fileTtlMs,
  };
  const methods: Operation['methods'] = ['GET', 'POST'];
  return {
    operations: [
      {
        name: 'export',
        definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
        levels: ['system'],
        methods,
        handler: kickOff(bulk, 'system'),
      },
      {
        name: 'export',
        definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
        levels: ['type'],
        types: ['Patient'],
        methods,
        handler: kickOff(bulk, 'patient'),
      },
      {
        name: 'export',
        definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export',
        levels: ['instance'],
        types: ['Group'],
        methods,
        handler: kickOff(bulk, 'group'),
      },
    ],
    routes: [
      { method: 'GET', path: '/bulkstatus/:jobId', handler: status(bulk) },
      { method: 'DELETE', path: '/bulkstatus/:jobId', handler: cancel(bulk) },
      { method: 'GET', path: '/bulkfiles/:jobId/:file', handler: download(bulk) },
    ],
    start: () => runner.start(),
    close: () => runner.close(),
  };
}
