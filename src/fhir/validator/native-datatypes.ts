/**
 * Native invariants of DomainResource and of the datatypes: they hold on nearly every element of
 * every write. See native-invariants.ts for the rules native checks follow.
 *
 * https://hl7.org/fhir/R4/domainresource.html#invs
 * https://hl7.org/fhir/R4/datatypes.html
 */
import {
  DEFER,
  UCUM,
  and,
  equals,
  exists,
  extensionOnly,
  implies,
  isObject,
  items,
  or,
  present,
  valueOf,
  xor,
  type B3,
  type Json,
  type NativeInvariant,
} from './native-logic.js';

/** `(code.exists() or value.empty()) and (system.empty() or system = X)`, shared by the Quantity profiles. */
function codedIn(node: Json, system: string): B3 | undefined {
  const sys = node.system === undefined && node._system === undefined ? true : equals(node, 'system', system);
  if (sys === DEFER) return DEFER;
  return and(or(exists(node, 'code'), !exists(node, 'value')), or(!exists(node, 'system'), sys));
}
/** `value.empty() or value.hasValue().not() or value OP 0` */
function valueCompare(node: Json, test: (n: number) => boolean): B3 | undefined {
  if (!exists(node, 'value') || node.value === undefined) return true;
  return typeof node.value === 'number' ? test(node.value) : DEFER;
}

/**
 * `a <= b` for two dateTimes, when both have the same precision and form: full date-times with a
 * zone and no or three fraction digits (compared as instants) or dates of equal precision (compared
 * as text). Anything else (mixed precision, no zone, other fractions) is left to FHIRPath.js.
 */
const FULL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?(Z|[+-]\d{2}:\d{2})$/;
const PARTIAL = /^\d{4}(-\d{2}(-\d{2})?)?$/;
function dateTimeLte(a: unknown, b: unknown): B3 | undefined {
  if (typeof a !== 'string' || typeof b !== 'string') return DEFER;
  if (FULL.test(a) && FULL.test(b)) {
    const ta = Date.parse(a);
    const tb = Date.parse(b);
    return Number.isNaN(ta) || Number.isNaN(tb) ? DEFER : ta <= tb;
  }
  if (a.length === b.length && PARTIAL.test(a) && PARTIAL.test(b)) return a <= b;
  return DEFER;
}

/**
 * `low <= high` for two Quantities (Range, rng-2). Same value system and code (or no unit at all):
 * the values are compared. Two UCUM units that differ need unit conversion: FHIRPath.js. Other
 * different units are not comparable: empty. (FHIRPath.js compares non-UCUM Quantities as plain
 * objects and answers `true` whatever the values; this is where the native check is more correct.)
 */
function quantityLte(low: unknown, high: unknown): B3 | undefined {
  if (!isObject(low) || !isObject(high)) return DEFER;
  if (typeof low.value !== 'number' || typeof high.value !== 'number') return DEFER;
  if (low.comparator !== undefined || high.comparator !== undefined || low._code || high._code || low._system || high._system) return DEFER;
  const sameCode = low.system === high.system && low.code === high.code;
  const unitless = low.system === undefined && low.code === undefined && high.system === undefined && high.code === undefined;
  if (unitless) return low.unit === high.unit ? low.value <= high.value : null;
  if (sameCode) return low.value <= high.value;
  if (low.system === UCUM && high.system === UCUM) return DEFER;
  return null;
}

export const DOMAIN_RESOURCE: NativeInvariant[] = [
  {
    key: 'dom-2',
    expression: 'contained.contained.empty()',
    check: (node) => !items(node.contained).some((c) => isObject(c) && present(c.contained)),
  },
  {
    key: 'dom-3',
    expression:
      "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()",
    // FHIRPath.js stops on `descendants().as(canonical)` (as() on a collection); the walker
    // collects the local references with their types instead.
    nativeOnly: true,
    check: (node, env) =>
      !items(node.contained).some((c) => isObject(c) && typeof c.id === 'string' && !env.localRefs.has(`#${c.id}`) && !env.containerReferrers.has(c)),
  },
  {
    key: 'dom-4',
    expression: 'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()',
    check: (node) => !items(node.contained).some((c) => isObject(c) && isObject(c.meta) && (exists(c.meta, 'versionId') || exists(c.meta, 'lastUpdated'))),
  },
  {
    key: 'dom-5',
    expression: 'contained.meta.security.empty()',
    check: (node) => !items(node.contained).some((c) => isObject(c) && isObject(c.meta) && present(c.meta.security)),
  },
];

export const DATATYPES: NativeInvariant[] = [
  { key: 'qty-3', expression: 'code.empty() or system.exists()', check: (n) => !exists(n, 'code') || exists(n, 'system') },
  { key: 'sqty-1', expression: 'comparator.empty()', check: (n) => !exists(n, 'comparator') },
  {
    key: 'mqty-1',
    expression: "(code.exists() or value.empty()) and (system.empty() or system = 'urn:iso:std:iso:4217')",
    check: (n) => codedIn(n, 'urn:iso:std:iso:4217'),
  },
  {
    key: 'age-1',
    expression: '(code.exists() or value.empty()) and (system.empty() or system = %ucum) and (value.empty() or value.hasValue().not() or value > 0)',
    check: (n) => {
      const unit = codedIn(n, UCUM);
      const positive = valueCompare(n, (v) => v > 0);
      return unit === DEFER || positive === DEFER ? DEFER : and(unit, positive);
    },
  },
  {
    key: 'cnt-3',
    expression:
      "(code.exists() or value.empty()) and (system.empty() or system = %ucum) and (code.empty() or code = '1') and (value.empty() or value.hasValue().not() or value.toString().contains('.').not())",
    check: (n) => {
      const unit = codedIn(n, UCUM);
      const one = exists(n, 'code') ? equals(n, 'code', '1') : true;
      // Whole numbers print without a '.'; how others print is left to FHIRPath.js.
      const whole = n.value === undefined ? true : Number.isSafeInteger(n.value) ? true : DEFER;
      return unit === DEFER || one === DEFER || whole === DEFER ? DEFER : and(and(unit, one), whole);
    },
  },
  { key: 'dis-1', expression: '(code.exists() or value.empty()) and (system.empty() or system = %ucum)', check: (n) => codedIn(n, UCUM) },
  {
    key: 'drt-1',
    expression: 'code.exists() implies ((system = %ucum) and value.exists())',
    check: (n) => {
      const sys = equals(n, 'system', UCUM);
      return sys === DEFER ? DEFER : implies(exists(n, 'code'), and(sys, exists(n, 'value')));
    },
  },
  { key: 'att-1', expression: 'data.empty() or contentType.exists()', check: (n) => !exists(n, 'data') || exists(n, 'contentType') },
  { key: 'cpt-2', expression: 'value.empty() or system.exists()', check: (n) => !exists(n, 'value') || exists(n, 'system') },
  {
    key: 'per-1',
    expression: 'start.hasValue().not() or end.hasValue().not() or (start <= end)',
    check: (n) => (n.start === undefined || n.end === undefined ? true : dateTimeLte(n.start, n.end)),
  },
  {
    key: 'rng-2',
    expression: 'low.empty() or high.empty() or (low <= high)',
    check: (n) => (!present(n.low) || !present(n.high) ? true : quantityLte(n.low, n.high)),
  },
  {
    key: 'rat-1',
    expression: '(numerator.empty() xor denominator.exists()) and (numerator.exists() or extension.exists())',
    check: (n) => and(xor(!present(n.numerator), present(n.denominator)), present(n.numerator) || present(n.extension)),
  },
  {
    key: 'ref-1',
    expression: "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))",
    check: (n, env) => {
      const ref = n.reference;
      if (ref === undefined) return n._reference === undefined ? null : DEFER;
      if (typeof ref !== 'string') return DEFER;
      if (!ref.startsWith('#')) return true;
      // '#' alone: substring(1) is empty, so the `in` is empty and so is the whole expression.
      if (ref === '#') return null;
      const root = env.rootResource;
      return isObject(root) && items(root.contained).some((c) => isObject(c) && c.id === ref.slice(1));
    },
  },
  { key: 'tim-1', expression: 'duration.empty() or durationUnit.exists()', check: (n) => !exists(n, 'duration') || exists(n, 'durationUnit') },
  { key: 'tim-2', expression: 'period.empty() or periodUnit.exists()', check: (n) => !exists(n, 'period') || exists(n, 'periodUnit') },
  {
    key: 'tim-4',
    expression: 'duration.exists() implies duration >= 0',
    check: (n) => (!exists(n, 'duration') ? true : extensionOnly(n, 'duration') ? DEFER : valueOf(n.duration, (v) => v >= 0)),
  },
  {
    key: 'tim-5',
    expression: 'period.exists() implies period >= 0',
    check: (n) => (!exists(n, 'period') ? true : extensionOnly(n, 'period') ? DEFER : valueOf(n.period, (v) => v >= 0)),
  },
  { key: 'tim-6', expression: 'periodMax.empty() or period.exists()', check: (n) => !exists(n, 'periodMax') || exists(n, 'period') },
  { key: 'tim-7', expression: 'durationMax.empty() or duration.exists()', check: (n) => !exists(n, 'durationMax') || exists(n, 'duration') },
  { key: 'tim-8', expression: 'countMax.empty() or count.exists()', check: (n) => !exists(n, 'countMax') || exists(n, 'count') },
  {
    key: 'tim-9',
    expression: "offset.empty() or (when.exists() and when.select($this in ('C' | 'CM' | 'CD' | 'CV')).allFalse())",
    check: (n) => {
      if (!exists(n, 'offset')) return true;
      if (n._when !== undefined) return DEFER;
      const when = items(n.when);
      return when.length > 0 && when.every((w) => typeof w === 'string' && !['C', 'CM', 'CD', 'CV'].includes(w));
    },
  },
  { key: 'tim-10', expression: 'timeOfDay.empty() or when.empty()', check: (n) => !exists(n, 'timeOfDay') || !exists(n, 'when') },
  { key: 'exp-1', expression: 'expression.exists() or reference.exists()', check: (n) => exists(n, 'expression') || exists(n, 'reference') },
];
