/**
 * The non-compartment resources (Practitioner, Organization, Location, Medication ...) that the
 * resources in a patient's compartment reference: what `patient/` scopes reach beyond the
 * compartment itself. The set follows the data, so an answer is kept at most `windowMs` (the
 * revocation window, REVOCATION_CHECK_MS; 0 = computed for every request that needs it).
 */
import { patientCompartmentConditionForTypes, patientCompartmentTypes } from '../fhir/compartments.js';
import { extractIndex } from '../fhir/search/extract.js';
import { getSearchRegistry } from '../fhir/search/registry.js';
import type { ResourceStore } from '../storage/resource-store.js';
import type { ReferenceEntry } from '../storage/search-index.js';
import type { PolicyServices } from './token-policy.js';

/** Patients whose answers are kept at once. */
const MAX_PATIENTS = 1000;

export function createReferenceResolver(store: ResourceStore, fhirBaseUrl: string, windowMs: number): PolicyServices['referencedFromCompartment'] {
  const cache = new Map<string, { at: number; byType: Promise<Map<string, string[]>> }>();
  // Only reference rows are read below: extract just the reference parameters of each resource.
  const referenceParams = new Set(getSearchRegistry().definitions().filter((d) => d.type === 'reference').map((d) => d.code));
  const compute = async (patientId: string): Promise<Map<string, string[]>> => {
    const compartmentTypes = new Set(['Patient', ...patientCompartmentTypes()]);
    const byType = new Map<string, Set<string>>();
    const where = patientCompartmentConditionForTypes([...compartmentTypes], patientId);
    let cursor: string | undefined;
    do {
      const page = await store.search({ types: [...compartmentTypes], where, sort: [], limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const version of page.resources) {
        for (const row of extractIndex(version.resource!, { baseUrl: fhirBaseUrl, params: referenceParams })) {
          const ref = row as ReferenceEntry;
          if (row.table !== 'reference' || !ref.targetType || !ref.targetId || compartmentTypes.has(ref.targetType)) continue;
          let ids = byType.get(ref.targetType);
          if (!ids) byType.set(ref.targetType, (ids = new Set()));
          ids.add(ref.targetId);
        }
      }
      cursor = page.next;
    } while (cursor);
    return new Map([...byType].map(([type, ids]) => [type, [...ids]]));
  };
  return async (patientId, type) => {
    if (windowMs <= 0) return (await compute(patientId)).get(type) ?? [];
    let entry = cache.get(patientId);
    if (!entry || Date.now() - entry.at >= windowMs) {
      entry = { at: Date.now(), byType: compute(patientId) };
      cache.delete(patientId);
      cache.set(patientId, entry);
      if (cache.size > MAX_PATIENTS) cache.delete(cache.keys().next().value as string);
    }
    return (await entry.byType).get(type) ?? [];
  };
}
