/**
 * Finding and reading what the loader loads: JSON files holding a Bundle (transaction, batch,
 * collection, searchset) or a single resource, and NDJSON files (one resource per line), from
 * files and folders given on the command line. Files are read one at a time; NDJSON is streamed.
 */
import type { Bundle, FhirResource, Resource } from 'fhir/r4';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface SourceFile {
  file: string;
  kind: 'json' | 'ndjson';
}

/** Every .json / .ndjson file under the given paths, in a stable (sorted) order. */
export async function findSourceFiles(paths: string[]): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  const visit = async (p: string): Promise<void> => {
    const info = await stat(p);
    if (info.isDirectory()) {
      const names = (await readdir(p)).sort();
      for (const name of names) if (!name.startsWith('.')) await visit(path.join(p, name));
    } else if (/\.ndjson$/i.test(p)) out.push({ file: p, kind: 'ndjson' });
    else if (/\.json$/i.test(p)) out.push({ file: p, kind: 'json' });
  };
  for (const p of paths) await visit(p);
  return out;
}

/** A JSON file that is not FHIR (e.g. fhir-data/accounts.json): skipped, and said so. */
export class NotFhirError extends Error {}

/** A JSON file's content: a Bundle, or a lone resource wrapped as a one-entry collection. */
export async function readJsonSource(file: string): Promise<Bundle> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const resource = parsed as Resource;
  if (typeof resource !== 'object' || resource === null || typeof resource.resourceType !== 'string') {
    throw new NotFhirError(`${file}: not a FHIR resource (no resourceType)`);
  }
  if (resource.resourceType === 'Bundle' && ['transaction', 'batch', 'collection', 'searchset'].includes((resource as Bundle).type)) {
    return resource as Bundle;
  }
  return { resourceType: 'Bundle', type: 'collection', entry: [{ resource: resource as FhirResource }] };
}

/** NDJSON lines as resources, `chunkSize` at a time, so a huge file never sits in memory. */
export async function* readNdjsonChunks(file: string, chunkSize: number): AsyncIterable<Resource[]> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let chunk: Resource[] = [];
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    try {
      chunk.push(JSON.parse(line) as Resource);
    } catch {
      throw new Error(`${file}:${lineNumber}: not valid JSON`);
    }
    if (chunk.length >= chunkSize) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}
