/**
 * Which format a FHIR request is answered in, FHIR JSON or FHIR XML, and which request bodies are
 * FHIR XML (https://hl7.org/fhir/R4/http.html#mime-type, https://hl7.org/fhir/R4/formats.html).
 *
 * `_format` wins over Accept. Accept is negotiated by quality; equal qualities go to the type the
 * client listed first. Without a preference (no Accept, or only `*` ranges) the answer is in
 * the format of the request body, else JSON, so JSON stays the default. 406 only when neither
 * format is acceptable.
 */
import { notAcceptable } from '../r4/errors.js';

export type WireFormat = 'json' | 'xml';

export const FHIR_XML_TYPE = 'application/fhir+xml; charset=utf-8';

const FORMAT_PARAM: Record<string, WireFormat> = {
  json: 'json',
  'application/json': 'json',
  'application/fhir+json': 'json',
  'application/json+fhir': 'json',
  'text/json': 'json',
  xml: 'xml',
  'text/xml': 'xml',
  'application/xml': 'xml',
  'application/fhir+xml': 'xml',
  'application/xml+fhir': 'xml',
};

const XML_BODY_TYPES = new Set(['application/fhir+xml', 'application/xml', 'text/xml', 'application/xml+fhir']);

/** Whether a request Content-Type (lower-cased, without parameters) is FHIR XML. */
export function isXmlBodyType(contentType: string): boolean {
  return XML_BODY_TYPES.has(contentType);
}

/**
 * The format of the answer to a request, from its raw URL, Accept and Content-Type headers.
 * Throws 406 for a `_format` or an Accept that neither format satisfies.
 */
export function responseFormat(url: string, accept: string | undefined, contentType: string | undefined): WireFormat {
  const format = url.includes('_format=') ? formatParam(url) : undefined;
  if (format !== undefined) {
    // An unencoded `+` (`_format=application/fhir+xml`) arrives as a space.
    const chosen = FORMAT_PARAM[format.split(';')[0]!.trim().toLowerCase().replace(/ /g, '+')];
    if (!chosen) throw notAcceptable(`_format=${format.slice(0, 40)} is not supported; use json or xml`);
    return chosen;
  }
  const fallback: WireFormat = contentType !== undefined && isXmlBodyType(contentType.split(';')[0]!.trim().toLowerCase()) ? 'xml' : 'json';
  if (!accept) return fallback;
  // The common case costs three tests: an Accept that names JSON, without XML or qualities.
  if (/json/i.test(accept) && !/xml|q=/i.test(accept)) return 'json';
  return negotiate(accept, fallback);
}

function formatParam(url: string): string | undefined {
  const q = url.indexOf('?');
  return q < 0 ? undefined : (new URLSearchParams(url.slice(q + 1)).get('_format') ?? undefined);
}

interface Range {
  type: string;
  subtype: string;
  q: number;
  order: number;
}

/** RFC 9110 §12.5.1: the quality of each format is that of the most specific range that matches it. */
function negotiate(accept: string, fallback: WireFormat): WireFormat {
  const ranges: Range[] = [];
  for (const [order, part] of accept.split(',').entries()) {
    const [mediaRange, ...params] = part.split(';');
    const [type = '', subtype = ''] = mediaRange!.trim().toLowerCase().split('/');
    const qParam = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (type && subtype && Number.isFinite(q)) ranges.push({ type, subtype, q, order });
  }
  const json = quality(ranges, (r) => r.subtype.includes('json'));
  const xml = quality(ranges, (r) => r.subtype === 'xml' || r.subtype === 'fhir+xml' || r.subtype === 'xml+fhir');
  if (json.q <= 0 && xml.q <= 0) {
    throw notAcceptable(`Accept: ${accept.slice(0, 60)} cannot be served; Bedside answers application/fhir+json or application/fhir+xml`);
  }
  if (json.q !== xml.q) return json.q > xml.q ? 'json' : 'xml';
  if (json.specific !== xml.specific) return json.specific ? 'json' : 'xml';
  if (json.specific) return json.order <= xml.order ? 'json' : 'xml';
  return fallback;
}

/** The quality of the most specific matching range: a named type, then `type/*`, then `*\/*`. */
function quality(ranges: Range[], named: (r: Range) => boolean): { q: number; specific: boolean; order: number } {
  let best: { q: number; specific: boolean; order: number; rank: number } = { q: 0, specific: false, order: Infinity, rank: -1 };
  for (const r of ranges) {
    const rank =
      r.type !== '*' && r.subtype !== '*'
        ? named(r) && (r.type === 'application' || r.type === 'text')
          ? 2
          : -1
        : r.type === '*'
          ? 0
          : r.type === 'application' || r.type === 'text'
            ? 1
            : -1;
    if (rank > best.rank) best = { q: r.q, specific: rank === 2, order: r.order, rank };
  }
  return best;
}
