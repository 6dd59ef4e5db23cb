/**
 * The terminology service: `$expand`, `$validate-code`, `$lookup`, `$subsumes`, and the code
 * sets behind the token search modifiers `:in`, `:not-in`, `:above`, `:below`, over R4 core
 * terminology and the installed packages.
 *
 * Every entry point takes the ConformanceResources to read stored value sets and code systems
 * with: a request passes `conformance.through(context.store)` (its policy-bound store); profile
 * validation passes the server-wide instance ({@link Terminology.bindingCheck}).
 *
 * https://hl7.org/fhir/R4/terminology-service.html
 */
import { randomUUID } from 'node:crypto';
import type { Parameters, ParametersParameter, ValueSet, ValueSetExpansionContains } from 'fhir/r4';
import type { CodeSetResolver } from '../fhir/context.js';
import type { ConformanceResources } from '../packages/conformance.js';
import { badRequest, FhirError, notFound } from '../r4/errors.js';
import { parseRelativeReference } from '../r4/ids.js';
import type { CodeSet, CodeSetRequest } from '../search/types.js';
import type { ResourceOperations } from '../storage/resource-store.js';
import type { CodeSystemIndex } from './code-system.js';
import { describeSystem, MissingTerminology, missingSystem, missingValueSet } from './errors.js';
import { evaluateValueSet, itemKey, type Evaluation, type ExpansionItem } from './expand.js';
import { BuiltinTerminology, IndexCache, TerminologySources } from './sources.js';
import type { CodeCheck, CodeToCheck, ValidateCode } from './types.js';

/** `$expand` parameters. https://hl7.org/fhir/R4/valueset-operation-expand.html */
export interface ExpandOptions {
  /** Text the code or display must contain (case-insensitive). */
  filter?: string;
  count?: number;
  offset?: number;
  includeDesignations?: boolean;
}

/** `$subsumes` outcome. https://hl7.org/fhir/R4/codesystem-operation-subsumes.html */
export type SubsumesOutcome = 'equivalent' | 'subsumes' | 'subsumed-by' | 'not-subsumed';

export class Terminology {
  readonly #builtin = new BuiltinTerminology();
  readonly #indexes = new IndexCache();

  constructor(private readonly conformance: ConformanceResources) {}

  /** The lookups of one caller (see the module comment). */
  sources(conformance: ConformanceResources): TerminologySources {
    return new TerminologySources(conformance, this.#builtin, this.#indexes);
  }

  /** The value set a canonical URL names; a 404-like MissingTerminology when none is held. */
  async valueSet(sources: TerminologySources, canonical: string): Promise<ValueSet> {
    const found = await sources.valueSet(canonical);
    if (!found) throw missingValueSet(canonical);
    return found;
  }

  /**
   * `$expand`: the whole value set, then the text filter and the page (`offset`, `count`).
   * Refused (422, naming the system) when a part needs a code system Bedside does not hold.
   */
  async expand(sources: TerminologySources, valueSet: ValueSet, options: ExpandOptions = {}): Promise<ValueSet> {
    const evaluation = await evaluateValueSet(valueSet, sources);
    assertComplete(evaluation, `Expanding the value set ${valueSet.url ?? '(inline)'}`);
    let items = [...evaluation.items.values()];
    if (options.filter) {
      const text = options.filter.toLowerCase();
      items = items.filter((i) => i.code.toLowerCase().includes(text) || (i.display ?? '').toLowerCase().includes(text));
    }
    const offset = options.offset ?? 0;
    const page = options.count === undefined ? items.slice(offset) : items.slice(offset, offset + options.count);
    const parameter: NonNullable<ValueSet['expansion']>['parameter'] = [];
    if (options.filter) parameter.push({ name: 'filter', valueString: options.filter });
    if (options.offset !== undefined) parameter.push({ name: 'offset', valueInteger: options.offset });
    if (options.count !== undefined) parameter.push({ name: 'count', valueInteger: options.count });
    if (options.includeDesignations) parameter.push({ name: 'includeDesignations', valueBoolean: true });
    const { compose: _compose, expansion: _expansion, text: _text, ...rest } = valueSet;
    return {
      ...rest,
      expansion: {
        identifier: `urn:uuid:${randomUUID()}`,
        timestamp: new Date().toISOString(),
        total: items.length,
        offset,
        ...(parameter.length ? { parameter } : {}),
        contains: page.map((i) => toContains(i, options.includeDesignations === true)),
      },
    };
  }

  /**
   * `$validate-code` against a value set: true, false, or 'unknown' when the part that could
   * hold the code needs a code system (or value set) Bedside does not hold.
   */
  async validateCode(sources: TerminologySources, valueSet: ValueSet | string, code: CodeToCheck): Promise<CodeCheck> {
    const vs = typeof valueSet === 'string' ? await sources.valueSet(valueSet) : valueSet;
    const url = typeof valueSet === 'string' ? valueSet : (valueSet.url ?? '(inline value set)');
    if (!vs) return { result: 'unknown', missingValueSet: url, message: missingValueSet(url).message };
    const evaluation = await evaluateValueSet(vs, sources);
    const item = findItem(evaluation, code);
    const label = code.system ? `${code.system}|${code.code}` : code.code;
    if (item) {
      const index = await sources.index(item.system);
      const displays = [item.display, index?.find(item.code)?.display, ...(item.designation ?? []).map((d) => d.value)].filter(
        (d): d is string => d !== undefined,
      );
      if (code.display !== undefined && displays.length > 0 && !displays.includes(code.display)) {
        return { result: false, message: `The display "${code.display}" is not a display of ${label} (expected "${displays[0]}")`, display: displays[0]! };
      }
      return { result: true, message: `${label} is in the value set ${url}`, ...(displays[0] !== undefined ? { display: displays[0] } : {}) };
    }
    const unknownSystem = code.system ? (evaluation.missingSystems.has(code.system) ? code.system : undefined) : [...evaluation.missingSystems][0];
    if (unknownSystem) {
      return {
        result: 'unknown',
        missingSystem: unknownSystem,
        message: `Bedside cannot tell whether ${label} is in the value set ${url}: it draws on the code system ${describeSystem(unknownSystem)}, which Bedside does not hold`,
      };
    }
    const unknownValueSet = [...evaluation.missingValueSets][0];
    if (unknownValueSet) {
      return {
        result: 'unknown',
        missingValueSet: unknownValueSet,
        message: `Bedside cannot tell whether ${label} is in the value set ${url}: it includes the value set ${unknownValueSet}, which Bedside does not hold`,
      };
    }
    if (code.system) {
      const index = await sources.index(code.system);
      if (index?.complete && !index.find(code.code))
        return { result: false, message: `The code "${code.code}" is not in the code system ${code.system}, and so not in the value set ${url}` };
    }
    return { result: false, message: `${label} is not in the value set ${url}` };
  }

  /** `$lookup`: what the code system says about a code. https://hl7.org/fhir/R4/codesystem-operation-lookup.html */
  async lookup(sources: TerminologySources, system: string, code: string, version?: string): Promise<Parameters> {
    const index = await this.#heldSystem(sources, system, version, `Looking up "${code}"`);
    const concept = index.find(code);
    if (!concept) {
      if (!index.complete) throw missingSystem(system, `Looking up "${code}" (Bedside holds only part of the code system, content "${index.content}")`);
      throw notFound(`The code "${code}" is not in the code system ${system}`);
    }
    const parameter: ParametersParameter[] = [{ name: 'name', valueString: index.title ?? index.name ?? system }];
    if (index.version) parameter.push({ name: 'version', valueString: index.version });
    if (concept.display !== undefined) parameter.push({ name: 'display', valueString: concept.display });
    if (concept.definition !== undefined) parameter.push({ name: 'definition', valueString: concept.definition });
    if (concept.abstract) parameter.push({ name: 'abstract', valueBoolean: true });
    for (const d of concept.designation) {
      parameter.push({
        name: 'designation',
        part: [
          ...(d.language ? [{ name: 'language', valueCode: d.language }] : []),
          ...(d.use ? [{ name: 'use', valueCoding: d.use }] : []),
          { name: 'value', valueString: d.value },
        ],
      });
    }
    for (const parent of concept.parents) parameter.push(property('parent', { valueCode: parent }));
    for (const child of concept.children) parameter.push(property('child', { valueCode: child }));
    if (concept.inactive) parameter.push(property('inactive', { valueBoolean: true }));
    return { resourceType: 'Parameters', parameter };
  }

  /** `$subsumes`: how codeA and codeB relate in the code system's hierarchy. */
  async subsumes(sources: TerminologySources, system: string, codeA: string, codeB: string, version?: string): Promise<SubsumesOutcome> {
    const index = await this.#heldSystem(sources, system, version, 'Testing subsumption');
    for (const code of [codeA, codeB]) if (!index.find(code)) throw notFound(`The code "${code}" is not in the code system ${system}`);
    if (index.find(codeA) === index.find(codeB)) return 'equivalent';
    if (index.subsumes(codeA, codeB)) return 'subsumes';
    if (index.subsumes(codeB, codeA)) return 'subsumed-by';
    return 'not-subsumed';
  }

  /**
   * The codings behind `:in`/`:not-in` (a value set's expansion) and `:below`/`:above` (a code
   * and its descendants or ancestors). https://hl7.org/fhir/R4/search.html#token
   */
  async codeSet(sources: TerminologySources, request: CodeSetRequest, resolved?: ValueSet): Promise<CodeSet> {
    if (request.modifier === 'in' || request.modifier === 'not-in') {
      const valueSet = resolved ?? (await this.valueSet(sources, request.value));
      const evaluation = await evaluateValueSet(valueSet, sources);
      assertComplete(evaluation, `The search "${request.name}=${request.value}"`);
      return [...evaluation.items.values()].map((i) => ({ system: i.system, code: i.code }));
    }
    const bar = request.value.indexOf('|');
    if (bar <= 0 || bar === request.value.length - 1)
      throw badRequest(`The value of "${request.name}" must be system|code (the code system gives the hierarchy)`);
    const system = request.value.slice(0, bar);
    const code = request.value.slice(bar + 1);
    const index = await this.#heldSystem(sources, system, undefined, `The search "${request.name}"`);
    const concept = index.find(code);
    if (!concept) throw notFound(`The code "${code}" is not in the code system ${system} (in "${request.name}")`);
    const related = request.modifier === 'below' ? index.descendants(concept.code) : index.ancestors(concept.code);
    return [concept, ...related].map((c) => ({ system, code: c.code }));
  }

  /**
   * The search modifiers' port (fhir/context.ts): each request read through `reader`. A `:in`
   * value may also be a relative reference, `ValueSet/[id]` (R4: "a URI (relative or absolute)").
   */
  codeSetResolver(): CodeSetResolver {
    return {
      resolve: (reader: ResourceOperations, requests: readonly CodeSetRequest[]) => {
        const sources = this.sources(this.conformance.through(reader));
        return Promise.all(
          requests.map(async (r) => {
            const target = parseRelativeReference(r.value);
            const id = target?.type === 'ValueSet' ? target.id : undefined;
            if (!id || (r.modifier !== 'in' && r.modifier !== 'not-in')) return this.codeSet(sources, r);
            const stored = await reader.read('ValueSet', id);
            if (!stored || stored.deleted) throw notFound(`ValueSet/${id} is not known (in "${r.name}")`);
            return this.codeSet(sources, r, stored.resource as ValueSet);
          }),
        );
      },
    };
  }

  /**
   * The binding check for profile validation: `validateCode(valueSetUrl, coding)` over the
   * server-wide conformance resources (R4 core and the installed packages).
   */
  bindingCheck(reader?: ResourceOperations): ValidateCode {
    const sources = this.sources(reader ? this.conformance.through(reader) : this.conformance);
    return async (valueSetUrl, code) => {
      try {
        return await this.validateCode(sources, valueSetUrl, code);
      } catch (error) {
        if (error instanceof FhirError) return { result: 'unknown', message: error.message };
        throw error;
      }
    };
  }

  async #heldSystem(sources: TerminologySources, system: string, version: string | undefined, what: string): Promise<CodeSystemIndex> {
    const index = await sources.index(system, version);
    if (!index || index.content === 'not-present') throw missingSystem(system, what);
    return index;
  }
}

/** Refuses an evaluation that left parts out (never a partial answer passed off as whole). */
function assertComplete(evaluation: Evaluation, what: string): void {
  const system = [...evaluation.missingSystems][0];
  if (system) throw missingSystem(system, what);
  const valueSet = [...evaluation.missingValueSets][0];
  if (valueSet) throw new MissingTerminology(`${what} needs the value set ${valueSet}, which Bedside does not hold`, undefined, valueSet);
}

function findItem(evaluation: Evaluation, code: CodeToCheck): ExpansionItem | undefined {
  if (code.system) return evaluation.items.get(itemKey(code.system, code.code));
  const matches = [...evaluation.items.values()].filter((i) => i.code === code.code);
  return matches.length === 1 ? matches[0] : undefined;
}

function toContains(item: ExpansionItem, designations: boolean): ValueSetExpansionContains {
  return {
    system: item.system,
    ...(item.version ? { version: item.version } : {}),
    code: item.code,
    ...(item.display !== undefined ? { display: item.display } : {}),
    ...(item.inactive ? { inactive: true } : {}),
    ...(item.abstract ? { abstract: true } : {}),
    ...(designations && item.designation?.length ? { designation: item.designation } : {}),
  };
}

/** A `$lookup` property parameter: its code and its value. */
function property(code: string, value: Omit<ParametersParameter, 'name'>): ParametersParameter {
  return {
    name: 'property',
    part: [
      { name: 'code', valueCode: code },
      { name: 'value', ...value },
    ],
  };
}
