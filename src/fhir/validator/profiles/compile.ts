/**
 * Compiles a profile (a StructureDefinition with `derivation: constraint` and a snapshot) into
 * rules the profile walker checks instances against. A rule keeps only what the profile adds to
 * the base definition, because the base validator (../walk.ts) already checks the rest on every
 * write: cardinality tighter than the base, choice types the profile removes, type profiles
 * (extensions, datatype profiles), reference targets, fixed[x] and pattern[x], required and
 * extensible bindings other than the base's, invariants the base does not have, maxLength, and
 * slicing. An element whose rule (and whose children's rules) add nothing is marked `trivial` and
 * walked like an unprofiled element.
 *
 * https://hl7.org/fhir/R4/profiling.html
 * https://hl7.org/fhir/R4/elementdefinition.html
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import { r4Definitions, type ElementDef } from '../definitions.js';
import { compileInvariant, type Invariant } from '../invariants.js';
import { PRIMITIVES } from '../primitives.js';
import { baseTypeOf, unversioned } from './core.js';
import { snapshotTree, typeCode, valueOfPrefix, type SnapshotNode } from './snapshot.js';
import { parsePath, type PathStep } from './values.js';

export interface Binding {
  readonly strength: 'required' | 'extensible';
  readonly valueSet: string;
}

export interface TypeRule {
  /** `Quantity`, `Reference`, `Extension`, `string`, a resource type for `Resource`-typed elements. */
  readonly code: string;
  /** The value must conform to one of these profiles (those the base validator does not already apply). */
  readonly profiles: readonly string[];
  /** The profiles as declared (for slicing: an extension slice's URL is its profile). */
  readonly declaredProfiles: readonly string[];
  /** Resource types a Reference may point to; undefined when any (or when a target profile is unknown). */
  readonly targets: ReadonlySet<string> | undefined;
}

export interface Discriminator {
  readonly type: 'value' | 'pattern' | 'exists' | 'type' | 'profile';
  readonly path: string;
  readonly steps: readonly PathStep[];
}

export interface Slicing {
  readonly discriminators: readonly Discriminator[];
  readonly ordered: boolean;
  readonly rules: 'closed' | 'open' | 'openAtEnd';
  readonly slices: readonly ElementRule[];
}

export interface Constraint {
  readonly key: string;
  readonly severity: 'error' | 'warning';
  readonly human: string;
  readonly expression: string;
}

/** What the profile requires of one element (or of one slice). */
export class ElementRule {
  /** Children by JSON key (a choice element under each of its typed keys, a type slice under its own). */
  readonly childByKey = new Map<string, ElementRule>();
  /** Children whose cardinality is checked (tighter than the base). */
  readonly counted: ElementRule[] = [];
  /** Choice elements (by definition name `value[x]`) whose types the profile restricts, with the types left. */
  readonly restrictedChoices = new Map<string, readonly string[]>();
  slicing: Slicing | undefined;
  /** A rule that adds nothing to the base definition, nor does any rule below it. */
  trivial = true;
  /** No rule below this one adds anything. */
  childrenTrivial = true;
  private readonly invariantsByKey = new Map<string, readonly Invariant[]>();

  constructor(
    /** ElementDefinition.id: `Observation.component:systolic.code`. */
    readonly id: string,
    /** ElementDefinition.path: `Observation.component.code`. */
    readonly path: string,
    /** `code`, `value[x]`. */
    readonly name: string,
    readonly sliceName: string | undefined,
    readonly min: number,
    readonly max: number,
    readonly checkMin: boolean,
    readonly checkMax: boolean,
    /** JSON keys that carry the element (typed keys of a choice; `_key` of primitives). */
    readonly keys: readonly string[],
    readonly types: readonly TypeRule[],
    readonly fixed: unknown,
    readonly pattern: unknown,
    readonly binding: Binding | undefined,
    readonly constraints: readonly Constraint[],
    readonly maxLength: number | undefined,
    /** The binding as declared, even when it is the base's (a slice may be selected by its value set). */
    readonly declaredBinding: Binding | undefined,
  ) {}

  /** The type of the value under a JSON key (the choice suffix), or the single type. */
  typeOf(key: string): TypeRule | undefined {
    if (this.types.length === 1) return this.types[0];
    if (!this.name.endsWith('[x]')) return this.types[0];
    const suffix = key.slice(this.name.length - 3);
    return this.types.find((t) => t.code === suffix || capitalize(t.code) === suffix);
  }

  /** The profile's invariants of this element, compiled for the model path of `key` (typed for a choice). */
  invariants(key: string): readonly Invariant[] {
    if (this.constraints.length === 0) return NONE;
    let list = this.invariantsByKey.get(key);
    if (!list) {
      const base = this.name.endsWith('[x]') ? `${this.path.slice(0, -this.name.length)}${key}` : this.path;
      list = this.constraints.map((c) => compileInvariant(c, base)).filter((i): i is Invariant => i !== undefined);
      this.invariantsByKey.set(key, list);
    }
    return list;
  }

  /** The severity of one of this element's invariants. */
  severityOf(key: string): 'error' | 'warning' {
    return this.constraints.find((c) => c.key === key)?.severity ?? 'error';
  }

  /** A child by its definition name (`code`, or `value` for `value[x]`). */
  childNamed(name: string): ElementRule | undefined {
    for (const child of this.childByKey.values()) if (child.sliceName === undefined && (child.name === name || child.name === `${name}[x]`)) return child;
    return undefined;
  }
}

const NONE: readonly Invariant[] = [];

/** Where an extension may be used (StructureDefinition.context, https://hl7.org/fhir/R4/extensibility.html#context). */
export interface ExtensionContext {
  readonly type: 'element' | 'extension' | 'fhirpath';
  readonly expression: string;
}

export interface CompiledProfile {
  readonly url: string;
  readonly name: string;
  /** The constrained type: `Observation`, `Extension`, `Quantity`. */
  readonly type: string;
  readonly kind: StructureDefinition['kind'];
  readonly root: ElementRule;
  /** Extensions only: where they may be used. */
  readonly contexts: readonly ExtensionContext[];
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const parseMax = (max: string | undefined) => (max === undefined || max === '*' ? Infinity : Number(max));

/** Keys of invariants the base validator checks (every error-level constraint of R4's types and resources). */
let baseKeys: ReadonlySet<string> | undefined;
function baseConstraintKeys(): ReadonlySet<string> {
  if (!baseKeys) {
    const keys = new Set<string>();
    for (const type of r4Definitions().types.values()) {
      for (const c of type.constraints) keys.add(c.key);
      for (const e of type.elements) for (const c of e.constraints) keys.add(c.key);
    }
    baseKeys = keys;
  }
  return baseKeys;
}

const baseElements = new Map<string, Map<string, ElementDef>>();
/** The base definition's element at `path` (`Observation.code`, `Quantity.value`). */
function baseElement(path: string): ElementDef | undefined {
  const type = path.split('.')[0]!;
  let byPath = baseElements.get(type);
  if (!byPath) {
    byPath = new Map((r4Definitions().types.get(type)?.elements ?? []).map((e) => [e.path, e]));
    baseElements.set(type, byPath);
  }
  return byPath.get(path);
}

/** Looks up StructureDefinitions synchronously (they were fetched before compiling). */
export type DefinitionLookup = (url: string) => StructureDefinition | undefined;

/** Compiles one StructureDefinition; `lookup` names the types of target profiles. */
export function compileProfile(sd: StructureDefinition, lookup: DefinitionLookup): CompiledProfile | undefined {
  const tree = snapshotTree(sd);
  if (!tree) return undefined;
  const root = compileNode(tree, lookup, undefined);
  return {
    url: sd.url,
    name: sd.name,
    type: sd.type,
    kind: sd.kind,
    root,
    contexts: (sd.context ?? []).map((c) => ({ type: c.type as ExtensionContext['type'], expression: c.expression })),
  };
}

function compileNode(node: SnapshotNode, lookup: DefinitionLookup, entry: ElementRule | undefined): ElementRule {
  const e = node.element;
  const base = baseElement(e.base?.path ?? e.path);
  const types = (e.type ?? []).map((t) => typeRule(t, base, lookup));
  const isChoice = node.name.endsWith('[x]');
  const stem = isChoice ? node.name.slice(0, -3) : node.name;
  const keys: string[] = [];
  for (const t of isChoice ? types : types.slice(0, 1)) {
    const key = isChoice ? stem + capitalize(t.code) : stem;
    keys.push(key);
    if (PRIMITIVES.has(t.code)) keys.push(`_${key}`);
  }
  if (types.length === 0) keys.push(stem);
  const min = e.min ?? 0;
  const max = parseMax(e.max);
  const baseMin = e.base?.min ?? base?.min ?? 0;
  const baseMax = e.base?.max !== undefined ? parseMax(e.base.max) : (base?.max ?? Infinity);
  const declaredBinding = declaredBindingOf(e);
  const binding =
    declaredBinding && !(base?.binding && base.binding.strength === declaredBinding.strength && base.binding.valueSet === declaredBinding.valueSet)
      ? declaredBinding
      : undefined;
  const constraints = (e.constraint ?? [])
    .filter((c) => c.expression && !baseConstraintKeys().has(c.key) && !(c.source && baseTypeOf(c.source)))
    .map((c) => ({ key: c.key, severity: c.severity === 'warning' ? ('warning' as const) : ('error' as const), human: c.human, expression: c.expression! }));
  const rule = new ElementRule(
    e.id ?? e.path,
    e.path,
    node.name,
    e.sliceName,
    min,
    max,
    min > baseMin,
    max < baseMax,
    keys,
    types,
    valueOfPrefix(e, 'fixed'),
    valueOfPrefix(e, 'pattern'),
    binding,
    constraints,
    e.maxLength,
    declaredBinding,
  );
  rule.trivial =
    !rule.checkMin &&
    !rule.checkMax &&
    rule.fixed === undefined &&
    rule.pattern === undefined &&
    !binding &&
    constraints.length === 0 &&
    rule.maxLength === undefined &&
    types.every((t) => t.profiles.length === 0 && t.targets === undefined);

  for (const childNode of node.children) {
    const child = compileNode(childNode, lookup, undefined);
    addChild(rule, child, childNode);
  }
  // A slice without children of its own takes those of the element it slices.
  if (node.children.length === 0 && entry) {
    for (const [key, child] of entry.childByKey) rule.childByKey.set(key, child);
    rule.counted.push(...entry.counted);
    for (const [name, child] of entry.restrictedChoices) rule.restrictedChoices.set(name, child);
    if (!entry.childrenTrivial) rule.trivial = rule.childrenTrivial = false;
  }
  if (node.slices.length > 0 && e.slicing) {
    const slices = node.slices.map((s) => compileNode(s, lookup, rule));
    rule.slicing = {
      discriminators: (e.slicing.discriminator ?? []).map((d) => ({ type: d.type, path: d.path, steps: parsePath(d.path) })),
      ordered: e.slicing.ordered === true,
      rules: e.slicing.rules,
      slices,
    };
    rule.trivial = false;
  }
  return rule;
}

/** Adds a compiled child to its parent: its keys, cardinality, choice restriction and type slices. */
function addChild(parent: ElementRule, child: ElementRule, node: SnapshotNode): void {
  const base = baseElement(node.element.base?.path ?? node.element.path);
  const isChoice = child.name.endsWith('[x]');
  for (const key of child.keys) if (!key.startsWith('_')) parent.childByKey.set(key, child);
  if (child.checkMin || child.checkMax) parent.counted.push(child);
  if (isChoice && base && child.types.length < base.types.length) {
    parent.restrictedChoices.set(
      child.name,
      child.types.map((t) => t.code),
    );
    parent.trivial = parent.childrenTrivial = false;
  }
  // Type slices of a choice (`value[x]:valueQuantity`): each slice is the rule of its typed key.
  if (isChoice && child.slicing?.discriminators.every((d) => d.type === 'type' && d.steps.every((s) => s.kind === 'this'))) {
    const stem = child.name.slice(0, -3);
    for (const slice of child.slicing.slices) {
      const type = slice.types[0];
      if (!type) continue;
      const key = stem + capitalize(type.code);
      parent.childByKey.set(key, slice);
      if (slice.checkMin || slice.checkMax) parent.counted.push(slice);
      if (!slice.trivial || slice.checkMin || slice.checkMax) parent.trivial = parent.childrenTrivial = false;
    }
    // Closed type slicing: only the sliced types are allowed.
    if (child.slicing.rules === 'closed') {
      parent.restrictedChoices.set(
        child.name,
        child.slicing.slices.map((slice) => slice.types[0]?.code ?? ''),
      );
      parent.trivial = parent.childrenTrivial = false;
    }
    child.slicing = undefined;
  }
  if (!child.trivial || child.checkMin || child.checkMax) parent.trivial = parent.childrenTrivial = false;
}

function declaredBindingOf(e: ElementDefinition): Binding | undefined {
  const strength = e.binding?.strength;
  const valueSet = e.binding?.valueSet ? unversioned(e.binding.valueSet) : undefined;
  if ((strength !== 'required' && strength !== 'extensible') || !valueSet) return undefined;
  return { strength, valueSet };
}

function typeRule(t: NonNullable<ElementDefinition['type']>[number], base: ElementDef | undefined, lookup: DefinitionLookup): TypeRule {
  const code = typeCode(t);
  const declaredProfiles = t.profile ?? [];
  const baseProfile = base?.types.find((b) => b.code === code)?.profile;
  const profiles = declaredProfiles.filter((p) => unversioned(p) !== baseProfile && baseTypeOf(p) === undefined);
  let targets: Set<string> | undefined;
  if (code === 'Reference' && t.targetProfile?.length) {
    targets = new Set();
    for (const url of t.targetProfile) {
      const type = baseTypeOf(url) ?? lookup(url)?.type;
      if (type === undefined || type === 'Resource') {
        targets = undefined;
        break;
      }
      targets.add(type);
    }
  }
  return { code, profiles, declaredProfiles, targets };
}
