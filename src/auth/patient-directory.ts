/**
 * What the authorization server needs to know about FHIR data: patients to pick from, a
 * patient's encounters, whether a launch's references exist. Read through Bedside's own FHIR
 * API in-process, with the store bound to the directory's own policy (what it may look up).
 */
import type { Bundle, Encounter, HumanName, Patient, Resource } from 'fhir/r4';
import type { GuardedStore } from '../access/guarded-store.js';
import type { FhirApi } from '../fhir/api.js';
import { requestContext, type FhirServices } from '../fhir/context.js';
import type { FhirResponse } from '../fhir/request.js';
import type { EncounterChoice, PatientChoice } from './views/picker.js';

export interface PatientDirectory {
  search(text: string, limit?: number): Promise<PatientChoice[]>;
  get(id: string): Promise<PatientChoice | undefined>;
  encounters(patientId: string, limit?: number): Promise<EncounterChoice[]>;
  /** Whether `Type/id` names a live resource. */
  exists(reference: string): Promise<boolean>;
  /** The live resource `Type/id` (a user's fhirUser, for claim mappings). */
  read(reference: string): Promise<Resource | undefined>;
  /** Resources of `type` matching a FHIR search (federation's fhirUser lookup by identifier). */
  find(type: string, query: Record<string, string>, limit?: number): Promise<Resource[]>;
}

export function formatName(names: HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === 'official') ?? names?.[0];
  if (!name) return 'Unnamed';
  return name.text ?? [...(name.prefix ?? []), ...(name.given ?? []), name.family].filter(Boolean).join(' ');
}

function toPatientChoice(p: Patient): PatientChoice {
  return { id: p.id!, name: formatName(p.name), ...(p.birthDate ? { birthDate: p.birthDate } : {}), ...(p.gender ? { gender: p.gender } : {}) };
}

function bodyOf<T>(response: FhirResponse): T | undefined {
  if (!response.body) return undefined;
  return ('json' in response.body && typeof response.body.json === 'string' ? JSON.parse(response.body.json) : response.body) as T;
}

export function createPatientDirectory(api: FhirApi, services: FhirServices, store: GuardedStore): PatientDirectory {
  const get = async (path: string, query: Record<string, string> = {}): Promise<Resource | undefined> => {
    try {
      const response = await api.dispatch(
        requestContext(services, store, 'auth'),
        { method: 'GET', path, query: new URLSearchParams(query), headers: {}, body: undefined, params: {} },
      );
      return response.status === 200 ? bodyOf<Resource>(response) : undefined;
    } catch {
      return undefined;
    }
  };
  const entries = <T extends Resource>(bundle: Resource | undefined): T[] =>
    ((bundle as Bundle | undefined)?.entry ?? []).map((e) => e.resource as T).filter((r): r is T => r !== undefined);

  return {
    async search(text, limit = 50) {
      const query: Record<string, string> = { _count: String(limit), _sort: 'family' };
      if (text.trim()) query.name = text.trim();
      return entries<Patient>(await get('Patient', query)).map(toPatientChoice);
    },
    async get(id) {
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return undefined;
      const patient = (await get(`Patient/${id}`)) as Patient | undefined;
      return patient?.resourceType === 'Patient' ? toPatientChoice(patient) : undefined;
    },
    async encounters(patientId, limit = 20) {
      return entries<Encounter>(await get('Encounter', { patient: patientId, _sort: '-date', _count: String(limit) })).map((e) => ({
        id: e.id!,
        label: [e.type?.[0]?.text ?? e.type?.[0]?.coding?.[0]?.display ?? e.class?.display ?? e.class?.code ?? 'Encounter', e.period?.start?.slice(0, 10), e.status]
          .filter(Boolean)
          .join(' · '),
      }));
    },
    async exists(reference) {
      const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
      return m ? (await get(reference)) !== undefined : false;
    },
    async read(reference) {
      return /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(reference) ? get(reference) : undefined;
    },
    async find(type, query, limit = 10) {
      return /^[A-Z][A-Za-z]+$/.test(type) ? entries(await get(type, { ...query, _count: String(limit) })) : [];
    },
  };
}
