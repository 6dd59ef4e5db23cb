/** The patient picker (field `patient`, docs/contract.md) and the encounter picker (field `encounter`). */
import type { EncounterSummary, PatientSummary } from '../../../directory/patient-directory.js';
import { html } from '../../../html/template.js';
import { page } from '../../../html/page.js';

/** `patients`: only those the signed-in user may select (the user policy). */
export function patientPickerPage(view: {
  action: string;
  searchAction: string;
  abortAction: string;
  clientName: string;
  query: string;
  patients: PatientSummary[];
  error?: string;
}): string {
  const list = view.patients.length
    ? html`<form method="post" action="${view.action}">
<fieldset><legend>Patients</legend>
${view.patients.map((p, i) => html`<label class="choice"><input type="radio" name="patient" value="${p.id}" required${i === 0 ? html` checked` : ''}><span>${p.name}<code>${[p.gender, p.birthDate, `Patient/${p.id}`].filter(Boolean).join(' · ')}</code></span></label>`)}
</fieldset>
<button type="submit">Continue with this patient</button>
</form>`
    : html`<p class="notice" role="status">No patient matches “${view.query}”.</p>`;
  return page(
    'Choose a patient',
    html`<p><strong>${view.clientName}</strong> asks for a patient to work with.</p>
${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}
<form method="get" action="${view.searchAction}" role="search">
<label for="q">Find a patient by name</label>
<input type="search" id="q" name="q" value="${view.query}">
<button type="submit" class="secondary">Search</button>
</form>
${list}
<form method="post" action="${view.abortAction}"><button type="submit" class="secondary">Cancel and return to the app</button></form>`,
  );
}

export function encounterPickerPage(view: {
  action: string;
  abortAction: string;
  clientName: string;
  patientName: string;
  encounters: EncounterSummary[];
}): string {
  return page(
    'Choose an encounter',
    html`<p><strong>${view.clientName}</strong> asks for an encounter of <strong>${view.patientName}</strong>.</p>
<form method="post" action="${view.action}">
<fieldset><legend>Encounters</legend>
${view.encounters.map((e, i) => html`<label class="choice"><input type="radio" name="encounter" value="${e.id}"${i === 0 ? html` checked` : ''}><span>${[e.label, e.status].filter(Boolean).join(' · ')}<code>Encounter/${e.id}</code></span></label>`)}
<label class="choice"><input type="radio" name="encounter" value=""${view.encounters.length ? '' : html` checked`}><span>No encounter</span></label>
</fieldset>
<button type="submit">Continue</button>
</form>
<form method="post" action="${view.abortAction}"><button type="submit" class="secondary">Cancel and return to the app</button></form>`,
  );
}
