/**
 * Which slice an item of a sliced element belongs to, by the slicing's discriminators
 * (https://hl7.org/fhir/R4/profiling.html#discriminator):
 *   - value / pattern: the values at the discriminator path equal the slice's fixed value, or
 *     match its pattern, at that path (a path below a fixed or pattern value reads inside it;
 *     `url` of an extension slice is the URL of its definition); a slice with neither but a
 *     binding takes the values in its value set (slicing by value set, as US Core does);
 *   - exists: the path has a value when the slice requires it (min ≥ 1), none when it forbids
 *     it (max 0);
 *   - type: the type of the value at the path (a choice's typed key, a resource's type);
 *   - profile: the value at the path conforms to the slice's type profile.
 * An item matches a slice when every discriminator matches; an item matching two slices is an
 * error, as in the HL7 reference validator. A discriminator that cannot be evaluated here
 * (`resolve()`, `ofType()`, a slice without a value at the path) matches nothing.
 */
import { unversioned } from './core.js';
import type { Discriminator, ElementRule, Slicing } from './compile.js';
import { choiceKey, equalsFixed, isObject, matchesPattern, valuesAt, type PathStep } from './values.js';

export interface SliceMatch {
  /** Index of the slice, or -1. */
  readonly slice: number;
  /** Other slices the item matches too (an error). */
  readonly ambiguous?: readonly number[];
}

/** What matching needs from the walk. */
export interface SliceContext {
  /** Whether a value conforms to a profile (`profile` discriminators). */
  conforms(value: unknown, profileUrl: string): boolean;
  /** Whether a coded value is in a value set (a slice selected by its binding); false until known. */
  inValueSet(valueSet: string, value: unknown): boolean;
}

type Matcher = (item: unknown, key: string, context: SliceContext) => boolean;

const matchers = new WeakMap<ElementRule, readonly Matcher[]>();

/** The slice of each item (`key` is the JSON key the items are under: it types a choice). */
export function matchSlices(items: readonly unknown[], key: string, slicing: Slicing, context: SliceContext): SliceMatch[] {
  return items.map((item) => {
    let first = -1;
    let others: number[] | undefined;
    for (let s = 0; s < slicing.slices.length; s++) {
      const slice = slicing.slices[s]!;
      if (!matchersOf(slice, slicing.discriminators).every((m) => m(item, key, context))) continue;
      if (first < 0) first = s;
      else (others ??= [first]).push(s);
    }
    return others ? { slice: first, ambiguous: others } : { slice: first };
  });
}

function matchersOf(slice: ElementRule, discriminators: readonly Discriminator[]): readonly Matcher[] {
  let list = matchers.get(slice);
  if (!list) {
    list = discriminators.map((d) => matcher(slice, d));
    matchers.set(slice, list);
  }
  return list;
}

const never: Matcher = () => false;

interface Expected {
  /** The slice's element at the path, when the path reaches one. */
  readonly node?: ElementRule;
  readonly fixed?: readonly unknown[];
  readonly pattern?: readonly unknown[];
}

function matcher(slice: ElementRule, d: Discriminator): Matcher {
  const expected = expectedAt(slice, d.steps);
  if (!expected) return never;
  switch (d.type) {
    case 'value':
    case 'pattern': {
      const { fixed, pattern, node } = expected;
      if (fixed?.length) return (item) => everyFound(valuesAt(item, d.steps), fixed, equalsFixed);
      if (pattern?.length) return (item) => everyFound(valuesAt(item, d.steps), pattern, matchesPattern);
      // Slicing by value set: the slice's binding selects its items.
      const valueSet = node?.declaredBinding?.valueSet;
      if (valueSet) return (item, _key, context) => (valuesAt(item, d.steps) ?? []).some((v) => context.inValueSet(valueSet, v));
      return never;
    }
    case 'exists': {
      const node = expected.node;
      if (!node) return never;
      const mustExist = node.min > 0 ? true : node.max === 0 ? false : undefined;
      if (mustExist === undefined) return never;
      return (item) => (valuesAt(item, d.steps)?.length ?? 0) > 0 === mustExist;
    }
    case 'type': {
      const types = new Set((expected.node?.types ?? []).map((t) => t.code.toLowerCase()));
      if (types.size === 0) return never;
      return (item, key) => {
        const found = typesAt(item, d.steps, key, slice);
        return found.length > 0 && found.every((t) => types.has(t.toLowerCase()));
      };
    }
    case 'profile': {
      const profiles = (expected.node?.types ?? []).flatMap((t) => t.declaredProfiles);
      if (profiles.length === 0) return never;
      return (item, _key, context) => {
        const values = valuesAt(item, d.steps) ?? [];
        return values.length > 0 && values.every((v) => profiles.some((p) => context.conforms(v, p)));
      };
    }
    default:
      return never;
  }
}

/** Every expected value is found among the actual ones. */
function everyFound(actual: unknown[] | undefined, expected: readonly unknown[], same: (a: unknown, e: unknown) => boolean): boolean {
  if (!actual || actual.length === 0) return false;
  return expected.every((e) => actual.some((a) => same(a, e)));
}

/**
 * The types of the values at a path: a resource's type, or the suffix of a choice element's
 * typed key (`valueQuantity` → `Quantity`); `$this` of a choice item is typed by the key it is under.
 */
function typesAt(item: unknown, steps: readonly PathStep[], key: string, slice: ElementRule): string[] {
  const last = steps[steps.length - 1];
  if (!last || last.kind === 'this') {
    if (isObject(item) && typeof item.resourceType === 'string') return [item.resourceType];
    return slice.name.endsWith('[x]') ? [key.slice(slice.name.length - 3)] : [];
  }
  if (last.kind !== 'child') return [];
  const out: string[] = [];
  for (const parent of valuesAt(item, steps.slice(0, -1)) ?? []) {
    if (!isObject(parent)) continue;
    const value = parent[last.name];
    if (isObject(value) && typeof value.resourceType === 'string') out.push(value.resourceType);
    else if (value === undefined) {
      const typed = choiceKey(parent, last.name);
      if (typed !== last.name) out.push(typed.slice(last.name.length));
    }
  }
  return out;
}

/** The extension URL an extension slice stands for: its fixed `url`, or its definition. */
export function extensionUrlOf(slice: ElementRule): string | undefined {
  const url = slice.childNamed('url')?.fixed;
  if (typeof url === 'string') return url;
  const profile = slice.types[0]?.declaredProfiles[0];
  return profile === undefined ? undefined : unversioned(profile);
}

/**
 * What a slice says about the element at a discriminator path. Where the path passes through an
 * element that is itself sliced and says nothing there (R4's `bp`: `code.coding.code` through the
 * slice `coding:SBPCode`), the values come from the slices that element must have (min ≥ 1).
 */
function expectedAt(slice: ElementRule, steps: readonly PathStep[], from = 0): Expected | undefined {
  let node = slice;
  for (let i = from; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.kind === 'this') continue;
    if (step.kind === 'unsupported') return undefined;
    if (step.kind === 'extension') {
      const found = node.childNamed('extension')?.slicing?.slices.find((s) => extensionUrlOf(s) === step.url);
      if (!found) return undefined;
      node = found;
      continue;
    }
    const child = node.childNamed(step.name);
    if (!child) return inside(node, steps.slice(i));
    if (child.slicing && child.fixed === undefined && child.pattern === undefined) {
      const direct = expectedAt(child, steps, i + 1);
      if (direct?.fixed?.length || direct?.pattern?.length) return direct;
      const fromSlices = child.slicing.slices.filter((s) => s.min > 0).map((s) => expectedAt(s, steps, i + 1));
      const fixed = fromSlices.flatMap((e) => e?.fixed ?? []);
      const pattern = fromSlices.flatMap((e) => e?.pattern ?? []);
      if (fixed.length || pattern.length) return { ...(fixed.length ? { fixed } : {}), ...(pattern.length ? { pattern } : {}) };
      return direct;
    }
    node = child;
  }
  return {
    node,
    ...(node.fixed !== undefined ? { fixed: [node.fixed] } : {}),
    ...(node.pattern !== undefined ? { pattern: [node.pattern] } : {}),
  };
}

/** A path that goes below the deepest element the slice defines: read inside its fixed or pattern value. */
function inside(node: ElementRule, rest: readonly PathStep[]): Expected | undefined {
  if (node.fixed !== undefined) return { fixed: valuesAt(node.fixed, rest) ?? [] };
  if (node.pattern !== undefined) return { pattern: valuesAt(node.pattern, rest) ?? [] };
  if (rest.length === 1 && rest[0]!.kind === 'child' && rest[0]!.name === 'url' && node.types[0]?.code === 'Extension') {
    const url = extensionUrlOf(node);
    if (url !== undefined) return { fixed: [url] };
  }
  return undefined;
}
