/**
 * Native implementations of the R4 invariants that run on nearly every write (the DomainResource
 * rules, the common datatypes, the resources Synthea and US Core data are made of). Each one is
 * the FHIRPath expression transcribed with FHIRPath semantics: three-valued logic, an element
 * "exists" if it has a value or only extensions (`_x`), and an empty result is not a violation.
 * When an input falls outside what the transcription covers (a primitive given only by its `_x`
 * extension, a comparison needing UCUM conversion or partial-precision dates, a non-object where
 * an object belongs), the check returns {@link DEFER} and the expression is evaluated by
 * FHIRPath.js instead. test/unit/validator/invariants.test.ts compares every native check with
 * FHIRPath.js on the sample data and on generated inputs.
 *
 * A native check is used only when the definition's expression is exactly the one transcribed
 * here, so a changed definition falls back to FHIRPath.js rather than to a stale transcription.
 *
 * https://hl7.org/fhir/R4/conformance-rules.html#constraints
 * https://hl7.org/fhirpath/N1/#boolean-logic
 */

import { evaluateFhirPath, type B3, type FhirPathEnv } from './fhirpath.js';

export type { B3 } from './fhirpath.js';

/** Returned when the native check does not cover the input: evaluate with FHIRPath.js. */
export const DEFER = undefined;

/** What a check may know beyond its focus node. */
export interface NativeEnv extends FhirPathEnv {
  /** `#...` values of every reference and uri-typed element inside %resource (contained ones included). */
  readonly localRefs: ReadonlySet<string>;
  /** Contained resources of %resource that hold a reference to `#` (their container). */
  readonly containerReferrers: ReadonlySet<unknown>;
}

export type NativeCheck = (node: Json, env: NativeEnv) => B3 | undefined;
type ValueCheck = (value: unknown, env: NativeEnv) => B3 | undefined;

export interface NativeInvariant {
  readonly key: string;
  /** The R4 expression this transcribes, exactly. */
  readonly expression: string;
  readonly check: NativeCheck;
  /** FHIRPath.js cannot evaluate the expression (or not as R4 means it): never defer. */
  readonly nativeOnly?: boolean;
  /** The context is a primitive value (Narrative.div), not an object. */
  readonly onValue?: boolean;
}

type Json = Record<string, unknown>;

const UCUM = 'http://unitsofmeasure.org';

// --- FHIRPath three-valued logic (https://hl7.org/fhirpath/N1/#boolean-logic) ---
const and = (a: B3, b: B3): B3 => (a === false || b === false ? false : a === null || b === null ? null : true);
const or = (a: B3, b: B3): B3 => (a === true || b === true ? true : a === null || b === null ? null : false);
const implies = (a: B3, b: B3): B3 => (a === false ? true : a === true ? b : b === true ? true : null);
const xor = (a: B3, b: B3): B3 => (a === null || b === null ? null : a !== b);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const present = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
/** `name.exists()`: a value, or a `_name` extension-only primitive. */
const exists = (node: Json, name: string) => present(node[name]) || present(node[`_${name}`]);
/** `stem.exists()` for a choice element `stem[x]` (any `stemType` key). */
function existsChoice(node: Json, stem: string): boolean {
  for (const key of Object.keys(node)) {
    const k = key.charCodeAt(0) === 95 ? key.slice(1) : key;
    if (k.length > stem.length && k.startsWith(stem) && isUpper(k.charCodeAt(stem.length)) && present(node[key])) return true;
  }
  return false;
}
const isUpper = (c: number) => c >= 65 && c <= 90;
/** A primitive given only by extensions (`_x` without `x`): its value is unknown here. */
const extensionOnly = (node: Json, name: string) => node[name] === undefined && node[`_${name}`] !== undefined;
/** `name = literal` for a single string primitive: empty when absent. */
function equals(node: Json, name: string, literal: string): B3 | undefined {
  const v = node[name];
  if (v === undefined) return node[`_${name}`] === undefined ? null : DEFER;
  return typeof v === 'string' ? v === literal : DEFER;
}
const items = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** `X.coding.where(system = S and code in codes).exists()` over a CodeableConcept. */
function hasCoding(concept: unknown, system: string, codes: readonly string[]): boolean {
  if (!isObject(concept)) return false;
  return items(concept.coding).some((c) => isObject(c) && c.system === system && typeof c.code === 'string' && codes.includes(c.code));
}

/** `where(use = 'home').empty()` on one ContactPoint or Address. */
const notHome: NativeCheck = (node) => (node.use === 'home' ? false : node.use === undefined || typeof node.use === 'string' ? true : DEFER);

// --- Quantity checks: the (code.exists() or value.empty()) and (system.empty() or system = X) family ---
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
 * zone (compared as instants, to the millisecond) or dates of equal precision (compared as text).
 * Anything else (mixed precision, no zone, sub-millisecond digits) is left to FHIRPath.js.
 */
const FULL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;
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

/** Structurally equal Codings (FHIRPath `=` on complex types, for `intersect`). */
function sameCoding(a: unknown, b: unknown): boolean | undefined {
  if (!isObject(a) || !isObject(b)) return false;
  if (a.system !== b.system || a.code !== b.code) return false;
  return DEFER;
}

const DOMAIN_RESOURCE: NativeInvariant[] = [
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
    check: (node) =>
      !items(node.contained).some((c) => isObject(c) && isObject(c.meta) && (exists(c.meta, 'versionId') || exists(c.meta, 'lastUpdated'))),
  },
  {
    key: 'dom-5',
    expression: 'contained.meta.security.empty()',
    check: (node) => !items(node.contained).some((c) => isObject(c) && isObject(c.meta) && present(c.meta.security)),
  },
];

const DATATYPES: NativeInvariant[] = [
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

/**
 * The resource type a Reference points to, read from the reference itself: a contained resource
 * (`#id`) or the `Type/id` at the end of a relative or absolute literal reference. Anything else
 * cannot be resolved inside one resource, and `resolve()` is then empty.
 */
const LITERAL = /(?:^|\/)([A-Z][A-Za-z]{1,63})\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
function referencedType(reference: unknown, env: NativeEnv): string | undefined {
  if (!isObject(reference) || typeof reference.reference !== 'string') return undefined;
  const ref = reference.reference;
  if (ref.startsWith('#')) {
    const root = env.rootResource;
    const target = isObject(root) ? items(root.contained).find((c) => isObject(c) && c.id === ref.slice(1)) : undefined;
    return isObject(target) && typeof target.resourceType === 'string' ? target.resourceType : undefined;
  }
  return LITERAL.exec(ref)?.[1];
}

/**
 * txt-2: "some non-whitespace content (text or an image)". A scan outside tags and comments; an
 * `<img` with a `src` counts as content, as in the R4 XPath and FHIRPath.js.
 */
function hasNarrativeContent(div: string): boolean {
  let i = 0;
  while (i < div.length) {
    const c = div.charCodeAt(i);
    if (c === 60) {
      if (div.startsWith('<!--', i)) {
        const end = div.indexOf('-->', i + 4);
        if (end < 0) return true;
        i = end + 3;
        continue;
      }
      const end = div.indexOf('>', i);
      if (end < 0) return true;
      if (div.startsWith('<img', i) && /\ssrc\s*=/.test(div.slice(i, end))) return true;
      i = end + 1;
      continue;
    }
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return true;
    i++;
  }
  return false;
}

/**
 * `xml:lang` is the XHTML spelling of `lang` (XHTML 1.0 C.7 asks for both); the FHIR validator
 * accepts it, FHIRPath.js' htmlChecks() does not (it refuses every prefixed attribute), so it is
 * removed before the check.
 */
const XML_LANG = /\sxml:lang=(?:"[^"<]*"|'[^'<]*')/g;

const narrative = (check: ValueCheck) => check as unknown as NativeCheck;

const NARRATIVE: NativeInvariant[] = [
  {
    key: 'txt-1',
    expression: 'htmlChecks()',
    onValue: true,
    nativeOnly: true,
    // An empty narrative is txt-2's failure; report it once, there.
    check: narrative((div, env) =>
      typeof div !== 'string' ? null : !hasNarrativeContent(div) ? true : evaluateFhirPath('Narrative.div', 'htmlChecks()', div.replace(XML_LANG, ''), env),
    ),
  },
  {
    key: 'txt-2',
    expression: 'htmlChecks()',
    onValue: true,
    nativeOnly: true,
    check: narrative((div) => (typeof div !== 'string' ? null : hasNarrativeContent(div))),
  },
];

const RESOURCES: NativeInvariant[] = [
  {
    key: 'que-7',
    expression: "operator = 'exists' implies (answer is Boolean)",
    // `Boolean` names System.Boolean, which FHIRPath.js does not see a FHIR boolean as; R4 means
    // the answer's type (the official example Questionnaire-bb has operator exists and answerBoolean).
    nativeOnly: true,
    check: (n) => {
      const exists = equals(n, 'operator', 'exists');
      if (exists !== true) return exists === false ? true : null;
      if (present(n.answerBoolean) || present(n._answerBoolean)) return true;
      return existsChoice(n, 'answer') ? false : null;
    },
  },
  {
    key: 'ctm-1',
    expression: 'onBehalfOf.exists() implies (member.resolve().iif(empty(), true, ofType(Practitioner).exists()))',
    // FHIRPath.js resolves references only asynchronously (by fetching them); here resolve() is
    // the reference's own type, which is all ofType() needs.
    nativeOnly: true,
    check: (n, env) => {
      if (!present(n.onBehalfOf)) return true;
      const type = referencedType(n.member, env);
      return type === undefined ? true : type === 'Practitioner';
    },
  },
  { key: 'obs-3', expression: 'low.exists() or high.exists() or text.exists()', check: (n) => present(n.low) || present(n.high) || exists(n, 'text') },
  { key: 'obs-6', expression: 'dataAbsentReason.empty() or value.empty()', check: (n) => !present(n.dataAbsentReason) || !existsChoice(n, 'value') },
  {
    key: 'obs-7',
    expression: 'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()',
    check: (n) => {
      if (!existsChoice(n, 'value') || n.component === undefined) return true;
      const own = isObject(n.code) ? items(n.code.coding) : [];
      for (const component of items(n.component)) {
        if (!isObject(component) || !isObject(component.code)) continue;
        for (const coding of items(component.code.coding)) for (const o of own) if (sameCoding(coding, o) !== false) return DEFER;
      }
      return true;
    },
  },
  {
    key: 'pat-1',
    expression: 'name.exists() or telecom.exists() or address.exists() or organization.exists()',
    check: (n) => present(n.name) || present(n.telecom) || present(n.address) || present(n.organization),
  },
  {
    key: 'org-1',
    expression: '(identifier.count() + name.count()) > 0',
    check: (n) => (present(n.identifier) || present(n.name) ? true : n._name !== undefined ? DEFER : false),
  },
  { key: 'org-2', expression: "where(use = 'home').empty()", check: notHome },
  { key: 'org-3', expression: "where(use = 'home').empty()", check: notHome },
  {
    key: 'ait-1',
    expression:
      "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').exists() or clinicalStatus.exists()",
    check: (n) => hasCoding(n.verificationStatus, 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', ['entered-in-error']) || present(n.clinicalStatus),
  },
  {
    key: 'ait-2',
    expression:
      "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').empty() or clinicalStatus.empty()",
    check: (n) => !hasCoding(n.verificationStatus, 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', ['entered-in-error']) || !present(n.clinicalStatus),
  },
  { key: 'con-1', expression: 'summary.exists() or assessment.exists()', check: (n) => present(n.summary) || present(n.assessment) },
  { key: 'con-2', expression: 'code.exists() or detail.exists()', check: (n) => present(n.code) || present(n.detail) },
  {
    key: 'con-4',
    expression:
      "abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()",
    check: (n) => !existsChoice(n, 'abatement') || hasCoding(n.clinicalStatus, 'http://terminology.hl7.org/CodeSystem/condition-clinical', ['resolved', 'remission', 'inactive']),
  },
  {
    key: 'con-5',
    expression:
      "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()",
    check: (n) => !hasCoding(n.verificationStatus, 'http://terminology.hl7.org/CodeSystem/condition-ver-status', ['entered-in-error']) || !present(n.clinicalStatus),
  },
  { key: 'cpl-3', expression: 'detail.empty() or reference.empty()', check: (n) => !present(n.detail) || !present(n.reference) },
  {
    key: 'gol-1',
    expression: '(detail.exists() and measure.exists()) or detail.exists().not()',
    check: (n) => !existsChoice(n, 'detail') || present(n.measure),
  },
  { key: 'imm-1', expression: 'documentType.exists() or reference.exists()', check: (n) => exists(n, 'documentType') || exists(n, 'reference') },
];

function valueOf(v: unknown, test: (n: number) => boolean): B3 | undefined {
  return typeof v === 'number' ? test(v) : DEFER;
}

/** Every native check, by constraint key (a key may appear once per distinct expression). */
export const NATIVE_INVARIANTS: readonly NativeInvariant[] = [...DOMAIN_RESOURCE, ...DATATYPES, ...NARRATIVE, ...RESOURCES];

const byKey = new Map<string, NativeInvariant[]>();
for (const n of NATIVE_INVARIANTS) byKey.set(n.key, [...(byKey.get(n.key) ?? []), n]);

/** The native check transcribing exactly this constraint, if there is one. */
export function nativeInvariant(key: string, expression: string): NativeInvariant | undefined {
  return byKey.get(key)?.find((n) => n.expression === expression);
}
