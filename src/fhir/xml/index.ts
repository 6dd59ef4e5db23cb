/**
 * FHIR XML (https://hl7.org/fhir/R4/xml.html), converted to and from the JSON form the rest of
 * Bedside works with, by the R4 definitions the JSON validator compiles (model.ts).
 *
 * Decimals: the server keeps resources as parsed JSON, where `1.50` is the number 1.5, for JSON
 * and XML requests alike; the text functions below are exact (lossless-json numbers keep the
 * digits as written), so a document converts JSON → XML → JSON without losing a trailing zero.
 */
import { isLosslessNumber, parse as parseLossless, stringify as stringifyLossless, LosslessNumber } from 'lossless-json';
import type { FhirBody } from '../request.js';
import { resourceFromXml, type XmlReadOptions } from './read.js';
import { resourceToXml, type XmlWriteOptions } from './write.js';

export { resourceFromXml, MAX_XML_DEPTH } from './read.js';
export { resourceToXml } from './write.js';
export type { XmlReadOptions, XmlWriteOptions };

/** A response body as an XML document. */
export function bodyToXml(body: FhirBody, options: XmlWriteOptions = {}): string {
  const resource = 'json' in body && typeof body.json === 'string' ? (JSON.parse(body.json) as unknown) : body;
  return resourceToXml(resource, options);
}

/** JSON text → XML, keeping every number's digits as written. */
export function jsonTextToXml(json: string, options: XmlWriteOptions = {}): string {
  return resourceToXml(parseJsonExact(json), options);
}

/** XML → JSON text, keeping every decimal's digits as written. */
export function xmlToJsonText(xml: string | Uint8Array, options: Omit<XmlReadOptions, 'exactNumbers'> = {}): string {
  return stringifyLossless(resourceFromXml(xml, { ...options, exactNumbers: true }))!;
}

/** JSON.parse, except that a number whose digits a JavaScript number would change stays a lossless-json number. */
export function parseJsonExact(json: string): unknown {
  return parseLossless(json, null, (text) => {
    const value = Number(text);
    return String(value) === text ? value : new LosslessNumber(text);
  });
}

export { isLosslessNumber };
