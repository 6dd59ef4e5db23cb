/**
 * What the launcher page needs to know about the FHIR data: patients, a patient's encounters and
 * practitioners to choose a launch context from, and a patient's banner details. Read through
 * Bedside's own FHIR API in-process with the stores bound to the caller's policies (the sandbox's
 * own, an operator's user policy, a client token's scopes: see index.ts), and cut down to the few
 * fields a learner needs to choose; the FHIR API itself stays closed to the launcher page. What a
 * policy does not reach is simply not listed.
 */
import type { Bundle, Encounter, HumanName, Identifier, Patient, Practitioner, Resource } from 'fhir/r4';
import type { GuardedStore } from '../access/guarded-store.js';
import type { FhirApi } from '../fhir/api.js';
import { requestContext, type FhirServices } from '../fhir/context.js';
import { FhirError } from '../fhir/errors.js';
import type { FhirResponse } from '../fhir/request.js';

export interface PatientSummary {
  id: string;
  name: string;
  gender?: string;
  birthDate?: string;
  /** Medical record number (identifier of type MR). */
  mrn?: string;
}

export interface PractitionerSummary {
  id: string;
  name: string;
  /** Qualification or specialty text, when recorded. */
  role?: string;
}

export interface EncounterSummary {
  id: string;
  label: string;
  start?: string;
  status?: string;
}

export interface LauncherDirectory {
  patients(text: string): Promise<PatientSummary[]>;
  patient(id: string): Promise<PatientSummary | undefined>;
  encounters(patientId: string): Promise<EncounterSummary[]>;
  practitioners(text: string): Promise<PractitionerSummary[]>;
  practitioner(id: string): Promise<PractitionerSummary | undefined>;
}

/** A FHIR id (R4 `id` datatype). */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const PAGE = 50;

export function displayName(names: HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === 'official') ?? names?.[0];
  if (!name) return 'Unnamed';
  return name.text ?? [...(name.prefix ?? []), ...(name.given ?? []), name.family, ...(name.suffix ?? [])].filter(Boolean).join(' ');
}

const mrnOf = (identifiers: Identifier[] | undefined): string | undefined =>
  identifiers?.find((i) => i.type?.coding?.some((c) => c.code === 'MR'))?.value;

function toPatient(p: Patient): PatientSummary {
  const mrn = mrnOf(p.identifier);
  return { id: p.id!, name: displayName(p.name), ...(p.gender ? { gender: p.gender } : {}), ...(p.birthDate ? { birthDate: p.birthDate } : {}), ...(mrn ? { mrn } : {}) };
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

/** The stores the directory reads through: patients with their encounters, and practitioners. */
export interface LauncherStores {
  patients: GuardedStore;
  practitioners: GuardedStore;
}

export function createLauncherDirectory(api: FhirApi, services: FhirServices, stores: LauncherStores): LauncherDirectory {
  const reader = (store: GuardedStore) => async (path: string, query: Record<string, string> = {}): Promise<Resource | undefined> => {
    try {
      return bodyOf(await api.dispatch(requestContext(services, store, 'launcher'), { method: 'GET', path, query: new URLSearchParams(query), headers: {}, body: undefined, params: {} }));
    } catch (error) {
      // A type the caller's policy does not reach lists nothing.
      if (error instanceof FhirError && error.status < 500) return undefined;
      throw error;
    }
  };
  const get = reader(stores.patients);
  const getPractitioner = reader(stores.practitioners);
  const entries = <T extends Resource>(bundle: Resource | undefined, type: string): T[] =>
    ((bundle as Bundle | undefined)?.entry ?? []).map((e) => e.resource as Resource | undefined).filter((r): r is T => r?.resourceType === type);
  const byName = (text: string, sort: string): Record<string, string> => ({ _count: String(PAGE), _sort: sort, ...(text.trim() ? { name: text.trim().slice(0, 100) } : {}) });

  return {
    async patients(text) {
      return entries<Patient>(await get('Patient', byName(text, 'family')), 'Patient').map(toPatient);
    },
    async patient(id) {
      if (!FHIR_ID.test(id)) return undefined;
      const patient = await get(`Patient/${id}`);
      return patient?.resourceType === 'Patient' ? toPatient(patient as Patient) : undefined;
    },
    async encounters(patientId) {
      if (!FHIR_ID.test(patientId)) return [];
      return entries<Encounter>(await get('Encounter', { patient: patientId, _sort: '-date', _count: String(PAGE) }), 'Encounter').map(toEncounter);
    },
    async practitioners(text) {
      return entries<Practitioner>(await getPractitioner('Practitioner', byName(text, 'family')), 'Practitioner').map(toPractitioner);
    },
    async practitioner(id) {
      if (!FHIR_ID.test(id)) return undefined;
      const practitioner = await getPractitioner(`Practitioner/${id}`);
      return practitioner?.resourceType === 'Practitioner' ? toPractitioner(practitioner as Practitioner) : undefined;
    },
  };
}
