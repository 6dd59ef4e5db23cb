/**
 * Search result parameters: `_sort`, `_count`, `_total`, `_summary`, `_elements`, `_include`,
 * `_revinclude` and `_type`.
 *
 * https://hl7.org/fhir/R4/search.html#Summary (result parameters)
 */
import type { OperationOutcomeIssue } from 'fhir/r4';
import { badRequest } from '../r4/errors.js';
import { hasField } from '../storage/index-schema.js';
import type { IndexField, SortKey } from '../storage/search-index.js';
import type { SearchParamType, SearchRegistry } from './registry.js';
import { resolveInScope } from './scope.js';
import type { IncludeSpec, SummaryMode, TotalMode } from './types.js';

/**
 * The names of the result parameters: they shape a search's answer rather than choose its
 * matches, so criteria evaluated on the server's own behalf (`_typeFilter`, Subscription.criteria)
 * may not carry them.
 */
export const RESULT_PARAMETERS: ReadonlySet<string> = new Set([
  '_sort',
  '_count',
  '_include',
  '_revinclude',
  '_summary',
  '_elements',
  '_total',
  '_contained',
  '_containedType',
  '_cursor',
]);

/** The column a sort on each parameter type reads (ascending / descending). */
const SORT_FIELD: Partial<Record<SearchParamType, readonly [IndexField, IndexField]>> = {
  string: ['value', 'value'],
  token: ['code', 'code'],
  reference: ['value', 'value'],
  uri: ['value', 'value'],
  date: ['low', 'high'],
  number: ['low', 'high'],
  quantity: ['low', 'high'],
};

/**
 * `_sort=a,-b`: keys in order, `-` for descending; `_id` and `_lastUpdated` sort on the resource
 * columns. An unknown parameter is a 400.
 * https://hl7.org/fhir/R4/search.html#sort
 */
export function parseSort(value: string, types: readonly string[], registry: SearchRegistry): SortKey[] {
  const keys: SortKey[] = [];
  for (const item of value.split(',')) {
    const text = item.trim();
    if (text === '') continue;
    const descending = text.startsWith('-');
    const code = descending ? text.slice(1) : text;
    if (code === '_id' || code === '_lastUpdated') {
      keys.push({ by: code === '_id' ? 'id' : 'lastUpdated', descending });
      continue;
    }
    const param = resolveInScope(registry, types, code);
    // An unknown sort key is an invalid value of _sort, not an unknown parameter: always a 400,
    // since silently ignoring it would return a differently ordered result than asked for.
    if (!param) throw badRequest(`Cannot sort on "${code.slice(0, 60)}": not a search parameter of ${types.join(', ') || 'every type'}`);
    const fields = SORT_FIELD[param.type];
    if (!fields || !param.table || !hasField(param.table, fields[0])) throw badRequest(`Cannot sort on the ${param.type} parameter "${code}"`);
    keys.push({ by: 'param', table: param.table, param: code, field: fields[descending ? 1 : 0], descending });
  }
  return keys;
}

/** `_count`: a non-negative integer; above `max` it is clamped with a warning. https://hl7.org/fhir/R4/search.html#count */
export function parseCount(value: string, max: number, warnings: OperationOutcomeIssue[]): number {
  if (!/^\d{1,9}$/.test(value.trim())) throw badRequest(`Invalid _count "${value}" (expected a non-negative integer)`);
  const count = Number(value.trim());
  if (count <= max) return count;
  warnings.push({ severity: 'warning', code: 'too-costly', diagnostics: `_count=${count} is above the maximum page size; ${max} used` });
  return max;
}

const TOTALS = new Set<string>(['none', 'estimate', 'accurate']);
const SUMMARIES = new Set<string>(['true', 'text', 'data', 'count', 'false']);

/** https://hl7.org/fhir/R4/search.html#total */
export function parseTotal(value: string): TotalMode {
  if (!TOTALS.has(value)) throw badRequest(`Invalid _total "${value}" (expected none, estimate or accurate)`);
  return value as TotalMode;
}

/** https://hl7.org/fhir/R4/search.html#summary */
export function parseSummary(value: string): SummaryMode {
  if (!SUMMARIES.has(value)) throw badRequest(`Invalid _summary "${value}" (expected true, text, data, count or false)`);
  return value as SummaryMode;
}

/** `_elements=a,b`: top-level element names. https://hl7.org/fhir/R4/search.html#elements */
export function parseElements(value: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const n of names) if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(n)) throw badRequest(`Invalid element name "${n}" in _elements`);
  return names;
}

/** `_type=A,B` (system level): known resource types. https://hl7.org/fhir/R4/search.html#type */
export function parseTypes(value: string, registry: SearchRegistry): string[] {
  const types = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  for (const t of types) if (!registry.isResourceType(t)) throw badRequest(`Unknown resource type "${t}" in _type`);
  return types;
}

/**
 * `_include` / `_revinclude` (`[:iterate]`): `Type:param[:Target]`, `Type:*` or `*`.
 * https://hl7.org/fhir/R4/search.html#include
 */
export function parseInclude(name: string, modifier: string | undefined, value: string, registry: SearchRegistry): IncludeSpec {
  if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse') {
    throw badRequest(`Invalid modifier ":${modifier}" on ${name} (expected :iterate)`);
  }
  const iterate = modifier !== undefined;
  if (value === '*') return { sourceType: '*', param: '*', iterate };
  const [sourceType = '', param = '', targetType, extra] = value.split(':');
  if (extra !== undefined || sourceType === '' || param === '') throw badRequest(`Invalid ${name} "${value}" (expected Type:parameter[:TargetType])`);
  if (!registry.isResourceType(sourceType)) throw badRequest(`Unknown resource type "${sourceType}" in ${name}`);
  if (param === '*') {
    if (targetType === undefined) return { sourceType, param, iterate };
    if (!registry.isResourceType(targetType)) throw badRequest(`Unknown resource type "${targetType}" in ${name}`);
    return { sourceType, param, targetType, iterate };
  }
  const def = registry.get(sourceType, param);
  if (def?.type !== 'reference') throw badRequest(`"${param}" is not a reference parameter of ${sourceType} (in ${name})`);
  if (targetType === undefined) return { sourceType, param, iterate };
  if (!def.target.includes(targetType)) throw badRequest(`"${targetType}" is not a target type of ${sourceType}:${param} (in ${name})`);
  return { sourceType, param, targetType, iterate };
}
