/**
 * The launch context a grant gets when the user consents: from the EHR launch (single-use, taken
 * here) or from what the user picked in a standalone launch. Either way the patient must be one
 * the user may select (the user policy, access/user-policy.ts, asked through `patients`); a
 * patient user only ever gets their own record as context.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token
 */
import { patientIdOf, type StoredAccount } from '../accounts/account-store.js';
import type { GrantContext, LaunchContexts } from './contexts.js';
import type { SelectablePatients } from '../../directory/patient-directory.js';

/** What the user picked on the sign-in pages, kept as the interaction result `smart` (alongside oidc-provider's `login` and `consent`). */
export interface SmartSelection {
  patient?: string;
  /** Set (possibly to '') once the user answered the encounter question. */
  encounter?: string;
}

/** A reason the consent cannot complete; sent back to the app as an OAuth error. */
export class ContextRefused extends Error {
  constructor(
    readonly error: 'access_denied' | 'invalid_request',
    readonly description: string,
  ) {
    super(description);
  }
}

export interface ContextInput {
  launches: LaunchContexts;
  smartStyleUrl: string;
  account: StoredAccount;
  /** The `launch` parameter (EHR launch), if any. */
  launch: string | undefined;
  granted: ReadonlySet<string>;
  selection: SmartSelection;
  /** The patients the signed-in user may select (PatientDirectory.forUser). */
  patients: SelectablePatients;
}

/** Why an EHR launch is refused to `account`, for the app. */
export function notTheirPatient(account: StoredAccount): string {
  return `the launch is for a patient whose record ${account.username} may not open`;
}

export async function resolveGrantContext(input: ContextInput): Promise<GrantContext> {
  const { granted, account, selection } = input;
  const ownPatient = patientIdOf(account);
  if (input.launch) {
    const launch = await input.launches.take(input.launch);
    if (!launch) throw new ContextRefused('invalid_request', 'the launch has expired (launches last 5 minutes) or was already used: launch the app again');
    if (!(await input.patients.patient(launch.patient))) throw new ContextRefused('access_denied', notTheirPatient(account));
    const withPatient = granted.has('launch') || granted.has('launch/patient');
    const withEncounter = granted.has('launch') || granted.has('launch/encounter');
    return {
      launch: 'ehr',
      ...(withPatient ? { patient: launch.patient } : {}),
      ...(withEncounter && launch.encounter ? { encounter: launch.encounter } : {}),
      needPatientBanner: launch.needPatientBanner,
      smartStyleUrl: launch.smartStyleUrl ?? input.smartStyleUrl,
      ...(launch.intent ? { intent: launch.intent } : {}),
      ...(launch.fhirContext?.length ? { fhirContext: launch.fhirContext } : {}),
    };
  }
  if (ownPatient && selection.patient && selection.patient !== ownPatient) {
    throw new ContextRefused('access_denied', 'a patient user can only choose their own record');
  }
  const patient = granted.has('launch/patient') ? (ownPatient ?? selection.patient) : undefined;
  if (patient && !(await input.patients.patient(patient))) throw new ContextRefused('access_denied', 'the chosen patient is not one this user may open');
  const encounter = granted.has('launch/encounter') && selection.encounter ? selection.encounter : undefined;
  return {
    launch: 'standalone',
    ...(patient ? { patient } : {}),
    ...(encounter ? { encounter } : {}),
    needPatientBanner: true,
    smartStyleUrl: input.smartStyleUrl,
  };
}
