/**
 * FHIR XML → the JSON resource the interactions take (https://hl7.org/fhir/R4/xml.html), with
 * saxes (a strict, namespace-aware, non-validating XML parser) doing the XML itself.
 *
 * Refused with 400, before anything is built from them: documents that are not well-formed XML
 * or not UTF-8, any DTD (so no entity declarations: saxes knows only the five XML entities and
 * character references, and expands nothing else), nesting deeper than {@link MAX_XML_DEPTH},
 * elements outside the FHIR namespace (the narrative outside XHTML), unknown elements and
 * attributes, text where FHIR has none, and a second value for an element that cannot repeat.
 * Values are taken as written; the validator then checks them as it checks JSON.
 *
 * Decimals: `value="1.50"` becomes the JSON number 1.5 (as JSON.parse would read `1.50`), or,
 * with `exactNumbers`, a lossless-json number that keeps its text.
 */
import { LosslessNumber } from 'lossless-json';
import { SaxesParser, type SaxesAttributeNS, type SaxesTagNS } from 'saxes';
import { FhirError, badRequest } from '../../r4/errors.js';
import { FHIR_NS, Kind, XHTML_NS, elementShape, isAttribute, isResourceType, isXhtml, resourceShape, type Prop, type Shape } from './model.js';
import { escapeAttribute, escapeText } from './xhtml.js';

type Json = Record<string, unknown>;

export interface XmlReadOptions {
  /** Keep decimals whose text a JSON number would change (`1.50`, `1e2`) as lossless-json numbers. */
  readonly exactNumbers?: boolean;
}

/** Element nesting refused beyond this (the deepest R4 examples nest about 25 levels in XML). */
export const MAX_XML_DEPTH = 100;

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
// https://hl7.org/fhir/R4/datatypes.html#integer and #decimal
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const INTEGER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Element content being read: a resource or complex element, a primitive, a resource holder or a narrative. */
type Frame = ObjectFrame | PrimitiveFrame | HolderFrame | XhtmlFrame;

interface ObjectFrame {
  kind: 'object';
  path: string;
  shape: Shape;
  obj: Json;
  /** The property of the parent this object is a value of (none for the root and held resources). */
  prop: Prop | undefined;
  /** Primitive lists being read, by key: values and their `_key` parts, aligned. */
  lists: Map<string, { values: unknown[]; extras: (Json | null)[] }> | undefined;
}

interface PrimitiveFrame {
  kind: 'primitive';
  path: string;
  prop: Prop;
  value: unknown;
  /** id and extension. */
  extra: Json | undefined;
}

/** `contained`, `Bundle.entry.resource` ...: holds one element named for a resource type. */
interface HolderFrame {
  kind: 'holder';
  path: string;
  prop: Prop;
  resource: Json | undefined;
}

interface XhtmlFrame {
  kind: 'xhtml';
  path: string;
  prop: Prop;
  /** Where the div's start tag begins in the input, when its source text can be taken as it is. */
  start: number;
  /** The div rebuilt from events (when the source text cannot be taken: it relies on prefixes declared outside it). */
  rebuilt: string;
  depth: number;
}

/** Reads one FHIR resource from an XML document. Throws a 400 FhirError naming the problem. */
export function resourceFromXml(input: string | Uint8Array, options: XmlReadOptions = {}): Json {
  let text: string;
  try {
    text = typeof input === 'string' ? input : utf8.decode(input);
  } catch {
    throw badRequest('The XML body is not valid UTF-8');
  }
  const reader = new XmlReader(text, options.exactNumbers === true);
  try {
    reader.parser.write(text).close();
  } catch (error) {
    if (error instanceof FhirError) throw error;
    throw badRequest(`The body is not well-formed XML: ${(error as Error).message.slice(0, 200)}`);
  }
  if (!reader.result) throw badRequest('The XML body holds no resource');
  return reader.result;
}

class XmlReader {
  readonly parser = new SaxesParser({ xmlns: true, position: true });
  readonly stack: Frame[] = [];
  result: Json | undefined;
  private depth = 0;

  constructor(
    private readonly source: string,
    private readonly exactNumbers: boolean,
  ) {
    const p = this.parser;
    p.on('doctype', () => {
      throw badRequest('XML with a DTD (<!DOCTYPE>) is not accepted: FHIR XML has none, and entity declarations are refused');
    });
    p.on('xmldecl', (decl) => {
      if (decl.encoding !== undefined && !/^utf-?8$/i.test(decl.encoding)) {
        throw badRequest(`The XML declares encoding "${decl.encoding.slice(0, 40)}"; send UTF-8`);
      }
    });
    p.on('opentagstart', () => {
      if (++this.depth > MAX_XML_DEPTH) throw badRequest(`The XML body is nested deeper than ${MAX_XML_DEPTH} levels`);
    });
    p.on('opentag', (tag) => this.open(tag));
    p.on('closetag', (tag) => {
      this.depth--;
      this.close(tag);
    });
    p.on('text', (t) => this.text(t));
    p.on('cdata', (t) => this.text(t, true));
  }

  private get top(): Frame | undefined {
    return this.stack[this.stack.length - 1];
  }

  private open(tag: SaxesTagNS): void {
    const top = this.top;
    if (top?.kind === 'xhtml') return this.openXhtml(top, tag);
    if (tag.uri !== FHIR_NS) {
      if (tag.uri === XHTML_NS && tag.local === 'div' && top?.kind === 'object' && top.shape.props.get('div') && isXhtml(top.shape.props.get('div')!)) {
        return this.openDiv(top, tag);
      }
      throw structure(`<${tag.name}> is not in the FHIR namespace (${FHIR_NS})`, top?.path);
    }
    if (!top) {
      if (!isResourceType(tag.local)) throw structure(`<${tag.local}> is not an R4 resource type`);
      return this.openResource(tag, tag.local);
    }
    if (top.kind === 'holder') {
      if (top.resource || !isResourceType(tag.local)) throw structure(`${top.path} holds one resource, not <${tag.local}>`, top.path);
      return this.openResource(tag, `${top.path}.${tag.local}`);
    }
    const shape = top.kind === 'object' ? top.shape : elementShape();
    const prop = shape.props.get(tag.local);
    if (!prop || isAttribute(shape, tag.local) || isXhtml(prop)) {
      throw structure(`${top.kind === 'primitive' ? `The primitive ${top.path}` : shape.name} has no element <${tag.local.slice(0, 64)}>`, top.path);
    }
    const path = `${top.path}.${tag.local}`;
    if (prop.kind === Kind.Primitive) {
      const attributes = this.attributes(tag, path, ['value', 'id']);
      const raw = attributes.get('value');
      const id = attributes.get('id');
      this.stack.push({
        kind: 'primitive',
        path,
        prop,
        value: raw === undefined ? undefined : this.primitiveValue(prop, raw),
        extra: id === undefined ? undefined : { id },
      });
    } else if (prop.kind === Kind.Resource) {
      this.attributes(tag, path, []);
      this.stack.push({ kind: 'holder', path, prop, resource: undefined });
    } else {
      const child = prop.shape!;
      const attributes = this.attributes(tag, path, child.isExtension ? ['id', 'url'] : ['id']);
      const obj: Json = {};
      for (const [name, value] of attributes) obj[name] = value;
      this.stack.push({ kind: 'object', path, shape: child, obj, prop, lists: undefined });
    }
  }

  private openResource(tag: SaxesTagNS, path: string): void {
    this.attributes(tag, path, []);
    this.stack.push({ kind: 'object', path, shape: resourceShape(tag.local), obj: { resourceType: tag.local }, prop: undefined, lists: undefined });
  }

  private openDiv(top: ObjectFrame, tag: SaxesTagNS): void {
    const start = this.source.lastIndexOf('<', this.parser.position - 1);
    const ownNamespace = tag.prefix === '' && Object.values(tag.attributes).some((a) => a.name === 'xmlns' && a.value === XHTML_NS);
    const frame: XhtmlFrame = {
      kind: 'xhtml',
      path: `${top.path}.div`,
      prop: top.shape.props.get('div')!,
      start: ownNamespace ? start : -1,
      rebuilt: '',
      depth: 0,
    };
    this.stack.push(frame);
    this.openXhtml(frame, tag);
  }

  /** An element of the narrative: must be XHTML; rebuilt as text unless the source can be taken as it is. */
  private openXhtml(frame: XhtmlFrame, tag: SaxesTagNS): void {
    if (tag.uri !== XHTML_NS) throw structure(`<${tag.name}> in the narrative is not in the XHTML namespace`, frame.path);
    frame.depth++;
    // A prefixed element name depends on a declaration that may lie outside the div: rebuild instead.
    if (tag.prefix !== '') frame.start = -1;
    let attributes = '';
    for (const a of Object.values(tag.attributes) as SaxesAttributeNS[]) {
      if (a.uri === XMLNS_NS) continue;
      // Narrative attributes are XHTML's, unqualified, and xml:lang (https://hl7.org/fhir/R4/narrative.html#xhtml).
      if (a.uri !== '' && a.prefix !== 'xml') throw structure(`The attribute ${a.name.slice(0, 64)} in the narrative is not an XHTML attribute`, frame.path);
      attributes += ` ${a.name}="${escapeAttribute(a.value)}"`;
    }
    frame.rebuilt += frame.depth === 1 ? `<${tag.local} xmlns="${XHTML_NS}"${attributes}` : `<${tag.local}${attributes}`;
    frame.rebuilt += tag.isSelfClosing ? '/>' : '>';
  }

  private close(tag: SaxesTagNS): void {
    const frame = this.top!;
    if (frame.kind === 'xhtml') {
      if (!tag.isSelfClosing) frame.rebuilt += `</${tag.local}>`;
      if (--frame.depth > 0) return;
      this.stack.pop();
      const div = frame.start >= 0 ? this.source.slice(frame.start, this.parser.position).replace(/\r\n?/g, '\n') : frame.rebuilt;
      return this.set(this.top as ObjectFrame, 'div', div, frame.prop, frame.path);
    }
    this.stack.pop();
    const parent = this.top;
    if (frame.kind === 'object') {
      finishLists(frame);
      if (!parent) {
        this.result = frame.obj;
      } else if (parent.kind === 'holder') {
        parent.resource = frame.obj;
      } else if (parent.kind === 'primitive') {
        ((parent.extra ??= {}).extension as unknown[] | undefined) ??= [];
        (parent.extra.extension as unknown[]).push(frame.obj);
      } else if (parent.kind === 'object') {
        this.set(parent, frame.prop!.key, frame.obj, frame.prop!, frame.path);
      }
      return;
    }
    const owner = parent as ObjectFrame;
    if (frame.kind === 'holder') {
      if (!frame.resource) throw structure(`${frame.path} must hold a resource`, frame.path);
      return this.set(owner, frame.prop.key, frame.resource, frame.prop, frame.path);
    }
    if (frame.value === undefined && frame.extra?.extension === undefined) {
      throw new FhirError(400, 'required', `${frame.path} has neither a value attribute nor extensions`, { expression: [frame.path] });
    }
    const key = frame.prop.key;
    if (frame.prop.array) {
      const lists = (owner.lists ??= new Map());
      let list = lists.get(key);
      if (!list) lists.set(key, (list = { values: [], extras: [] }));
      list.values.push(frame.value ?? null);
      list.extras.push(frame.extra ?? null);
      return;
    }
    if (frame.value !== undefined) this.set(owner, key, frame.value, frame.prop, frame.path);
    if (frame.extra) this.set(owner, `_${key}`, frame.extra, frame.prop, frame.path);
  }

  private set(owner: ObjectFrame, key: string, value: unknown, prop: Prop, path: string): void {
    const obj = owner.obj;
    if (prop.array) {
      ((obj[key] as unknown[] | undefined) ??= []).push(value);
      return;
    }
    if (obj[key] !== undefined) throw structure(`${path} appears more than once; it is not a repeating element`, path);
    obj[key] = value;
  }

  private text(text: string, cdata = false): void {
    const top = this.top;
    if (top?.kind === 'xhtml') {
      if (cdata) top.start = -1;
      top.rebuilt += escapeText(text);
      return;
    }
    if (/\S/.test(text)) throw structure(`Text "${text.trim().slice(0, 40)}" is not allowed here: FHIR XML keeps values in value attributes`, top?.path);
  }

  /** The element's attributes: namespace declarations and attributes of other namespaces (xsi:schemaLocation) are ignored; others must be `allowed`. */
  private attributes(tag: SaxesTagNS, path: string, allowed: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const a of Object.values(tag.attributes) as SaxesAttributeNS[]) {
      if (a.uri === XMLNS_NS || a.uri !== '') continue;
      if (!allowed.includes(a.local)) throw structure(`${path} has no attribute "${a.local.slice(0, 64)}"`, path);
      out.set(a.local, a.value);
    }
    return out;
  }

  /** A `value` attribute as JSON has it: booleans and numbers typed, when they are valid; anything else as the text, for the validator to report. */
  private primitiveValue(prop: Prop, raw: string): unknown {
    const rule = prop.primitive!;
    if (rule.json === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
    if (rule.json !== 'number') return raw;
    if (!(INTEGER_TYPES.has(rule.name) ? INTEGER : DECIMAL).test(raw)) return raw;
    const value = Number(raw);
    // Beyond the range of a JSON number (1e400): left as text, which the validator refuses.
    if (!Number.isFinite(value)) return raw;
    return this.exactNumbers && String(value) !== raw ? new LosslessNumber(raw) : value;
  }
}

/** Primitive lists: values and `_key` parts aligned, each left out when it holds nothing. */
function finishLists(frame: ObjectFrame): void {
  if (!frame.lists) return;
  for (const [key, list] of frame.lists) {
    if (list.values.some((v) => v !== null)) frame.obj[key] = list.values;
    if (list.extras.some((e) => e !== null)) frame.obj[`_${key}`] = list.extras;
  }
}

function structure(message: string, path?: string): FhirError {
  return new FhirError(400, 'structure', message, path ? { expression: [path] } : {});
}
