/**
 * Prefixes of date parameters as predicates on stored ranges (numbers and quantities use
 * {@link numericPredicates} below, since R4 treats their precision differently).
 *
 * Both the search value and the stored value are ranges (see dates.ts and numbers.ts). With S =
 * [sl, sh] the search range and T = [low, high] the stored one, R4 defines:
 *
 * | prefix | matches when                                                   | predicates (OR of ANDs)       |
 * |--------|----------------------------------------------------------------|-------------------------------|
 * | eq     | S fully contains T                                             | low ≥ sl ∧ high ≤ sh          |
 * | ne     | S does not fully contain T                                     | low < sl ∨ high > sh          |
 * | gt     | the range above S overlaps T                                   | high > sh                     |
 * | lt     | the range below S overlaps T                                   | low < sl                      |
 * | ge     | gt, or S fully contains T                                      | high > sh ∨ (eq)              |
 * | le     | lt, or S fully contains T                                      | low < sl ∨ (eq)               |
 * | sa     | T starts after S (no overlap, above)                           | low > sh                      |
 * | eb     | T ends before S (no overlap, below)                            | high < sl                     |
 * | ap     | T overlaps S widened by 10% (of the value; of the gap to now)  | low ≤ sh+d ∧ high ≥ sl−d      |
 *
 * "The range above S" starts where S ends, for numbers as for dates: `gt100` is above
 * [99.5, 100.5). Dates are inclusive ranges of milliseconds; numbers are half-open [low, high),
 * which turns the strict/non-strict comparisons of sa, eb and ap around. `ne` matches a
 * resource that has some value not equal (a resource without a value does not match).
 *
 * https://hl7.org/fhir/R4/search.html#prefix
 */
import { badRequest } from '../r4/errors.js';
import type { FieldPredicate } from '../storage/search-index.js';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

const PREFIXES = new Set<string>(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

/** Splits `ge2020` into `ge` and `2020`; no prefix means `eq`. Two leading letters that are not a prefix are an error. */
export function splitPrefix(value: string, param: string): { prefix: Prefix; rest: string } {
  const m = /^([a-zA-Z]{2})(.*)$/s.exec(value);
  if (!m) return { prefix: 'eq', rest: value };
  if (!PREFIXES.has(m[1]!)) throw badRequest(`Invalid prefix "${m[1]}" in the value of "${param}" (expected one of eq, ne, gt, lt, ge, le, sa, eb, ap)`);
  return { prefix: m[1] as Prefix, rest: m[2]! };
}

/** A search range and the widening used by `ap`. */
export interface SearchRange {
  low: number;
  high: number;
  /** Half-width added on both sides for `ap`. */
  approx: number;
}

/** Predicates, as alternatives of conjunctions, for `prefix` against stored ranges. */
export function rangePredicates(prefix: Prefix, s: SearchRange, halfOpen: boolean, component?: number): FieldPredicate[][] {
  const p = (field: 'low' | 'high', cmp: FieldPredicate['cmp'], raw: number): FieldPredicate => {
    // Widening near the ends of the double range must not produce Infinity (not JSON data).
    const value = Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, raw));
    return component === undefined ? { field, cmp, value } : { field, cmp, value, component };
  };
  const eq = [p('low', 'ge', s.low), p('high', 'le', s.high)];
  switch (prefix) {
    case 'eq':
      return [eq];
    case 'ne':
      return [[p('low', 'lt', s.low)], [p('high', 'gt', s.high)]];
    case 'gt':
      return [[p('high', 'gt', s.high)]];
    case 'lt':
      return [[p('low', 'lt', s.low)]];
    case 'ge':
      return [[p('high', 'gt', s.high)], eq];
    case 'le':
      return [[p('low', 'lt', s.low)], eq];
    case 'sa':
      return [[p('low', halfOpen ? 'ge' : 'gt', s.high)]];
    case 'eb':
      return [[p('high', halfOpen ? 'le' : 'lt', s.low)]];
    case 'ap':
      return [[p('low', halfOpen ? 'lt' : 'le', s.high + s.approx), p('high', halfOpen ? 'gt' : 'ge', s.low - s.approx)]];
  }
}

/**
 * Prefixes for number and quantity parameters, against stored values that are exact (points
 * [v, v], or the bounds of a Range). R4: the implicit precision of the search value applies to
 * eq, ne and ap only; "when a comparison prefix in the set gt, lt, ge, le, sa & eb is provided,
 * the implicit precision of the number is ignored" (search.html#number). `ap` is ±10% of the value.
 *
 * | prefix | matches when (T = [low, high], v the value, [pl, ph) its precision range) |
 * |--------|----------------------------------------------------------------------------|
 * | eq     | low ≥ pl ∧ high < ph                                                       |
 * | ne     | low < pl ∨ high ≥ ph                                                       |
 * | gt, ge | high > v, high ≥ v                                                         |
 * | lt, le | low < v, low ≤ v                                                           |
 * | sa, eb | low > v, high < v                                                          |
 * | ap     | low ≤ v + 10% ∧ high ≥ v − 10%                                             |
 */
export function numericPredicates(prefix: Prefix, d: { value: number; low: number; high: number }, component?: number): FieldPredicate[][] {
  const p = (field: 'low' | 'high', cmp: FieldPredicate['cmp'], raw: number): FieldPredicate => {
    const value = Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, raw));
    return component === undefined ? { field, cmp, value } : { field, cmp, value, component };
  };
  const v = d.value;
  switch (prefix) {
    case 'eq':
      return [[p('low', 'ge', d.low), p('high', 'lt', d.high)]];
    case 'ne':
      return [[p('low', 'lt', d.low)], [p('high', 'ge', d.high)]];
    case 'gt':
      return [[p('high', 'gt', v)]];
    case 'ge':
      return [[p('high', 'ge', v)]];
    case 'lt':
      return [[p('low', 'lt', v)]];
    case 'le':
      return [[p('low', 'le', v)]];
    case 'sa':
      return [[p('low', 'gt', v)]];
    case 'eb':
      return [[p('high', 'lt', v)]];
    case 'ap': {
      const delta = Math.abs(v) * 0.1;
      return [[p('low', 'le', v + delta), p('high', 'ge', v - delta)]];
    }
  }
}
