/**
 * {@link ConformanceResources} backed by the resource store: lookups by canonical URL are one
 * indexed search (`url` is a uri search parameter of every canonical resource). The server-wide
 * instance caches what it found until {@link StoreConformance.invalidate}; a request's view
 * (`through(context.store)`) asks its policy-bound store every time.
 */
import type { CodeSystem, ImplementationGuide, Resource, SearchParameter, StructureDefinition, ValueSet } from 'fhir/r4';
import type { GuardedStore } from '../access/guarded-store.js';
import type { ResourceOperations } from '../storage/resource-store.js';
import type { ConformanceResources, InstalledPackage } from './conformance.js';

/** Splits `url|version` (https://hl7.org/fhir/R4/references.html#canonical). */
export function splitCanonical(canonical: string): { url: string; version?: string } {
  const bar = canonical.indexOf('|');
  return bar < 0 ? { url: canonical } : { url: canonical.slice(0, bar), version: canonical.slice(bar + 1) };
}

/**
 * The live resources of `type` whose `url` is one of `urls` (any version). Read through a
 * request's store whose token may not search `type`, there are none (R4 core still answers).
 */
export async function findByUrls(store: ResourceOperations, type: string, urls: string[]): Promise<Resource[]> {
  if (urls.length === 0) return [];
  const policy = (store as Partial<GuardedStore>).policy;
  if (policy && !policy.permits(type, 'search')) return [];
  const page = await store.search({
    types: [type],
    where: {
      op: 'row',
      table: 'uri',
      param: 'url',
      where: [urls.length === 1 ? { field: 'value', cmp: 'eq', value: urls[0]! } : { field: 'value', cmp: 'in', value: urls }],
    },
    sort: [],
    limit: Math.max(50, urls.length * 4),
  });
  return page.resources.map((v) => v.resource!).filter((r) => r !== undefined);
}

/**
 * Picks the resource a canonical reference means: the given version, or (without one) the
 * highest `version` by a plain comparison of its dot-separated parts.
 */
function pick<T extends Resource & { version?: string }>(candidates: T[], version: string | undefined): T | undefined {
  if (version !== undefined) return candidates.find((c) => c.version === version);
  return [...candidates].sort((a, b) => compareVersions(b.version, a.version))[0];
}

function compareVersions(a: string | undefined, b: string | undefined): number {
  const pa = (a ?? '').split('.');
  const pb = (b ?? '').split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const diff = /^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x.localeCompare(y);
    if (diff !== 0) return diff;
  }
  return 0;
}

export class StoreConformance implements ConformanceResources {
  readonly #byUrl = new Map<string, Promise<Resource | undefined>>();
  #searchParameters: Promise<SearchParameter[]> | undefined;

  /**
   * @param reader where the resources are read
   * @param installed the installed packages (the package registry's current list)
   * @param cached keep what was found until invalidate() (the server-wide instance). The
   *   server-wide instance finds only what the installed packages stored: it works on behalf of
   *   callers (profile validation of writes, binding checks), and a conformance resource posted
   *   through the API is read only through a request's own view, by a token that may read it.
   */
  constructor(
    private readonly reader: ResourceOperations,
    private readonly installed: () => Promise<InstalledPackage[]>,
    private readonly cached: boolean,
  ) {}

  structureDefinition(url: string): Promise<StructureDefinition | undefined> {
    return this.#canonical('StructureDefinition', url) as Promise<StructureDefinition | undefined>;
  }

  valueSet(url: string): Promise<ValueSet | undefined> {
    return this.#canonical('ValueSet', url) as Promise<ValueSet | undefined>;
  }

  codeSystem(url: string): Promise<CodeSystem | undefined> {
    return this.#canonical('CodeSystem', url) as Promise<CodeSystem | undefined>;
  }

  async implementationGuide(packageName: string): Promise<ImplementationGuide | undefined> {
    const record = (await this.installed()).find((p) => p.name === packageName);
    const ref = record?.resources.find((r) => r.resourceType === 'ImplementationGuide');
    if (!ref) return undefined;
    const version = await this.reader.read('ImplementationGuide', ref.id);
    return version && !version.deleted ? (version.resource as ImplementationGuide) : undefined;
  }

  searchParameters(): Promise<SearchParameter[]> {
    const load = async () => {
      const refs = (await this.installed()).flatMap((p) => p.resources.filter((r) => r.resourceType === 'SearchParameter'));
      const versions = await this.reader.readMany(refs.map((r) => ({ resourceType: r.resourceType, id: r.id })));
      return versions.map((v) => v.resource as SearchParameter);
    };
    if (!this.cached) return load();
    return (this.#searchParameters ??= load());
  }

  packages(): Promise<InstalledPackage[]> {
    return this.installed();
  }

  through(reader: ResourceOperations): ConformanceResources {
    return new StoreConformance(reader, this.installed, false);
  }

  /** Forgets everything cached (a package was added here or on another node). */
  invalidate(): void {
    this.#byUrl.clear();
    this.#searchParameters = undefined;
  }

  #canonical(type: string, canonical: string): Promise<Resource | undefined> {
    const { url, version } = splitCanonical(canonical);
    const find = async () => {
      let found = (await findByUrls(this.reader, type, [url])) as Array<Resource & { version?: string }>;
      if (this.cached) {
        const installed = new Set((await this.installed()).flatMap((p) => p.resources.map((r) => `${r.resourceType}/${r.id}`)));
        found = found.filter((r) => installed.has(`${r.resourceType}/${r.id}`));
      }
      return pick(found, version);
    };
    if (!this.cached) return find();
    const key = `${type}|${canonical}`;
    let found = this.#byUrl.get(key);
    if (!found) {
      found = find();
      this.#byUrl.set(key, found);
      // A failed read is not remembered.
      found.catch(() => this.#byUrl.delete(key));
    }
    return found;
  }
}
