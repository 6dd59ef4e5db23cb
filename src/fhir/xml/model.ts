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

const orders = new WeakMap<Shape, ReadonlyMap<string, number>>();

/**
 * The position of each JSON key's element in the shape (choice types of one element share a
 * position; `_key` has the position of `key`). The shapes list their properties in definition
 * order, which is the order XML requires (https://hl7.org/fhir/R4/xml.html#1.17.1).
 */
export function elementOrder(shape: Shape): ReadonlyMap<string, number> {
  let order = orders.get(shape);
  if (!order) {
    const map = new Map<string, number>();
    let position = -1;
    let element: string | undefined;
    for (const prop of shape.props.values()) {
      if (prop.element !== element) {
        element = prop.element;
        position++;
      }
      map.set(prop.key, position);
      if (prop.kind === Kind.Primitive) map.set(`_${prop.key}`, position);
    }
    order = map;
    orders.set(shape, order);
  }
  return order;
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
