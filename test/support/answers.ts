/**
 * Answers of the FHIR API compared for what they say about data: the access inference tests send
 * one request for a value that exists only outside a token's reach and one for a made-up value,
 * and require the two answers to be identical once the value itself, fresh ids and times are
 * taken out.
 */

export interface Answer {
  status: number;
  body: unknown;
}

/** One FHIR request with a bearer token; the body parsed when there is one. */
export async function fhirCall(
  fhirUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${fhirUrl}/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** Fields the server sets fresh on every answer. */
const FRESH_FIELDS = new Set(['lastUpdated', 'timestamp', 'etag', 'lastModified']);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * The answer as a string with every spelling of the probed `values` (as sent, percent-encoded
 * once or twice, form-encoded), UUIDs and fresh fields taken out: two answers that differ only
 * in those compare equal.
 */
export function comparable(answer: Answer, values: readonly string[]): string {
  const spellings = values
    .flatMap((v) => [v, encodeURIComponent(v), encodeURIComponent(encodeURIComponent(v)), new URLSearchParams({ v }).toString().slice(2)])
    .sort((a, b) => b.length - a.length);
  const scrub = (node: unknown): unknown => {
    if (typeof node === 'string') return spellings.reduce((s, v) => s.split(v).join('{value}'), node).replace(UUID, '{uuid}');
    if (Array.isArray(node)) return node.map(scrub);
    if (node && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) if (!FRESH_FIELDS.has(k)) out[k] = scrub(v);
      return out;
    }
    return node;
  };
  return JSON.stringify({ status: answer.status, body: scrub(answer.body) });
}
