/**
 * FHIR R4 search requests compiled into the storage-neutral contract (src/storage/search-index.ts):
 * criteria become one {@link Condition}, result parameters become sort keys, paging and include
 * specs. Pure: no I/O, no clock unless `now` is left out.
 *
 * https://hl7.org/fhir/R4/search.html
 */
import { badRequest, tooCostly } from '../r4/errors.js';
import type { Condition, SortKey } from '../storage/search-index.js';
import { compileCriterion, type CriteriaContext } from './criteria.js';
import { unusableIncludes, type IncludeParam } from './include-scope.js';
import { nearestFirst } from './near.js';
import { getSearchRegistry } from './registry.js';
import { parseCount, parseElements, parseInclude, parseSort, parseSummary, parseTotal, parseTypes } from './result-params.js';
import type { ParsedSearch, SearchOptions, SearchParamsInput, SummaryMode, TotalMode } from './types.js';

/** Result parameters that may appear once. */
const SINGLE = new Set(['_sort', '_count', '_total', '_summary', '_elements', '_cursor', '_type']);
/** Parameters about the response format, handled by the HTTP layer. */
const FORMAT = new Set(['_format', '_pretty']);
const RESULT = new Set([...SINGLE, ...FORMAT, '_include', '_revinclude']);

/** Limits of one search request. */
export const MAX_PARAMETERS = 100;
export const MAX_VALUE_LENGTH = 4096;
export const MAX_ALTERNATIVES = 200;

/** Entry index → the value applied, or null when the parameter was ignored (the self link lists what was applied). */
type Applied = Map<number, string | null>;

/** The result parameters of one search (https://hl7.org/fhir/R4/search.html#return). */
interface ResultParams {
  types?: string[];
  count: number;
  total?: TotalMode;
  summary?: SummaryMode;
  elements?: string[];
  cursor?: string;
  sort?: string;
}

/** A search's parameters sorted by kind, each with its index among the entries. */
interface SortedParams {
  criteria: Array<readonly [number, string, string]>;
  includes: Map<number, IncludeParam>;
  results: ResultParams;
}

/**
 * Compiles a search on `resourceType` (undefined: a system-level search) with `params` from the
 * query string or form body. Throws a 400 {@link FhirError} for invalid input: unknown type,
 * bad values, prefixes, modifiers, or (when `options.strict`) unknown parameters, which are
 * otherwise ignored and reported in `warnings`.
 *
 * https://hl7.org/fhir/R4/search.html
 * https://hl7.org/fhir/R4/http.html#search (Prefer: handling)
 */
export function parseSearch(resourceType: string | undefined, params: SearchParamsInput, options: SearchOptions): ParsedSearch {
  const registry = options.registry ?? getSearchRegistry();
  if (resourceType !== undefined && !registry.isResourceType(resourceType)) throw badRequest(`Unknown resource type "${resourceType}"`);
  const entries: Array<readonly [string, string]> = [...params].filter(([name]) => name !== '');
  checkBounds(entries);
  const ctx = criteriaContext(registry, options);
  const applied: Applied = new Map();
  const { criteria, includes, results } = sortParams(entries, resourceType, options, ctx, applied);
  const scope = results.types ?? [];
  const conditions = compileCriteria(scope, criteria, ctx, applied);
  // Without _sort, a `near` search lists the nearest first.
  const sort: SortKey[] = results.sort === undefined ? nearestFirst(conditions) : parseSort(results.sort, scope, registry);
  const usable = usableIncludes(results.types, includes, entries, ctx, applied);

  const result: ParsedSearch = {
    where: conditions.length === 0 ? { op: 'true' } : conditions.length === 1 ? conditions[0]! : { op: 'and', of: conditions },
    sort,
    count: results.count,
    include: usable.filter((p) => p.kind === '_include').map((p) => p.spec),
    revinclude: usable.filter((p) => p.kind === '_revinclude').map((p) => p.spec),
    warnings: ctx.warnings,
    applied: entries.flatMap(([name, value], index): Array<[string, string]> => {
      const effective = applied.has(index) ? applied.get(index)! : value;
      return effective === null ? [] : [[name, effective]];
    }),
  };
  if (results.total !== undefined) result.total = results.total;
  if (results.summary !== undefined) result.summary = results.summary;
  if (results.elements !== undefined) result.elements = results.elements;
  if (results.types !== undefined) result.types = results.types;
  if (results.cursor !== undefined) result.cursor = results.cursor;
  return result;
}

/** Bounds on what one search may ask of the store (hostile or runaway queries). */
function checkBounds(entries: ReadonlyArray<readonly [string, string]>): void {
  if (entries.length > MAX_PARAMETERS) throw tooCostly(`A search may have at most ${MAX_PARAMETERS} parameters (this one has ${entries.length})`);
  for (const [name, value] of entries) {
    if (value.length > MAX_VALUE_LENGTH) throw tooCostly(`The value of "${name.slice(0, 60)}" is longer than ${MAX_VALUE_LENGTH} characters`);
    if (value.split(',').length > MAX_ALTERNATIVES) throw tooCostly(`"${name.slice(0, 60)}" lists more than ${MAX_ALTERNATIVES} values`);
  }
}

function criteriaContext(registry: CriteriaContext['registry'], options: SearchOptions): CriteriaContext {
  return {
    registry,
    strict: options.strict,
    warnings: [],
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    now: options.now ?? Date.now(),
    isResourceType: (t) => registry.isResourceType(t),
    ...(options.codeSets ? { codeSets: options.codeSets } : {}),
  };
}

/** Sorts the parameters into criteria, includes and result parameters, reading the result parameters. */
function sortParams(
  entries: ReadonlyArray<readonly [string, string]>,
  resourceType: string | undefined,
  options: SearchOptions,
  ctx: CriteriaContext,
  applied: Applied,
): SortedParams {
  const sorted: SortedParams = {
    criteria: [],
    includes: new Map(),
    results: { count: options.defaultCount, ...(resourceType === undefined ? {} : { types: [resourceType] }) },
  };
  const seen = new Set<string>();
  for (const [index, [name, value]] of entries.entries()) {
    const colon = name.indexOf(':');
    const base = colon < 0 ? name : name.slice(0, colon);
    const modifier = colon < 0 ? undefined : name.slice(colon + 1);
    if (!RESULT.has(base) || (base === '_type' && resourceType !== undefined)) {
      sorted.criteria.push([index, name, value]);
      continue;
    }
    if (base === '_include' || base === '_revinclude') {
      sorted.includes.set(index, { kind: base, spec: parseInclude(base, modifier, value, ctx.registry) });
      continue;
    }
    if (modifier !== undefined) throw badRequest(`The parameter "${base}" takes no modifier`);
    if (SINGLE.has(base)) {
      if (seen.has(base)) throw badRequest(`The parameter "${base}" may appear only once`);
      seen.add(base);
    }
    readResultParam(sorted.results, base, value, options, ctx);
    if (base === '_count') applied.set(index, String(sorted.results.count));
  }
  return sorted;
}

function readResultParam(results: ResultParams, name: string, value: string, options: SearchOptions, ctx: CriteriaContext): void {
  switch (name) {
    case '_type':
      results.types = parseTypes(value, ctx.registry);
      break;
    case '_count':
      results.count = parseCount(value, options.maxCount, ctx.warnings);
      break;
    case '_total':
      results.total = parseTotal(value);
      break;
    case '_summary':
      results.summary = parseSummary(value);
      break;
    case '_elements':
      results.elements = parseElements(value);
      break;
    case '_cursor':
      results.cursor = value;
      break;
    case '_sort':
      results.sort = value;
      break;
    // _format and _pretty: the HTTP layer's business.
  }
}

/** The criteria's conditions; a criterion that was ignored is marked so in `applied`. */
function compileCriteria(scope: readonly string[], criteria: SortedParams['criteria'], ctx: CriteriaContext, applied: Applied): Condition[] {
  const conditions: Condition[] = [];
  for (const [index, name, value] of criteria) {
    const condition = name === '_type' ? ignoreTypeAtTypeLevel(ctx) : compileCriterion(scope, name, value, ctx);
    if (condition) conditions.push(condition);
    else applied.set(index, null);
  }
  return conditions;
}

/** The includes that can add something to this search; the others are refused (strict) or ignored with a warning. */
function usableIncludes(
  types: readonly string[] | undefined,
  includes: SortedParams['includes'],
  entries: ReadonlyArray<readonly [string, string]>,
  ctx: CriteriaContext,
  applied: Applied,
): IncludeParam[] {
  const unusable = unusableIncludes(types, [...includes.values()], ctx.registry);
  for (const [index, param] of includes) {
    const why = unusable.get(param);
    if (why === undefined) continue;
    const [name, value] = entries[index]!;
    const message = `${name}=${value} cannot add anything to this search: ${why}`;
    if (ctx.strict) throw badRequest(message);
    ctx.warnings.push({ severity: 'warning', code: 'not-supported', diagnostics: `${message}; it was ignored` });
    applied.set(index, null);
  }
  return [...includes].filter(([index]) => applied.get(index) !== null).map(([, param]) => param);
}

/** `_type` only means something at system level; on a type it is an unknown parameter. */
function ignoreTypeAtTypeLevel(ctx: CriteriaContext): undefined {
  if (ctx.strict) throw badRequest('_type is only allowed in a system-level search');
  ctx.warnings.push({ severity: 'warning', code: 'not-supported', diagnostics: '_type is only used in a system-level search; it was ignored' });
  return undefined;
}
