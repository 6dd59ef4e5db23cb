/**
 * Bundles built as JSON text around the stored JSON of each resource, so a search or history
 * page never parses and re-serializes the resources it returns.
 * https://hl7.org/fhir/R4/bundle.html
 */
import { randomUUID } from 'node:crypto';

export interface BundleLink {
  relation: 'self' | 'next' | 'previous' | 'first' | 'last';
  url: string;
}

/** One entry: the resource as JSON text (or absent), plus the other entry fields as an object. */
export interface BundleEntryJson {
  fullUrl?: string;
  /** The resource's JSON text. */
  resourceJson?: string;
  /** search / request / response members of the entry. */
  rest?: Record<string, unknown>;
}

export function bundleJson(
  type: 'searchset' | 'history' | 'batch-response' | 'transaction-response',
  options: {
    total?: number;
    links?: BundleLink[];
    entries: BundleEntryJson[];
    timestamp?: string;
  },
): string {
  const head: Record<string, unknown> = {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { lastUpdated: options.timestamp ?? new Date().toISOString() },
    type,
  };
  if (options.total !== undefined) head.total = options.total;
  if (options.links?.length) head.link = options.links;
  const headText = JSON.stringify(head);
  if (options.entries.length === 0) return headText;
  const entries = options.entries.map(entryJson);
  return `${headText.slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

function entryJson(entry: BundleEntryJson): string {
  const parts: string[] = [];
  if (entry.fullUrl !== undefined) parts.push(`"fullUrl":${JSON.stringify(entry.fullUrl)}`);
  if (entry.resourceJson !== undefined) parts.push(`"resource":${entry.resourceJson}`);
  for (const [key, value] of Object.entries(entry.rest ?? {})) {
    if (value !== undefined) parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The URL of this page (self link): the FHIR base + path + query in the client's order. */
export function pageUrl(fhirBase: string, path: string, query: URLSearchParams): string {
  const q = query.toString();
  return `${fhirBase}/${path}${q ? `?${q}` : ''}`;
}

/** `query` with `_cursor` replaced. */
export function withCursor(query: URLSearchParams, cursor: string): URLSearchParams {
  const next = new URLSearchParams(query);
  next.delete('_cursor');
  next.append('_cursor', cursor);
  return next;
}
