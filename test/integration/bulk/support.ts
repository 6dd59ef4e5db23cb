/**
 * A Bulk Data client for the tests, speaking the protocol: kick-off, polling the status URL,
 * downloading NDJSON files, all with bearer tokens.
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html
 */
import type { Resource } from 'fhir/r4';

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Array<{ type: string; url: string; count: number }>;
  error: Array<{ type: string; url: string; count: number }>;
}

export interface KickOffOptions {
  method?: 'GET' | 'POST';
  /** Query string parameters (GET) or appended to the URL (POST). */
  query?: Record<string, string | string[]>;
  /** A Parameters body (POST). */
  parameters?: Array<Record<string, unknown>>;
  headers?: Record<string, string>;
}

/** Sends a kick-off request; `path` is `$export`, `Patient/$export` or `Group/{id}/$export`. */
export async function kickOff(fhirBase: string, token: string | undefined, path: string, options: KickOffOptions = {}): Promise<Response> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(options.query ?? {})) for (const v of [value].flat()) query.append(name, v);
  const method = options.method ?? (options.parameters ? 'POST' : 'GET');
  return fetch(`${fhirBase}/${path}${query.size ? `?${query}` : ''}`, {
    method,
    headers: {
      accept: 'application/fhir+json',
      prefer: 'respond-async',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(options.parameters ? { 'content-type': 'application/fhir+json' } : {}),
      ...options.headers,
    },
    ...(options.parameters ? { body: JSON.stringify({ resourceType: 'Parameters', parameter: options.parameters }) } : {}),
  });
}

/** Kicks off and returns the status URL, failing with the OperationOutcome when it is not a 202. */
export async function startExport(fhirBase: string, token: string, path: string, options: KickOffOptions = {}): Promise<string> {
  const response = await kickOff(fhirBase, token, path, options);
  if (response.status !== 202) throw new Error(`kick-off ${path} answered ${response.status}: ${await response.text()}`);
  await response.body?.cancel();
  return response.headers.get('content-location')!;
}

export interface Poll {
  manifest: Manifest;
  response: Response;
  /** The 202 answers seen before completion. */
  inProgress: Response[];
}

/** Polls the status URL until it is no longer 202. */
export async function pollStatus(statusUrl: string, token: string, timeoutMs = 30_000): Promise<Poll> {
  const inProgress: Response[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 202) {
      if (response.status !== 200) throw new Error(`status answered ${response.status}: ${await response.text()}`);
      return { manifest: (await response.json()) as Manifest, response, inProgress };
    }
    await response.body?.cancel();
    inProgress.push(response);
    if (Date.now() > deadline) throw new Error(`export not finished after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kick-off, then wait for the manifest. */
export async function runExport(fhirBase: string, token: string, path: string, options: KickOffOptions = {}): Promise<Manifest> {
  return (await pollStatus(await startExport(fhirBase, token, path, options), token)).manifest;
}

/** Downloads one file and parses its lines. */
export async function download(url: string, token: string): Promise<{ response: Response; resources: Resource[]; text: string }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
  const text = await response.text();
  if (response.status !== 200) return { response, resources: [], text };
  const resources = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Resource);
  return { response, resources, text };
}

/** Every resource of a manifest's output files, by type. */
export async function downloadAll(manifest: Manifest, token: string): Promise<Map<string, Resource[]>> {
  const byType = new Map<string, Resource[]>();
  for (const file of manifest.output) {
    const { resources } = await download(file.url, token);
    byType.set(file.type, [...(byType.get(file.type) ?? []), ...resources]);
  }
  return byType;
}

/** The Patient ids a resource's compartment references point at (subject, patient, ...; the Patient itself). */
export function patientsOf(resource: Resource): Set<string> {
  if (resource.resourceType === 'Patient') return new Set([resource.id!]);
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const reference = (value as { reference?: unknown }).reference;
      if (typeof reference === 'string' && reference.startsWith('Patient/')) found.add(reference.slice('Patient/'.length));
      Object.values(value).forEach(visit);
    }
  };
  visit(resource);
  return found;
}
