/**
 * What the XML form needs to know about each element, read from the same compiled R4 shapes the
 * JSON validator checks against (fhir/validator/compile.ts): the element order (XML is ordered,
 * JSON is not), which JSON keys are XML attributes, and which elements hold a primitive, a
 * resource or XHTML.
 *
 * https://hl7.org/fhir/R4/xml.html
 */
import { Kind, sharedShapes, type Prop, type Shape } from '../validator/compile.js';

export { Kind, type Prop, type Shape };

export const FHIR_NS = 'http://hl7.org/fhir';
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';

/** A JSON key of a shape as XML sees it. */
export interface KeyInfo {
  /** The element's position in the shape (choice types of one element share one; `_key` has that of `key`). */
  readonly position: number;
  /** The element's JSON key (`birthDate` for both `birthDate` and `_birthDate`). */
  readonly name: string;
  /** `_` + name, for the id and extensions of a primitive. */
  readonly extensionKey: string;
  readonly prop: Prop;
  /** Written as an attribute of the holder's element, not as an element. */
  readonly attribute: boolean;
  /** `<name` and `</name>`. */
  readonly open: string;
  readonly close: string;
}

const keyInfos = new WeakMap<Shape, ReadonlyMap<string, KeyInfo>>();

/**
 * Every JSON key a shape allows, with its element's position. The shapes list their properties
 * in definition order, which is the order XML requires (https://hl7.org/fhir/R4/xml.html).
 */
export function keysOf(shape: Shape): ReadonlyMap<string, KeyInfo> {
  let keys = keyInfos.get(shape);
  if (!keys) {
    const map = new Map<string, KeyInfo>();
    let position = -1;
    let element: string | undefined;
    for (const prop of shape.props.values()) {
      if (prop.element !== element) {
        element = prop.element;
        position++;
      }
      const info: KeyInfo = {
        position,
        name: prop.key,
        extensionKey: `_${prop.key}`,
        prop,
        attribute: isAttribute(shape, prop.key),
        open: `<${prop.key}`,
        close: `</${prop.key}>`,
      };
      map.set(prop.key, info);
      if (prop.kind === Kind.Primitive) map.set(info.extensionKey, info);
    }
    keys = map;
    keyInfos.set(shape, keys);
  }
  return keys;
}

/**
 * JSON keys that XML writes as attributes: `id` of an element (a resource's `id` is an element)
 * and `url` of an extension (https://hl7.org/fhir/R4/xml.html#1.17.1). Primitive values are the
 * `value` attribute of their element.
 */
export function isAttribute(shape: Shape, key: string): boolean {
  return (key === 'id' && !shape.isResource) || (key === 'url' && shape.isExtension);
}

export function isResourceType(type: string): boolean {
  return sharedShapes().isResourceType(type);
}

export function resourceShape(type: string): Shape {
  return sharedShapes().shapeOf(type);
}

/** What a primitive's `_key` may hold: id and extension. */
export function elementShape(): Shape {
  return sharedShapes().shapeOf('Element');
}

export function isXhtml(prop: Prop): boolean {
  return prop.type === 'xhtml';
}
