/**
 * What the access policy looks up in the data, by reference, with the raw store:
 * - the non-compartment resources (Practitioner, Organization, Location, Medication ...) that the
 *   resources in a patient's compartment reference: what `patient/` scopes reach beyond the
 *   compartment itself;
 * - the patients linked to a practitioner (rules.ts PRACTITIONER_LINKS): whom the practitioner
 *   may see under PRACTITIONER_PATIENTS=linked.
 * Both follow the data, so an answer is kept at most `windowMs` (the revocation window,
 * REVOCATION_CHECK_MS; 0 = computed for every request that needs it).
 */
import { patientCompartmentConditionForTypes, patientCompartmentTypes } from '../fhir/compartments.js';
import { extractIndex } from '../fhir/search/extract.js';
import { getSearchRegistry } from '../fhir/search/registry.js';
import type { ResourceStore, SearchRequest, StoredVersion } from '../storage/resource-store.js';
import type { ReferenceEntry } from '../storage/search-index.js';
import { PRACTITIONER_LINKS } from './rules.js';
import type { PolicyServices } from './token-policy.js';

/** Keys (patients, practitioners) whose answers are kept at once. */
const MAX_KEYS = 1000;
const PAGE = 1000;

/** `compute(key)`, remembered for `windowMs` (least recently computed dropped first beyond MAX_KEYS). */
function windowed<T>(windowMs: number, compute: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const cache = new Map<string, { at: number; value: Promise<T> }>();
  return (key) => {
    if (windowMs <= 0) return compute(key);
    let entry = cache.get(key);
    if (!entry || Date.now() - entry.at >= windowMs) {
      entry = { at: Date.now(), value: compute(key) };
      cache.delete(key);
      cache.set(key, entry);
      if (cache.size > MAX_KEYS) cache.delete(cache.keys().next().value as string);
    }
    return entry.value;
  };
}

/** Every current version matching `request`, page by page. */
async function* everything(store: ResourceStore, request: Omit<SearchRequest, 'limit' | 'cursor' | 'sort'>): AsyncIterable<StoredVersion> {
  let cursor: string | undefined;
  do {
    const page = await store.search({ ...request, sort: [], limit: PAGE, ...(cursor ? { cursor } : {}) });
    yield* page.resources;
    cursor = page.next;
  } while (cursor);
}

/** Local references of `version` in `params`, as index rows. */
function referencesOf(version: StoredVersion, fhirBaseUrl: string, params: ReadonlySet<string>): ReferenceEntry[] {
  return extractIndex(version.resource!, { baseUrl: fhirBaseUrl, params }).filter((row): row is ReferenceEntry => row.table === 'reference');
}

export function createReferenceResolver(store: ResourceStore, fhirBaseUrl: string, windowMs: number): PolicyServices['referencedFromCompartment'] {
  // Only reference rows are read below: extract just the reference parameters of each resource.
  const referenceParams = new Set(getSearchRegistry().definitions().filter((d) => d.type === 'reference').map((d) => d.code));
  const compute = async (patientId: string): Promise<Map<string, string[]>> => {
    const compartmentTypes = new Set(['Patient', ...patientCompartmentTypes()]);
    const byType = new Map<string, Set<string>>();
    const where = patientCompartmentConditionForTypes([...compartmentTypes], patientId);
    for await (const version of everything(store, { types: [...compartmentTypes], where })) {
      for (const ref of referencesOf(version, fhirBaseUrl, referenceParams)) {
        if (!ref.targetType || !ref.targetId || compartmentTypes.has(ref.targetType)) continue;
        let ids = byType.get(ref.targetType);
        if (!ids) byType.set(ref.targetType, (ids = new Set()));
        ids.add(ref.targetId);
      }
    }
    return new Map([...byType].map(([type, ids]) => [type, [...ids]]));
  };
  const referenced = windowed(windowMs, compute);
  return async (patientId, type) => (await referenced(patientId)).get(type) ?? [];
}

export function createLinkResolver(store: ResourceStore, fhirBaseUrl: string, windowMs: number): PolicyServices['linkedPatients'] {
  const compute = async (fhirUser: string): Promise<string[]> => {
    const patients = new Set<string>();
    for (const link of PRACTITIONER_LINKS) {
      const where = { op: 'row' as const, table: 'reference' as const, param: link.via, where: [{ field: 'value' as const, cmp: 'eq' as const, value: fhirUser }] };
      const patientParam = new Set([link.patient]);
      for await (const version of everything(store, { types: [link.type], where })) {
        if (link.patient === 'self') patients.add(version.id);
        else for (const ref of referencesOf(version, fhirBaseUrl, patientParam)) if (ref.targetType === 'Patient' && ref.targetId) patients.add(ref.targetId);
      }
    }
    return [...patients].sort();
  };
  return windowed(windowMs, compute);
}
