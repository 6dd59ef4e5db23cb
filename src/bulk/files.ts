/**
 * Where export files live: one folder per job under the configured export folder
 * (`EXPORT_DIR`, default `DATA_DIR/exports`). Names come from the job document only, never from
 * a request, so no request can reach outside its job's folder.
 */
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

const JOB_ID = /^[0-9a-f-]{36}$/;

export class ExportFiles {
  constructor(readonly root: string) {}

  /** The folder of a job (created on demand). */
  async folder(jobId: string): Promise<string> {
    const dir = this.#dir(jobId);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Deletes a job's folder and everything in it. */
  async remove(jobId: string): Promise<void> {
    await rm(this.#dir(jobId), { recursive: true, force: true });
  }

  /** Deletes the files of a job that `keep` does not name (left by an interrupted attempt). */
  async removeExcept(jobId: string, keep: ReadonlySet<string>): Promise<void> {
    const dir = this.#dir(jobId);
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => !keep.has(n)).map((n) => rm(path.join(dir, n), { force: true })));
  }

  /** Opens a file for streaming, or undefined when it is not there (expired, cancelled). */
  async open(jobId: string, name: string): Promise<{ body: Readable; length: number } | undefined> {
    let handle;
    try {
      handle = await open(path.join(this.#dir(jobId), path.basename(name)), 'r');
    } catch {
      return undefined;
    }
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      await handle.close();
      throw error;
    }
    // The stream owns the handle from here: it closes it at the end, on error and on destroy.
    return { body: handle.createReadStream(), length: size };
  }

  /** Job folders older than `minAgeMs` (for the sweep of folders whose job is gone). */
  async folders(minAgeMs: number): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const old: string[] = [];
    for (const name of names.filter((n) => JOB_ID.test(n))) {
      const info = await stat(path.join(this.root, name)).catch(() => undefined);
      if (info?.isDirectory() && Date.now() - info.mtimeMs >= minAgeMs) old.push(name);
    }
    return old;
  }

  #dir(jobId: string): string {
    if (!JOB_ID.test(jobId)) throw new Error(`not an export job id: ${jobId.slice(0, 40)}`);
    return path.join(this.root, jobId);
  }
}
