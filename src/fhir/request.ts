/**
 * Transport-agnostic FHIR requests and responses. The node:http adapter (http/fhir-adapter.ts)
 * builds a FhirRequest, batch/transaction entries build them too, and interactions return a
 * FhirResponse; none of the FHIR semantics depends on the HTTP server in front.
 */
import type { OperationOutcome, Resource } from 'fhir/r4';
import type { Readable } from 'node:stream';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface FhirRequest {
  method: HttpMethod;
  /** Path below the FHIR base without leading slash, e.g. `Patient/123/_history/2`. */
  path: string;
  /** The query parameters in order (repeated names kept). */
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** Parsed JSON body (undefined when there is none). */
  body: unknown;
  /** Form body of `POST _search`, merged into query by the route. */
  form?: URLSearchParams;
  /** Route parameters filled by the router (`type`, `id`, `vid`, `compartment`, `operation`). */
  params: Record<string, string | undefined>;
  /** True for entries of a batch/transaction Bundle (some headers come from entry.request). */
  fromBundle?: boolean;
  /**
   * Set on a transaction's PUT entry whose conditional update matched nothing and got an id from
   * the server: a create with a fresh id, not an update-as-create with an id of the client's choosing.
   */
  assignedId?: boolean;
}

/** A response body: a resource object, or JSON text already serialized (hot path, no re-stringify). */
export type FhirBody = Resource | { json: string };

/**
 * A body streamed as it is read, never held in memory: Bulk Data NDJSON files. Only the HTTP
 * adapter consumes it (batch entries cannot carry one); it is destroyed unread for HEAD.
 */
export interface FhirStream {
  contentType: string;
  /** Byte length when known (Content-Length). */
  length?: number;
  body: Readable;
}

export interface FhirResponse {
  status: number;
  headers: Record<string, string>;
  body?: FhirBody;
  /** Issues about the request beside the body (profile warnings on a write): a Bundle entry's `response.outcome`. */
  outcome?: OperationOutcome;
  /** Instead of `body`: a streamed non-JSON body. */
  stream?: FhirStream;
}

/** Reads a header, also accepting the `_format`-style overrides used inside bundles. */
export function header(request: FhirRequest, name: string): string | undefined {
  const value = request.headers[name];
  return value === undefined || value === '' ? undefined : value;
}

/** `Prefer` header parsed into its tokens (`return`, `handling`, `respond-async`). */
export function preferences(request: FhirRequest): Record<string, string> {
  const raw = header(request, 'prefer');
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const part of raw.split(/[,;]/)) {
    const [key, value] = part.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (key) out[key.toLowerCase()] = (value ?? '').toLowerCase();
  }
  return out;
}
