/**
 * Reading a FHIR NPM package from a `.tgz` file or a folder: its manifest (`package/package.json`)
 * and the conformance resources at the package root. Examples (`package/example/`), the IG's
 * other folders (`other/`, `openapi/`, `xml/`) and the `.index.json` are not read.
 *
 * https://confluence.hl7.org/display/FHIR/NPM+Package+Specification
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Resource } from 'fhir/r4';
import tar from 'tar-stream';
import { PackageError } from './errors.js';
import { parseManifest, type PackageManifest } from './manifest.js';

/**
 * The resource types a package contributes to the server: definitions and terminology. Other
 * resources at a package's root (some IGs keep examples there) are left out.
 * https://hl7.org/fhir/R4/conformance-module.html, https://hl7.org/fhir/R4/terminology-module.html
 */
export const CONFORMANCE_TYPES: ReadonlySet<string> = new Set([
  'StructureDefinition',
  'SearchParameter',
  'ValueSet',
  'CodeSystem',
  'ConceptMap',
  'NamingSystem',
  'ImplementationGuide',
  'CapabilityStatement',
  'OperationDefinition',
  'CompartmentDefinition',
  'StructureMap',
  'GraphDefinition',
  'MessageDefinition',
]);

/** Largest package accepted (unpacked bytes of the files read). US Core 7.0.0 is about 12 MB. */
export const MAX_PACKAGE_BYTES = 256 * 1024 * 1024;

/** A package as read from disk. */
export interface PackageContent {
  manifest: PackageManifest;
  /** Its conformance resources, in file-name order. */
  resources: Resource[];
  /** Files at the root that are JSON but not conformance resources (examples kept there). */
  skipped: number;
  /** SHA-256 over the manifest and the resources read: equal content, equal digest. */
  digest: string;
  /** Where it was read from. */
  source: string;
}

/** Reads a package from a `.tgz` (or `.tar.gz`) file or a folder holding `package/` or `package.json`. */
export async function readPackage(source: string): Promise<PackageContent> {
  const info = await stat(source).catch(() => undefined);
  if (!info) throw new PackageError(`${source}: no such file or folder`);
  const files = info.isDirectory() ? await readFolder(source) : await readTarball(source);
  return assemble(source, files);
}

/** File name (below `package/`) to content. */
type PackageFiles = Map<string, Buffer>;

async function readFolder(folder: string): Promise<PackageFiles> {
  const root = (await stat(path.join(folder, 'package', 'package.json')).catch(() => undefined)) ? path.join(folder, 'package') : folder;
  const files: PackageFiles = new Map();
  let total = 0;
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isFile() || !isRootJson(entry.name)) continue;
    const content = await readFile(path.join(root, entry.name));
    total += content.length;
    if (total > MAX_PACKAGE_BYTES) throw new PackageError(`${folder}: larger than ${MAX_PACKAGE_BYTES / 1024 / 1024} MB`);
    files.set(entry.name, content);
  }
  return files;
}

async function readTarball(file: string): Promise<PackageFiles> {
  const files: PackageFiles = new Map();
  let total = 0;
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    // `package/X.json` only; entries in sub-folders (examples, other) are drained unread.
    const name = header.name.replace(/^\.\//, '');
    const match = /^package\/([^/]+)$/.exec(name);
    if (header.type !== 'file' || !match || !isRootJson(match[1]!)) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => {
      total += (chunk as Buffer).length;
      if (total > MAX_PACKAGE_BYTES) stream.destroy(new PackageError(`larger than ${MAX_PACKAGE_BYTES / 1024 / 1024} MB`));
      else chunks.push(chunk as Buffer);
    });
    stream.on('end', () => {
      files.set(match[1]!, Buffer.concat(chunks));
      next();
    });
    stream.on('error', next);
  });
  try {
    await pipeline(createReadStream(file), createGunzip(), extract);
  } catch (error) {
    throw new PackageError(`${file} is not a readable package (.tgz): ${(error as Error).message}`);
  }
  return files;
}

function isRootJson(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.');
}

function assemble(source: string, files: PackageFiles): PackageContent {
  const manifestFile = files.get('package.json');
  if (!manifestFile) throw new PackageError(`${source} has no package/package.json: it is not a FHIR package`);
  const manifest = parseManifest(parseJson(source, 'package.json', manifestFile), source);
  const hash = createHash('sha256').update(manifestFile);
  const resources: Resource[] = [];
  // Publishers sometimes ship one resource twice (US Core 3.1.1: ig-r4.json beside the IG's own
  // file); identical copies are read once, different ones are left to the installer to refuse.
  const seen = new Map<string, string>();
  let skipped = 0;
  for (const name of [...files.keys()].sort()) {
    if (name === 'package.json') continue;
    const content = files.get(name)!;
    const json = parseJson(source, name, content) as Partial<Resource> | null;
    if (!json || typeof json !== 'object' || typeof json.resourceType !== 'string') {
      skipped++;
      continue;
    }
    if (!CONFORMANCE_TYPES.has(json.resourceType)) {
      skipped++;
      continue;
    }
    if (typeof json.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(json.id)) {
      throw new PackageError(`${source}: ${name} has no valid id (a ${json.resourceType} needs one to be stored)`);
    }
    const key = `${json.resourceType}/${json.id}`;
    const text = JSON.stringify(json);
    if (seen.get(key) === text) {
      skipped++;
      continue;
    }
    seen.set(key, text);
    hash.update(name).update(content);
    resources.push(json as Resource);
  }
  return { manifest, resources, skipped, digest: hash.digest('hex'), source };
}

function parseJson(source: string, name: string, content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new PackageError(`${source}: ${name} is not valid JSON (${(error as Error).message})`);
  }
}
