/**
 * The EHR frame: an EHR-like page around the launched app, as inside a real EHR. It shows who is
 * signed in to the "EHR" and, when the launch says the app need not show one
 * (`need_patient_banner=false`), the EHR's own patient banner; with `need_patient_banner=true`
 * the app shows it, so exactly one banner is on screen.
 *
 * Query: `app` (the launch URL from POST /launcher/api/launch), `patient`, `encounter`,
 * `practitioner`, `need_patient_banner` (true|false).
 */
import type { PatientSummary } from '../../../src/directory/patient-directory.js';
import { byId, fill, h } from '../common/dom.js';
import { ageOn, capitalize } from '../common/fhir-format.js';

async function lookup<T>(path: string): Promise<T | undefined> {
  try {
    const response = await fetch(path, { headers: { accept: 'application/json' } });
    return response.ok ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const query = new URLSearchParams(location.search);
  const app = URL.parse(query.get('app') ?? '');
  const frame = byId<HTMLIFrameElement>('app-frame');
  const note = byId('ehr-note');
  if (!app || !['http:', 'https:'].includes(app.protocol)) {
    note.textContent = 'No app to show: launch one from the launcher.';
    frame.hidden = true;
    return;
  }
  const patientId = query.get('patient') ?? '';
  const practitionerId = query.get('practitioner') ?? '';
  const encounterId = query.get('encounter') ?? '';
  const needBanner = query.get('need_patient_banner') !== 'false';

  const practitioner = practitionerId ? await lookup<{ name: string }>(`/launcher/api/practitioners/${encodeURIComponent(practitionerId)}`) : undefined;
  byId('ehr-user').textContent = practitionerId ? `EHR user: ${practitioner?.name ?? ''} (Practitioner/${practitionerId})` : 'EHR user: whoever signs in';

  const banner = byId('ehr-banner');
  if (needBanner) {
    note.textContent = 'need_patient_banner is true: the app shows the patient banner, so the EHR does not.';
  } else if (patientId) {
    const patient = await lookup<PatientSummary>(`/launcher/api/patients/${encodeURIComponent(patientId)}`);
    const age = ageOn(patient?.birthDate);
    banner.hidden = false;
    fill(
      banner,
      h('h2', { class: 'banner-name' }, patient?.name ?? `Patient/${patientId}`),
      h(
        'dl',
        { class: 'banner-facts' },
        patient?.gender ? h('div', {}, h('dt', {}, 'Sex'), h('dd', {}, capitalize(patient.gender))) : null,
        patient?.birthDate ? h('div', {}, h('dt', {}, 'Born'), h('dd', {}, `${patient.birthDate}${age !== undefined ? ` (${age} y)` : ''}`)) : null,
        patient?.mrn ? h('div', {}, h('dt', {}, 'MRN'), h('dd', {}, patient.mrn)) : null,
        encounterId ? h('div', {}, h('dt', {}, 'Encounter'), h('dd', {}, h('code', {}, `Encounter/${encounterId}`))) : null,
      ),
    );
    note.textContent = 'need_patient_banner is false: the EHR shows the patient banner, so the app need not.';
  }
  frame.src = app.href;
}

void main();
