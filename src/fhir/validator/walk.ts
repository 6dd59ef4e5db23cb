/**
 * Walks one JSON resource against its compiled shape in a single pass and collects the issues:
 * unknown properties, wrong JSON types, arrays where single values belong and back, empty and null
 * values (https://hl7.org/fhir/R4/json.html), primitive formats
 * (https://hl7.org/fhir/R4/datatypes.html), cardinality, required bindings, and the invariants
 * (https://hl7.org/fhir/R4/conformance-rules.html): ele-1 and ext-1 here, the others compiled
 * (invariants.ts). Contained resources, Bundle.entry.resource and Parameters.parameter.resource
 * are checked as resources of their own type. Never throws; depth is bounded.
 */
import { codingKey } from './bindings.js';
import { Kind, type Prop, type Shape, type ShapeCompiler } from './compile.js';
import type { Invariant } from './invariants.js';
import type { NativeEnv } from './native-invariants.js';
import { checkPrimitive, jsonTypeOf } from './primitives.js';

export type IssueCode = 'structure' | 'required' | 'value' | 'code-invalid' | 'invariant' | 'processing' | 'too-costly' | 'not-found' | 'not-supported';

export interface Issue {
  readonly severity: 'error' | 'warning';
  /** OperationOutcome issue type (https://hl7.org/fhir/R4/valueset-issue-type.html). */
  readonly code: IssueCode;
  /** FHIRPath-style location: `Patient.name[1].given[0]`, `Observation.valueQuantity.zzz`. */
  readonly path: string;
  /** The same location as JSON keys and array indexes after the resource type. */
  readonly location: readonly (string | number)[];
  readonly message: string;
  /** The invariant's key, for invariant issues. */
  readonly constraint?: string;
  /** The property is not an element of R4 (what `stripUnknownElements` removes). */
  readonly unknownElement?: boolean;
  /** The profile whose rule this is (profile validation only). */
  readonly profile?: string;
}

/** What an issue may say besides its code and message. */
export interface IssueDetails {
  /** A property or index below the current location, where the issue is. */
  key?: string | number;
  warning?: boolean;
  constraint?: string;
  unknownElement?: boolean;
  profile?: string;
}

/** The issue at `location` (and `details.key` below it) in a resource of `rootType`. */
export function issueAt(rootType: string, location: readonly (string | number)[], code: IssueCode, message: string, details: IssueDetails = {}): Issue {
  const at = details.key === undefined ? location.slice() : [...location, details.key];
  return {
    severity: details.warning ? 'warning' : 'error',
    code,
    path: formatPath(rootType, at),
    location: at,
    message,
    ...(details.profile !== undefined ? { profile: details.profile } : {}),
    ...(details.constraint ? { constraint: details.constraint } : {}),
    ...(details.unknownElement ? { unknownElement: true } : {}),
  };
}

/** Deeper nesting than this is refused rather than walked (the deepest R4 examples nest about 20 levels). */
export const MAX_DEPTH = 128;

type Json = Record<string, unknown>;
const EMPTY: ReadonlySet<never> = new Set();

/** The resource being walked: `%resource`, `%rootResource` and the local references dom-3 needs. */
class ResourceFrame implements NativeEnv {
  private refs: Set<string> | undefined;
  private referrers: Set<unknown> | undefined;
  readonly rootResource: unknown;

  constructor(
    readonly resource: Json,
    /** The container's frame, for a contained resource. */
    readonly container: ResourceFrame | undefined,
  ) {
    this.rootResource = container ? container.resource : resource;
  }

  get localRefs(): ReadonlySet<string> {
    return this.refs ?? EMPTY;
  }

  get containerReferrers(): ReadonlySet<unknown> {
    return this.referrers ?? EMPTY;
  }

  /** Records a `#...` value (on the container: `%resource.descendants()` includes contained resources). */
  addLocalRef(value: string): void {
    const root = this.container ?? this;
    (root.refs ??= new Set()).add(value);
    if (value === '#' && this.container) (root.referrers ??= new Set()).add(this.resource);
  }
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export class Walk {
  readonly issues: Issue[] = [];
  private readonly location: (string | number)[] = [];
  private frame: ResourceFrame | undefined;
  private depth = 0;

  constructor(
    private readonly compiler: ShapeCompiler,
    private readonly rootType: string,
  ) {}

  private report(code: IssueCode, message: string, extra?: IssueDetails): void {
    this.issues.push(issueAt(this.rootType, this.location, code, message, extra));
  }

  /** Checks a value that must be a resource; `container` is set for contained resources. */
  resource(value: unknown, expectedType: string | undefined, container: ResourceFrame | undefined): void {
    if (!isObject(value)) return this.report('structure', `must be a resource (a JSON object), not ${jsonTypeOf(value)}`);
    const type = value.resourceType;
    if (typeof type !== 'string') return this.report('required', 'resource has no resourceType', { key: 'resourceType' });
    if (!this.compiler.isResourceType(type)) return this.report('structure', `"${type.slice(0, 64)}" is not an R4 resource type`, { key: 'resourceType' });
    if (expectedType && type !== expectedType) return this.report('structure', `resourceType must be ${expectedType}, not ${type}`, { key: 'resourceType' });
    const outer = this.frame;
    this.frame = new ResourceFrame(value, container);
    this.object(value, this.compiler.shapeOf(type));
    this.frame = outer;
  }

  private object(obj: Json, shape: Shape): void {
    if (++this.depth > MAX_DEPTH) {
      this.report('too-costly', `nested more than ${MAX_DEPTH} levels deep`);
      this.depth--;
      return;
    }
    let choices: (string | undefined)[] | undefined;
    let children = 0;
    for (const key in obj) {
      const value = obj[key];
      if (value === undefined) continue;
      if (key !== 'id') children++;
      if (key === 'resourceType' && shape.isResource) continue;
      let prop = shape.props.get(key);
      let extension = false;
      if (!prop && key.charCodeAt(0) === 95) {
        prop = shape.props.get(key.slice(1));
        extension = prop !== undefined && prop.kind === Kind.Primitive && prop.extensible;
        if (!extension) prop = undefined;
      }
      if (!prop) {
        this.report('structure', `${shape.name} has no element "${key.slice(0, 64)}"`, { key, unknownElement: true });
        continue;
      }
      if (prop.choice >= 0) {
        choices ??= new Array<string | undefined>(shape.choices);
        const seen = choices[prop.choice];
        if (seen === undefined) choices[prop.choice] = prop.key;
        else if (seen !== prop.key) this.report('structure', `only one type of ${prop.element} is allowed, found ${seen} and ${prop.key}`, { key });
      }
      this.location.push(key);
      if (extension) this.primitiveExtensions(value, prop, obj);
      else if (prop.array) this.array(value, prop, obj, key);
      else if (Array.isArray(value)) this.report('structure', `must be a single value, not an array (max cardinality 1)`);
      else this.item(value, prop, obj, key, -1);
      this.location.pop();
    }
    for (const requirement of shape.required) {
      if (!requirement.keys.some((k) => obj[k] !== undefined && obj[k] !== null)) {
        this.report('required', `required element is missing (${requirement.element}, min 1)`, { key: requirement.element });
      }
    }
    if (!shape.isResource && children === 0) {
      this.report('invariant', 'ele-1: must have a value or children (an element with nothing but an id is empty)', { constraint: 'ele-1' });
    }
    if (shape.isExtension) this.ext1(obj, shape, choices);
    this.invariants(shape.invariants, obj);
    this.depth--;
  }

  /** ext-1: an extension has either nested extensions or a value, not both. */
  private ext1(obj: Json, shape: Shape, choices: (string | undefined)[] | undefined): void {
    const hasExtension = Array.isArray(obj.extension) ? obj.extension.length > 0 : obj.extension !== undefined;
    const hasValue = choices?.[shape.valueChoice] !== undefined;
    if (hasExtension === hasValue) {
      this.report('invariant', 'ext-1: must have either extensions or value[x], not both', { constraint: 'ext-1' });
    }
  }

  private array(value: unknown, prop: Prop, parent: Json, key: string): void {
    if (!Array.isArray(value)) return this.report('structure', `must be an array (max cardinality ${prop.max === Infinity ? '*' : prop.max})`);
    if (value.length === 0) return this.report('structure', 'must not be an empty array (leave the element out)');
    if (value.length > prop.max) this.report('structure', `has ${value.length} items, more than the maximum of ${prop.max}`);
    for (let i = 0; i < value.length; i++) {
      this.location.push(i);
      this.item(value[i], prop, parent, key, i);
      this.location.pop();
    }
  }

  private item(value: unknown, prop: Prop, parent: Json, key: string, index: number): void {
    if (value === null) {
      // null only stands for a missing value in an array of primitives whose `_key` array has the extension.
      const partner = parent[`_${key}`];
      const aligned = index >= 0 && prop.kind === Kind.Primitive && Array.isArray(partner) && isObject(partner[index]);
      if (!aligned) this.report('structure', 'must not be null');
      return;
    }
    if (prop.kind === Kind.Primitive) return this.primitive(value, prop, key);
    if (prop.kind === Kind.Resource) return this.resource(value, undefined, key === 'contained' ? this.frame : undefined);
    if (!isObject(value)) return this.report('structure', `must be an object (${prop.type}), not ${jsonTypeOf(value)}`);
    this.object(value, prop.shape!);
    this.invariants(prop.invariants, value);
    if (prop.codings) this.codings(value, prop);
  }

  /**
   * A required binding on a Coding or CodeableConcept: the coding, or at least one coding of the
   * concept, is in the value set (https://hl7.org/fhir/R4/terminologies.html#required).
   */
  private codings(value: Json, prop: Prop): void {
    const concept = prop.type === 'CodeableConcept';
    const codings = concept ? (Array.isArray(value.coding) ? value.coding : []) : [value];
    const inValueSet = (c: unknown) =>
      isObject(c) && typeof c.system === 'string' && typeof c.code === 'string' && prop.codings!.has(codingKey(c.system, c.code));
    if (codings.some(inValueSet)) return;
    const shown = codings
      .filter(isObject)
      .map((c) => `${String(c.system ?? '(no system)')}#${String(c.code ?? '(no code)')}`)
      .slice(0, 3)
      .join(', ');
    const message =
      concept && codings.length === 0
        ? `has no coding from the required value set ${prop.valueSet}`
        : `${shown || 'the coding'} is not in the required value set ${prop.valueSet}`;
    this.report('code-invalid', message);
  }

  private primitive(value: unknown, prop: Prop, key: string): void {
    const problem = checkPrimitive(prop.primitive!, value);
    if (problem) return this.report('value', `${quote(value)} ${problem}`);
    if (prop.codes && !prop.codes.has(value as string)) {
      this.report('code-invalid', `${quote(value)} is not a code of the required value set ${prop.valueSet}`);
    }
    if ((prop.uriLike || key === 'reference') && typeof value === 'string' && value.charCodeAt(0) === 35) this.frame?.addLocalRef(value);
    if (prop.invariants.length) this.invariants(prop.invariants, value);
  }

  /** `_key`: id and extensions of a primitive (or of each item of a primitive array, aligned by index). */
  private primitiveExtensions(value: unknown, prop: Prop, parent: Json): void {
    const values = parent[prop.key];
    if (!prop.array) {
      if (!isObject(value)) return this.report('structure', `must be an object (id and extension of ${prop.key}), not ${jsonTypeOf(value)}`);
      return this.element(value, values !== undefined && values !== null);
    }
    if (!Array.isArray(value)) return this.report('structure', `must be an array (aligned with ${prop.key})`);
    if (value.length === 0) return this.report('structure', 'must not be an empty array (leave the element out)');
    if (Array.isArray(values) && values.length !== value.length) {
      this.report('structure', `must have as many items as ${prop.key} (${value.length} vs ${values.length})`);
    }
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const hasValue = Array.isArray(values) && values[i] !== null && values[i] !== undefined;
      this.location.push(i);
      if (item === null) {
        if (!hasValue) this.report('structure', 'must not be null (both the value and its extension are missing)');
      } else if (!isObject(item)) this.report('structure', `must be an object (id and extension), not ${jsonTypeOf(item)}`);
      else this.element(item, hasValue);
      this.location.pop();
    }
  }

  /** The Element part of a primitive: only id and extension; ele-1 counts the value as content. */
  private element(obj: Json, hasValue: boolean): void {
    const shape = this.compiler.shapeOf('Element');
    let extensions = false;
    for (const key in obj) {
      const value = obj[key];
      if (value === undefined) continue;
      const prop = shape.props.get(key);
      if (!prop) {
        this.report('structure', `a primitive's _element has only id and extension, not "${key.slice(0, 64)}"`, { key, unknownElement: true });
        continue;
      }
      if (key === 'extension') extensions = true;
      this.location.push(key);
      if (prop.array) this.array(value, prop, obj, key);
      else if (Array.isArray(value)) this.report('structure', 'must be a single value, not an array');
      else this.item(value, prop, obj, key, -1);
      this.location.pop();
    }
    if (!hasValue && !extensions) this.report('invariant', 'ele-1: a primitive without a value must have extensions', { constraint: 'ele-1' });
  }

  private invariants(list: readonly Invariant[], node: unknown): void {
    for (const invariant of list) {
      const result = invariant.evaluate(node, this.frame!);
      if (result === false) {
        this.report('invariant', `${invariant.key}: ${invariant.human}`, { constraint: invariant.key });
      } else if (result === undefined) {
        this.report('processing', `${invariant.key} could not be evaluated (${invariant.expression})`, { constraint: invariant.key, warning: true });
      }
    }
  }
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value) : String(value);
  return text;
}

/** `Patient` + [`name`, 1, `given`, 0] → `Patient.name[1].given[0]`. */
export function formatPath(root: string, location: readonly (string | number)[]): string {
  let path = root;
  for (const part of location) path += typeof part === 'number' ? `[${part}]` : `.${part}`;
  return path;
}
