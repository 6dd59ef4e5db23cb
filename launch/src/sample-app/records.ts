/** The patient banner and the record lists of the sample app. */
import type { AllergyIntolerance, Condition, Immunization, MedicationRequest, Patient } from 'fhir/r4';
import { h } from '../common/dom.js';
import { ageOn, capitalize, conceptText, day, humanName } from '../common/fhir-format.js';

export function patientBanner(patient: Patient): HTMLElement[] {
  const mrn = patient.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MR'))?.value;
  const age = ageOn(patient.birthDate);
  return [
    h('h2', { class: 'banner-name' }, humanName(patient.name)),
    h(
      'dl',
      { class: 'banner-facts' },
      h('div', {}, h('dt', {}, 'Sex'), h('dd', {}, capitalize(patient.gender) || 'Unknown')),
      h('div', {}, h('dt', {}, 'Born'), h('dd', {}, `${day(patient.birthDate) || 'Unknown'}${age !== undefined ? ` (${age} y)` : ''}`)),
      mrn ? h('div', {}, h('dt', {}, 'MRN'), h('dd', {}, mrn)) : null,
      h('div', {}, h('dt', {}, 'FHIR id'), h('dd', {}, h('code', {}, `Patient/${patient.id}`))),
    ),
  ];
}

type Row = { primary: string; secondary: string; date: string };

/** Entries shown before "older". */
const SHOWN = 6;

function list(rows: Row[], empty: string): HTMLElement {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  rows.sort((a, b) => b.date.localeCompare(a.date));
  const item = (r: Row) =>
    h('li', {}, h('span', { class: 'record-primary' }, r.primary), h('span', { class: 'record-secondary' }, [r.secondary, r.date].filter(Boolean).join(' · ')));
  const shown = h('ul', { class: 'records' }, rows.slice(0, SHOWN).map(item));
  if (rows.length <= SHOWN) return shown;
  // Newest first; older entries one click away, so one long list does not push the rest down.
  return h('div', {}, shown, h('details', {}, h('summary', {}, `${rows.length - SHOWN} older`), h('ul', { class: 'records' }, rows.slice(SHOWN).map(item))));
}

export function conditionList(conditions: Condition[]): HTMLElement {
  return list(
    conditions.map((c) => ({
      primary: conceptText(c.code),
      secondary: [conceptText(c.clinicalStatus), c.category?.[0] ? conceptText(c.category[0]) : ''].filter((s) => s && s !== 'Unknown').join(', '),
      date: day(c.onsetDateTime ?? c.recordedDate),
    })),
    'No conditions recorded.',
  );
}

export function medicationList(requests: MedicationRequest[]): HTMLElement {
  return list(
    requests.map((m) => ({
      primary: m.medicationCodeableConcept ? conceptText(m.medicationCodeableConcept) : (m.medicationReference?.display ?? 'Medication'),
      secondary: [m.status, m.dosageInstruction?.[0]?.text].filter(Boolean).join(' · '),
      date: day(m.authoredOn),
    })),
    'No medications recorded.',
  );
}

export function allergyList(allergies: AllergyIntolerance[]): HTMLElement {
  return list(
    allergies.map((a) => ({
      primary: conceptText(a.code),
      secondary: [
        a.criticality ? `criticality ${a.criticality}` : '',
        a.reaction?.[0]?.manifestation?.[0] ? `reaction: ${conceptText(a.reaction[0].manifestation[0])}` : '',
        a.clinicalStatus ? conceptText(a.clinicalStatus) : '',
      ]
        .filter(Boolean)
        .join(' · '),
      date: day(a.recordedDate ?? a.onsetDateTime),
    })),
    'No allergies recorded.',
  );
}

export function immunizationList(immunizations: Immunization[]): HTMLElement {
  return list(
    immunizations.map((i) => ({
      primary: conceptText(i.vaccineCode),
      secondary: i.status === 'completed' ? '' : i.status,
      date: day(i.occurrenceDateTime),
    })),
    'No immunizations recorded.',
  );
}
