/**
 * Writes NDJSON lines of one resource type into files of at most `maxBytes` each
 * (`Observation-1.ndjson`, `Observation-2.ndjson` ...), buffering up to FLUSH_BYTES between
 * writes. A single line longer than `maxBytes` gets a file of its own. Files are synced to disk
 * when closed: a checkpoint that lists a file can trust it after a crash.
 *
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-output-file-request
 */
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ExportFile } from './job.js';

const FLUSH_BYTES = 256 * 1024;

export class NdjsonWriter {
  readonly #files: ExportFile[] = [];
  #handle: FileHandle | undefined;
  #current: ExportFile | undefined;
  #pending: string[] = [];
  #pendingBytes = 0;

  /**
   * @param fileName the name of the n-th file (from 1)
   */
  constructor(
    private readonly folder: string,
    private readonly type: string,
    private readonly maxBytes: number,
    private readonly fileName: (n: number) => string,
  ) {}

  /** Adds one line (a resource's JSON, without newline). */
  async write(line: string): Promise<void> {
    const size = Buffer.byteLength(line) + 1;
    if (this.#current && this.#current.count > 0 && this.#current.bytes + size > this.maxBytes) await this.#close();
    if (!this.#current) await this.#open();
    this.#pending.push(line);
    this.#pendingBytes += size;
    this.#current!.count++;
    this.#current!.bytes += size;
    if (this.#pendingBytes >= FLUSH_BYTES) await this.#flush();
  }

  /** Closes the last file; resolves to every file written (none when there were no lines). */
  async finish(): Promise<ExportFile[]> {
    if (this.#current) await this.#close();
    return this.#files;
  }

  /** Closes without finishing (the caller deletes what was written). */
  async abort(): Promise<void> {
    this.#pending = [];
    await this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
    this.#current = undefined;
  }

  async #open(): Promise<void> {
    const name = this.fileName(this.#files.length + 1);
    this.#handle = await open(path.join(this.folder, name), 'w');
    this.#current = { type: this.type, name, count: 0, bytes: 0 };
  }

  async #close(): Promise<void> {
    await this.#flush();
    await this.#handle!.datasync();
    await this.#handle!.close();
    this.#files.push(this.#current!);
    this.#handle = undefined;
    this.#current = undefined;
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const chunk = Buffer.from(`${this.#pending.join('\n')}\n`);
    this.#pending = [];
    this.#pendingBytes = 0;
    for (let offset = 0; offset < chunk.length; ) {
      const { bytesWritten } = await this.#handle!.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
  }
}
