/**
 * The launcher's scope checkboxes as data: what a choice of launch type, identity scopes,
 * resource types, context, grammar version and granular category turns into as a scope string.
 * Pure functions; the page checks the result with the shared SMART parser (src/smart/scopes.ts),
 * the same one the authorization server and the FHIR API use.
 */
import { GRANULAR_CATEGORIES } from '../../../src/smart/granular.js';

export type LaunchType = 'ehr' | 'patient' | 'provider' | 'backend';
export type ScopeContext = 'patient' | 'user' | 'system';

export interface ScopeChoice {
  /** openid, fhirUser, launch, launch/patient, offline_access ... in the order shown. */
  fixed: string[];
  context: ScopeContext;
  version: 1 | 2;
  access: 'read' | 'all';
  /** Resource types, or `*`. */
  resourceTypes: string[];
  /** `system|code` of an Observation category, or '' for all. */
  observationCategory: string;
  /** Free text: more scopes, space-separated. */
  extra: string;
}

export const FIXED_SCOPES = ['openid', 'fhirUser', 'profile', 'launch', 'launch/patient', 'launch/encounter', 'offline_access', 'online_access'] as const;
export const RESOURCE_TYPES = [
  'Patient',
  'Observation',
  'Condition',
  'MedicationRequest',
  'AllergyIntolerance',
  'Immunization',
  'Encounter',
  'Procedure',
  'DiagnosticReport',
  'Practitioner',
  '*',
] as const;
/**
 * The resource types to offer: the usual ones, then those an installed Implementation Guide
 * profiles (US Core's), then `*`.
 */
export function resourceTypeChoices(profiledTypes: readonly string[]): string[] {
  const usual = RESOURCE_TYPES.filter((t) => t !== '*');
  const more = [...profiledTypes].filter((t) => !(usual as readonly string[]).includes(t)).sort();
  return [...usual, ...more, '*'];
}

/** What the sample app reads. */
export const SAMPLE_APP_TYPES = ['Patient', 'Observation', 'Condition', 'MedicationRequest', 'AllergyIntolerance', 'Immunization'];

export const OBSERVATION_CATEGORIES = (GRANULAR_CATEGORIES.Observation ?? []).map((c) => ({ value: `${c.system}|${c.code}`, label: c.label }));

/** The checkboxes each launch type starts with. */
export function defaultChoice(type: LaunchType): ScopeChoice {
  const base = { version: 2 as const, access: 'read' as const, resourceTypes: [...SAMPLE_APP_TYPES], observationCategory: '', extra: '' };
  switch (type) {
    case 'ehr':
      return { ...base, fixed: ['openid', 'fhirUser', 'launch', 'offline_access'], context: 'patient' };
    case 'patient':
      return { ...base, fixed: ['openid', 'fhirUser', 'launch/patient', 'offline_access'], context: 'patient' };
    case 'provider':
      return { ...base, fixed: ['openid', 'fhirUser', 'launch/patient', 'offline_access'], context: 'user' };
    case 'backend':
      return { ...base, fixed: [], context: 'system' };
  }
}

function resourceScope(choice: ScopeChoice, type: string): string {
  if (choice.version === 1) return `${choice.context}/${type}.${choice.access === 'read' ? 'read' : '*'}`;
  const letters = choice.access === 'read' ? 'rs' : 'cruds';
  const category = type === 'Observation' && choice.observationCategory ? `?category=${choice.observationCategory}` : '';
  return `${choice.context}/${type}.${letters}${category}`;
}

/** The scope string, in a stable order, without duplicates. */
export function scopeString(choice: ScopeChoice): string {
  const fixed = FIXED_SCOPES.filter((s) => choice.fixed.includes(s));
  const types = choice.resourceTypes.includes('*') ? ['*'] : choice.resourceTypes;
  const resources = types.map((t) => resourceScope(choice, t));
  const extra = choice.extra.split(/\s+/).filter(Boolean);
  return [...new Set([...fixed, ...resources, ...extra])].join(' ');
}

/** The scope a new client registers by default: the most it may ever ask for. */
export function defaultRegistrationScope(type: LaunchType): string {
  if (type === 'backend') return 'system/*.rs';
  return 'openid fhirUser profile launch launch/patient launch/encounter offline_access online_access patient/*.cruds user/*.cruds patient/*.* user/*.*';
}
