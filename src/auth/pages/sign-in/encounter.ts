/**
 * The encounter step of a standalone launch asking for `launch/encounter`: the chosen patient's
 * newest encounters, or none; a launch whose patient has no encounter skips the page.
 */
import { patientIdOf, type StoredAccount } from '../../accounts/account-store.js';
import { CONTEXT_PROMPT } from '../../provider/hooks/interaction-policy.js';
import { encounterPickerPage } from '../views/picker.js';
import { field, type SignIn } from './flow.js';

/** The encounter picker offers a patient's newest encounters, at most this many. */
const ENCOUNTERS_OFFERED = 20;

export async function showEncounterPicker(flow: SignIn, account: StoredAccount): Promise<void> {
  const patients = flow.patients(account);
  const patientId = patientIdOf(account) ?? flow.selection.patient;
  const patient = patientId ? await patients.patient(patientId) : undefined;
  const encounters = patient ? await patients.encounters(patient.id, ENCOUNTERS_OFFERED) : [];
  if (!encounters.length) return flow.finish({ smart: { ...flow.selection, encounter: '' } });
  const client = await flow.client();
  flow.sendPage(
    200,
    encounterPickerPage({
      action: flow.url('encounter'),
      abortAction: flow.url('abort'),
      clientName: client.name,
      patientName: patient?.name ?? String(patientId),
      encounters,
    }),
  );
}

export async function submitEncounter(flow: SignIn): Promise<void> {
  if (flow.interaction.prompt.name !== CONTEXT_PROMPT) return flow.show(flow);
  const account = await flow.account();
  const patientId = (account && patientIdOf(account)) ?? flow.selection.patient;
  const chosen = field(flow.req.body, 'encounter');
  const offered = account && patientId ? await flow.patients(account).encounters(patientId, ENCOUNTERS_OFFERED) : [];
  if (chosen && !offered.some((e) => e.id === chosen)) return flow.show(flow);
  return flow.finish({ smart: { ...flow.selection, encounter: chosen } });
}
