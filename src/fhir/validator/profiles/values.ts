/**
 * Comparing instance values with `fixed[x]` and `pattern[x]`
 * (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.fixed_x_ and
 * #ElementDefinition.pattern_x_), and reading the values a slicing discriminator path selects
 * (https://hl7.org/fhir/R4/profiling.html#discriminator).
 */

type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Primitives compare by value (decimals numerically); JSON numbers and strings never match each other. */
function samePrimitive(a: unknown, b: unknown): boolean {
  return a === b;
}

/**
 * fixed[x]: the instance value is exactly the fixed value. Every property of the fixed value is
 * equal (arrays item by item), and the instance has no other properties than `id` and
 * `extension`, which a fixed value does not constrain unless it has them itself.
 */
export function equalsFixed(value: unknown, fixed: unknown): boolean {
  if (Array.isArray(fixed)) {
    return Array.isArray(value) && value.length === fixed.length && fixed.every((f, i) => equalsFixed(value[i], f));
  }
  if (isObject(fixed)) {
    if (!isObject(value)) return false;
    for (const key in fixed) if (!equalsFixed(value[key], fixed[key])) return false;
    for (const key in value) if (!(key in fixed) && key !== 'id' && key !== 'extension' && value[key] !== undefined) return false;
    return true;
  }
  return samePrimitive(value, fixed);
}

/**
 * pattern[x]: the instance value has at least what the pattern has. Each property of the pattern
 * is matched; each item of an array in the pattern is matched by some item of the instance's
 * array; primitives are equal. Properties the pattern does not mention are free.
 */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    if (!Array.isArray(value)) return false;
    return pattern.every((p) => value.some((v) => matchesPattern(v, p)));
  }
  if (isObject(pattern)) {
    if (!isObject(value)) return false;
    for (const key in pattern) if (!matchesPattern(value[key], pattern[key])) return false;
    return true;
  }
  return samePrimitive(value, pattern);
}

/** Arrays flattened into their items; undefined and null dropped. */
function push(out: unknown[], value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) if (v !== undefined && v !== null) out.push(v);
  } else if (value !== undefined && value !== null) out.push(value);
}

const EXTENSION_CALL = /^extension\(\s*['"]([^'"]+)['"]\s*\)$/;

/** One step of a discriminator path: an element name, `$this`, or `extension('url')`. */
export type PathStep = { kind: 'this' } | { kind: 'child'; name: string } | { kind: 'extension'; url: string } | { kind: 'unsupported'; text: string };

/** Splits a discriminator path (`coding.code`, `$this`, `extension('http://...').value`). */
export function parsePath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  // Dots inside extension('...') are part of the URL.
  for (const part of path.match(/extension\([^)]*\)|[^.]+/g) ?? []) {
    if (part === '$this') steps.push({ kind: 'this' });
    else if (EXTENSION_CALL.test(part)) steps.push({ kind: 'extension', url: EXTENSION_CALL.exec(part)![1]! });
    else if (/^[A-Za-z][A-Za-z0-9]*$/.test(part)) steps.push({ kind: 'child', name: part });
    else steps.push({ kind: 'unsupported', text: part });
  }
  return steps;
}

/**
 * The values a path selects in an instance value, flattened (FHIRPath navigation on JSON): a name
 * selects that property or, for a choice element, its one typed form (`value` → `valueQuantity`).
 * Undefined when the path has a step this cannot follow (`resolve()`, `ofType(...)`).
 */
export function valuesAt(value: unknown, steps: readonly PathStep[]): unknown[] | undefined {
  let current: unknown[] = [value];
  for (const step of steps) {
    if (step.kind === 'this') continue;
    if (step.kind === 'unsupported') return undefined;
    const next: unknown[] = [];
    for (const item of current) {
      if (!isObject(item)) continue;
      if (step.kind === 'extension') {
        if (Array.isArray(item.extension)) for (const e of item.extension) if (isObject(e) && e.url === step.url) next.push(e);
        continue;
      }
      if (step.name in item) push(next, item[step.name]);
      else push(next, item[choiceKey(item, step.name)]);
    }
    current = next;
  }
  return current;
}

/** The typed JSON key of a choice element in an object (`value` → `valueQuantity`), or the name itself. */
export function choiceKey(item: Json, stem: string): string {
  for (const key in item) {
    if (key.length > stem.length && key.startsWith(stem) && key.charCodeAt(stem.length) >= 65 && key.charCodeAt(stem.length) <= 90) return key;
  }
  return stem;
}

/** The codes a coded value carries: a `code` string, a Coding or Quantity, each coding of a CodeableConcept. */
export function codesOf(value: unknown): Array<{ system?: string; code: string }> {
  if (typeof value === 'string') return [{ code: value }];
  if (!isObject(value)) return [];
  const codings = Array.isArray(value.coding) ? value.coding : 'code' in value ? [value] : [];
  const out: Array<{ system?: string; code: string }> = [];
  for (const c of codings) {
    if (isObject(c) && typeof c.code === 'string') out.push(typeof c.system === 'string' ? { system: c.system, code: c.code } : { code: c.code });
  }
  return out;
}
