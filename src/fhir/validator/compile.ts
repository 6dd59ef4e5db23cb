/**
 * Compiles the R4 definitions into shapes the walker checks JSON against: for each resource,
 * complex datatype and backbone element, the JSON properties it may have (choice elements
 * expanded to their typed names: `value[x]` → `valueQuantity`, `valueString`, ...), with their
 * cardinality, type, required binding and invariants. Shapes are built lazily, per type on first
 * use, and shared by every validation afterwards.
 *
 * https://hl7.org/fhir/R4/json.html
 * https://hl7.org/fhir/R4/formats.html#choice
 */
import { requiredCodes, requiredCodings } from './bindings.js';
import { r4Definitions, type ConstraintDef, type ElementDef, type TypeDef, type TypeRef } from './definitions.js';
import { compileInvariant, type Invariant } from './invariants.js';
import { PRIMITIVES, type PrimitiveRule } from './primitives.js';

export enum Kind {
  Primitive,
  Complex,
  Resource,
}

/** One JSON property of a shape. */
export interface Prop {
  /** JSON name: `valueQuantity`. */
  readonly key: string;
  /** Element name in the definition: `value[x]`. */
  readonly element: string;
  /** Type name: `Quantity`, `string`, or the backbone path `Observation.component`. */
  readonly type: string;
  readonly kind: Kind;
  readonly array: boolean;
  readonly max: number;
  /** Primitives only. */
  readonly primitive: PrimitiveRule | undefined;
  /** Primitives: whether a `_key` sibling may carry id/extension (not for xhtml). */
  readonly extensible: boolean;
  /** Required binding of a `code`: the allowed codes, and the ValueSet they come from. */
  readonly codes: ReadonlySet<string> | undefined;
  /** Required binding of a Coding or CodeableConcept: the allowed codings (bindings.ts `codingKey`). */
  readonly codings: ReadonlySet<string> | undefined;
  readonly valueSet: string | undefined;
  /** Index of the choice element among the shape's choice elements, or -1. */
  readonly choice: number;
  /** uri, url, canonical, oid, uuid: a `#...` value is a local reference (dom-3). */
  readonly uriLike: boolean;
  /** Invariants of this element beyond those of its type (e.g. org-3 on Organization.telecom). */
  readonly invariants: readonly Invariant[];
  /** Complex types and backbone elements: the shape of the value. */
  readonly shape: Shape | undefined;
}

/** An element with min ≥ 1 and the JSON keys that satisfy it (`_x` included for primitives). */
export interface Requirement {
  readonly element: string;
  readonly keys: readonly string[];
}

export interface Shape {
  /** Model path: `Observation`, `Quantity`, `Observation.referenceRange`. */
  readonly path: string;
  /** Name for messages: the path, or the constrained type's name (`SimpleQuantity`). */
  readonly name: string;
  readonly props: ReadonlyMap<string, Prop>;
  readonly required: readonly Requirement[];
  readonly choices: number;
  /** Invariants with each instance as context (the type's own, or the backbone element's). */
  readonly invariants: readonly Invariant[];
  readonly isResource: boolean;
  /** Extension: ext-1 applies. */
  readonly isExtension: boolean;
  /** The `value[x]` choice index of an Extension (ext-1), else -1. */
  readonly valueChoice: number;
}

const URI_LIKE = new Set(['uri', 'url', 'canonical', 'oid', 'uuid']);
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A property; its value shape and element invariants are resolved on first use (types refer to each other). */
class LazyProp implements Prop {
  readonly uriLike: boolean;
  private resolvedShape: Shape | undefined;
  private resolvedInvariants: readonly Invariant[] | undefined;

  constructor(
    readonly key: string,
    readonly element: string,
    readonly type: string,
    readonly kind: Kind,
    readonly array: boolean,
    readonly max: number,
    readonly primitive: PrimitiveRule | undefined,
    readonly extensible: boolean,
    readonly valueSet: string | undefined,
    readonly codes: ReadonlySet<string> | undefined,
    readonly codings: ReadonlySet<string> | undefined,
    readonly choice: number,
    private readonly resolveShape: (() => Shape) | undefined,
    private readonly constraints: readonly ConstraintDef[],
    private readonly base: string,
  ) {
    this.uriLike = URI_LIKE.has(type);
  }

  get shape(): Shape | undefined {
    if (!this.resolvedShape && this.resolveShape) this.resolvedShape = this.resolveShape();
    return this.resolvedShape;
  }

  get invariants(): readonly Invariant[] {
    if (!this.resolvedInvariants) {
      const inherited = new Set(this.shape?.invariants.map((i) => i.key));
      this.resolvedInvariants = this.constraints
        .filter((c) => !inherited.has(c.key))
        .map((c) => compileInvariant(c, this.base))
        .filter((i): i is Invariant => i !== undefined);
    }
    return this.resolvedInvariants;
  }
}

/** Builds the shapes of one type: its root and its backbone elements. */
class TypeCompiler {
  private readonly children = new Map<string, ElementDef[]>();
  private readonly backbones = new Map<string, Shape>();

  constructor(
    private readonly def: TypeDef,
    private readonly compiler: ShapeCompiler,
  ) {
    for (const e of def.elements) {
      const parent = e.path.slice(0, e.path.lastIndexOf('.'));
      let list = this.children.get(parent);
      if (!list) this.children.set(parent, (list = []));
      list.push(e);
    }
  }

  /** The type's own shape. Constrained types (SimpleQuantity) keep their base type's paths. */
  root(): Shape {
    const path = this.def.elements[0]?.path.split('.')[0] ?? this.def.name;
    return this.shape(path, this.def.constraints, this.def.kind === 'resource', this.def.name);
  }

  /** The shape of the backbone element at `path` (e.g. `Observation.component`). */
  backbone(path: string): Shape {
    const shape = this.backbones.get(path);
    if (shape) return shape;
    const element = this.def.elements.find((e) => e.path === path);
    return this.shape(path, element?.constraints ?? [], false, path);
  }

  private shape(path: string, constraints: readonly ConstraintDef[], isResource: boolean, name: string): Shape {
    const props = new Map<string, Prop>();
    const required: Requirement[] = [];
    const invariants = constraints.map((c) => compileInvariant(c, path)).filter((i): i is Invariant => i !== undefined);
    const shape = { path, name, props, required, choices: 0, invariants, isResource, isExtension: path === 'Extension', valueChoice: -1 };
    this.backbones.set(path, shape);
    for (const element of this.children.get(path) ?? []) {
      // max 0: prohibited by a constrained type (SimpleQuantity.comparator), so unknown here.
      if (element.max === 0) continue;
      const source = element.contentReference ? this.def.elements.find((e) => e.path === element.contentReference) : element;
      if (!source) continue;
      const isChoice = element.name.endsWith('[x]');
      const stem = isChoice ? element.name.slice(0, -3) : element.name;
      const choice = isChoice ? shape.choices++ : -1;
      if (isChoice && stem === 'value' && shape.isExtension) shape.valueChoice = choice;
      const keys: string[] = [];
      for (const type of isChoice ? source.types : source.types.slice(0, 1)) {
        const prop = this.prop(isChoice ? stem + capitalize(type.code) : stem, element, source, type, choice);
        props.set(prop.key, prop);
        keys.push(prop.key);
        if (prop.kind === Kind.Primitive && prop.extensible) keys.push(`_${prop.key}`);
      }
      if (element.min > 0) required.push({ element: element.name, keys });
    }
    return shape;
  }

  private prop(key: string, element: ElementDef, source: ElementDef, type: TypeRef, choice: number): Prop {
    const primitive = PRIMITIVES.get(type.code);
    const backbone = (type.code === 'BackboneElement' || type.code === 'Element') && this.children.has(source.path) ? source.path : undefined;
    const kind = primitive ? Kind.Primitive : type.code === 'Resource' || this.compiler.isResourceType(type.code) ? Kind.Resource : Kind.Complex;
    const coded = type.code === 'Coding' || type.code === 'CodeableConcept';
    const valueSet = type.code === 'code' || coded ? source.requiredBinding : undefined;
    const resolveShape = kind !== Kind.Complex ? undefined : backbone ? () => this.backbone(backbone) : () => this.compiler.shapeOf(type.profile ?? type.code);
    return new LazyProp(
      key,
      element.name,
      backbone ?? type.code,
      kind,
      element.array,
      element.max,
      primitive,
      primitive ? this.compiler.extensible(type.code) : false,
      valueSet,
      valueSet && !coded ? requiredCodes(valueSet) : undefined,
      valueSet && coded ? requiredCodings(valueSet) : undefined,
      choice,
      resolveShape,
      // A backbone's constraints are its shape's; a contentReference reuses the target's.
      backbone ? [] : element.constraints,
      // The model path FHIRPath.js types the context by: the typed name for a choice (`probabilityRange`).
      element.path.slice(0, element.path.lastIndexOf('.') + 1) + key,
    );
  }
}

/** The shapes of every type, built on first use. */
export class ShapeCompiler {
  private readonly shapes = new Map<string, Shape>();
  private readonly extensions = new Map<string, boolean>();

  /** The shape of a resource, datatype or constrained type (by name or canonical URL). */
  shapeOf(type: string): Shape {
    let shape = this.shapes.get(type);
    if (!shape) {
      const defs = r4Definitions();
      const def = defs.types.get(type) ?? defs.profiles.get(type);
      if (!def) throw new Error(`No R4 definition for type ${type}`);
      shape = new TypeCompiler(def, this).root();
      this.shapes.set(type, shape);
    }
    return shape;
  }

  /** Whether a primitive type may have `_x` extensions (xhtml may not: its `extension` has max 0). */
  extensible(primitive: string): boolean {
    let ok = this.extensions.get(primitive);
    if (ok === undefined) {
      const def = r4Definitions().types.get(primitive);
      ok = def?.elements.find((e) => e.name === 'extension')?.max !== 0;
      this.extensions.set(primitive, ok);
    }
    return ok;
  }

  /**
   * Compiles every shape reachable from every resource type, with all invariants (normally done
   * lazily, on first use). Returns the number of distinct shapes; for tests and the benchmark.
   */
  compileAll(): number {
    const seen = new Set<Shape>();
    const visit = (shape: Shape) => {
      if (seen.has(shape)) return;
      seen.add(shape);
      for (const prop of shape.props.values()) {
        void prop.invariants;
        if (prop.shape) visit(prop.shape);
      }
    };
    for (const type of r4Definitions().resourceTypes) visit(this.shapeOf(type));
    return seen.size;
  }

  isResourceType(type: string): boolean {
    return r4Definitions().resourceTypes.has(type);
  }
}

let shared: ShapeCompiler | undefined;

/** The process-wide shapes, compiled on first use: the validator's and the XML format's (fhir/xml/). */
export function sharedShapes(): ShapeCompiler {
  shared ??= new ShapeCompiler();
  return shared;
}
