/**
 * The background side of `$export` on one node: claims jobs from the shared store (queued ones,
 * and running ones whose node stopped renewing its lease), runs them one at a time, and sweeps
 * expired and cancelled jobs with their files.
 *
 * Restart behaviour: a node that shuts down gracefully hands its job back (state `queued`, its
 * checkpoint kept), so the next node to look resumes it at once. A node that dies keeps its
 * lease until it runs out (LEASE_MS), then any node resumes the job from its checkpoint. A job
 * taken over from dead nodes more than MAX_TAKEOVERS times fails with an OperationOutcome rather
 * than crash a node forever.
 *
 * Revocation: a job whose owner's authorization has ended stops at its next checkpoint and fails
 * with `revoked` set; the sweep ends completed jobs of such owners and deletes their files
 * (bulk/ownership.ts).
 */
import { randomUUID } from 'node:crypto';
import { SerialPass } from '../serial-pass.js';
import type { ExporterEnvironment } from './exporter.js';
import { JobInterrupted, runExport } from './exporter.js';
import type { ExportJob } from './job.js';
import { endRevokedJob, endedJob } from './ownership.js';

export interface RunnerOptions extends Omit<ExporterEnvironment, 'nodeId'> {
  /** How often the store is polled for jobs from other nodes and expired leases. */
  pollMs: number;
  /** How often expired and cancelled jobs are swept. */
  sweepMs: number;
  maxTakeovers: number;
  /** Job folders without a job are deleted when older than this (a kick-off creates the job first). */
  orphanAgeMs: number;
}

export class ExportRunner {
  readonly nodeId = randomUUID();
  readonly #abort = new AbortController();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #drains = new SerialPass({
    pass: () => this.#drain(),
    onError: (err) => this.options.logger.error({ err }, 'export runner failed'),
    rerun: () => this.wake(),
  });
  #closed = false;

  constructor(private readonly options: RunnerOptions) {}

  start(): void {
    this.#timers.push(setInterval(() => this.wake(), this.options.pollMs).unref());
    this.#timers.push(
      setInterval(() => void this.sweep().catch((err: unknown) => this.options.logger.error({ err }, 'export sweep failed')), this.options.sweepMs).unref(),
    );
    this.wake();
  }

  /** Looks for work now (a kick-off on this node calls it). */
  wake(): void {
    if (this.#closed) return;
    this.#drains.run();
  }

  /** Stops: the running job is handed back at its next batch; resolves when it has been. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#abort.abort();
    await this.#drains.current;
  }

  /**
   * Deletes expired jobs and their files, the files of completed jobs whose owner's authorization
   * has ended, cancelled jobs no node is running, and orphaned folders.
   */
  async sweep(): Promise<void> {
    const { jobs, files } = this.options;
    const now = Date.now();
    for (const job of await jobs.inState('completed', 'failed')) {
      if ((job.filesExpireAt ?? 0) <= now) await this.discard(job.id);
      else if (job.state === 'completed') {
        const revoked = await this.options.ownerRevoked(job.owner);
        if (revoked) {
          await endRevokedJob(jobs, files, job.id, revoked, this.options.fileTtlMs);
          this.options.logger.info({ job: job.id, revoked }, "export files deleted: the owner's authorization has ended");
        }
      }
    }
    for (const job of await jobs.inState('cancelled')) {
      if ((job.lease?.until ?? 0) < now) await this.discard(job.id);
    }
    for (const folder of await files.folders(this.options.orphanAgeMs)) {
      if (!(await jobs.get(folder))) await files.remove(folder);
    }
  }

  /** Removes a job and its files. */
  async discard(jobId: string): Promise<void> {
    await this.options.files.remove(jobId);
    await this.options.jobs.delete(jobId);
  }

  async #drain(): Promise<void> {
    while (!this.#closed) {
      const job = await this.#claim();
      if (!job) return;
      await this.#run(job);
    }
  }

  /** Takes the oldest job that is queued or whose lease ran out (compare-and-set: one node wins). */
  async #claim(): Promise<ExportJob | undefined> {
    const free = (job: ExportJob) => job.state === 'queued' || (job.state === 'running' && (job.lease?.until ?? 0) < Date.now());
    const candidates = (await this.options.jobs.inState('queued', 'running')).filter(free).sort((a, b) => a.createdAt - b.createdAt);
    for (const candidate of candidates) {
      const claimed = await this.options.jobs.update(candidate.id, (current) => {
        if (!free(current)) return undefined;
        const now = Date.now();
        return {
          ...current,
          state: 'running',
          attempts: current.attempts + 1,
          takeovers: current.takeovers + (current.state === 'running' ? 1 : 0),
          startedAt: now,
          lease: { owner: this.nodeId, until: now + this.options.leaseMs },
        };
      });
      if (claimed?.state === 'running' && claimed.lease?.owner === this.nodeId) return claimed;
    }
    return undefined;
  }

  async #run(job: ExportJob): Promise<void> {
    const { logger } = this.options;
    if (job.takeovers > this.options.maxTakeovers) {
      await this.#fail(job, `The export was interrupted ${job.takeovers} times by servers stopping while it ran; start a new export`);
      return;
    }
    logger.info(
      { job: job.id, attempt: job.attempts, resumeAt: job.types[job.progress.typeIndex]?.type },
      job.attempts > 1 ? 'export resumed' : 'export started',
    );
    try {
      await runExport({ ...this.options, nodeId: this.nodeId }, job, this.#abort.signal);
    } catch (error) {
      if (error instanceof JobInterrupted) {
        if (error.reason === 'cancelled') await this.discard(job.id);
        else if (error.reason === 'shutdown') await this.#handBack(job);
        else if (error.reason === 'revoked') await this.#end(job, (current, now) => endedJob(current, error.detail!, now, this.options.fileTtlMs));
        // lost-lease: another node runs the job now and owns its files.
        logger.info({ job: job.id, reason: error.reason, ...(error.detail ? { revoked: error.detail } : {}) }, 'export stopped');
        return;
      }
      logger.error({ err: error, job: job.id }, 'export failed');
      await this.#fail(job, 'The export failed on the server (the server log has the details); start a new export');
    }
  }

  /** Back to the queue with its checkpoint, for the next node (or this one after a restart). */
  async #handBack(job: ExportJob): Promise<void> {
    await this.options.jobs.update(job.id, (current) =>
      current.state === 'running' && current.lease?.owner === this.nodeId ? { ...current, state: 'queued', lease: undefined } : undefined,
    );
  }

  async #fail(job: ExportJob, reason: string): Promise<void> {
    await this.#end(job, (current, now) => ({
      ...current,
      state: 'failed',
      failure: reason,
      output: [],
      errors: [],
      completedAt: now,
      filesExpireAt: now + this.options.fileTtlMs,
      lease: undefined,
    }));
  }

  /** Ends a job this node runs as `failed` (as `change` makes it) and deletes its files. */
  async #end(job: ExportJob, change: (current: ExportJob, now: number) => ExportJob): Promise<void> {
    const now = Date.now();
    const failed = await this.options.jobs.update(job.id, (current) =>
      current.state === 'running' && current.lease?.owner === this.nodeId ? change(current, now) : undefined,
    );
    if (failed?.state === 'failed') await this.options.files.remove(job.id);
  }
}
