/**
 * The sample app's reads, with fhir-kit-client and the access token: the patient and five kinds
 * of records, each read on its own so that one refused type (403: not granted) or a revoked token
 * (401) is reported where it happened while the rest still shows.
 */
import type { Bundle, OperationOutcome, Resource } from 'fhir/r4';
import { Client } from 'fhir-kit-client';

export type ReadResult<T> =
  | { ok: true; resources: T[] }
  | { ok: false; status: number; kind: 'not-granted' | 'token-refused' | 'failed'; message: string; neededScope?: string };

/** What each section reads: a type and its search. */
export const SECTIONS = {
  vitals: { resourceType: 'Observation', params: { category: 'vital-signs', _sort: 'date', _count: '200' }, label: 'Vital signs' },
  conditions: { resourceType: 'Condition', params: { _count: '100' }, label: 'Conditions' },
  medications: { resourceType: 'MedicationRequest', params: { _count: '100' }, label: 'Medications' },
  allergies: { resourceType: 'AllergyIntolerance', params: { _count: '100' }, label: 'Allergies' },
  immunizations: { resourceType: 'Immunization', params: { _count: '100' }, label: 'Immunizations' },
} as const;

export type SectionName = keyof typeof SECTIONS;

const MAX_PAGES = 5;

export function fhirClient(iss: string, accessToken: string): Client {
  // Every read goes to the server: a browser may otherwise answer a GET from its cache (responses
  // with Last-Modified are heuristically cacheable), hiding a revocation or a change of scopes.
  return new Client({ baseUrl: iss, bearerToken: accessToken, requestOptions: { cache: 'no-store' } });
}

interface HttpError {
  response?: { status?: number; data?: unknown };
  config?: { headers?: Headers };
}

/** Turns a failed request into words: 403 = a type the token was not granted, 401 = token refused. */
export function explainFailure(error: unknown, what: string): Extract<ReadResult<never>, { ok: false }> {
  const http = error as HttpError;
  const status = http.response?.status ?? 0;
  const outcome = http.response?.data as OperationOutcome | undefined;
  const diagnostics = outcome?.issue
    ?.map((i) => i.diagnostics ?? i.details?.text)
    .filter(Boolean)
    .join('; ');
  const challenge = http.config?.headers?.get?.('www-authenticate') ?? '';
  const neededScope = /scope="([^"]+)"/.exec(challenge)?.[1];
  if (status === 403) {
    return {
      ok: false,
      status,
      kind: 'not-granted',
      message: `Not granted: the access token does not allow reading ${what} (403 Forbidden${diagnostics ? `: ${diagnostics}` : ''}).`,
      ...(neededScope ? { neededScope } : {}),
    };
  }
  if (status === 401) {
    return { ok: false, status, kind: 'token-refused', message: `Refused: 401 Unauthorized${diagnostics ? ` (${diagnostics})` : ''}.` };
  }
  const reason = status ? `HTTP ${status}${diagnostics ? `: ${diagnostics}` : ''}` : error instanceof Error ? error.message : String(error);
  return { ok: false, status, kind: 'failed', message: `Could not read ${what} (${reason}).` };
}

export async function readResource<T extends Resource>(client: Client, resourceType: string, id: string): Promise<ReadResult<T>> {
  try {
    return { ok: true, resources: [(await client.read({ resourceType, id })) as unknown as T] };
  } catch (error) {
    return explainFailure(error, `${resourceType}/${id}`);
  }
}

/** Searches one type in the patient's records, following `next` links for a few pages. */
export async function searchPatientRecords<T extends Resource>(client: Client, section: SectionName, patientId: string): Promise<ReadResult<T>> {
  const { resourceType, params } = SECTIONS[section];
  try {
    let bundle = (await client.search({ resourceType, searchParams: { patient: patientId, ...params } })) as unknown as Bundle;
    const resources: T[] = [];
    for (let page = 1; ; page++) {
      for (const entry of bundle.entry ?? [])
        if (entry.resource?.resourceType === resourceType && entry.search?.mode !== 'include') resources.push(entry.resource as unknown as T);
      const next = page < MAX_PAGES ? client.nextPage({ bundle: bundle as never }) : undefined;
      if (!next) break;
      bundle = (await next) as unknown as Bundle;
    }
    return { ok: true, resources };
  } catch (error) {
    return explainFailure(error, `${resourceType} resources`);
  }
}
