/**
 * Walks a resource against a compiled profile in one pass and collects the issues. The base
 * shapes (../compile.ts) say what each JSON property is; the profile's rules say what it must be.
 * Elements the profile does not constrain are still walked, to find their extensions.
 *
 * Two kinds of checks cannot finish synchronously and are handed back to the caller
 * (validator.ts): bindings (the terminology service answers asynchronously) and extensions the
 * profile does not slice (their definitions must be fetched by URL first). The caller resolves
 * them and calls back in ({@link ProfileWalk.extension}) with the same walk, so every issue has
 * the path where it was found.
 *
 * https://hl7.org/fhir/R4/validation.html#profile
 * https://hl7.org/fhir/R4/profiling.html#slicing
 */
import { parseReferenceTail } from '../../../r4/ids.js';
import { Kind, type Prop, type Shape, type ShapeCompiler } from '../compile.js';
import type { NativeEnv } from '../native-invariants.js';
import { issueAt, MAX_DEPTH, type Issue, type IssueCode } from '../walk.js';
import type { Binding, CompiledProfile, ElementRule, ExtensionContext, TypeRule } from './compile.js';
import { matchSlices } from './slicing.js';
import { codesOf, equalsFixed, isObject, matchesPattern } from './values.js';

type Json = Record<string, unknown>;
type Location = (string | number)[];

/** Where an extension is used: what its context must allow (https://hl7.org/fhir/R4/extensibility.html#context). */
export interface ExtensionSite {
  /** The type of the element holding the extension: `Address`, `date`, `Patient`, `Patient.contact`. */
  readonly typeName: string;
  /** Its path from the resource type by element names: `Patient.address`, `Observation.value[x]`. */
  readonly elementPath: string;
  readonly isResource: boolean;
  /** For an extension inside an extension: the outer extension's URL. */
  readonly parentExtension: string | undefined;
}

/** A binding to check once the walk is over. */
export interface PendingBinding {
  readonly binding: Binding;
  /** The type of the bound value: `code`, `Coding`, `CodeableConcept`, `Quantity`, `string`, `uri`. */
  readonly type: string;
  readonly value: unknown;
  readonly location: readonly (string | number)[];
  readonly profile: string;
}

/** An extension no slice of the profile matched: checked against its own definition, by URL. */
export interface PendingExtension {
  readonly url: string;
  readonly value: Json;
  readonly location: readonly (string | number)[];
  readonly site: ExtensionSite;
  readonly modifier: boolean;
  readonly frame: Frame;
}

/** Compiled profiles by canonical URL, as far as they were fetched, and known binding answers (validator.ts). */
export interface ProfileSource {
  /** The compiled profile, undefined if it is not known. */
  compiled(url: string): CompiledProfile | undefined;
  /** The terminology's answer for a code in a value set, if it is already known. */
  answer(valueSet: string, code: { system?: string; code: string }): boolean | 'unknown' | undefined;
}

interface Frame {
  readonly resource: Json;
  readonly rootResource: Json;
}

const EMPTY: ReadonlySet<never> = new Set();
const BOUND_TYPES = new Set(['code', 'Coding', 'CodeableConcept', 'Quantity', 'string', 'uri']);
const NOT_DOMAIN_RESOURCES = new Set(['Bundle', 'Binary', 'Parameters']);
/** Datatypes that specialize Quantity: an extension allowed on Quantity is allowed on them. */
const QUANTITY_KINDS = new Set(['Age', 'Count', 'Distance', 'Duration', 'MoneyQuantity', 'SimpleQuantity']);

export class ProfileWalk {
  readonly issues: Issue[] = [];
  readonly bindings: PendingBinding[] = [];
  readonly extensions: PendingExtension[] = [];
  /** Codes a slice's value set had to judge before the terminology answered (validator.ts asks, then walks again). */
  readonly unanswered: Array<{ valueSet: string; code: { system?: string; code: string } }> = [];
  /** Value sets a slice is chosen by that could not say whether a code is in them (a code system not held). */
  private undecided: string[] = [];
  private location: Location = [];
  private frame: Frame;
  private profile = '';
  private readonly seenExtensions = new WeakSet<object>();
  private depth = 0;

  constructor(
    private readonly shapes: ShapeCompiler,
    private readonly source: ProfileSource,
    /** The first segment of paths: the resource type. */
    private readonly rootType: string,
    resource: Json,
  ) {
    this.frame = { resource, rootResource: resource };
  }

  /** Checks the resource against a profile of its type. */
  resource(resource: Json, profile: CompiledProfile): void {
    this.profile = profile.url;
    const type = resource.resourceType as string;
    if (profile.type !== type) {
      this.report('structure', `the profile ${profile.url} is for ${profile.type}, not ${type}`);
      return;
    }
    const shape = this.shapes.shapeOf(type);
    this.invariants(profile.root, type, resource);
    this.object(resource, profile.root.trivial ? undefined : profile.root, shape, type);
  }

  /** Checks an extension that no slice matched against its definition (after fetching it). */
  extension(pending: PendingExtension, definition: CompiledProfile | undefined): void {
    this.location = [...pending.location];
    this.frame = pending.frame;
    this.profile = definition?.url ?? this.profile;
    if (!definition) {
      this.report('not-found', `extension ${pending.url} is not known here, so it was not checked`, { warning: true });
      return;
    }
    if (definition.type !== 'Extension') {
      this.report('structure', `${pending.url} is a profile of ${definition.type}, not an extension definition`);
      return;
    }
    if (!contextAllows(definition.contexts, pending.site)) {
      const where = definition.contexts.map((c) => c.expression).join(', ');
      this.report('structure', `extension ${pending.url} is not allowed on ${pending.site.elementPath} (its context: ${where})`);
    }
    const key = pending.modifier ? 'modifierExtension' : 'extension';
    this.item(pending.value, definition.root, this.shapes.shapeOf('Extension'), undefined, key, `${pending.site.elementPath}.${key}`);
  }

  /** Reports at a location of an earlier walk step (bindings resolved afterwards). */
  reportAt(location: readonly (string | number)[], profile: string, code: IssueCode, message: string, warning: boolean): void {
    this.issues.push(issueAt(this.rootType, location, code, message, { profile, warning }));
  }

  private report(code: IssueCode, message: string, extra?: { key?: string | number; warning?: boolean; constraint?: string }): void {
    this.issues.push(issueAt(this.rootType, this.location, code, message, { ...extra, profile: this.profile }));
  }

  /** One JSON object, with the rule of the element it is (undefined: unprofiled). */
  private object(obj: Json, rule: ElementRule | undefined, shape: Shape, elementPath: string): void {
    // Deeper nesting is refused by the base validator (too-costly); it is not walked again here.
    if (this.depth >= MAX_DEPTH) return;
    this.depth++;
    try {
      this.properties(obj, rule, shape, elementPath);
    } finally {
      this.depth--;
    }
  }

  private properties(obj: Json, rule: ElementRule | undefined, shape: Shape, elementPath: string): void {
    for (const key in obj) {
      const value = obj[key];
      if (value === undefined || key === 'resourceType') continue;
      if (key.charCodeAt(0) === 95) {
        this.primitiveExtensions(value, shape.props.get(key.slice(1)), key, elementPath);
        continue;
      }
      const prop = shape.props.get(key);
      if (!prop) continue;
      const child = rule?.childByKey.get(key);
      if (!child && rule && prop.choice >= 0) {
        const allowed = rule.restrictedChoices.get(prop.element);
        if (allowed) {
          this.report('structure', `${key} is not allowed by the profile: ${prop.element} must be ${allowed.join(' or ')}`, { key });
          continue;
        }
      }
      const path = `${elementPath}.${prop.element}`;
      this.location.push(key);
      if (key === 'extension' || key === 'modifierExtension') {
        this.extensionItems(value, child, siteOf(obj, shape, elementPath), key === 'modifierExtension', shape, path);
      } else if (prop.kind !== Kind.Primitive || (child && !child.trivial)) {
        if (Array.isArray(value)) {
          if (child?.slicing) this.sliced(value, child, shape, prop, key, path, undefined);
          else {
            for (let i = 0; i < value.length; i++) {
              this.location.push(i);
              this.item(value[i], child, shape, prop, key, path);
              this.location.pop();
            }
          }
        } else if (child?.slicing) this.sliced([value], child, shape, prop, key, path, undefined, true);
        else this.item(value, child, shape, prop, key, path);
      }
      this.location.pop();
    }
    if (rule) this.cardinality(obj, rule);
  }

  /** Children whose cardinality the profile tightens. */
  private cardinality(obj: Json, rule: ElementRule): void {
    for (const child of rule.counted) {
      const n = count(obj, child.keys);
      const name = child.sliceName && child.name.endsWith('[x]') ? child.keys[0]! : child.name;
      if (child.checkMin && n < child.min) {
        this.report('required', `${name}: minimum required = ${child.min}, but only found ${n}`, { key: name });
      } else if (child.checkMax && n > child.max) {
        this.report(
          'structure',
          child.max === 0 ? `${name} is not allowed by the profile (max 0)` : `${name}: maximum allowed = ${child.max}, but found ${n}`,
          { key: name },
        );
      }
    }
  }

  /** One value of an element: the element's own rules, then its content. */
  private item(value: unknown, rule: ElementRule | undefined, parentShape: Shape, prop: Prop | undefined, key: string, path: string): void {
    if (value === null || value === undefined) return;
    let profiled = false;
    if (rule && !rule.trivial) {
      const type = rule.typeOf(key);
      this.valueRules(value, rule, type, key);
      if (type) {
        if (type.targets && isObject(value)) this.target(value, type);
        if (type.profiles.length > 0 && isObject(value)) profiled = this.typeProfiles(value, type, prop, key, path);
      }
      this.invariants(rule, key, value);
    }
    const kind = prop?.kind ?? Kind.Complex;
    if (kind === Kind.Resource) {
      if (isObject(value) && typeof value.resourceType === 'string' && this.shapes.isResourceType(value.resourceType)) this.containedResource(value, key);
      return;
    }
    if (kind !== Kind.Complex || !isObject(value)) return;
    const shape = prop ? prop.shape! : parentShape;
    const childRule = rule && !rule.childrenTrivial ? rule : undefined;
    if (!profiled || childRule) this.object(value, childRule, shape, path);
  }

  /** fixed[x], pattern[x], maxLength, and the binding (checked later). */
  private valueRules(value: unknown, rule: ElementRule, type: TypeRule | undefined, key: string): void {
    if (rule.fixed !== undefined && !equalsFixed(value, rule.fixed)) {
      this.report('value', `must be exactly ${show(rule.fixed)}, not ${show(value)}`);
    }
    if (rule.pattern !== undefined && !matchesPattern(value, rule.pattern)) {
      this.report('value', `must match the pattern ${show(rule.pattern)}, not ${show(value)}`);
    }
    if (rule.maxLength !== undefined && typeof value === 'string' && value.length > rule.maxLength) {
      this.report('value', `is longer than the profile's maxLength of ${rule.maxLength}`);
    }
    if (rule.binding) {
      const typeName = type?.code ?? (key === 'code' ? 'code' : '');
      if (BOUND_TYPES.has(typeName))
        this.bindings.push({ binding: rule.binding, type: typeName, value, location: this.location.slice(), profile: this.profile });
    }
  }

  /** The resource type a Reference points to must be one of its target profiles' types. */
  private target(value: Json, type: TypeRule): void {
    const target = this.referencedType(value);
    if (target === undefined || type.targets!.has(target)) return;
    this.report('structure', `refers to a ${target}, but the profile allows only ${[...type.targets!].join(', ')}`);
  }

  private referencedType(ref: Json): string | undefined {
    const reference = ref.reference;
    if (typeof reference === 'string') {
      if (reference.charCodeAt(0) === 35) {
        const contained = this.frame.rootResource.contained;
        const found = Array.isArray(contained) ? contained.find((c) => isObject(c) && c.id === reference.slice(1)) : undefined;
        return isObject(found) && typeof found.resourceType === 'string' ? found.resourceType : undefined;
      }
      const target = parseReferenceTail(reference);
      return target && this.shapes.isResourceType(target.type) ? target.type : undefined;
    }
    if (typeof ref.type === 'string') {
      const type = ref.type.slice(ref.type.lastIndexOf('/') + 1);
      return this.shapes.isResourceType(type) ? type : undefined;
    }
    return undefined;
  }

  /**
   * The value must conform to one of the type's profiles (an extension to its definition, a
   * datatype to its profile). Returns whether a profile was applied (it walked the value).
   */
  private typeProfiles(value: Json, type: TypeRule, prop: Prop | undefined, key: string, path: string): boolean {
    const compiled = type.profiles.map((url) => this.source.compiled(url));
    const known = compiled.filter((c): c is CompiledProfile => c !== undefined);
    if (known.length === 0) {
      this.report('not-found', `the profile ${type.profiles.join(' or ')} of this ${type.code} is not known here, so it was not checked`, { warning: true });
      return false;
    }
    // A resource (contained, a Bundle entry's) is walked with its own type's shape.
    const resourceType = typeof value.resourceType === 'string' && this.shapes.isResourceType(value.resourceType) ? value.resourceType : undefined;
    const shape = resourceType ? this.shapes.shapeOf(resourceType) : (prop?.shape ?? this.shapes.shapeOf(type.code));
    const outer = this.profile;
    if (known.length === 1) {
      this.profile = known[0]!.url;
      this.item(value, known[0]!.root, shape, undefined, key, path);
      this.profile = outer;
      return true;
    }
    // Several profiles: the first one the value conforms to (only its findings are kept).
    const marks = [this.issues.length, this.bindings.length, this.extensions.length] as const;
    let firstAttempt: { issues: Issue[]; bindings: PendingBinding[]; extensions: PendingExtension[] } | undefined;
    for (const profile of known) {
      this.profile = profile.url;
      this.item(value, profile.root, shape, undefined, key, path);
      const issues = this.issues.splice(marks[0]);
      const bindings = this.bindings.splice(marks[1]);
      const extensions = this.extensions.splice(marks[2]);
      if (!issues.some((i) => i.severity === 'error')) {
        this.issues.push(...issues);
        this.bindings.push(...bindings);
        this.extensions.push(...extensions);
        this.profile = outer;
        return true;
      }
      firstAttempt ??= { issues, bindings, extensions };
    }
    this.profile = outer;
    this.report('structure', `does not conform to any of the profiles ${known.map((p) => p.url).join(', ')}`);
    this.issues.push(...firstAttempt!.issues);
    return true;
  }

  private invariants(rule: ElementRule, key: string, value: unknown): void {
    for (const invariant of rule.invariants(key)) {
      const result = invariant.evaluate(value, this.env());
      if (result === false) {
        this.report('invariant', `${invariant.key}: ${invariant.human}`, { constraint: invariant.key, warning: rule.severityOf(invariant.key) === 'warning' });
      } else if (result === undefined) {
        this.report('processing', `${invariant.key} could not be evaluated (${invariant.expression})`, { constraint: invariant.key, warning: true });
      }
    }
  }

  private env(): NativeEnv {
    return { resource: this.frame.resource, rootResource: this.frame.rootResource, localRefs: EMPTY, containerReferrers: EMPTY };
  }

  /** A contained resource, a Bundle entry's resource: walked for its extensions only. */
  private containedResource(value: Json, key: string): void {
    const outer = this.frame;
    this.frame = { resource: value, rootResource: key === 'contained' ? outer.rootResource : value };
    const type = value.resourceType as string;
    this.object(value, undefined, this.shapes.shapeOf(type), type);
    this.frame = outer;
  }

  /** `_x`: the id and extensions of a primitive (or of each item of a primitive array). */
  private primitiveExtensions(value: unknown, prop: Prop | undefined, key: string, elementPath: string): void {
    if (!prop || prop.kind !== Kind.Primitive) return;
    const site: ExtensionSite = { typeName: prop.type, elementPath: `${elementPath}.${prop.element}`, isResource: false, parentExtension: undefined };
    const elementShape = this.shapes.shapeOf('Element');
    this.location.push(key);
    const items = Array.isArray(value) ? value : [value];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (Array.isArray(value)) this.location.push(i);
      if (isObject(item) && item.extension !== undefined) {
        this.location.push('extension');
        this.extensionItems(item.extension, undefined, site, false, elementShape, `${site.elementPath}.extension`);
        this.location.pop();
      }
      if (Array.isArray(value)) this.location.pop();
    }
    this.location.pop();
  }

  /** `extension` / `modifierExtension`: the profile's extension slices, and every other extension by its URL. */
  private extensionItems(value: unknown, rule: ElementRule | undefined, site: ExtensionSite, modifier: boolean, shape: Shape, path: string): void {
    if (!Array.isArray(value)) return;
    const prop = shape.props.get(modifier ? 'modifierExtension' : 'extension');
    const unmatched = (item: unknown) => this.unslicedExtension(item, site, modifier);
    if (rule?.slicing) {
      this.sliced(value, rule, shape, prop, modifier ? 'modifierExtension' : 'extension', path, unmatched);
      return;
    }
    for (let i = 0; i < value.length; i++) {
      this.location.push(i);
      if (rule && !rule.trivial) this.item(value[i], rule, shape, prop, 'extension', path);
      unmatched(value[i]);
      this.location.pop();
    }
  }

  /** An extension no slice covers: its definition is fetched by URL and checked afterwards. */
  private unslicedExtension(item: unknown, site: ExtensionSite, modifier: boolean): void {
    if (!isObject(item) || typeof item.url !== 'string' || this.seenExtensions.has(item)) return;
    this.seenExtensions.add(item);
    // A relative URL names a part of a complex extension: only its definition's slices can judge it.
    if (!/^[a-z][a-z0-9+.-]*:/i.test(item.url)) return;
    this.extensions.push({ url: item.url, value: item, location: this.location.slice(), site, modifier, frame: this.frame });
  }

  /**
   * The items of a sliced element: each assigned to the slice its discriminators select, checked
   * against that slice (or the element itself when none matches and slicing is open), then the
   * slicing rules (closed, ordered, openAtEnd) and each slice's cardinality.
   */
  private sliced(
    items: readonly unknown[],
    rule: ElementRule,
    shape: Shape,
    prop: Prop | undefined,
    key: string,
    path: string,
    unmatched: ((item: unknown) => void) | undefined,
    single = false,
  ): void {
    const slicing = rule.slicing!;
    const outerUndecided = this.undecided;
    this.undecided = [];
    const assigned = matchSlices(items, key, slicing, {
      conforms: (value, url) => this.conforms(value, url, prop, key, path),
      inValueSet: (valueSet, value) => this.inValueSet(valueSet, value),
    });
    // Slices chosen by a value set Bedside cannot fully evaluate: what depends on them is a
    // warning naming the value set, never an error.
    const undecided = [...new Set(this.undecided)];
    this.undecided = outerUndecided;
    const because = undecided.length ? ` (not certain: whether some codes are in ${undecided.join(', ')} could not be decided here)` : '';
    const warning = undecided.length > 0;
    const counts = new Array<number>(slicing.slices.length).fill(0);
    let lastMatched = -1;
    let lastSlice = -1;
    for (let i = 0; i < items.length; i++) {
      if (!single) this.location.push(i);
      const match = assigned[i]!;
      if (match.ambiguous) {
        this.report('structure', `matches more than one slice of ${rule.id}: ${match.ambiguous.map((s) => slicing.slices[s]!.sliceName).join(', ')}`);
      }
      if (match.slice >= 0) {
        const slice = slicing.slices[match.slice]!;
        counts[match.slice]!++;
        if (slicing.ordered && match.slice < lastSlice)
          this.report('structure', `slice ${slice.sliceName} is out of order (the slicing of ${rule.id} is ordered)`);
        lastSlice = Math.max(lastSlice, match.slice);
        lastMatched = i;
        this.item(items[i], slice, shape, prop, key, path);
      } else {
        if (slicing.rules === 'closed') {
          const what =
            key === 'extension' || key === 'modifierExtension' ? `extension ${show(isObject(items[i]) ? (items[i] as Json).url : undefined)}` : 'this item';
          this.report('structure', `${what} does not match any slice of ${rule.id}, and its slicing is closed${because}`, { warning });
        }
        if (unmatched) {
          if (!rule.trivial) this.item(items[i], rule, shape, prop, key, path);
          unmatched(items[i]);
        } else this.item(items[i], rule, shape, prop, key, path);
      }
      if (!single) this.location.pop();
    }
    if (slicing.rules === 'openAtEnd') {
      for (let i = 0; i < lastMatched; i++) {
        if (assigned[i]!.slice < 0)
          this.report('structure', `an item that matches no slice comes before the slices of ${rule.id} (its slicing is openAtEnd)`, { key: i });
      }
    }
    for (let s = 0; s < slicing.slices.length; s++) {
      const slice = slicing.slices[s]!;
      if (counts[s]! < slice.min)
        this.report('required', `slice ${slice.sliceName}: minimum required = ${slice.min}, but only found ${counts[s]}${because}`, { warning });
      else if (counts[s]! > slice.max) this.report('structure', `slice ${slice.sliceName}: maximum allowed = ${slice.max}, but found ${counts[s]}`);
    }
  }

  /** Whether a coded value is in a value set, as far as the terminology has answered. */
  private inValueSet(valueSet: string, value: unknown): boolean {
    let found = false;
    for (const code of codesOf(value)) {
      const answer = this.source.answer(valueSet, code);
      if (answer === true) found = true;
      else if (answer === undefined) this.unanswered.push({ valueSet, code });
      else if (answer === 'unknown') this.undecided.push(valueSet);
    }
    return found;
  }

  /** Whether a value conforms to a profile (the `profile` discriminator): a trial walk, its findings dropped. */
  private conforms(value: unknown, url: string, prop: Prop | undefined, key: string, path: string): boolean {
    const profile = this.source.compiled(url);
    if (!profile || !isObject(value)) return false;
    const marks = [this.issues.length, this.bindings.length, this.extensions.length] as const;
    const outer = this.profile;
    this.profile = url;
    if (typeof value.resourceType === 'string') {
      if (value.resourceType === profile.type) this.object(value, profile.root, this.shapes.shapeOf(profile.type), profile.type);
      else this.report('structure', 'wrong type');
    } else {
      this.item(value, profile.root, prop?.shape ?? this.shapes.shapeOf(profile.type), undefined, key, path);
    }
    this.profile = outer;
    const failed = this.issues.slice(marks[0]).some((i) => i.severity === 'error');
    this.issues.length = marks[0];
    this.bindings.length = marks[1];
    this.extensions.length = marks[2];
    return !failed;
  }
}

/** Present items of an element under its keys (`_key` alone counts for a primitive). */
function count(obj: Json, keys: readonly string[]): number {
  let n = 0;
  for (const key of keys) {
    if (key.charCodeAt(0) === 95) continue;
    const value = obj[key];
    const ext = obj[`_${key}`];
    const a = Array.isArray(value) ? value.length : value === undefined || value === null ? 0 : 1;
    const b = Array.isArray(ext) ? ext.length : ext === undefined || ext === null ? 0 : 1;
    n += Math.max(a, b);
  }
  return n;
}

function siteOf(obj: Json, shape: Shape, elementPath: string): ExtensionSite {
  return {
    typeName: shape.name,
    elementPath,
    isResource: shape.isResource,
    parentExtension: shape.isExtension && typeof obj.url === 'string' ? obj.url : undefined,
  };
}

/** Whether an extension's contexts allow it at a site (https://hl7.org/fhir/R4/defining-extensions.html#context). */
export function contextAllows(contexts: readonly ExtensionContext[], site: ExtensionSite): boolean {
  if (contexts.length === 0) return true;
  return contexts.some((c) => {
    if (c.type === 'fhirpath') return true;
    if (c.type === 'extension') return site.parentExtension === c.expression;
    const expr = c.expression;
    if (expr === site.typeName || expr === site.elementPath) return true;
    if (site.isResource) return expr === 'Resource' || (expr === 'DomainResource' && !NOT_DOMAIN_RESOURCES.has(site.typeName));
    if (expr === 'Element' || expr === 'Base') return true;
    if (expr === 'Quantity' && QUANTITY_KINDS.has(site.typeName)) return true;
    return expr === 'BackboneElement' && site.typeName.includes('.');
  });
}

/** A value for a message: JSON, cut short. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
