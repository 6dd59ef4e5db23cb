/**
 * Static element types of R4 resources, for the fast expression evaluator: which JSON keys a
 * path step reads (choice types expand to `valueQuantity`, `valueString`, ...) and which FHIR
 * type each yields. The data is FHIRPath.js's own R4 model, so both evaluators agree on types.
 *
 * https://hl7.org/fhir/R4/json.html#choice (choice elements in JSON)
 */
import r4 from 'fhirpath/fhir-context/r4';

interface R4ModelData {
  path2Type: Record<string, string>;
  choiceTypePaths: Record<string, string[]>;
  pathsDefinedElsewhere: Record<string, string>;
  type2Parent: Record<string, string>;
}

const model = r4 as unknown as R4ModelData;

/**
 * Where a value sits in the model: its FHIR type and the model path its children are listed
 * under (the type name for data types and resources, the element path for backbone elements).
 */
export interface ElementCtx {
  readonly type: string;
  readonly path: string;
  /** Memo of child lookups by name. */
  readonly children: Map<string, readonly ChildStep[]>;
}

/** One JSON key a step reads, and the context of the values found there. */
export interface ChildStep {
  readonly key: string;
  readonly ctx: ElementCtx;
}

const contexts = new Map<string, ElementCtx>();

/** The (shared) context of a value of FHIR type `type` whose children are listed under `path`. */
export function ctxOf(type: string, path: string): ElementCtx {
  const key = `${type}\u0000${path}`;
  let ctx = contexts.get(key);
  if (!ctx) contexts.set(key, (ctx = { type, path, children: new Map() }));
  return ctx;
}

/** The context of a value of FHIR type `type` (a resource, a data type or a primitive). */
export function ctxForType(type: string): ElementCtx {
  return ctxOf(type, type);
}

/** True when `type` is `of` or derives from it (Age is a Quantity, Patient is a Resource). */
export function isTypeOf(type: string, of: string): boolean {
  for (let t: string | undefined = type; t; t = model.type2Parent[t]) if (t === of) return true;
  return false;
}

function ctxForElement(type: string, path: string): ElementCtx {
  return type === 'BackboneElement' || type === 'Element' ? ctxOf(type, path) : ctxForType(type);
}

function lookupChild(path: string, name: string): ChildStep[] {
  const full = `${path}.${name}`;
  const choices = model.choiceTypePaths[full];
  if (choices) {
    return choices.map((suffix) => {
      const key = name + suffix;
      const type = model.path2Type[`${path}.${key}`] ?? suffix[0]!.toLowerCase() + suffix.slice(1);
      return { key, ctx: ctxForElement(type, `${path}.${key}`) };
    });
  }
  const elsewhere = model.pathsDefinedElsewhere[full];
  if (elsewhere) return [{ key: name, ctx: ctxOf('BackboneElement', elsewhere) }];
  const type = model.path2Type[full];
  if (type) return [{ key: name, ctx: ctxForElement(type, full) }];
  // Inherited elements of data types and resources (Age.value is Quantity.value).
  const parent = path.includes('.') ? undefined : model.type2Parent[path];
  return parent ? lookupChild(parent, name) : [];
}

/** The JSON keys that `ctx.name` reads, with the context of each (memoized). */
export function childSteps(ctx: ElementCtx, name: string): readonly ChildStep[] {
  let steps = ctx.children.get(name);
  if (!steps) ctx.children.set(name, (steps = lookupChild(ctx.path, name)));
  return steps;
}
