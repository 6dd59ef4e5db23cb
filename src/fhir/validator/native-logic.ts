/**
 * What native invariants are made of (native-invariants.ts): their interface, and FHIRPath
 * semantics over JSON. Three-valued logic (true, false, and empty as null), and existence as
 * FHIRPath sees it: an element exists if it has a value or, for a primitive, only extensions (`_x`).
 *
 * https://hl7.org/fhirpath/N1/#boolean-logic
 * https://hl7.org/fhir/R4/json.html#primitive
 */
import type { B3, FhirPathEnv } from './fhirpath.js';

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
export type ValueCheck = (value: unknown, env: NativeEnv) => B3 | undefined;

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

export type Json = Record<string, unknown>;

export const UCUM = 'http://unitsofmeasure.org';

export const and = (a: B3, b: B3): B3 => (a === false || b === false ? false : a === null || b === null ? null : true);
export const or = (a: B3, b: B3): B3 => (a === true || b === true ? true : a === null || b === null ? null : false);
export const implies = (a: B3, b: B3): B3 => (a === false ? true : a === true ? b : b === true ? true : null);
export const xor = (a: B3, b: B3): B3 => (a === null || b === null ? null : a !== b);

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const present = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
/** `name.exists()`: a value, or a `_name` extension-only primitive. */
export const exists = (node: Json, name: string) => present(node[name]) || present(node[`_${name}`]);
/** `stem.exists()` for a choice element `stem[x]` (any `stemType` key). */
export function existsChoice(node: Json, stem: string): boolean {
  for (const key of Object.keys(node)) {
    const k = key.charCodeAt(0) === 95 ? key.slice(1) : key;
    if (k.length > stem.length && k.startsWith(stem) && isUpper(k.charCodeAt(stem.length)) && present(node[key])) return true;
  }
  return false;
}
export const isUpper = (c: number) => c >= 65 && c <= 90;
/** A primitive given only by extensions (`_x` without `x`): its value is unknown here. */
export const extensionOnly = (node: Json, name: string) => node[name] === undefined && node[`_${name}`] !== undefined;
/** `name = literal` for a single string primitive: empty when absent. */
export function equals(node: Json, name: string, literal: string): B3 | undefined {
  const v = node[name];
  if (v === undefined) return node[`_${name}`] === undefined ? null : DEFER;
  return typeof v === 'string' ? v === literal : DEFER;
}
export const items = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** `X.coding.where(system = S and code in codes).exists()` over a CodeableConcept. */
export function hasCoding(concept: unknown, system: string, codes: readonly string[]): boolean {
  if (!isObject(concept)) return false;
  return items(concept.coding).some((c) => isObject(c) && c.system === system && typeof c.code === 'string' && codes.includes(c.code));
}

/** A number primitive compared; deferred when it is not a number. */
export function valueOf(v: unknown, test: (n: number) => boolean): B3 | undefined {
  return typeof v === 'number' ? test(v) : DEFER;
}
