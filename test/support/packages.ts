/**
 * FHIR packages for tests: our own example package (test/fixtures/packages/bedside.example),
 * packed into a .tgz on the fly (optionally edited), and the US Core packages of
 * ../shared/fhir-packages when present (tests that need them skip otherwise).
 */
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Our example package, as a folder (holding `package/`). */
export const EXAMPLE_PACKAGE = path.join(ROOT, 'test/fixtures/packages/bedside.example');

export const SHARED_PACKAGES = process.env.BEDSIDE_SHARED_PACKAGES ?? path.resolve(ROOT, '../shared/fhir-packages');
export const US_CORE_6 = path.join(SHARED_PACKAGES, 'hl7.fhir.us.core-6.1.0.tgz');
export const US_CORE_3 = path.join(SHARED_PACKAGES, 'hl7.fhir.us.core-3.1.1.tgz');
export const hasUsCore = existsSync(US_CORE_6) && existsSync(US_CORE_3);

/** Every file of a package folder, by its path in the archive (`package/...`). */
function folderFiles(folder: string, prefix = 'package'): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const dir = path.join(folder, prefix);
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) for (const [k, v] of folderFiles(folder, `${prefix}/${name}`)) files.set(k, v);
    else files.set(`${prefix}/${name}`, readFileSync(full));
  }
  return files;
}

/**
 * Packs a package folder into a .tgz in a temporary folder; `edit` may change or drop (return
 * undefined) a file's JSON, or add files via `extra`.
 */
export async function packFolder(
  folder: string,
  options: { edit?: (name: string, json: any) => any; extra?: Record<string, unknown>; fileName?: string } = {},
): Promise<string> {
  const files = folderFiles(folder);
  // A string is written as it is (to make broken files); anything else as JSON.
  for (const [name, json] of Object.entries(options.extra ?? {})) files.set(name, Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)));
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const [name, content] of files) {
    let body = content;
    if (options.edit && name.endsWith('.json') && !(name in (options.extra ?? {}))) {
      const edited = options.edit(name, JSON.parse(content.toString('utf8')));
      if (edited === undefined) continue;
      body = Buffer.from(JSON.stringify(edited));
    }
    pack.entry({ name, size: body.length }, body);
  }
  pack.finalize();
  await done;
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'bedside-pkg-')), options.fileName ?? 'package.tgz');
  await writeFile(file, gzipSync(Buffer.concat(chunks)));
  return file;
}

/** The examples of US Core 6.1.0 (`package/example/`), searchset Bundles left out. */
export async function usCoreExamples(): Promise<any[]> {
  const extract = tar.extract();
  const found: any[] = [];
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      if (/^package\/example\/[^/]+\.json$/.test(header.name)) {
        const json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (!(json.resourceType === 'Bundle' && json.type === 'searchset')) found.push(json);
      }
      next();
    });
  });
  await pipeline(createReadStream(US_CORE_6), createGunzip(), extract);
  return found.sort((a, b) => `${a.resourceType}/${a.id}`.localeCompare(`${b.resourceType}/${b.id}`));
}

/** Reads one JSON file of the example package. */
export function exampleResource(file: string): any {
  return JSON.parse(readFileSync(path.join(EXAMPLE_PACKAGE, 'package', file), 'utf8'));
}
