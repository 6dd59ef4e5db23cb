/**
 * Bedside's validator against @medplum/core's (the one it replaced), on every sample resource:
 * both must agree on which resources are valid R4, except for the differences listed here, where
 * Bedside's answer is the one R4 asks for. The list is enforced both ways: a difference that
 * disappears or a new one fails the test. Constructed cases pin down each kind of difference
 * without the sample data.
 */
import type { Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { validateWithMedplum } from '../../../src/fhir/validation.js';
import { validateR4 } from '../../../src/fhir/validator/index.js';
import { allSamples, hasFhirData, hasSharedSamples } from './samples.js';

type Verdict = 'valid' | 'invalid';
type Json = Record<string, unknown>;

/** Sample resources the two validators disagree on: Bedside's verdict and the issue that decides it. */
const SAMPLE_DIFFERENCES: Record<string, { bedside: Verdict; because: string; reason: string }> = {
  'hl7-r4-examples/RiskAssessment-breastcancer-risk.json': {
    bedside: 'valid',
    because: '',
    reason:
      'ras-2 `probability is decimal implies (probability as decimal) <= 100` is empty on a prediction without probability: not a violation. Medplum counts empty as failed.',
  },
  'hl7-r4-examples/RiskAssessment-prognosis.json': { bedside: 'valid', because: '', reason: 'ras-2, as above.' },
  'hl7-r4-examples/ActivityDefinition-blood-tubes-supply.json': {
    bedside: 'invalid',
    because: 'txt-2',
    reason:
      'The narrative div holds only whitespace: txt-2 "The narrative SHALL have some non-whitespace content". Medplum implements htmlChecks() as always true.',
  },
  'hl7-r4-examples/ActivityDefinition-heart-valve-replacement.json': { bedside: 'invalid', because: 'txt-2', reason: 'Empty narrative, as above.' },
  'hl7-r4-examples/EventDefinition-example.json': { bedside: 'invalid', because: 'txt-2', reason: 'Empty narrative, as above.' },
  'hl7-r4-examples/Questionnaire-zika-virus-exposure-assessment.json': {
    bedside: 'invalid',
    because: 'txt-2',
    reason: 'Narrative with an empty <pre> only, as above.',
  },
};

const verdict = (valid: boolean): Verdict => (valid ? 'valid' : 'invalid');
const medplum = (r: unknown) => verdict(validateWithMedplum(r as Resource).length === 0);
const bedside = (r: unknown) => verdict(validateR4(r).valid);

describe.skipIf(!hasSharedSamples && !hasFhirData)('Bedside and @medplum/core on the sample data', () => {
  it('agree on every resource except the listed differences', () => {
    const differences: Record<string, Verdict> = {};
    const reasons: Record<string, string[]> = {};
    let count = 0;
    for (const sample of allSamples()) {
      count++;
      const ours = validateR4(sample.resource);
      if (verdict(ours.valid) !== medplum(sample.resource)) {
        differences[sample.name] = verdict(ours.valid);
        reasons[sample.name] = ours.issues.filter((i) => i.severity === 'error').map((i) => i.message);
      }
    }
    const expected = Object.fromEntries(
      Object.entries(SAMPLE_DIFFERENCES)
        .filter(([name]) => hasSharedSamples || name.startsWith('fhir-data/'))
        .map(([name, d]) => [name, d.bedside]),
    );
    expect(differences).toEqual(expected);
    for (const [name, { because }] of Object.entries(SAMPLE_DIFFERENCES)) {
      if (because && reasons[name]) expect(reasons[name].join('; ')).toContain(because);
    }
    expect(count).toBeGreaterThan(hasSharedSamples ? 13_000 : 2_000);
  }, 300_000);
});

const observation = (extra: Json = {}): Json => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'x' },
  ...extra,
});
const patient = (extra: Json = {}): Json => ({ resourceType: 'Patient', ...extra });

/** Each kind of difference, constructed: [what, resource, Bedside's verdict, Medplum's verdict]. */
const CONSTRUCTED: Array<[string, Json, Verdict, Verdict]> = [
  ['required binding on a code (Observation.status)', observation({ status: 'bogus' }), 'invalid', 'valid'],
  ['required binding on a code (Patient.gender)', patient({ gender: 'bogus' }), 'invalid', 'valid'],
  [
    'ras-2 on a prediction without probability',
    { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p' }, prediction: [{ outcome: { text: 'x' } }] },
    'valid',
    'invalid',
  ],
  ['dateTime with a time but no zone', observation({ effectiveDateTime: '2020-01-01T10:00:00' }), 'invalid', 'valid'],
  ['dateTime with hours only', observation({ effectiveDateTime: '2020-01-01T10' }), 'invalid', 'valid'],
  ['date that is not in the calendar', patient({ birthDate: '2021-02-29' }), 'invalid', 'valid'],
  ["Medplum's own Meta.project", patient({ meta: { project: 'p' } }), 'invalid', 'valid'],
  ['R5 backport in EvidenceVariable', { resourceType: 'EvidenceVariable', status: 'draft', characteristic: [{ definitionId: 'x' }] }, 'invalid', 'valid'],
  ['datatype invariant (qty-3) inside a resource', observation({ valueQuantity: { value: 1, code: 'mg' } }), 'invalid', 'valid'],
  [
    'invariant of a contained resource (obs-6)',
    patient({ contained: [observation({ id: 'o', valueString: 'x', dataAbsentReason: { text: 'x' } })], generalPractitioner: [{ reference: '#o' }] }),
    'invalid',
    'valid',
  ],
  ['dom-3: contained resource not referenced', patient({ contained: [{ resourceType: 'Organization', id: 'o', name: 'x' }] }), 'invalid', 'valid'],
  ['org-1: organization without identifier or name', { resourceType: 'Organization', active: true }, 'invalid', 'valid'],
  [
    'SimpleQuantity with a comparator',
    {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: { text: 'x' },
      subject: { reference: 'Patient/p' },
      dispenseRequest: { quantity: { value: 1, comparator: '<' } },
    },
    'invalid',
    'valid',
  ],
  ['empty narrative (txt-2)', patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"> </div>' } }), 'invalid', 'valid'],
  [
    'script in the narrative (txt-1)',
    patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script>x</div>' } }),
    'invalid',
    'valid',
  ],
  [
    '_element of xhtml',
    patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>', _div: { id: 'd' } } }),
    'invalid',
    'valid',
  ],
];

describe('Bedside and @medplum/core differ, by design, on', () => {
  it.each(CONSTRUCTED)('%s', (_, resource, ours, theirs) => {
    expect(bedside(resource)).toBe(ours);
    expect(medplum(resource)).toBe(theirs);
  });
});
