/**
 * R4 core's own profiles and extension definitions (built in, no package): the official R4
 * examples that claim one conform to it, and a hand-made vital sign against `bp` and `heartrate`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProfileValidator } from '../../../../src/fhir/validator/profiles/index.js';
import { testTerminology } from '../../../support/fhir-packages.js';
import { hasSharedSamples, sharedPath } from '../../../support/shared-samples.js';

type Json = Record<string, any>;

const validator = new ProfileValidator({ validateCode: testTerminology() });
const CORE = 'http://hl7.org/fhir/StructureDefinition';

const bloodPressure = (): Json => ({
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2024-05-01T09:30:00Z',
  component: [
    {
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
      valueQuantity: { value: 120, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
    {
      code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
      valueQuantity: { value: 80, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
  ],
});

describe('R4 core profiles', () => {
  it('accept a blood pressure that conforms to bp', async () => {
    expect((await validator.validate(bloodPressure(), [`${CORE}/bp`])).issues).toEqual([]);
  });

  it('report what a blood pressure lacks, and a unit outside the required UCUM value set', async () => {
    const resource = bloodPressure();
    resource.component[1].valueQuantity.code = 'mmHg';
    resource.component.pop();
    const result = await validator.validate(resource, [`${CORE}/bp`]);
    expect(result.issues.filter((i) => i.severity === 'error').map((i) => i.path)).toEqual(expect.arrayContaining(['Observation.component']));
    const badUnit = bloodPressure();
    badUnit.component[0].valueQuantity.code = 'mmHg';
    const unit = await validator.validate(badUnit, [`${CORE}/bp`]);
    expect(unit.issues).toContainEqual(expect.objectContaining({ severity: 'error', path: 'Observation.component[0].valueQuantity.code' }));
  });

  it('check core extensions by their definitions: data-absent-reason takes a code', async () => {
    const resource = bloodPressure();
    resource.component[0] = {
      code: resource.component[0].code,
      dataAbsentReason: { text: 'x' },
      extension: [{ url: `${CORE}/data-absent-reason`, valueString: 'asked' }],
    };
    const result = await validator.validate(resource, [`${CORE}/vitalsigns`]);
    expect(result.issues).toContainEqual(expect.objectContaining({ severity: 'error', path: 'Observation.component[0].extension[0].valueString' }));
  });
});

describe('deep nesting', () => {
  it('is left to the base validator (too-costly) instead of being walked into a stack overflow', async () => {
    let item: Json = { linkId: 'leaf', type: 'display' };
    for (let i = 0; i < 20_000; i++) item = { linkId: `l${i}`, type: 'group', item: [item] };
    const questionnaire = { resourceType: 'Questionnaire', status: 'draft', item: [item] };
    const result = await validator.validate(questionnaire, [`${CORE}/cqf-questionnaire`]);
    expect(result.issues.filter((i) => i.message.startsWith('profile validation failed'))).toEqual([]);
  });
});

describe.skipIf(!hasSharedSamples)('the official R4 examples that claim an R4 core profile', () => {
  it('conform to it (profiles of other IGs, not held, are warnings)', async () => {
    const errors: string[] = [];
    let checked = 0;
    for (const file of readdirSync(sharedPath('hl7-r4-examples')).sort()) {
      const resource = JSON.parse(readFileSync(sharedPath('hl7-r4-examples', file), 'utf8')) as Json;
      const all: Json[] = resource.resourceType === 'Bundle' ? (resource.entry ?? []).map((e: Json) => e.resource).filter(Boolean) : [resource];
      for (const r of all) {
        const profiles = ProfileValidator.declaredProfiles(r);
        if (profiles.length === 0) continue;
        const result = await validator.validate(r, profiles);
        checked += result.checked.length;
        for (const i of result.issues) if (i.severity === 'error') errors.push(`${file} ${i.path}: ${i.message}`);
      }
    }
    expect(errors).toEqual([]);
    // 12 vital signs examples (vitalsigns) and the PHQ-9 Questionnaire (cqf-questionnaire).
    expect(checked).toBe(13);
  });
});
