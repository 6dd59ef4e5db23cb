/**
 * Evaluating a ValueSet's compose into the codes it contains: enumerated concepts, whole code
 * systems, filters over a code system's hierarchy and properties, other value sets, minus the
 * exclusions. A part that needs a code system (or value set) Bedside does not hold is not
 * guessed: the evaluation records what is missing, and the caller decides (an expansion is then
 * refused; `$validate-code` answers "unknown" only for codes that part could contain).
 *
 * https://hl7.org/fhir/R4/valueset.html#compose
 * https://hl7.org/fhir/R4/valueset-filter-operator.html
 */
import type { CodeSystemConceptDesignation, ValueSet, ValueSetComposeInclude, ValueSetComposeIncludeFilter, ValueSetExpansionContains } from 'fhir/r4';
import { LRUCache } from 'lru-cache';
import { badRequest, notSupported, tooCostly } from '../r4/errors.js';
import type { CodeSystemIndex, ConceptInfo } from './code-system.js';
import type { TerminologySources } from './sources.js';

/** Largest expansion Bedside computes (a search `:in` becomes one `in` list per system). */
export const MAX_EXPANSION = 10_000;
/** Deepest chain of value sets including value sets. */
const MAX_DEPTH = 10;

/** One code of an expansion. */
export interface ExpansionItem {
  system: string;
  version?: string;
  code: string;
  display?: string;
  designation?: CodeSystemConceptDesignation[];
  inactive?: boolean;
  abstract?: boolean;
}

/** The codes a value set contains, and what Bedside would need to be sure. */
export interface Evaluation {
  /** By `system|code`, in definition order. */
  items: Map<string, ExpansionItem>;
  /** Code systems a part needed and Bedside does not hold (completely). */
  missingSystems: Set<string>;
  /** Value sets a part included and Bedside does not hold. */
  missingValueSets: Set<string>;
}

export const itemKey = (system: string, code: string) => `${system}|${code}`;

function empty(): Evaluation {
  return { items: new Map(), missingSystems: new Set(), missingValueSets: new Set() };
}

function absorbMissing(into: Evaluation, from: Evaluation): void {
  for (const s of from.missingSystems) into.missingSystems.add(s);
  for (const v of from.missingValueSets) into.missingValueSets.add(v);
}

/** Evaluates `valueSet` (its compose; a value set with only an expansion gives that). */
export async function evaluateValueSet(valueSet: ValueSet, sources: TerminologySources, stack: readonly string[] = []): Promise<Evaluation> {
  if (stack.length > MAX_DEPTH) throw badRequest(`Value sets include each other more than ${MAX_DEPTH} levels deep (${stack.join(' → ')})`);
  const result = empty();
  if (!valueSet.compose) {
    for (const c of flatten(valueSet.expansion?.contains ?? [])) {
      if (c.system && c.code) result.items.set(itemKey(c.system, c.code), fromContains(c));
    }
    return result;
  }
  const here = [...stack, valueSet.url ?? '(inline)'];
  for (const include of valueSet.compose.include) {
    const part = await evaluateConceptSet(include, sources, here);
    absorbMissing(result, part);
    for (const [key, item] of part.items) if (!result.items.has(key)) result.items.set(key, item);
    if (result.items.size > MAX_EXPANSION)
      throw tooCostly(`The value set ${valueSet.url ?? ''} has more than ${MAX_EXPANSION} codes; Bedside does not expand it`);
  }
  for (const exclude of valueSet.compose.exclude ?? []) {
    const part = await evaluateConceptSet(exclude, sources, here);
    // An exclusion Bedside cannot evaluate makes membership uncertain for its codes.
    absorbMissing(result, part);
    for (const key of part.items.keys()) result.items.delete(key);
  }
  return result;
}

/** One include or exclude: a system part and value set parts, intersected when both are given. */
async function evaluateConceptSet(set: ValueSetComposeInclude, sources: TerminologySources, stack: readonly string[]): Promise<Evaluation> {
  let fromValueSets: Evaluation | undefined;
  for (const url of set.valueSet ?? []) {
    if (stack.includes(url)) throw badRequest(`Value set ${url} includes itself (${[...stack, url].join(' → ')})`);
    const part = empty();
    const included = await sources.valueSet(url);
    if (included) Object.assign(part, await evaluateValueSet(included, sources, stack));
    else part.missingValueSets.add(url);
    if (!fromValueSets) fromValueSets = part;
    else {
      // https://hl7.org/fhir/R4/valueset-definitions.html#ValueSet.compose.include.valueSet: the union.
      absorbMissing(fromValueSets, part);
      for (const [key, item] of part.items) if (!fromValueSets.items.has(key)) fromValueSets.items.set(key, item);
    }
  }
  if (!set.system) return fromValueSets ?? empty();
  const fromSystem = await evaluateSystemPart(set, sources);
  if (!fromValueSets) return fromSystem;
  const both = empty();
  absorbMissing(both, fromSystem);
  absorbMissing(both, fromValueSets);
  for (const [key, item] of fromSystem.items) if (fromValueSets.items.has(key)) both.items.set(key, item);
  return both;
}

async function evaluateSystemPart(set: ValueSetComposeInclude, sources: TerminologySources): Promise<Evaluation> {
  const system = set.system!;
  const result = empty();
  const index = await sources.index(system, set.version);
  if (set.concept?.length) {
    // Enumerated codes are known from the value set itself, whether or not we hold the system.
    for (const c of set.concept) {
      const known = index?.find(c.code);
      const designation = [...(c.designation ?? []), ...(known?.designation ?? [])];
      const display = c.display ?? known?.display;
      result.items.set(itemKey(system, c.code), {
        system,
        ...(set.version ? { version: set.version } : {}),
        code: c.code,
        ...(display !== undefined ? { display } : {}),
        ...(designation.length ? { designation } : {}),
        ...(known?.inactive ? { inactive: true } : {}),
        ...(known?.abstract ? { abstract: true } : {}),
      });
    }
    if (!set.filter?.length) return result;
  }
  if (!index?.complete) {
    result.missingSystems.add(system);
    result.items.clear();
    return result;
  }
  let concepts: ConceptInfo[] = index.concepts;
  for (const filter of set.filter ?? []) concepts = applyFilter(index, concepts, filter);
  if (concepts.length > MAX_EXPANSION) throw tooCostly(`Including ${system} gives more than ${MAX_EXPANSION} codes; Bedside does not expand it`);
  result.items.clear();
  for (const c of concepts) result.items.set(itemKey(system, c.code), fromConcept(index, c));
  return result;
}

/** https://hl7.org/fhir/R4/valueset-filter-operator.html, on `concept` (the hierarchy) or a property. */
function applyFilter(index: CodeSystemIndex, concepts: ConceptInfo[], filter: ValueSetComposeIncludeFilter): ConceptInfo[] {
  const { property, op, value } = filter;
  const codes = (list: ConceptInfo[]) => new Set(list.map((c) => c.code));
  if (property === 'concept' || property === 'code') {
    const root = index.find(value);
    switch (op) {
      case 'is-a': {
        const keep = root ? codes([root, ...index.descendants(root.code)]) : new Set<string>();
        return concepts.filter((c) => keep.has(c.code));
      }
      case 'descendent-of': {
        const keep = root ? codes(index.descendants(root.code)) : new Set<string>();
        return concepts.filter((c) => keep.has(c.code));
      }
      case 'is-not-a': {
        const drop = root ? codes([root, ...index.descendants(root.code)]) : new Set<string>();
        return concepts.filter((c) => !drop.has(c.code));
      }
      case 'generalizes': {
        const keep = root ? codes([root, ...index.ancestors(root.code)]) : new Set<string>();
        return concepts.filter((c) => keep.has(c.code));
      }
      case 'in':
      case 'not-in': {
        const listed = new Set(value.split(',').map((v) => v.trim()));
        return concepts.filter((c) => listed.has(c.code) === (op === 'in'));
      }
      case 'regex':
        return concepts.filter((c) => fullMatch(value).test(c.code));
      case '=':
        return concepts.filter((c) => c.code === value);
    }
  } else {
    const values = (c: ConceptInfo) => c.property.filter((p) => p.code === property).map(propertyValue);
    switch (op) {
      case '=':
        return concepts.filter((c) => values(c).includes(value));
      case 'in': {
        const listed = new Set(value.split(',').map((v) => v.trim()));
        return concepts.filter((c) => values(c).some((v) => listed.has(v)));
      }
      case 'not-in': {
        const listed = new Set(value.split(',').map((v) => v.trim()));
        return concepts.filter((c) => !values(c).some((v) => listed.has(v)));
      }
      case 'exists':
        return concepts.filter((c) => values(c).length > 0 === (value === 'true'));
      case 'regex':
        return concepts.filter((c) => values(c).some((v) => fullMatch(value).test(v)));
    }
  }
  throw notSupported(`The value set filter "${property} ${op} ${value}" on ${index.url} is not supported`);
}

const regexCache = new LRUCache<string, RegExp>({ max: 500 });
/** A group with a quantifier inside and after it (`(a+)+`): the shape of catastrophic backtracking. */
const NESTED_QUANTIFIER = /\([^()]*[+*}][^()]*\)[+*{]/;

/** A value set's `regex` filter (anyone may post a value set): bounded in size and shape. */
function fullMatch(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    if (pattern.length > 200 || NESTED_QUANTIFIER.test(pattern)) {
      throw notSupported(`The value set filter regex "${pattern.slice(0, 60)}" is too long or nests quantifiers; Bedside does not run it`);
    }
    try {
      re = new RegExp(`^(?:${pattern})$`);
    } catch {
      throw badRequest(`The value set filter regex "${pattern}" is not a valid regular expression`);
    }
    regexCache.set(pattern, re);
  }
  return re;
}

function propertyValue(p: {
  valueCode?: string;
  valueString?: string;
  valueBoolean?: boolean;
  valueInteger?: number;
  valueDecimal?: number;
  valueDateTime?: string;
  valueCoding?: { code?: string };
}): string {
  const v = p.valueCode ?? p.valueString ?? p.valueBoolean ?? p.valueInteger ?? p.valueDecimal ?? p.valueDateTime ?? p.valueCoding?.code;
  return v === undefined ? '' : String(v);
}

function fromConcept(index: CodeSystemIndex, c: ConceptInfo): ExpansionItem {
  return {
    system: index.url,
    ...(index.version ? { version: index.version } : {}),
    code: c.code,
    ...(c.display !== undefined ? { display: c.display } : {}),
    ...(c.designation.length ? { designation: c.designation } : {}),
    ...(c.inactive ? { inactive: true } : {}),
    ...(c.abstract ? { abstract: true } : {}),
  };
}

function fromContains(c: ValueSetExpansionContains): ExpansionItem {
  return {
    system: c.system!,
    code: c.code!,
    ...(c.version ? { version: c.version } : {}),
    ...(c.display !== undefined ? { display: c.display } : {}),
    ...(c.designation?.length ? { designation: c.designation as CodeSystemConceptDesignation[] } : {}),
    ...(c.inactive ? { inactive: true } : {}),
    ...(c.abstract ? { abstract: true } : {}),
  };
}

function flatten(contains: ValueSetExpansionContains[]): ValueSetExpansionContains[] {
  return contains.flatMap((c) => [c, ...flatten(c.contains ?? [])]);
}
