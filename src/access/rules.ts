/**
 * The access rules as data, so they can be read on one screen and tested as matrices.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
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
 * Whose data a `user/` scope reaches, by the type of the user's fhirUser:
 * - `all`: every resource (practitioners act for the organisation's patients);
 * - `own-compartment`: the compartment of the user's own Patient record;
 * - `none`: nothing (a user without a fhirUser, or of a type with no rule here).
 */
export const USER_REACH: Readonly<Record<string, 'all' | 'own-compartment'>> = {
  Practitioner: 'all',
  PractitionerRole: 'all',
  Patient: 'own-compartment',
};
