/**
 * The loader: reads Bundles and NDJSON, normalizes them into idempotent transaction Bundles
 * (normalize.ts) and submits them to a sink, either Bedside's FHIR API in-process (seeding,
 * `bedside load` without --url) or a FHIR server over HTTP. Reports progress and a summary.
 */
import type { Bundle, BundleEntry } from 'fhir/r4';
import { stripUnknownElements } from '../fhir/validation.js';
import { newNormalizeState, normalize } from './normalize.js';
import { NotFhirError, findSourceFiles, readJsonSource, readNdjsonChunks } from './sources.js';

/** Where transaction Bundles go. Returns the transaction-response Bundle. */
export interface BundleSink {
  submit(bundle: Bundle): Promise<Bundle>;
  describe: string;
}

export interface LoadProgress {
  files: number;
  filesDone: number;
  resources: number;
  elapsedMs: number;
}

export interface LoadSummary {
  files: number;
  /** Resources written, per type. */
  written: Record<string, number>;
  /** Resources left out because the same content was already loaded in this run. */
  duplicates: number;
  /** Entries that were not resources to write (GET/DELETE entries). */
  skipped: number;
  /** JSON files that are not FHIR at all (left alone). */
  notFhir: string[];
  /** With `lenient`: elements removed because they are not R4 (resource and path). */
  stripped: string[];
  /** Bundles that failed (whole transaction rolled back), with the server's reason. */
  failures: Array<{ file: string; message: string }>;
  elapsedMs: number;
  resourcesPerSecond: number;
}

export interface LoadOptions {
  sink: BundleSink;
  paths: string[];
  /** Entries per transaction Bundle. */
  chunkSize?: number;
  /** Bundles in flight at once (HTTP sinks gain from 2-4; the embedded store writes one at a time). */
  concurrency?: number;
  /** Remove elements that are not R4 (and report them) instead of failing the Bundle. */
  lenient?: boolean;
  onProgress?: (progress: LoadProgress) => void;
}

export async function load(options: LoadOptions): Promise<LoadSummary> {
  const started = Date.now();
  const chunkSize = options.chunkSize ?? 1000;
  const files = await findSourceFiles(options.paths);
  const state = newNormalizeState();
  const summary: LoadSummary = {
    files: files.length,
    written: {},
    duplicates: 0,
    skipped: 0,
    notFhir: [],
    stripped: [],
    failures: [],
    elapsedMs: 0,
    resourcesPerSecond: 0,
  };
  let resources = 0;
  let filesDone = 0;
  const inFlight = new Set<Promise<void>>();
  const limit = Math.max(1, options.concurrency ?? 1);

  const submit = async (file: string, bundle: Bundle): Promise<void> => {
    const entries = bundle.entry ?? [];
    if (options.lenient) {
      for (const entry of entries) {
        if (!entry.resource) continue;
        const { resource, removed } = stripUnknownElements(entry.resource);
        if (removed.length) {
          entry.resource = resource as typeof entry.resource;
          summary.stripped.push(...removed.map((path) => `${resource.resourceType}/${resource.id}: ${path}`));
        }
      }
    }
    if (entries.length === 0) return;
    try {
      await options.sink.submit(bundle);
      for (const entry of entries) count(summary.written, entry);
      resources += entries.length;
    } catch (error) {
      summary.failures.push({ file, message: (error as Error).message });
    }
    options.onProgress?.({ files: files.length, filesDone, resources, elapsedMs: Date.now() - started });
  };
  const enqueue = async (file: string, bundle: Bundle): Promise<void> => {
    while (inFlight.size >= limit) await Promise.race(inFlight);
    const task = submit(file, bundle).finally(() => inFlight.delete(task));
    inFlight.add(task);
  };

  for (const source of files) {
    try {
      if (source.kind === 'ndjson') {
        for await (const chunk of readNdjsonChunks(source.file, chunkSize)) {
          for (const part of normalize(chunk, state, chunkSize)) {
            summary.duplicates += part.duplicates;
            summary.skipped += part.skipped;
            await enqueue(source.file, part.bundle);
          }
        }
      } else {
        const bundle = await readJsonSource(source.file);
        // Parts of one source go in order: later chunks may reference earlier ones.
        for (const part of normalize(bundle, state, chunkSize)) {
          summary.duplicates += part.duplicates;
          summary.skipped += part.skipped;
          if (limit > 1) await Promise.all(inFlight);
          await enqueue(source.file, part.bundle);
        }
      }
    } catch (error) {
      if (error instanceof NotFhirError) summary.notFhir.push(source.file);
      else summary.failures.push({ file: source.file, message: (error as Error).message });
    }
    filesDone++;
  }
  await Promise.all(inFlight);
  summary.elapsedMs = Date.now() - started;
  const total = Object.values(summary.written).reduce((a, b) => a + b, 0);
  summary.resourcesPerSecond = Math.round((total / Math.max(summary.elapsedMs, 1)) * 1000);
  options.onProgress?.({ files: files.length, filesDone, resources, elapsedMs: summary.elapsedMs });
  return summary;
}

function count(written: Record<string, number>, entry: BundleEntry): void {
  const type = entry.resource?.resourceType;
  if (type) written[type] = (written[type] ?? 0) + 1;
}

/** A sink that POSTs transaction Bundles to a FHIR server. */
export function httpSink(fhirBaseUrl: string, token?: string): BundleSink {
  const url = fhirBaseUrl.replace(/\/+$/, '');
  return {
    describe: url,
    async submit(bundle) {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/fhir+json',
          accept: 'application/fhir+json',
          prefer: 'return=minimal',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(bundle),
      });
      const text = await response.text();
      if (!response.ok) {
        let message = `HTTP ${response.status}`;
        try {
          const outcome = JSON.parse(text) as { issue?: Array<{ diagnostics?: string }> };
          message += `: ${outcome.issue?.[0]?.diagnostics ?? text.slice(0, 300)}`;
        } catch {
          message += `: ${text.slice(0, 300)}`;
        }
        throw new Error(message);
      }
      return JSON.parse(text) as Bundle;
    },
  };
}

/** A progress line for terminals (overwritten in place) and logs. */
export function formatProgress(p: LoadProgress): string {
  const rate = Math.round((p.resources / Math.max(p.elapsedMs, 1)) * 1000);
  const width = 24;
  const filled = p.files ? Math.round((p.filesDone / p.files) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.filesDone}/${p.files} files, ${p.resources} resources, ${rate}/s`;
}
