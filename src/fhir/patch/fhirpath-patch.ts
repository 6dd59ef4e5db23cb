/**
 * FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html): a `Parameters` resource whose
 * `operation` parameters add, insert, delete, replace and move elements found by FHIRPath paths.
 *
 * Paths are evaluated by FHIRPath.js with the R4 model on a copy of the resource; what they select
 * is then found in the copy by identity and by the R4 definitions (the validator's compiled
 * shapes), and only elements that exist in both are changed. So a path can never reach anything
 * that is not an element of the resource (`Patient.__proto__` selects Object.prototype in
 * FHIRPath.js: it is refused, not written). Paths may use the functions that select and filter
 * ({@link ALLOWED_FUNCTIONS}); functions whose cost grows with the whole resource
 * (`descendants()`, `repeat()`) or that reach outside it (`resolve()`) are refused.
 *
 * Errors name the failing operation: 400 for a patch document that is malformed, 422 for an
 * operation that cannot be applied to this resource. The caller validates the result like any
 * update.
 */
import type { Parameters, ParametersParameter, Resource } from 'fhir/r4';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { FhirError } from '../../r4/errors.js';
import { validateForWrite } from '../validation.js';
import { Kind, sharedShapes, type Prop, type Shape } from '../validator/compile.js';
import { PRIMITIVES } from '../validator/primitives.js';

type Json = Record<string, unknown>;

/** Operations in one patch at most. */
export const MAX_OPERATIONS = 100;
/** Characters in one path at most. */
export const MAX_PATH_LENGTH = 1000;

/** Functions a path may call: navigation, filters and the tests used inside them. https://hl7.org/fhirpath/N1/#functions */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  'where',
  'first',
  'last',
  'single',
  'tail',
  'skip',
  'take',
  'ofType',
  'as',
  'is',
  'extension',
  'exists',
  'empty',
  'not',
  'hasValue',
  'count',
  'all',
  'allTrue',
  'anyTrue',
  'allFalse',
  'anyFalse',
  'startsWith',
  'endsWith',
  'contains',
  'lower',
  'upper',
  'length',
  'substring',
  'indexOf',
  'trim',
  'toString',
  'toInteger',
  'toDecimal',
  'iif',
  'today',
  'now',
]);

const OPERATION_TYPES = ['add', 'insert', 'delete', 'replace', 'move'] as const;
type OperationType = (typeof OPERATION_TYPES)[number];
const PART_NAMES = new Set(['type', 'path', 'name', 'value', 'index', 'source', 'destination']);
const QUANTITIES = new Set(['Quantity', 'Age', 'Count', 'Distance', 'Duration', 'SimpleQuantity', 'MoneyQuantity']);
const silent = { resolveInternalTypes: false, traceFn: () => undefined };

interface Operation {
  /** Position in Parameters.parameter, for messages. */
  readonly at: number;
  readonly type: OperationType;
  readonly path: string;
  readonly name?: string;
  readonly value?: ParametersParameter;
  readonly index?: number;
  readonly source?: number;
  readonly destination?: number;
}

/** Where a selected element is: its holder object, its JSON key there and, in a list, its index. */
interface Place {
  readonly holder: Json;
  readonly shape: Shape;
  readonly prop: Prop;
  readonly key: string;
  readonly index: number | undefined;
}

/** An object of the resource (the resource itself, a contained resource, a complex element) with its shape. */
interface Found {
  readonly shape: Shape;
  readonly place: Place | undefined;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a PATCH body is a FHIRPath Patch document. */
export function isFhirPathPatch(body: unknown): body is Parameters {
  return isObject(body) && body.resourceType === 'Parameters';
}

/** Applies a FHIRPath Patch to a copy of `resource` and returns the copy (not yet validated). */
export function applyFhirPathPatch(resource: Resource, patch: Parameters): Json {
  const operations = readOperations(patch);
  const working = structuredClone(resource) as unknown as Json;
  for (const op of operations) {
    try {
      apply(working, op);
    } catch (error) {
      if (error instanceof OperationError) throw failure(op, error.message, 422);
      throw error;
    }
  }
  return working;
}

/** A problem with one operation against this resource (422), named by the caller. */
class OperationError extends Error {}

function failure(op: Pick<Operation, 'at'> & Partial<Pick<Operation, 'type' | 'path'>>, message: string, status: 400 | 422): FhirError {
  const what = op.type ? ` (${op.type}${op.path ? ` ${op.path.slice(0, 200)}` : ''})` : '';
  return new FhirError(status, status === 400 ? 'invalid' : 'processing', `FHIRPath Patch operation ${op.at + 1}${what}: ${message}`, {
    expression: [`Parameters.parameter[${op.at}]`],
  });
}

/** The operations, checked for form: 400 for a document that is not a FHIRPath Patch. */
function readOperations(patch: Parameters): Operation[] {
  validateForWrite(patch, 'Parameters');
  const parameters = patch.parameter ?? [];
  if (parameters.length === 0) throw new FhirError(400, 'required', 'A FHIRPath Patch needs at least one "operation" parameter');
  if (parameters.length > MAX_OPERATIONS)
    throw new FhirError(400, 'too-costly', `A FHIRPath Patch may hold ${MAX_OPERATIONS} operations at most (it has ${parameters.length})`);
  return parameters.map((parameter, at) => readOperation(parameter, at));
}

function readOperation(parameter: ParametersParameter, at: number): Operation {
  if (parameter.name !== 'operation')
    throw failure({ at }, `a FHIRPath Patch parameter is named "operation", not "${String(parameter.name).slice(0, 40)}"`, 400);
  const parts = new Map<string, ParametersParameter>();
  for (const part of parameter.part ?? []) {
    if (!PART_NAMES.has(part.name))
      throw failure({ at }, `unknown part "${part.name.slice(0, 40)}" (expected type, path, name, value, index, source, destination)`, 400);
    if (parts.has(part.name)) throw failure({ at }, `the part "${part.name}" is given twice`, 400);
    parts.set(part.name, part);
  }
  const type = parts.get('type')?.valueCode;
  if (!type || !(OPERATION_TYPES as readonly string[]).includes(type)) {
    throw failure({ at }, `"type" must be one of ${OPERATION_TYPES.join(', ')} (valueCode)${type ? `, not "${type.slice(0, 40)}"` : ''}`, 400);
  }
  const path = parts.get('path')?.valueString;
  if (!path) throw failure({ at, type: type as OperationType }, '"path" is required (valueString)', 400);
  const named = { at, type: type as OperationType, path };
  if (path.length > MAX_PATH_LENGTH) throw failure(named, `"path" is longer than ${MAX_PATH_LENGTH} characters`, 400);
  checkPathFunctions(path, named);
  const integer = (name: string): number | undefined => {
    const part = parts.get(name);
    if (!part) return undefined;
    if (typeof part.valueInteger !== 'number') throw failure(named, `"${name}" must be a valueInteger`, 400);
    return part.valueInteger;
  };
  const op: Operation = {
    ...named,
    path,
    ...(parts.has('name') ? { name: parts.get('name')!.valueString } : {}),
    ...(parts.has('value') ? { value: parts.get('value')! } : {}),
    ...(parts.has('index') ? { index: integer('index') } : {}),
    ...(parts.has('source') ? { source: integer('source') } : {}),
    ...(parts.has('destination') ? { destination: integer('destination') } : {}),
  };
  const required: Record<OperationType, string[]> = {
    add: ['name', 'value'],
    insert: ['index', 'value'],
    delete: [],
    replace: ['value'],
    move: ['source', 'destination'],
  };
  for (const name of required[op.type]) {
    if ((op as unknown as Record<string, unknown>)[name] === undefined) throw failure(named, `"${name}" is required for ${op.type}`, 400);
  }
  for (const name of ['name', 'value', 'index', 'source', 'destination']) {
    if (parts.has(name) && !required[op.type].includes(name)) throw failure(named, `"${name}" is not a part of ${op.type}`, 400);
  }
  return op;
}

/** Parses the path and refuses functions outside {@link ALLOWED_FUNCTIONS}. */
function checkPathFunctions(path: string, op: Pick<Operation, 'at' | 'type' | 'path'>): void {
  let ast: unknown;
  try {
    ast = fhirpath.parse(path);
  } catch (error) {
    throw failure(
      op,
      `the path is not valid FHIRPath: ${String((error as Error).message)
        .split('\n')[0]!
        .slice(0, 200)}`,
      400,
    );
  }
  const visit = (node: { type?: string; children?: unknown[] }): void => {
    if (node.type === 'Functn') {
      const name = String((node.children?.[0] as { text?: string } | undefined)?.text ?? '').replace(/^`|`$/g, '');
      if (!ALLOWED_FUNCTIONS.has(name)) throw failure(op, `the function ${name.slice(0, 40)}() is not allowed in a patch path`, 400);
    }
    for (const child of node.children ?? []) visit(child as { type?: string; children?: unknown[] });
  };
  visit(ast as { children?: unknown[] });
}

function apply(resource: Json, op: Operation): void {
  switch (op.type) {
    case 'add':
      return add(resource, op);
    case 'insert':
      return insert(resource, op);
    case 'delete':
      return remove(resource, op);
    case 'replace':
      return replace(resource, op);
    case 'move':
      return move(resource, op);
  }
}

/** add: a new child `name` of the one element the path selects; appended if the child repeats. */
function add(resource: Json, op: Operation): void {
  const [target] = selectOne(resource, op.path, 'add');
  const { holder, shape } = isObject(target!.data) ? { holder: target!.data, shape: target!.found.shape } : primitiveElement(target!.place!);
  const value = op.value!;
  const prop = childProp(shape, op.name!, valueType(value));
  const converted = convertValue(value, prop, shape);
  if (prop.array) {
    appendItem(holder, prop, converted);
    return;
  }
  if (holder[prop.key] !== undefined || holder[`_${prop.key}`] !== undefined) {
    throw new OperationError(`${shape.name}.${prop.key} already has a value; use replace`);
  }
  const other = [...shape.props.values()].find((p) => p.choice >= 0 && p.choice === prop.choice && p.key !== prop.key && holder[p.key] !== undefined);
  if (other) throw new OperationError(`${shape.name} already has ${other.key}; use replace`);
  setItem(holder, prop, undefined, converted);
}

/** The id-and-extensions part of a primitive (its `_key` object, made when absent), where add puts an extension. */
function primitiveElement(place: Place): { holder: Json; shape: Shape } {
  const shape = sharedShapes().shapeOf('Element');
  const extras = place.holder[`_${place.key}`];
  if (place.index === undefined) {
    if (!isObject(extras)) place.holder[`_${place.key}`] = {};
    return { holder: place.holder[`_${place.key}`] as Json, shape };
  }
  const list = Array.isArray(extras) ? extras : [];
  while (list.length < currentItems(place.holder, place.prop)) list.push(null);
  if (!isObject(list[place.index])) list[place.index] = {};
  place.holder[`_${place.key}`] = list;
  return { holder: list[place.index] as Json, shape };
}

/** insert: a new item at `index` of the list the path names. */
function insert(resource: Json, op: Operation): void {
  const list = selectList(resource, op);
  const items = currentItems(list.holder, list.prop);
  if (op.index! < 0 || op.index! > items) throw new OperationError(`index ${op.index} is outside the list (0 to ${items})`);
  const converted = convertValue(op.value!, list.prop, list.shape);
  spliceItems(list.holder, list.prop, op.index!, 0, [converted]);
}

/** delete: the one element the path selects; nothing when it selects nothing. */
function remove(resource: Json, op: Operation): void {
  const selected = select(resource, op.path);
  if (selected.length === 0) return;
  if (selected.length > 1) throw new OperationError(`the path selects ${selected.length} elements; delete removes one`);
  const place = selected[0]!.place;
  if (!place) throw new OperationError('the resource itself cannot be deleted by a patch');
  if (place.index === undefined) {
    delete place.holder[place.key];
    if (place.prop.kind === Kind.Primitive) delete place.holder[`_${place.key}`];
  } else {
    spliceItems(place.holder, place.prop, place.index, 1, []);
  }
}

/** replace: the one element the path selects, by the value (a choice element may change its type). */
function replace(resource: Json, op: Operation): void {
  const [target] = selectOne(resource, op.path, 'replace');
  const place = target!.place;
  if (!place) throw new OperationError('the resource itself cannot be replaced by a patch; use update');
  let prop = place.prop;
  if (prop.choice >= 0) prop = childProp(place.shape, prop.element.slice(0, -3), valueType(op.value!));
  const converted = convertValue(op.value!, prop, place.shape);
  if (prop.key !== place.key) {
    delete place.holder[place.key];
    delete place.holder[`_${place.key}`];
  }
  setItem(place.holder, prop, place.index, converted);
}

/** move: an item of the list the path names, from `source` to `destination`. */
function move(resource: Json, op: Operation): void {
  const list = selectList(resource, op);
  const items = currentItems(list.holder, list.prop);
  for (const [name, index] of [
    ['source', op.source!],
    ['destination', op.destination!],
  ] as const) {
    if (index < 0 || index >= items) throw new OperationError(`${name} ${index} is outside the list (0 to ${items - 1})`);
  }
  const taken = takeItem(list.holder, list.prop, op.source!);
  spliceItems(list.holder, list.prop, op.destination!, 0, [taken]);
}

interface Selected {
  readonly data: unknown;
  readonly found: Found;
  readonly place: Place | undefined;
}

function selectOne(resource: Json, path: string, type: string): Selected[] {
  const selected = select(resource, path);
  if (selected.length !== 1)
    throw new OperationError(`the path selects ${selected.length === 0 ? 'nothing' : `${selected.length} elements`}; ${type} needs exactly one`);
  return selected;
}

/** The list an insert or move works on: that of the items the path selects, or, when it selects none, the element its last step names. */
function selectList(resource: Json, op: Operation): { holder: Json; shape: Shape; prop: Prop } {
  const selected = select(resource, op.path);
  if (selected.length > 0) {
    const first = selected[0]!.place;
    if (!first?.prop.array || selected.some((s) => s.place?.holder !== first.holder || s.place.key !== first.key)) {
      throw new OperationError(`the path must select a list (the items of one repeating element)`);
    }
    return first;
  }
  const split = /^(.*)\.\s*([A-Za-z_][A-Za-z0-9_]*|`[^`]+`)\s*$/s.exec(op.path);
  if (!split) throw new OperationError('the path selects nothing and does not end in an element name');
  const [holder] = selectOne(resource, split[1]!, op.type);
  if (!isObject(holder!.data)) throw new OperationError('the path selects a primitive value');
  const shape = holder!.found.shape;
  const prop = shape.props.get(split[2]!.replace(/^`|`$/g, ''));
  if (!prop?.array) throw new OperationError(`${shape.name} has no repeating element "${split[2]!.slice(0, 64)}"`);
  return { holder: holder!.data, shape, prop };
}

/** Evaluates the path and finds each result in the resource. */
function select(resource: Json, path: string): Selected[] {
  let results: unknown[];
  try {
    results = fhirpath.evaluate(resource, path, {}, r4, silent) as unknown[];
  } catch (error) {
    throw new OperationError(
      `the path could not be evaluated: ${String((error as Error).message)
        .split('\n')[0]!
        .slice(0, 200)}`,
    );
  }
  const objects = indexObjects(resource);
  return results.map((node) => locate(node, objects));
}

interface ResultNode {
  data: unknown;
  parentResNode: ResultNode | null;
  propName: string | null;
  index: number | null;
}

const isNode = (v: unknown): v is ResultNode => isObject(v) && 'parentResNode' in v && 'data' in v;

/** A result of the path as a place in the resource: by identity for objects, by holder, key and index for primitives. */
function locate(node: unknown, objects: Map<Json, Found>): Selected {
  if (!isNode(node)) throw new OperationError('the path selects a computed value, not an element of the resource');
  if (isObject(node.data)) {
    const found = objects.get(node.data);
    if (!found) throw new OperationError('the path selects something that is not an element of the resource');
    return { data: node.data, found, place: found.place };
  }
  const parent = node.parentResNode;
  const holderFound = parent && isObject(parent.data) ? objects.get(parent.data) : undefined;
  if (!parent || !holderFound || node.propName === null) throw new OperationError('the path selects something that is not an element of the resource');
  const holder = parent.data as Json;
  const prop = presentProp(holderFound.shape, holder, node.propName);
  if (!prop || prop.kind !== Kind.Primitive) throw new OperationError('the path selects something that is not an element of the resource');
  const index = prop.array ? (node.index ?? undefined) : undefined;
  if (prop.array && index === undefined) throw new OperationError('the path selects something that is not an element of the resource');
  return { data: node.data, found: holderFound, place: { holder, shape: holderFound.shape, prop, key: prop.key, index } };
}

/** The property `name` of a holder as FHIRPath names it: its JSON key, or a choice element's stem (`value` for `valueQuantity`). */
function presentProp(shape: Shape, holder: Json, name: string): Prop | undefined {
  const direct = shape.props.get(name);
  if (direct && (Object.hasOwn(holder, name) || Object.hasOwn(holder, `_${name}`))) return direct;
  for (const prop of shape.props.values()) {
    if (prop.element === `${name}[x]` && (Object.hasOwn(holder, prop.key) || Object.hasOwn(holder, `_${prop.key}`))) return prop;
  }
  return undefined;
}

/** Every object of the resource that is an element or a resource, with its shape and place, walked by the R4 shapes. */
function indexObjects(resource: Json): Map<Json, Found> {
  const out = new Map<Json, Found>();
  const compiler = sharedShapes();
  const visit = (obj: Json, shape: Shape, place: Place | undefined): void => {
    out.set(obj, { shape, place });
    for (const key of Object.keys(obj)) {
      const extension = key.charCodeAt(0) === 95;
      const prop = shape.props.get(extension ? key.slice(1) : key);
      if (!prop) continue;
      const items = Array.isArray(obj[key]) ? (obj[key] as unknown[]) : [obj[key]];
      items.forEach((item, i) => {
        if (!isObject(item)) return;
        const at: Place = { holder: obj, shape, prop, key: prop.key, index: Array.isArray(obj[key]) ? i : undefined };
        if (extension) visit(item, compiler.shapeOf('Element'), at);
        else if (prop.kind === Kind.Resource && typeof item.resourceType === 'string' && compiler.isResourceType(item.resourceType))
          visit(item, compiler.shapeOf(item.resourceType), at);
        else if (prop.kind === Kind.Complex && prop.shape) visit(item, prop.shape, at);
      });
    }
  };
  visit(resource, compiler.shapeOf(String(resource.resourceType)), undefined);
  return out;
}

/** The type a value part carries: `HumanName` for valueHumanName, `string` for valueString, the resource type for a resource, undefined for parts. */
function valueType(part: ParametersParameter): string | undefined {
  if (part.resource) return part.resource.resourceType;
  const key = valueKey(part);
  if (!key) return undefined;
  const type = key.slice(5);
  const primitive = type.charAt(0).toLowerCase() + type.slice(1);
  return PRIMITIVES.has(primitive) ? primitive : type;
}

const valueKey = (part: ParametersParameter): string | undefined => Object.keys(part).find((k) => k.startsWith('value'));

/** The property a child named `name` of `shape` is: its JSON key, or a choice element's stem with the value's type. */
function childProp(shape: Shape, name: string, type: string | undefined): Prop {
  const direct = shape.props.get(name);
  if (direct) return direct;
  const choices = [...shape.props.values()].filter((p) => p.element === `${name}[x]`);
  if (choices.length === 0) throw new OperationError(`${shape.name} has no element "${name.slice(0, 64)}"`);
  const typed = type && choices.find((p) => p.key === name + type.charAt(0).toUpperCase() + type.slice(1));
  if (!typed) throw new OperationError(`${shape.name}.${name}[x] cannot hold a ${type ?? 'value given as parts'}`);
  return typed;
}

/** An item: the JSON value and, for a primitive, its `_key` part (id and extensions). */
interface Item {
  value: unknown;
  extra: Json | undefined;
}

/** The value part as the JSON of element `prop`: a primitive, a datatype, a resource, or an element built from parts. */
function convertValue(part: ParametersParameter, prop: Prop, shape: Shape): Item {
  const where = `${shape.name}.${prop.key}`;
  const type = valueType(part);
  if (prop.kind === Kind.Resource) {
    if (!part.resource) throw new OperationError(`${where} holds a resource: give it as the value's resource`);
    return { value: structuredClone(part.resource), extra: undefined };
  }
  if (part.part) {
    if (prop.kind !== Kind.Complex || !prop.shape) throw new OperationError(`${where} is a ${prop.type}, not an element with parts`);
    return { value: fromParts(part.part, prop.shape), extra: undefined };
  }
  const key = valueKey(part);
  if (!key || type === undefined) throw new OperationError(`the value is missing (value[x], resource or parts)`);
  const value = (part as unknown as Json)[key];
  if (prop.kind === Kind.Primitive) {
    if (!PRIMITIVES.has(type) || typeof value !== prop.primitive!.json) throw new OperationError(`${where} is a ${prop.type}; the value is a ${type}`);
    const extra = (part as unknown as Json)[`_${key}`];
    return { value, extra: isObject(extra) ? structuredClone(extra) : undefined };
  }
  const compatible = type === prop.type || (QUANTITIES.has(type) && QUANTITIES.has(prop.type));
  if (!compatible) {
    throw new OperationError(
      prop.type.includes('.') ? `${where} is a backbone element: give its content as parts` : `${where} is a ${prop.type}; the value is a ${type}`,
    );
  }
  return { value: structuredClone(value), extra: undefined };
}

/** An element from `part`s named for its children (https://hl7.org/fhir/R4/fhirpatch.html: values that are not datatypes). */
function fromParts(parts: ParametersParameter[], shape: Shape): Json {
  const obj: Json = {};
  for (const part of parts) {
    const prop = childProp(shape, part.name, valueType(part));
    const item = convertValue(part, prop, shape);
    if (prop.array) appendItem(obj, prop, item);
    else if (obj[prop.key] !== undefined) throw new OperationError(`${shape.name}.${prop.key} is given twice; it does not repeat`);
    else setItem(obj, prop, undefined, item);
  }
  return obj;
}

function currentItems(holder: Json, prop: Prop): number {
  const values = holder[prop.key];
  const extras = holder[`_${prop.key}`];
  return Math.max(Array.isArray(values) ? values.length : 0, Array.isArray(extras) ? extras.length : 0);
}

function appendItem(holder: Json, prop: Prop, item: Item): void {
  spliceItems(holder, prop, currentItems(holder, prop), 0, [item]);
}

/** Sets a single element, or the item at `index` of a list; a primitive's `_key` follows its value. */
function setItem(holder: Json, prop: Prop, index: number | undefined, item: Item): void {
  if (index !== undefined) {
    spliceItems(holder, prop, index, 1, [item]);
    return;
  }
  holder[prop.key] = item.value;
  if (prop.kind === Kind.Primitive) {
    if (item.extra) holder[`_${prop.key}`] = item.extra;
    else delete holder[`_${prop.key}`];
  }
}

function takeItem(holder: Json, prop: Prop, index: number): Item {
  const values = holder[prop.key];
  const extras = holder[`_${prop.key}`];
  const item: Item = {
    value: Array.isArray(values) ? (values[index] ?? null) : null,
    extra: Array.isArray(extras) && isObject(extras[index]) ? (extras[index] as Json) : undefined,
  };
  spliceItems(holder, prop, index, 1, []);
  return item;
}

/**
 * Splices a list and, for primitives, its aligned `_key` list (null where an item has no value or
 * no extensions, https://hl7.org/fhir/R4/json.html#primitive); empty lists are removed.
 */
function spliceItems(holder: Json, prop: Prop, start: number, deleteCount: number, items: Item[]): void {
  const length = currentItems(holder, prop);
  const values = Array.isArray(holder[prop.key]) ? [...(holder[prop.key] as unknown[])] : [];
  const extras = Array.isArray(holder[`_${prop.key}`]) ? [...(holder[`_${prop.key}`] as unknown[])] : [];
  while (values.length < length) values.push(null);
  while (extras.length < length) extras.push(null);
  values.splice(start, deleteCount, ...items.map((i) => i.value ?? null));
  extras.splice(start, deleteCount, ...items.map((i) => i.extra ?? null));
  if (values.some((v) => v !== null)) holder[prop.key] = values;
  else delete holder[prop.key];
  if (prop.kind === Kind.Primitive && extras.some((e) => e !== null)) holder[`_${prop.key}`] = extras;
  else delete holder[`_${prop.key}`];
}
