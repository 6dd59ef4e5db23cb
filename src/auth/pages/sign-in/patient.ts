/**
 * The patient step of a standalone launch asking for `launch/patient`: the picker lists and
 * searches only the patients the signed-in user may select (the user policy); a choice outside
 * them is refused exactly as one that does not exist.
 */
import { patientIdOf, type StoredAccount } from '../../accounts/account-store.js';
import { CONTEXT_PROMPT } from '../../provider/hooks/interaction-policy.js';
import { PageError } from '../errors.js';
import { patientPickerPage } from '../views/picker.js';
import { field, type ShowOptions, type SignIn } from './flow.js';

export async function showPatientPicker(flow: SignIn, account: StoredAccount, options: ShowOptions = {}): Promise<void> {
  const patients = flow.patients(account);
  // Nobody to choose: the app learns it at once instead of a picker that cannot be completed.
  if (!(await patients.anyPatient())) {
    return flow.refuse('access_denied', `${account.username} may not open any patient's record, so the app cannot have a patient (launch/patient)`);
  }
  const query = typeof flow.req.query.q === 'string' ? flow.req.query.q.slice(0, 100) : '';
  const html = patientPickerPage({
    action: flow.url('patient'),
    searchAction: flow.url(),
    abortAction: flow.url('abort'),
    clientName: (await flow.client()).name,
    query,
    patients: await patients.patients(query),
    ...(options.error ? { error: options.error } : {}),
  });
  flow.sendPage(options.status ?? 200, html);
}

export async function submitPatient(flow: SignIn): Promise<void> {
  const account = await flow.account();
  const chosen = field(flow.req.body, 'patient');
  const picking = flow.interaction.prompt.name === CONTEXT_PROMPT && account !== undefined && !patientIdOf(account);
  // A patient the user may not select is refused, whatever step the interaction is at (a
  // tampered form); one outside the user's set answers exactly as one that does not exist.
  const patient = account && chosen ? await flow.patients(account).patient(chosen) : undefined;
  if (account && chosen && !patient) {
    const refusal = 'You may not choose that patient: choose one from the list.';
    if (picking) return flow.show(flow, { status: 403, error: refusal });
    throw new PageError(403, 'access_denied', refusal);
  }
  if (!picking) return flow.show(flow);
  if (!patient) return flow.show(flow, { status: 400, error: 'Choose a patient from the list.' });
  return flow.finish({ smart: { ...flow.selection, patient: patient.id } });
}
