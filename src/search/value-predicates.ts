/**
 * One search value (one OR alternative) of one parameter type, as predicates on index rows:
 * alternatives of conjunctions (`FieldPredicate[][]`), so that `ne`, `ge`, `le` and `:below`
 * need no negation inside a row. Values stay literal data; nothing here builds patterns.
 *
 * https://hl7.org/fhir/R4/search.html#ptypes
 */
import { badRequest } from '../r4/errors.js';
import type { FieldPredicate, IndexField } from '../storage/search-index.js';
import { parseDateRange } from './dates.js';
import { splitEscaped, splitFirstBar, unescapeValue } from './escape.js';
import { parseDecimal } from './numbers.js';
import { numericPredicates, rangePredicates, splitPrefix } from './prefixes.js';
import { normalizeReference, stripCanonicalVersion } from './references.js';
import { normalizeString } from './strings.js';
import { UCUM_SYSTEM, canonicalUnit } from './ucum.js';

/** OR of ANDs of predicates on one row. */
export type Alternatives = FieldPredicate[][];

/** What value compilation needs besides the value. */
export interface ValueContext {
  baseUrl: string;
  now: number;
  isResourceType(type: string): boolean;
}

function pred(field: IndexField, cmp: FieldPredicate['cmp'], value: FieldPredicate['value'], component?: number): FieldPredicate {
  const p: FieldPredicate = value === undefined ? { field, cmp } : { field, cmp, value };
  if (component !== undefined) p.component = component;
  return p;
}

/** https://hl7.org/fhir/R4/search.html#string: starts-with by default, `:exact`, `:contains`. */
export function stringAlternatives(raw: string, modifier: string, component?: number): Alternatives {
  const text = unescapeValue(raw);
  if (modifier === 'exact') return [[pred('exact', 'eq', text, component)]];
  return [[pred('value', modifier === 'contains' ? 'contains' : 'prefix', normalizeString(text), component)]];
}

/** `[system]|[code]` forms against the given system/code fields. */
function systemCode(raw: string, name: string, systemField: IndexField, codeField: IndexField, component?: number): FieldPredicate[] {
  const parts = splitFirstBar(raw);
  if (parts.length === 1) return [pred(codeField, 'eq', unescapeValue(parts[0]), component)];
  const [system, code] = [unescapeValue(parts[0]), unescapeValue(parts[1])];
  if (system === '' && code === '') throw badRequest(`Empty system and code in the value of "${name}"`);
  const out: FieldPredicate[] = [system === '' ? pred(systemField, 'null', undefined, component) : pred(systemField, 'eq', system, component)];
  if (code !== '') out.push(pred(codeField, 'eq', code, component));
  return out;
}

/**
 * https://hl7.org/fhir/R4/search.html#token: `code`, `system|code`, `|code`, `system|`;
 * `:text` (starts-with on the normalized text), `:of-type` (`type-system|type-code|value`).
 * `:not` is applied by the caller around the whole parameter.
 */
export function tokenAlternatives(raw: string, modifier: string, name: string, component?: number): Alternatives {
  if (modifier === 'text') return [[pred('text', 'prefix', normalizeString(unescapeValue(raw)), component)]];
  if (modifier === 'of-type') {
    const parts = splitEscaped(raw, '|').map(unescapeValue);
    if (parts.length !== 3 || parts.some((p) => p === '')) {
      throw badRequest(`The value of "${name}:of-type" must be type-system|type-code|value`);
    }
    return [[pred('ofType', 'eq', `${parts[0]}|${parts[1]}`, component), pred('code', 'eq', parts[2], component)]];
  }
  return [systemCode(raw, name, 'system', 'code', component)];
}

/**
 * https://hl7.org/fhir/R4/search.html#reference: `id`, `Type/id`, an absolute URL (ours is
 * read as `Type/id`), canonical `url|version` (the version is ignored), `:[type]` and
 * `:identifier`.
 */
export function referenceAlternatives(
  raw: string,
  modifier: string,
  name: string,
  targets: readonly string[],
  ctx: ValueContext,
  component?: number,
): Alternatives {
  if (modifier === 'identifier') return [systemCode(raw, name, 'identifierSystem', 'identifierValue', component)];
  const text = stripCanonicalVersion(unescapeValue(splitFirstBar(raw)[0]));
  const ref = normalizeReference(text, ctx.isResourceType, ctx.baseUrl);
  if (!ref) throw badRequest(`Invalid reference "${text}" in the value of "${name}"`);
  const typeModifier = /^[A-Z]/.test(modifier) ? modifier : undefined;
  if (typeModifier) {
    if (ref.targetType !== undefined && ref.targetType !== typeModifier) {
      throw badRequest(`The reference "${text}" is not a ${typeModifier} (modifier of "${name}")`);
    }
    const id = ref.targetId ?? text;
    if (id.includes('/') || id.includes(':')) throw badRequest(`Invalid id "${id}" in the value of "${name}:${typeModifier}"`);
    return [[pred('value', 'eq', `${typeModifier}/${id}`, component)]];
  }
  if (ref.targetType !== undefined) return [[pred('value', 'eq', ref.value, component)]];
  if (!text.includes('/') && !text.includes(':')) {
    // A bare id: with a single target type it is that type's; otherwise any type with that id.
    if (targets.length === 1) return [[pred('value', 'eq', `${targets[0]}/${text}`, component)]];
    return [[pred('targetId', 'eq', text, component)]];
  }
  return [[pred('value', 'eq', ref.value, component)]];
}

/** The URL itself and each parent path (`http://a/b/c` → `http://a/b/c`, `http://a/b`, `http://a`). */
function uriAncestors(uri: string): string[] {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*)(\/.*)?$/.exec(uri);
  if (!m) return [uri];
  const segments = (m[2] ?? '').split('/').filter((s) => s !== '');
  const out = [m[1]!];
  for (let i = 0; i < segments.length; i++) out.push(`${m[1]}/${segments.slice(0, i + 1).join('/')}`);
  if (uri.endsWith('/') && !out.includes(uri)) out.push(uri);
  return out.reverse();
}

/** https://hl7.org/fhir/R4/search.html#uri: exact; `:above` and `:below` on path segments. */
export function uriAlternatives(raw: string, modifier: string, component?: number): Alternatives {
  const uri = unescapeValue(raw);
  if (modifier === 'above') return [[pred('value', 'in', uriAncestors(uri), component)]];
  if (modifier === 'below') {
    const base = uri.endsWith('/') ? uri : `${uri}/`;
    return [[pred('value', 'eq', uri, component)], [pred('value', 'prefix', base, component)]];
  }
  return [[pred('value', 'eq', uri, component)]];
}

function decimalOrThrow(text: string, name: string): { value: number; low: number; high: number } {
  const d = parseDecimal(text);
  if (!d) throw badRequest(`Invalid number "${text}" in the value of "${name}"`);
  return d;
}

/** https://hl7.org/fhir/R4/search.html#number: implicit precision, prefixes. */
export function numberAlternatives(raw: string, name: string, component?: number): Alternatives {
  const { prefix, rest } = splitPrefix(unescapeValue(raw), name);
  const d = decimalOrThrow(rest, name);
  return numericPredicates(prefix, d, component);
}

/**
 * A search date. A `+` in a timezone arrives as a space when the client did not percent-encode
 * it (`application/x-www-form-urlencoded`); `2020-01-01T10:00:00 01:00` is read as `+01:00`.
 */
export function parseSearchDate(text: string, name: string): { low: number; high: number } {
  const repaired = / \d{2}:\d{2}$/.test(text) ? `${text.slice(0, -6)}+${text.slice(-5)}` : text;
  const range = parseDateRange(repaired);
  if (!range) throw badRequest(`Invalid date "${text}" in the value of "${name}"`);
  return range;
}

/** The `ap` widening of a date: 10% of the gap between now and the date. */
function dateApprox(low: number, high: number, now: number): number {
  return Math.abs(now - (low + high) / 2) * 0.1;
}

/** https://hl7.org/fhir/R4/search.html#date: precision ranges, prefixes. */
export function dateAlternatives(raw: string, name: string, ctx: ValueContext, component?: number): Alternatives {
  const { prefix, rest } = splitPrefix(unescapeValue(raw), name);
  const r = parseSearchDate(rest, name);
  return rangePredicates(prefix, { low: r.low, high: r.high, approx: dateApprox(r.low, r.high, ctx.now) }, false, component);
}

/**
 * https://hl7.org/fhir/R4/search.html#quantity: `[prefix]number`, `number|system|code`,
 * `number||code` (code or unit). With the UCUM system and a convertible code the value is also
 * compared in canonical units (rows with `canonical: true`); otherwise canonical rows are
 * excluded. Components of composites compare as given (they have no canonical rows).
 */
export function quantityAlternatives(raw: string, name: string, component?: number): Alternatives {
  const parts = splitEscaped(raw, '|').map(unescapeValue);
  if (parts.length !== 1 && parts.length !== 3) throw badRequest(`The value of "${name}" must be number or number|system|code`);
  const { prefix, rest } = splitPrefix(parts[0]!, name);
  const d = decimalOrThrow(rest, name);
  const system = parts[1] ?? '';
  const code = parts[2] ?? '';
  const unit: FieldPredicate[] = [];
  if (system !== '') unit.push(pred('system', 'eq', system, component));
  if (code !== '') unit.push(pred('code', 'eq', code, component));
  const original = numericPredicates(prefix, d, component).map((conj) => [...conj, ...unit]);
  if (component !== undefined) return original;
  const asGiven = original.map((conj) => [...conj, pred('canonical', 'null', undefined)]);
  const canonical = system === UCUM_SYSTEM && code !== '' ? canonicalUnit(code) : undefined;
  if (!canonical) return asGiven;
  const scaled = { value: d.value * canonical.factor, low: d.low * canonical.factor, high: d.high * canonical.factor };
  const inCanonical = numericPredicates(prefix, scaled).map((conj) => [
    ...conj,
    pred('system', 'eq', UCUM_SYSTEM),
    pred('code', 'eq', canonical.code),
    pred('canonical', 'eq', true),
  ]);
  return [...asGiven, ...inCanonical];
}
