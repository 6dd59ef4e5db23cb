/**
 * What the authorization server needs to know about FHIR data, read through Bedside's own FHIR
 * API in-process:
 * - for a signed-in user, the patients they may select as patient context and those patients'
 *   encounters: the store is bound to that user's selection policy (the user policy,
 *   access/user-policy.ts), so a patient outside it is exactly as absent as one that does not
 *   exist;
 * - lookups by reference or identifier that no page lists (a user's fhirUser, for claim mappings,
 *   federation and the admin pages; whether an EHR launch's references exist), with the store
 *   bound to the directory's own lookup policy.
 */
import type { Bundle, Encounter, HumanName, Patient, Resource } from 'fhir/r4';
import type { GuardedStore } from '../access/guarded-store.js';
import type { SignedInUser } from '../access/resource-access.js';
import type { FhirApi } from '../fhir/api.js';
import { requestContext, type FhirServices } from '../fhir/context.js';
import type { FhirResponse } from '../fhir/request.js';
import type { EncounterChoice, PatientChoice } from './views/picker.js';

/** The patients one user may select, and their encounters. */
export interface SelectablePatients {
  /** Selectable patients whose name matches `text` (all of them for empty text), by family name. */
  search(text: string, limit?: number): Promise<PatientChoice[]>;
  /** The patient, when the user may select it; undefined both when it does not exist and when it is not theirs. */
  get(id: string): Promise<PatientChoice | undefined>;
  encounters(patientId: string, limit?: number): Promise<EncounterChoice[]>;
  /** Whether the user may select any patient at all. */
  any(): Promise<boolean>;
}

export interface PatientDirectory {
  /** What `user` may select (the same rule for the picker, EHR launch completion and consent). */
  forUser(user: SignedInUser): SelectablePatients;
  /** Whether `Type/id` names a live resource. */
  exists(reference: string): Promise<boolean>;
  /** The live resource `Type/id` (a user's fhirUser, for claim mappings). */
  read(reference: string): Promise<Resource | undefined>;
  /** Resources of `type` matching a FHIR search (federation's fhirUser lookup by identifier). */
  find(type: string, query: Record<string, string>, limit?: number): Promise<Resource[]>;
}

/** The stores the directory reads through. */
export interface DirectoryStores {
  /** For lookups by reference or identifier. */
  lookups: GuardedStore;
  /** Bound to the selection policy of `user`. */
  forUser(user: SignedInUser): GuardedStore;
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

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

/** GET through the FHIR API with `store`; undefined for anything but 200. */
function reader(api: FhirApi, services: FhirServices, store: GuardedStore) {
  return async (path: string, query: Record<string, string> = {}): Promise<Resource | undefined> => {
    try {
      const response = await api.dispatch(requestContext(services, store, 'auth'), { method: 'GET', path, query: new URLSearchParams(query), headers: {}, body: undefined, params: {} });
      return response.status === 200 ? bodyOf<Resource>(response) : undefined;
    } catch {
      return undefined;
    }
  };
}

const entries = <T extends Resource>(bundle: Resource | undefined): T[] =>
  ((bundle as Bundle | undefined)?.entry ?? []).map((e) => e.resource as T).filter((r): r is T => r !== undefined);

function selectablePatients(get: ReturnType<typeof reader>): SelectablePatients {
  return {
    async search(text, limit = 50) {
      const query: Record<string, string> = { _count: String(limit), _sort: 'family' };
      if (text.trim()) query.name = text.trim();
      return entries<Patient>(await get('Patient', query)).map(toPatientChoice);
    },
    async get(id) {
      if (!ID.test(id)) return undefined;
      const patient = (await get(`Patient/${id}`)) as Patient | undefined;
      return patient?.resourceType === 'Patient' ? toPatientChoice(patient) : undefined;
    },
    async encounters(patientId, limit = 20) {
      if (!ID.test(patientId)) return [];
      return entries<Encounter>(await get('Encounter', { patient: patientId, _sort: '-date', _count: String(limit) })).map((e) => ({
        id: e.id!,
        label: [e.type?.[0]?.text ?? e.type?.[0]?.coding?.[0]?.display ?? e.class?.display ?? e.class?.code ?? 'Encounter', e.period?.start?.slice(0, 10), e.status]
          .filter(Boolean)
          .join(' · '),
      }));
    },
    async any() {
      return entries(await get('Patient', { _count: '1', _elements: 'id' })).length > 0;
    },
  };
}

export function createPatientDirectory(api: FhirApi, services: FhirServices, stores: DirectoryStores): PatientDirectory {
  const lookup = reader(api, services, stores.lookups);
  return {
    forUser: (user) => selectablePatients(reader(api, services, stores.forUser(user))),
    async exists(reference) {
      return REFERENCE.test(reference) ? (await lookup(reference)) !== undefined : false;
    },
    async read(reference) {
      return REFERENCE.test(reference) ? lookup(reference) : undefined;
    },
    async find(type, query, limit = 10) {
      return /^[A-Z][A-Za-z]+$/.test(type) ? entries(await lookup(type, { ...query, _count: String(limit) })) : [];
    },
  };
}
