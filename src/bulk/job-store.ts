/**
 * Export jobs over the DocumentStore port (collection `bulk.jobs`), so every node sees the same
 * jobs. Concurrent writers (the node running a job, a DELETE on another node, a node taking over
 * an expired lease) never overwrite each other: every change is a compare-and-set on the stored
 * document, retried on conflict.
 */
import type { DocumentCollection, DocumentStore, PutOptions } from '../storage/document-store.js';
import type { ExportJob, JobState } from './job.js';

/** Finished jobs' documents outlive their files by this long, so a sweep after downtime still finds the files. */
const DOCUMENT_GRACE_MS = 24 * 3600_000;
const MAX_CONFLICTS = 20;

export class JobStore {
  readonly #docs: DocumentCollection<ExportJob>;

  constructor(documents: DocumentStore) {
    this.#docs = documents.collection<ExportJob>('bulk.jobs');
  }

  async create(job: ExportJob): Promise<void> {
    if (!(await this.#docs.insert(job.id, job, options(job)))) throw new Error(`export job ${job.id} already exists`);
  }

  get(id: string): Promise<ExportJob | undefined> {
    return this.#docs.get(id);
  }

  /**
   * Changes a job atomically: `change` gets the current job and returns the new one, or
   * undefined to leave it as it is. Resolves to the job as stored afterwards (undefined when
   * there is no such job).
   */
  async update(id: string, change: (job: ExportJob) => ExportJob | undefined): Promise<ExportJob | undefined> {
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const stored = await this.#docs.getStored(id);
      if (!stored) return undefined;
      const next = change(stored.value);
      if (!next) return stored.value;
      if (await this.#docs.replaceIf(id, stored.updatedAt, next, options(next))) return next;
    }
    throw new Error(`export job ${id}: too many concurrent updates`);
  }

  delete(id: string): Promise<boolean> {
    return this.#docs.delete(id);
  }

  async inState(...states: JobState[]): Promise<ExportJob[]> {
    const found = await Promise.all(states.map((s) => this.#docs.findByKey('state', s)));
    return found.flat().map((d) => d.value);
  }

  async ofClient(clientId: string): Promise<ExportJob[]> {
    return (await this.#docs.findByKey('client', clientId)).map((d) => d.value);
  }
}

function options(job: ExportJob): PutOptions {
  const keys = { state: job.state, ...(job.clientId ? { client: job.clientId } : {}) };
  if (job.state === 'completed' || job.state === 'failed') return { keys, expiresAt: (job.filesExpireAt ?? Date.now()) + DOCUMENT_GRACE_MS };
  if (job.state === 'cancelled') return { keys, expiresAt: Date.now() + DOCUMENT_GRACE_MS };
  return { keys };
}
