/**
 * Content negotiation between FHIR JSON and FHIR XML (src/fhir/format.ts) as a table:
 * `_format` first, then Accept by quality and specificity, then the request body's format, then
 * JSON. https://hl7.org/fhir/R4/http.html#mime-type
 */
import { describe, expect, it } from 'vitest';
import { responseFormat } from '../../../src/fhir/format.js';

// [url, Accept, Content-Type, expected format or the 406 status]
const CASES: Array<[string, string | undefined, string | undefined, 'json' | 'xml' | 406]> = [
  ['/fhir/Patient', undefined, undefined, 'json'],
  ['/fhir/Patient', '*/*', undefined, 'json'],
  ['/fhir/Patient', 'application/fhir+json', undefined, 'json'],
  ['/fhir/Patient', 'application/json', undefined, 'json'],
  ['/fhir/Patient', 'application/json+fhir', undefined, 'json'],
  ['/fhir/Patient', 'application/fhir+xml', undefined, 'xml'],
  ['/fhir/Patient', 'application/xml', undefined, 'xml'],
  ['/fhir/Patient', 'text/xml', undefined, 'xml'],
  ['/fhir/Patient', 'application/fhir+xml;fhirVersion=4.0', undefined, 'xml'],
  ['/fhir/Patient', 'APPLICATION/FHIR+XML', undefined, 'xml'],
  ['/fhir/Patient', 'application/fhir+xml, application/fhir+json', undefined, 'xml'],
  ['/fhir/Patient', 'application/fhir+json, application/fhir+xml', undefined, 'json'],
  ['/fhir/Patient', 'application/fhir+xml;q=0.8, application/fhir+json', undefined, 'json'],
  ['/fhir/Patient', 'application/fhir+json;q=0.5, application/fhir+xml;q=0.9', undefined, 'xml'],
  ['/fhir/Patient', 'application/fhir+json;q=0, */*', undefined, 'xml'],
  ['/fhir/Patient', 'application/json, text/plain, */*', undefined, 'json'],
  ['/fhir/Patient', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', undefined, 'xml'],
  ['/fhir/Patient', 'application/*', undefined, 'json'],
  ['/fhir/Patient', 'text/html', undefined, 406],
  ['/fhir/Patient', 'application/xhtml+xml', undefined, 406],
  ['/fhir/Patient', 'application/fhir+json;q=0', undefined, 406],
  ['/fhir/Patient', 'image/png, text/plain', undefined, 406],
  // Without a preference, the answer follows the request body.
  ['/fhir/Patient', undefined, 'application/fhir+xml', 'xml'],
  ['/fhir/Patient', '*/*', 'application/fhir+xml; charset=utf-8', 'xml'],
  ['/fhir/Patient', 'application/fhir+json', 'application/fhir+xml', 'json'],
  ['/fhir/Patient', undefined, 'application/fhir+json', 'json'],
  // _format wins over everything.
  ['/fhir/Patient?_format=xml', 'application/fhir+json', undefined, 'xml'],
  ['/fhir/Patient?name=x&_format=application/fhir%2Bxml', undefined, undefined, 'xml'],
  ['/fhir/Patient?_format=application/fhir+xml', undefined, undefined, 'xml'],
  ['/fhir/Patient?_format=text/xml', undefined, undefined, 'xml'],
  ['/fhir/Patient?_format=json', 'application/fhir+xml', 'application/fhir+xml', 'json'],
  ['/fhir/Patient?_format=application/fhir%2Bjson', undefined, undefined, 'json'],
  ['/fhir/Patient?_format=html', undefined, undefined, 406],
  ['/fhir/Patient?_format=turtle', undefined, undefined, 406],
];

describe('responseFormat', () => {
  it.each(CASES)('%s with Accept %s and Content-Type %s: %s', (url, accept, contentType, expected) => {
    if (expected === 406) {
      expect(() => responseFormat(url, accept, contentType)).toThrow(expect.objectContaining({ status: 406 }));
    } else {
      expect(responseFormat(url, accept, contentType)).toBe(expected);
    }
  });
});
