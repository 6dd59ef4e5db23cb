/**
 * FHIR packages (Implementation Guides) on one Bedside node: installing them (FHIR_PACKAGES at
 * start-up, `bedside packages add`), the search registry they extend, the index rows under it,
 * reindexing stored resources when a package adds search parameters, and noticing packages
 * another node or the CLI installed.
 */
import { stat } from 'node:fs/promises';
import type { Resource } from 'fhir/r4';
import type { Logger } from '../log.js';
import { extractIndex, unindexableReason } from '../search/extract.js';
import { getSearchRegistry, type SearchParamDef, type SearchRegistry } from '../search/registry.js';
import type { DocumentStore } from '../storage/document-store.js';
import type { ResourceOperations, ResourceStore } from '../storage/resource-store.js';
import type { IndexEntry } from '../storage/search-index.js';
import { readPackage } from './archive.js';
import { packageCapabilities, type PackageCapabilities } from './capability.js';
import { GENERATION_CHECK_MS, type ConformanceResources, type InstalledPackage } from './conformance.js';
import { installPackage, PACKAGE_COLLECTION, type FileStamp, type InstallOutcome, type PackageRecord } from './installer.js';
import { CORE_PACKAGE } from './manifest.js';
import { StoreConformance } from './store-conformance.js';

/** A dependency named in a package.json that is not installed. */
export interface MissingDependency {
  name: string;
  /** The versions asked for. */
  versions: string[];
  /** `name#version` of the packages that need it. */
  neededBy: string[];
}

/** What installing one package did, with the reindexing it caused. */
export interface InstallReport extends InstallOutcome {
  source: string;
  /** Search parameters it added (`Type.code`). */
  addedSearchParameters: string[];
  /** Resources reindexed because parameters of their type were added, removed or redefined, and how long that took. */
  reindexed: number;
  reindexMs: number;
  elapsedMs: number;
}

/** An install still marked as running after this long was interrupted. */
const STALE_INSTALL_MS = 10 * 60_000;

export interface PackagesOptions {
  /** Where packages are installed and stored resources reindexed (start-up and the CLI only). */
  resources: ResourceStore;
  /**
   * Where the conformance resources are read for everyone else (validation, /metadata, the
   * launcher): on a server, the store bound to a policy that may read only conformance types.
   * The CLI and tools, which serve no requests, read `resources`.
   */
  reader?: ResourceOperations;
  documents: DocumentStore;
  /** The FHIR base (absolute references to it are indexed as `Type/id`). */
  fhirBaseUrl: string;
  logger: Logger;
}

export class Packages {
  readonly #resources: ResourceStore;
  readonly #records;
  readonly #baseUrl: string;
  readonly #logger: Logger;
  readonly #conformance: StoreConformance;
  #installed: PackageRecord[] = [];
  #generation = '';
  /** Whether the package registry was read once (before that, an install in progress is no reason to wait). */
  #loaded = false;
  #registry: SearchRegistry = getSearchRegistry();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<boolean> | undefined;
  #capabilities: Promise<PackageCapabilities> | undefined;
  readonly #reader: ResourceOperations;
  /** Listeners told when the installed set changed (capability statement, terminology caches). */
  readonly #listeners: Array<() => void> = [];

  constructor(options: PackagesOptions) {
    this.#resources = options.resources;
    this.#records = options.documents.collection<PackageRecord>(PACKAGE_COLLECTION);
    this.#baseUrl = options.fhirBaseUrl;
    this.#logger = options.logger;
    this.#reader = options.reader ?? options.resources;
    this.#conformance = new StoreConformance(this.#reader, async () => this.#installed.filter((r) => r.status === 'installed').map(publicRecord), true);
  }

  /** The server-wide conformance resources (see conformance.ts). */
  get conformance(): ConformanceResources {
    return this.#conformance;
  }

  /** R4's search parameters plus those of the installed packages. */
  searchRegistry(): SearchRegistry {
    return this.#registry;
  }

  /** The index rows of a resource under {@link searchRegistry}. */
  index(resource: Resource): IndexEntry[] {
    return extractIndex(resource, { baseUrl: this.#baseUrl, registry: this.#registry });
  }

  /** The installed packages (as of the last refresh). */
  installed(): InstalledPackage[] {
    return this.#installed.filter((r) => r.status === 'installed').map(publicRecord);
  }

  /** What the installed packages add to the CapabilityStatement (and the launcher shows). */
  capabilities(): Promise<PackageCapabilities> {
    this.#capabilities ??= packageCapabilities(this.#reader, this.installed()).catch((error: unknown) => {
      this.#capabilities = undefined;
      throw error;
    });
    return this.#capabilities;
  }

  /** Calls `listener` whenever the installed packages change. */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Reads the package registry and, when it changed, rebuilds the search registry and drops
   * cached conformance resources. Returns whether anything changed.
   */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<boolean> {
    const records = (await this.#records.list()).map((d) => d.value).sort((a, b) => a.name.localeCompare(b.name));
    // A package being installed (here or elsewhere) is not in force until it is complete: keep
    // the current state meanwhile, unless the install was left behind long ago (a crash).
    const installing = records.some((r) => r.status === 'installing' && Date.now() - Date.parse(r.installedAt) < STALE_INSTALL_MS);
    if (installing && this.#loaded) return false;
    const generation = records.map((r) => `${r.name}#${r.version}:${r.digest}:${r.status}`).join(',');
    this.#loaded = true;
    if (generation === this.#generation) return false;
    this.#installed = records;
    this.#conformance.invalidate();
    this.#capabilities = undefined;
    const params = await this.#conformance.searchParameters();
    let { registry, added, ignored } = getSearchRegistry().withParameters(params);
    // An expression that does not compile would break indexing of its types: leave it out.
    const broken = added
      .flatMap((def) => def.base.map((type) => ({ def, reason: unindexableReason(registry, def, type) })))
      .filter((b) => b.reason !== undefined);
    if (broken.length) {
      for (const b of broken)
        this.#logger.warn({ searchParameter: b.def.url, reason: b.reason }, 'package search parameter left out: its expression does not compile');
      const urls = new Set(broken.map((b) => b.def.url));
      ({ registry, ignored } = getSearchRegistry().withParameters(params.filter((p) => !urls.has(p.url))));
    }
    for (const i of ignored) this.#logger.debug({ searchParameter: i.url, reason: i.reason }, 'package search parameter not added');
    this.#registry = registry;
    this.#generation = generation;
    for (const listener of this.#listeners) listener();
    return true;
  }

  /**
   * Installs packages from `.tgz` files or folders, in order; each is refused as a whole
   * (PackageError) when it is damaged, for another FHIR version, or clashes with what is
   * installed. Stored resources of types that gained search parameters are reindexed.
   */
  async install(sources: readonly string[]): Promise<InstallReport[]> {
    await this.refresh();
    const reports: InstallReport[] = [];
    for (const source of sources) {
      const started = performance.now();
      const origin = await fileStamp(source);
      const same = origin && this.#installed.find((r) => r.status === 'installed' && r.origin && sameStamp(r.origin, origin));
      if (same) {
        reports.push({
          status: 'unchanged',
          package: publicRecord(same),
          written: 0,
          deleted: 0,
          source,
          addedSearchParameters: [],
          reindexed: 0,
          reindexMs: 0,
          elapsedMs: Math.round(performance.now() - started),
        });
        continue;
      }
      const content = await readPackage(source);
      const outcome = await installPackage(content, {
        store: this.#resources,
        records: this.#records,
        index: (r) => this.index(r),
        ...(origin ? { origin } : {}),
      });
      const before = this.#registry;
      await this.refresh();
      const changes = parameterChanges(before, this.#registry);
      const added = changes.filter((c) => c.added);
      const reindexStarted = performance.now();
      let reindexed = 0;
      // Types that gained, lost or changed a parameter: their stored rows are rewritten.
      for (const type of new Set(changes.map((c) => c.type))) {
        reindexed += await this.#resources.reindex({ resourceType: type, index: (r) => this.index(r) });
      }
      reports.push({
        ...outcome,
        source,
        addedSearchParameters: added.map((a) => `${a.type}.${a.code}`),
        reindexed,
        reindexMs: Math.round(performance.now() - reindexStarted),
        elapsedMs: Math.round(performance.now() - started),
      });
    }
    return reports;
  }

  /** Dependencies of installed packages that are not installed (R4 core is built in). */
  missingDependencies(): MissingDependency[] {
    const installed = new Set(this.installed().map((p) => p.name));
    const missing = new Map<string, MissingDependency>();
    for (const pkg of this.installed()) {
      for (const [name, version] of Object.entries(pkg.dependencies)) {
        if (name === CORE_PACKAGE || installed.has(name)) continue;
        const entry = missing.get(name) ?? { name, versions: [], neededBy: [] };
        if (!entry.versions.includes(version)) entry.versions.push(version);
        entry.neededBy.push(`${pkg.name}#${pkg.version}`);
        missing.set(name, entry);
      }
    }
    return [...missing.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Logs one line per missing dependency (start-up). */
  logMissingDependencies(): void {
    for (const dep of this.missingDependencies()) {
      this.#logger.warn(
        { package: dep.name, versions: dep.versions, neededBy: dep.neededBy },
        `package ${dep.name}#${dep.versions.join(', ')} is not loaded (a dependency of ${dep.neededBy.join(', ')}): resources it defines are unknown to Bedside`,
      );
    }
  }

  /** Looks for packages installed by other nodes or the CLI every few seconds (servers only). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.#logger.warn({ err: error }, 'could not read the package registry'));
    }, GENERATION_CHECK_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#refreshing?.catch(() => undefined);
  }
}

function publicRecord(record: PackageRecord): InstalledPackage {
  const { status: _status, origin: _origin, ...rest } = record;
  return rest;
}

/** A `.tgz` file's stamp; undefined for folders (always read: cheap, and edited in place). */
async function fileStamp(source: string): Promise<FileStamp | undefined> {
  const info = await stat(source).catch(() => undefined);
  return info?.isFile() ? { file: source, size: info.size, mtimeMs: info.mtimeMs } : undefined;
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.file === b.file && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** Parameters added to, removed from or redefined in `after`, per resource type. */
function parameterChanges(before: SearchRegistry, after: SearchRegistry): Array<{ type: string; code: string; added: boolean }> {
  if (before === after) return [];
  const changes: Array<{ type: string; code: string; added: boolean }> = [];
  const same = (a: SearchParamDef, b: SearchParamDef) => a.url === b.url && a.expression === b.expression && a.type === b.type;
  for (const type of after.resourceTypes) {
    for (const def of after.paramsFor(type)) {
      const old = before.get(type, def.code);
      if (!old) changes.push({ type, code: def.code, added: true });
      else if (!same(old, def)) changes.push({ type, code: def.code, added: false });
    }
    for (const def of before.paramsFor(type)) if (!after.get(type, def.code)) changes.push({ type, code: def.code, added: false });
  }
  return changes;
}
