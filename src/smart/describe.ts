/**
 * Plain-language descriptions of scopes for the consent page and the connected-apps page.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import { PERMISSION_ORDER, type Permission, type Scope } from './scopes.js';

const VERBS: Record<Permission, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

const FIXED: Record<string, string> = {
  openid: 'Confirm who you are (OpenID Connect sign-in)',
  fhirUser: 'Know which FHIR user you are (your Patient or Practitioner record)',
  profile: 'See your name',
  email: 'See your email address',
  launch: 'Receive the context of the launch (patient, encounter) from the EHR',
  'launch/patient': 'Know which patient is selected',
  'launch/encounter': 'Know which encounter is selected',
  offline_access: 'Keep access after you sign out (long-lived refresh token)',
  online_access: 'Keep access while you stay signed in',
  introspection: 'Check whether tokens are valid (introspection)',
  launcher: 'Start EHR launches of apps (the launcher API)',
};

const WHOSE: Record<string, string> = {
  patient: 'of the selected patient',
  user: 'that you can see',
  system: 'on the whole server',
};

function plural(type: string): string {
  if (type === '*') return 'all kinds of data';
  return `${type} resources`;
}

/** One sentence per scope, e.g. "read and search Observation resources of the selected patient (category laboratory)". */
export function describeScope(scope: Scope): string {
  if (scope.kind !== 'resource') return FIXED[scope.raw] ?? scope.raw;
  const verbs = PERMISSION_ORDER.filter((p) => scope.permissions.has(p)).map((p) => VERBS[p]);
  const list = verbs.length > 1 ? `${verbs.slice(0, -1).join(', ')} and ${verbs[verbs.length - 1]}` : verbs[0];
  const filters = scope.filters.length ? ` (only ${scope.filters.map((f) => `${f.name} ${decodeURIComponent(f.value).split('|').pop()}`).join(', ')})` : '';
  const sentence = `${list} ${plural(scope.resourceType)} ${WHOSE[scope.context]}${filters}`;
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}
