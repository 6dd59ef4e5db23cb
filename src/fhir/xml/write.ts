/**
 * JSON resource → FHIR XML (https://hl7.org/fhir/R4/xml.html): elements in definition order,
 * primitives as `value` attributes with their id and extensions (the JSON `_key`) on the same
 * element, `id` and Extension `url` as attributes, resources inside `contained`,
 * `Bundle.entry.resource` and the like wrapped in an element named for their type, the narrative
 * div as XHTML.
 *
 * Input is a validated resource: something XML cannot carry (a non-R4 element, a character
 * outside XML 1.0) is reported as 406 rather than written wrongly. Decimals are written as they
 * are: a JSON number as JavaScript prints it, or the exact text of a lossless-json number.
 */
import { isLosslessNumber } from 'lossless-json';
import { notAcceptable } from '../../r4/errors.js';
import { FHIR_NS, Kind, elementShape, isResourceType, isXhtml, keysOf, resourceShape, type KeyInfo, type Shape } from './model.js';
import { NOT_XML_CHAR, divForXml, escapeAttribute } from './xhtml.js';

type Json = Record<string, unknown>;

export interface XmlWriteOptions {
  /** Indent nested elements by two spaces per level (`_pretty=true`). */
  readonly pretty?: boolean;
}

/** Anything in a string that needs a second look: characters to escape, and those XML 1.0 may not carry. */
const SPECIAL = /[&<>"\n\r\t\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Writes one resource (with everything inside it) as an XML document. */
export function resourceToXml(resource: unknown, options: XmlWriteOptions = {}): string {
  const writer = new XmlWriter(options.pretty === true);
  writer.resource(resource, 0, true);
  return writer.out;
}

class XmlWriter {
  out = '';

  constructor(private readonly pretty: boolean) {}

  private newline(depth: number): void {
    if (this.pretty && this.out.length > 0) this.out += `\n${'  '.repeat(depth)}`;
  }

  resource(value: unknown, depth: number, root: boolean): void {
    if (!isObject(value) || typeof value.resourceType !== 'string' || !isResourceType(value.resourceType)) {
      throw unwritable('a value that is not an R4 resource');
    }
    const type = value.resourceType;
    this.newline(depth);
    this.out += root ? `<${type} xmlns="${FHIR_NS}">` : `<${type}>`;
    const shape = resourceShape(type);
    this.children(value, this.childKeys(value, shape), depth + 1);
    this.newline(depth);
    this.out += `</${type}>`;
  }

  /** The child elements of `obj`, in the order of `shape` (attributes are not elements; `_key` goes with `key`). */
  private childKeys(obj: Json, shape: Shape): KeyInfo[] {
    const known = keysOf(shape);
    const keys: KeyInfo[] = [];
    let sorted = true;
    let last = -1;
    for (const key in obj) {
      const info = known.get(key);
      if (!info) {
        if (key === 'resourceType' && shape.isResource) continue;
        if (obj[key] === undefined) continue;
        throw unwritable(`${shape.name}.${key.slice(0, 64)}, which is not an R4 element`);
      }
      if (info.attribute || obj[key] === undefined) continue;
      // `_key` alone (a primitive with extensions only) stands for the element; with `key`, it is written with it.
      if (key !== info.name && obj[info.name] !== undefined) continue;
      if (info.position < last) sorted = false;
      last = info.position;
      keys.push(info);
    }
    if (!sorted) keys.sort((a, b) => a.position - b.position);
    return keys;
  }

  private children(obj: Json, keys: KeyInfo[], depth: number): void {
    for (const info of keys) {
      const value = obj[info.name];
      if (info.prop.kind === Kind.Primitive) this.primitives(info, value, obj[info.extensionKey], depth);
      else if (Array.isArray(value)) for (const item of value) this.element(info, item, depth);
      else this.element(info, value, depth);
    }
  }

  private element(info: KeyInfo, value: unknown, depth: number): void {
    const prop = info.prop;
    if (!isObject(value)) throw unwritable(`${prop.type} ${info.name} that is not an object`);
    this.newline(depth);
    if (prop.kind === Kind.Resource) {
      this.out += `${info.open}>`;
      this.resource(value, depth + 1, false);
      this.newline(depth);
      this.out += info.close;
      return;
    }
    const shape = prop.shape!;
    const keys = this.childKeys(value, shape);
    if (keys.length === 0) {
      this.out += `${info.open}${this.attributes(value, shape)}/>`;
      return;
    }
    this.out += `${info.open}${this.attributes(value, shape)}>`;
    this.children(value, keys, depth + 1);
    this.newline(depth);
    this.out += info.close;
  }

  /** A primitive or a list of them, aligned with their `_key` (id and extensions). */
  private primitives(info: KeyInfo, value: unknown, extra: unknown, depth: number): void {
    const prop = info.prop;
    if (isXhtml(prop)) {
      if (typeof value !== 'string') throw unwritable(`a narrative div that is not a string`);
      this.newline(depth);
      this.out += divForXml(value);
      return;
    }
    if (!prop.array) return this.primitive(info, value, extra, depth);
    const values = Array.isArray(value) ? value : [];
    const extras = Array.isArray(extra) ? extra : [];
    const count = Math.max(values.length, extras.length);
    for (let i = 0; i < count; i++) this.primitive(info, values[i], extras[i], depth);
  }

  private primitive(info: KeyInfo, value: unknown, extra: unknown, depth: number): void {
    const element = isObject(extra) ? extra : undefined;
    const hasValue = value !== undefined && value !== null;
    if (!element) {
      // The common case, in one piece.
      if (!hasValue) throw unwritable(`${info.name} without a value or extensions`);
      this.newline(depth);
      this.out += `${info.open} value="${primitiveText(value)}"/>`;
      return;
    }
    this.newline(depth);
    this.out += info.open;
    if (element) this.out += this.attributes(element, elementShape());
    if (hasValue) this.out += ` value="${primitiveText(value)}"`;
    if (element?.extension === undefined) {
      this.out += '/>';
      return;
    }
    this.out += '>';
    this.children(element, this.childKeys(element, elementShape()), depth + 1);
    this.newline(depth);
    this.out += info.close;
  }

  private attributes(obj: Json, shape: Shape): string {
    let text = '';
    if (obj.id !== undefined) text += ` id="${primitiveText(obj.id)}"`;
    if (shape.isExtension && obj.url !== undefined) text += ` url="${primitiveText(obj.url)}"`;
    return text;
  }
}

/** The `value` attribute text of a primitive: strings escaped, numbers and booleans as written in JSON. */
function primitiveText(value: unknown): string {
  if (typeof value === 'string') {
    if (!SPECIAL.test(value)) return value;
    if (NOT_XML_CHAR.test(value)) throw unwritable('a string with a character XML 1.0 cannot carry');
    return escapeAttribute(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isLosslessNumber(value)) return value.value;
  throw unwritable(`a primitive value that is ${Array.isArray(value) ? 'an array' : typeof value}`);
}

function unwritable(what: string) {
  return notAcceptable(`The resource cannot be written as XML (it holds ${what}); request JSON`);
}
