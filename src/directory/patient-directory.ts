/**
 * What Bedside's own pages need to know about the FHIR data, read through Bedside's FHIR API
 * in-process with a store bound to a policy (access/resource-access.ts), so that a resource the
 * policy does not reach is exactly as absent as one that does not exist:
 * - patients by name, one patient, a patient's encounters, practitioners: the sign-in pages'
 *   patient and encounter pickers (the store bound to the user's selection policy) and the
 *   launcher's directory (the store bound to its caller's policy);
 * - lookups by reference or identifier that no page lists (a user's fhirUser for claim mappings,
 *   federation and the admin pages; whether an EHR launch's references exist).
 * Results are cut down to the few fields a person needs to choose (name, birth date, MRN, ...).
 */
import type { Bundle, Encounter, HumanName, Identifier, Patient, Practitioner, Resource } from 'fhir/r4';
import type { GuardedStore } from '../access/guarded-store.js';
import type { SignedInUser } from '../access/resource-access.js';
import type { FhirApi } from '../fhir/api.js';
import { requestContext, type FhirServices } from '../fhir/context.js';
import type { FhirResponse } from '../fhir/request.js';
import { FhirError } from '../r4/errors.js';
import { isFhirId, parseRelativeReference } from '../r4/ids.js';

export interface PatientSummary {
  id: string;
  name: string;
  gender?: string;
  birthDate?: string;
  /** Medical record number (identifier of type MR). */
  mrn?: string;
}

export interface EncounterSummary {
  id: string;
  /** What kind of encounter and when (`Ambulatory · 2024-03-01`). */
  label: string;
  start?: string;
  status?: string;
}

export interface PractitionerSummary {
  id: string;
  name: string;
  /** Qualification or specialty text, when recorded. */
  role?: string;
}

/** What one store (one policy) lets a page see. */
export interface Directory {
  /** Patients whose name matches `text` (all of them for empty text), by family name. */
  patients(text: string, limit?: number): Promise<PatientSummary[]>;
  /** The patient; undefined both when it does not exist and when the policy does not reach it. */
  patient(id: string): Promise<PatientSummary | undefined>;
  /** The patient's encounters, newest first. */
  encounters(patientId: string, limit?: number): Promise<EncounterSummary[]>;
  /** Whether the policy reaches any patient at all. */
  anyPatient(): Promise<boolean>;
  practitioners(text: string, limit?: number): Promise<PractitionerSummary[]>;
  practitioner(id: string): Promise<PractitionerSummary | undefined>;
  /** The live resource `Type/id`. */
  read(reference: string): Promise<Resource | undefined>;
  /** Whether `Type/id` names a live resource. */
  exists(reference: string): Promise<boolean>;
  /** Resources of `type` matching a FHIR search (e.g. by identifier). */
  find(type: string, query: Record<string, string>, limit?: number): Promise<Resource[]>;
}

/** The patients one signed-in user may select as patient context, and their encounters. */
export type SelectablePatients = Pick<Directory, 'patients' | 'patient' | 'encounters' | 'anyPatient'>;

/** What the authorization server reads: a user's selectable patients, and lookups by reference or identifier. */
export interface PatientDirectory extends Pick<Directory, 'read' | 'exists' | 'find'> {
  /** What `user` may select (the same rule for the picker, EHR launch completion and consent). */
  forUser(user: SignedInUser): SelectablePatients;
}

/** The stores the authorization server's directory reads through. */
export interface DirectoryStores {
  /** For lookups by reference or identifier. */
  lookups: GuardedStore;
  /** Bound to the selection policy of `user`. */
  forUser(user: SignedInUser): GuardedStore;
}

const RESOURCE_TYPE = /^[A-Z][A-Za-z]+$/;
const PAGE = 50;

/** A person's name as one line: the official name (or the first), prefix, given, family and suffix. */
export function displayName(names: HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === 'official') ?? names?.[0];
  if (!name) return 'Unnamed';
  return name.text ?? [...(name.prefix ?? []), ...(name.given ?? []), name.family, ...(name.suffix ?? [])].filter(Boolean).join(' ');
}

const mrnOf = (identifiers: Identifier[] | undefined): string | undefined => identifiers?.find((i) => i.type?.coding?.some((c) => c.code === 'MR'))?.value;

function toPatient(p: Patient): PatientSummary {
  const mrn = mrnOf(p.identifier);
  return {
    id: p.id!,
    name: displayName(p.name),
    ...(p.gender ? { gender: p.gender } : {}),
    ...(p.birthDate ? { birthDate: p.birthDate } : {}),
    ...(mrn ? { mrn } : {}),
  };
}

function toPractitioner(p: Practitioner): PractitionerSummary {
  const role = p.qualification?.[0]?.code?.text ?? p.qualification?.[0]?.code?.coding?.[0]?.display;
  return { id: p.id!, name: displayName(p.name), ...(role ? { role } : {}) };
}

function toEncounter(e: Encounter): EncounterSummary {
  const kind = e.type?.[0]?.text ?? e.type?.[0]?.coding?.[0]?.display ?? e.class?.display ?? e.class?.code ?? 'Encounter';
  const start = e.period?.start;
  return { id: e.id!, label: [kind, start?.slice(0, 10)].filter(Boolean).join(' · '), ...(start ? { start } : {}), ...(e.status ? { status: e.status } : {}) };
}

function bodyOf(response: FhirResponse): Resource | undefined {
  if (response.status !== 200 || !response.body) return undefined;
  return ('json' in response.body ? JSON.parse(response.body.json) : response.body) as Resource;
}

/** The resources of `type` in a search Bundle. */
function entries<T extends Resource>(bundle: Resource | undefined, type: string): T[] {
  return ((bundle as Bundle | undefined)?.entry ?? []).map((e) => e.resource as Resource | undefined).filter((r): r is T => r?.resourceType === type);
}

const byName = (text: string, limit: number): Record<string, string> => ({
  _count: String(limit),
  _sort: 'family',
  ...(text.trim() ? { name: text.trim().slice(0, 100) } : {}),
});

/**
 * A directory over `store`, reading through the FHIR API in-process (`requestId` names the reader
 * in logs and audit records). What the store's policy refuses (a 4xx) reads as absent; a server
 * error is thrown.
 */
export function createDirectory(api: FhirApi, services: FhirServices, store: GuardedStore, requestId: string): Directory {
  const get = async (path: string, query: Record<string, string> = {}): Promise<Resource | undefined> => {
    try {
      return bodyOf(
        await api.dispatch(requestContext(services, store, requestId), {
          method: 'GET',
          path,
          query: new URLSearchParams(query),
          headers: {},
          body: undefined,
          params: {},
        }),
      );
    } catch (error) {
      if (error instanceof FhirError && error.status < 500) return undefined;
      throw error;
    }
  };
  const read = async (reference: string) => (parseRelativeReference(reference) ? get(reference) : undefined);
  const one = async <T extends Resource>(type: string, id: string) => (isFhirId(id) ? ((await read(`${type}/${id}`)) as T | undefined) : undefined);
  return {
    patients: async (text, limit = PAGE) => entries<Patient>(await get('Patient', byName(text, limit)), 'Patient').map(toPatient),
    patient: async (id) => {
      const patient = await one<Patient>('Patient', id);
      return patient?.resourceType === 'Patient' ? toPatient(patient) : undefined;
    },
    encounters: async (patientId, limit = PAGE) =>
      isFhirId(patientId)
        ? entries<Encounter>(await get('Encounter', { patient: patientId, _sort: '-date', _count: String(limit) }), 'Encounter').map(toEncounter)
        : [],
    anyPatient: async () => entries(await get('Patient', { _count: '1', _elements: 'id' }), 'Patient').length > 0,
    practitioners: async (text, limit = PAGE) => entries<Practitioner>(await get('Practitioner', byName(text, limit)), 'Practitioner').map(toPractitioner),
    practitioner: async (id) => {
      const practitioner = await one<Practitioner>('Practitioner', id);
      return practitioner?.resourceType === 'Practitioner' ? toPractitioner(practitioner) : undefined;
    },
    read,
    exists: async (reference) => (await read(reference)) !== undefined,
    find: async (type, query, limit = 10) => (RESOURCE_TYPE.test(type) ? entries(await get(type, { ...query, _count: String(limit) }), type) : []),
  };
}

/** The authorization server's directory: each user's selectable patients, and lookups through the lookup store. */
export function createPatientDirectory(api: FhirApi, services: FhirServices, stores: DirectoryStores): PatientDirectory {
  const { read, exists, find } = createDirectory(api, services, stores.lookups, 'auth');
  return { read, exists, find, forUser: (user) => createDirectory(api, services, stores.forUser(user), 'auth') };
}
