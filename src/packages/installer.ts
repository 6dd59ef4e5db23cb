/**
 * Installing a package read by archive.ts: its conformance resources become ordinary resources
 * of the store (ids as in the package), and a record of what it put there goes into the package
 * registry (a DocumentStore collection), both shared by every node.
 *
 * - The same content again changes nothing (same digest).
 * - Another version of an installed package replaces it: its resources are updated, those the
 *   new version no longer has are deleted.
 * - A resource whose canonical URL, or `Type/id`, is already held by another package or by a
 *   resource that came from no package refuses the whole package, before anything is written.
 */
import type { Resource } from 'fhir/r4';
import type { DocumentCollection } from '../storage/document-store.js';
import type { PutRequest, ResourceStore } from '../storage/resource-store.js';
import type { IndexEntry } from '../storage/search-index.js';
import type { PackageContent } from './archive.js';
import type { InstalledPackage } from './conformance.js';
import { PackageError } from './errors.js';
import { findByUrls } from './store-conformance.js';

/** The package registry's documents: the record, and whether its resources are all written. */
export interface PackageRecord extends InstalledPackage {
  status: 'installing' | 'installed';
  /** The `.tgz` it was installed from, as it was then: an unchanged file is not read again. */
  origin?: FileStamp;
}

/** A file's identity for "has it changed?": path, size and modification time. */
export interface FileStamp {
  file: string;
  size: number;
  mtimeMs: number;
}

export type PackageRecords = DocumentCollection<PackageRecord>;

/** The DocumentStore collection of the package registry. */
export const PACKAGE_COLLECTION = 'fhir-packages';

export interface InstallOutcome {
  /** `installed`: new; `replaced`: another version was installed before; `unchanged`: same content. */
  status: 'installed' | 'replaced' | 'unchanged';
  package: InstalledPackage;
  /** The version it replaced. */
  previous?: string;
  /** Resources written (new or changed) and deleted (left out by the new version). */
  written: number;
  deleted: number;
}

export interface InstallDependencies {
  /** Where `content` was read from, when a file. */
  origin?: FileStamp;
  store: ResourceStore;
  records: PackageRecords;
  /** Index rows of a resource (the current search registry). */
  index: (resource: Resource) => IndexEntry[];
  now?: () => Date;
}

type Ref = { resourceType: string; id: string; url?: string };

const refKey = (r: { resourceType: string; id: string }) => `${r.resourceType}/${r.id}`;
const urlOf = (r: Resource): string | undefined => {
  const url = (r as { url?: unknown }).url;
  return typeof url === 'string' && url !== '' ? url : undefined;
};

/** Installs `content`; throws a {@link PackageError} (nothing written) when it clashes. */
export async function installPackage(content: PackageContent, deps: InstallDependencies): Promise<InstallOutcome> {
  const { manifest } = content;
  const id = `${manifest.name}#${manifest.version}`;
  const records = (await deps.records.list()).map((d) => d.value);
  const existing = records.find((r) => r.name === manifest.name);
  if (existing && existing.status === 'installed' && existing.digest === content.digest) {
    return { status: 'unchanged', package: existing, written: 0, deleted: 0 };
  }
  const refs = content.resources.map((r): Ref => ({ resourceType: r.resourceType, id: r.id!, ...(urlOf(r) ? { url: urlOf(r)! } : {}) }));
  checkWithinPackage(id, refs, content);
  await checkAgainstStore(id, manifest.name, refs, records, deps.store);

  const record: PackageRecord = {
    name: manifest.name,
    version: manifest.version,
    ...(manifest.canonical ? { canonical: manifest.canonical } : {}),
    fhirVersions: manifest.fhirVersions,
    dependencies: manifest.dependencies,
    resources: refs,
    digest: content.digest,
    installedAt: (deps.now?.() ?? new Date()).toISOString(),
    status: 'installing',
    ...(deps.origin ? { origin: deps.origin } : {}),
  };
  // Recorded first (with the old version's resources too), so that a crash half-way leaves
  // resources the next attempt recognises as this package's own.
  const leftOver = (existing?.resources ?? []).filter((r) => !refs.some((n) => refKey(n) === refKey(r)));
  await deps.records.put(manifest.name, { ...record, resources: [...refs, ...leftOver] });

  const current = await deps.store.readMany(refs);
  const currentJson = new Map(current.filter((v) => !v.deleted).map((v) => [refKey(v), withoutMeta(v.resource!)]));
  const puts: PutRequest[] = [];
  for (const resource of content.resources) {
    if (currentJson.get(refKey({ resourceType: resource.resourceType, id: resource.id! })) === withoutMeta(resource)) continue;
    puts.push({ resourceType: resource.resourceType, id: resource.id!, resource, index: deps.index(resource), method: 'PUT' });
  }
  await deps.store.bulkPut(puts);
  let deleted = 0;
  for (const ref of leftOver) if (await deps.store.delete({ resourceType: ref.resourceType, id: ref.id })) deleted++;
  await deps.records.put(manifest.name, { ...record, status: 'installed' });
  const { status: _status, origin: _origin, ...installed } = record;
  return {
    status: existing ? 'replaced' : 'installed',
    package: installed,
    ...(existing ? { previous: existing.version } : {}),
    written: puts.length,
    deleted,
  };
}

/** JSON of a resource without `meta.versionId`/`meta.lastUpdated` (the store sets those). */
function withoutMeta(resource: Resource): string {
  const { meta, ...rest } = resource;
  if (!meta) return JSON.stringify(rest);
  const { versionId: _v, lastUpdated: _l, ...keep } = meta;
  return JSON.stringify(Object.keys(keep).length ? { ...rest, meta: keep } : rest);
}

/** Two resources of the package with one `Type/id`, or one canonical URL and version. */
function checkWithinPackage(id: string, refs: Ref[], content: PackageContent): void {
  const ids = new Set<string>();
  const urls = new Set<string>();
  content.resources.forEach((resource, i) => {
    const ref = refs[i]!;
    if (ids.has(refKey(ref))) throw new PackageError(`${id} (${content.source}) has two resources ${refKey(ref)}`);
    ids.add(refKey(ref));
    if (!ref.url) return;
    const key = `${ref.resourceType} ${ref.url}|${(resource as { version?: string }).version ?? ''}`;
    if (urls.has(key)) throw new PackageError(`${id} (${content.source}) has two ${ref.resourceType}s with the canonical URL ${ref.url}`);
    urls.add(key);
  });
}

/** Refuses a package whose URLs or ids another package (or a resource from no package) holds. */
async function checkAgainstStore(id: string, name: string, refs: Ref[], records: PackageRecord[], store: ResourceStore): Promise<void> {
  const owner = new Map<string, PackageRecord>();
  for (const record of records) for (const r of record.resources) owner.set(refKey(r), record);
  const holder = (ref: { resourceType: string; id: string }) => {
    const record = owner.get(refKey(ref));
    return record ? `package ${record.name}#${record.version} (${refKey(ref)})` : `${refKey(ref)}, which is not from a package`;
  };
  const ours = (ref: { resourceType: string; id: string }) => owner.get(refKey(ref))?.name === name;

  // One problem per resource of the package: its canonical URL if taken, else its Type/id.
  const problems = new Map<string, string>();
  const urlsByType = new Map<string, Ref[]>();
  for (const ref of refs) if (ref.url) urlsByType.set(ref.resourceType, [...(urlsByType.get(ref.resourceType) ?? []), ref]);
  for (const [type, typed] of urlsByType) {
    const urls = [...new Set(typed.map((r) => r.url!))];
    for (let start = 0; start < urls.length; start += 100) {
      for (const found of await findByUrls(store, type, urls.slice(start, start + 100))) {
        const ref = { resourceType: found.resourceType, id: found.id! };
        if (ours(ref)) continue;
        for (const mine of typed.filter((r) => r.url === urlOf(found))) {
          problems.set(refKey(mine), `duplicate canonical URL ${urlOf(found)} (${refKey(mine)}): already held by ${holder(ref)}`);
        }
      }
    }
  }
  for (const version of await store.readMany(refs)) {
    if (version.deleted || ours(version) || problems.has(refKey(version))) continue;
    const record = owner.get(refKey(version));
    problems.set(refKey(version), `${refKey(version)} already exists, ${record ? `from package ${record.name}#${record.version}` : 'not from a package'}`);
  }
  if (problems.size === 0) return;
  const all = [...problems.values()];
  const shown = all.slice(0, 10);
  const more = all.length > shown.length ? `\n  ... and ${all.length - shown.length} more` : '';
  throw new PackageError(`${id} cannot be loaded:\n  - ${shown.join('\n  - ')}${more}`);
}
