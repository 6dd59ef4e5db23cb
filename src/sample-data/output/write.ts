/**
 * Writes generated data to a folder, streaming: one patient is generated, serialised and written
 * before the next, so memory stays flat at any size.
 *
 * - `bundles`: `shared.json` (load it first) and `patients/<patient-id>.json`, each a FHIR
 *   `transaction` Bundle whose entries are `PUT Type/id`, so loading twice changes nothing.
 * - `ndjson`: `<ResourceType>.ndjson`, one resource per line (the Bulk Data format).
 */
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Bundle, FhirResource, Resource } from 'fhir/r4';
import { generatePatients, generateShared, type PatientRecord } from '../generate.js';
import { resolveOptions, type GeneratorOptions } from '../options.js';

export type OutputFormat = 'bundles' | 'ndjson';

export interface WriteOptions {
  /** Folder to write into; created if missing. Only files this generator owns are replaced. */
  readonly outDir: string;
  readonly format: OutputFormat;
  /** Indent JSON (bundles only). Default: indented for up to 100 patients, compact above. */
  readonly pretty?: boolean;
}

export interface WriteSummary {
  /** Resources written, by type. */
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
  /** Files written, in load order for bundles. */
  readonly files: readonly string[];
  readonly bytes: number;
}

/** Sets above this many patients are written compact by default. */
const PRETTY_LIMIT = 100;

/** Generates and writes a whole data set; resolves to what was written. */
export async function writeSampleData(options: Partial<GeneratorOptions>, write: WriteOptions): Promise<WriteSummary> {
  const resolved = resolveOptions(options);
  mkdirSync(write.outDir, { recursive: true });
  removePreviousOutput(write.outDir);
  const shared = generateShared(resolved);
  const records = generatePatients(resolved);
  const pretty = write.pretty ?? resolved.patients <= PRETTY_LIMIT;
  return write.format === 'bundles' ? writeBundles(write.outDir, shared, records, pretty) : writeNdjson(write.outDir, shared, records);
}

const RESOURCE_TYPE = /^[A-Z][A-Za-z]+$/;

/**
 * Deletes what an earlier run wrote (shared.json, patients/*.json, <Type>.ndjson) so a smaller
 * set does not leave stale patients behind; anything else in the folder (README.md) is kept.
 */
function removePreviousOutput(outDir: string): void {
  for (const name of readdirSync(outDir)) {
    const ndjson = name.endsWith('.ndjson') && RESOURCE_TYPE.test(name.slice(0, -'.ndjson'.length));
    if (name === 'shared.json' || ndjson) rmSync(path.join(outDir, name));
  }
  const patients = path.join(outDir, 'patients');
  try {
    for (const name of readdirSync(patients)) if (name.endsWith('.json')) rmSync(path.join(patients, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** A transaction of idempotent PUTs (no urn:uuid fullUrls: ids are stable and references relative). */
export function transactionBundle(resources: readonly Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({
      // Every generated resource is a concrete R4 type; `Resource` is just the common view of them.
      resource: resource as FhirResource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}

class Tally {
  readonly counts: Record<string, number> = {};
  total = 0;
  bytes = 0;
  readonly files: string[] = [];

  count(resources: readonly Resource[]): void {
    for (const r of resources) this.counts[r.resourceType] = (this.counts[r.resourceType] ?? 0) + 1;
    this.total += resources.length;
  }

  summary(): WriteSummary {
    const counts = Object.fromEntries(Object.entries(this.counts).sort(([a], [b]) => a.localeCompare(b)));
    return { counts, total: this.total, files: this.files, bytes: this.bytes };
  }
}

/**
 * Runs file writes on libuv's thread pool while the main thread generates the next patients,
 * with a bounded number in flight so memory stays flat. Synchronous writes of ten thousand files
 * left the CPU idle for a third of the run.
 */
class WriteQueue {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly limit: number) {}

  async write(file: string, data: Buffer): Promise<void> {
    const done: Promise<void> = writeFile(file, data).finally(() => this.pending.delete(done));
    this.pending.add(done);
    if (this.pending.size >= this.limit) await Promise.race(this.pending);
  }

  async drain(): Promise<void> {
    await Promise.all(this.pending);
  }
}

async function writeBundles(outDir: string, shared: readonly Resource[], records: Iterable<PatientRecord>, pretty: boolean): Promise<WriteSummary> {
  const tally = new Tally();
  const queue = new WriteQueue(16);
  const writeBundle = async (file: string, resources: readonly Resource[]): Promise<void> => {
    const data = Buffer.from(`${JSON.stringify(transactionBundle(resources), null, pretty ? 2 : undefined)}\n`);
    tally.count(resources);
    tally.bytes += data.length;
    tally.files.push(path.relative(outDir, file));
    await queue.write(file, data);
  };
  try {
    await writeBundle(path.join(outDir, 'shared.json'), shared);
    mkdirSync(path.join(outDir, 'patients'), { recursive: true });
    for (const record of records) await writeBundle(path.join(outDir, 'patients', `${record.patientId}.json`), record.resources);
  } finally {
    await queue.drain();
  }
  return tally.summary();
}

/** Buffers lines per resource type and flushes in large writes; files open on first use. */
class NdjsonFiles {
  private readonly open = new Map<string, { fd: number; chunks: string[]; size: number }>();
  private static readonly FLUSH_AT = 1 << 20;

  constructor(
    private readonly outDir: string,
    private readonly tally: Tally,
  ) {}

  append(resource: Resource): void {
    let file = this.open.get(resource.resourceType);
    if (!file) {
      const name = `${resource.resourceType}.ndjson`;
      file = { fd: openSync(path.join(this.outDir, name), 'w'), chunks: [], size: 0 };
      this.open.set(resource.resourceType, file);
      this.tally.files.push(name);
    }
    const line = `${JSON.stringify(resource)}\n`;
    file.chunks.push(line);
    file.size += line.length;
    if (file.size >= NdjsonFiles.FLUSH_AT) this.flush(file);
  }

  private flush(file: { fd: number; chunks: string[]; size: number }): void {
    if (file.chunks.length === 0) return;
    const data = Buffer.from(file.chunks.join(''));
    for (let offset = 0; offset < data.length; ) offset += writeSync(file.fd, data, offset);
    this.tally.bytes += data.length;
    file.chunks = [];
    file.size = 0;
  }

  close(): void {
    for (const file of this.open.values()) {
      this.flush(file);
      closeSync(file.fd);
    }
    this.open.clear();
  }
}

function writeNdjson(outDir: string, shared: readonly Resource[], records: Iterable<PatientRecord>): WriteSummary {
  const tally = new Tally();
  const files = new NdjsonFiles(outDir, tally);
  try {
    for (const resource of shared) files.append(resource);
    tally.count(shared);
    for (const record of records) {
      for (const resource of record.resources) files.append(resource);
      tally.count(record.resources);
    }
  } finally {
    files.close();
  }
  tally.files.sort();
  return tally.summary();
}
