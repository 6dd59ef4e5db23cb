/**
 * The user policy: whose records a signed-in user may see (rules.ts USER_REACH), as one answer
 * used everywhere a user meets patient data:
 * - the patients the user may select as patient context: the patient picker, EHR launch
 *   completion and standalone `launch/patient` (through the selection policy, resource-access.ts);
 * - what the `patient/` scopes of the user's tokens reach (only a patient the user may still
 *   select) and what their `user/` scopes reach (token-policy.ts).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token
 */
import type { PractitionerPatients } from '../config.js';
import { USER_REACH, type PatientGrant } from './rules.js';

/** What the user policy looks at. */
export interface UserFacts {
  /** Relative reference, e.g. `Practitioner/123`. */
  fhirUser?: string;
  /**
   * What an operator granted an account whose fhirUser gives no reach. Only the sign-in pages
   * know it (access tokens do not carry it): it widens patient selection, never `user/` scopes.
   */
  patientGrant?: PatientGrant;
}

/** The deployment's rules and the data they follow. */
export interface UserPolicyServices {
  practitionerPatients: PractitionerPatients;
  /**
   * Ids of the patients linked to a practitioner (rules.ts PRACTITIONER_LINKS). The answer follows
   * the data: the implementation keeps it no longer than the revocation window
   * (access/reference-resolver.ts).
   */
  linkedPatients(fhirUser: string): Promise<string[]>;
}

/** Whose records a user may see. */
export type Reach =
  | { kind: 'all' }
  /** These patients; `followsData` when the set changes with the data (linked patients). */
  | { kind: 'patients'; patients(): Promise<readonly string[]>; followsData: boolean }
  | { kind: 'none' };

const ALL: Reach = { kind: 'all' };
const NONE: Reach = { kind: 'none' };

export function userReach(user: UserFacts, services: UserPolicyServices): Reach {
  const [type, id] = (user.fhirUser ?? '').split('/');
  const rule = type ? USER_REACH[services.practitionerPatients][type] : undefined;
  switch (rule) {
    case 'all':
      return ALL;
    case 'linked':
      return { kind: 'patients', patients: () => services.linkedPatients(user.fhirUser!), followsData: true };
    case 'own-compartment':
      return id ? { kind: 'patients', patients: () => Promise.resolve([id]), followsData: false } : NONE;
    case undefined: {
      const grant = user.patientGrant;
      if (grant === 'all') return ALL;
      return grant?.length ? { kind: 'patients', patients: () => Promise.resolve(grant), followsData: false } : NONE;
    }
  }
}
