/**
 * The access rules as data, so they can be read on one screen and tested as matrices.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import type { PractitionerPatients } from '../config.js';
import type { Permission } from '../smart/scopes.js';
import type { Interaction } from './policy.js';

/**
 * The SMART v2 letter each FHIR interaction needs. `read` covers read, vread and instance
 * history; `search` covers search and type/system history; `update` covers update and patch.
 * Write never implies read: each letter stands alone.
 */
export const LETTER_FOR: Readonly<Record<Interaction, Permission>> = {
  create: 'c',
  read: 'r',
  update: 'u',
  delete: 'd',
  search: 's',
};

/**
 * Whose records a user may see:
 * - `all`: every patient (practitioners act for the organisation's patients);
 * - `linked`: the patients whose records link them to the user (PRACTITIONER_LINKS);
 * - `own-compartment`: the user's own Patient record and its compartment.
 */
export type UserReach = 'all' | 'linked' | 'own-compartment';

/**
 * The user policy: whose records a user may see, by the type of the user's fhirUser, under each
 * PRACTITIONER_PATIENTS setting. The same answer decides which patients the user may select as
 * patient context (picker, EHR launch, standalone `launch/patient`), what the `patient/` scopes
 * of their tokens then reach, and what their `user/` scopes reach. A user whose fhirUser has no
 * entry here (none, RelatedPerson, Person) sees nobody; an operator may grant such an account
 * patients to select (PatientGrant), for patient context only.
 */
export const USER_REACH: Readonly<Record<PractitionerPatients, Readonly<Record<string, UserReach>>>> = {
  all: { Practitioner: 'all', PractitionerRole: 'all', Patient: 'own-compartment' },
  linked: { Practitioner: 'linked', PractitionerRole: 'linked', Patient: 'own-compartment' },
};

/**
 * How a patient is linked to a practitioner user under PRACTITIONER_PATIENTS=linked: a resource
 * of `type` whose search parameter `via` references the user's own fhirUser resource, naming the
 * patient in `patient` (`self`: the resource is the Patient). Resources of every status count;
 * a subject that is a Group links nobody.
 */
export const PRACTITIONER_LINKS: ReadonlyArray<{ type: string; via: string; patient: 'self' | string }> = [
  { type: 'Patient', via: 'general-practitioner', patient: 'self' }, // Patient.generalPractitioner
  { type: 'Encounter', via: 'participant', patient: 'subject' }, // Encounter.participant.individual
  { type: 'CareTeam', via: 'participant', patient: 'subject' }, // CareTeam.participant.member
];

/**
 * Patients an operator granted an account whose fhirUser gives it no reach (`bedside users
 * patients`, the users page): every patient, or these Patient ids.
 */
export type PatientGrant = 'all' | readonly string[];

/**
 * The non-compartment types a patient's records reach by reference (what `patient/` scopes and a
 * patient user's `user/` scopes reach beyond the compartment): directory entries a clinical app
 * needs to show a record (who, where, what), reached only through reference parameters that name
 * the type among their few declared targets (never through "any resource" parameters such as
 * Observation.focus). Anything else (Task, Binary, DocumentReference of another patient ...) is
 * never reached by being referenced.
 */
export const REACHABLE_BY_REFERENCE: ReadonlySet<string> = new Set(['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'Medication', 'Substance']);

/** A reference parameter naming more targets than this is an "any resource" parameter. */
export const MAX_TYPED_TARGETS = 20;
