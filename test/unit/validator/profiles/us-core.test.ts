/**
 * Profile validation against the real US Core packages (../shared/fhir-packages; skipped when
 * absent): every example of US Core 6.1.0 against the profiles it declares, altered copies each
 * with the error expected at its path, and the Inferno US Core patient bundles against US Core
 * 3.1.1, with the differences listed in test/fixtures/us-core-validation.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateR4, type IssueCode } from '../../../../src/fhir/validator/index.js';
import { ProfileValidator } from '../../../../src/fhir/validator/profiles/index.js';
import { hasSharedPackages, lookupOf, sharedPackage, testTerminology } from '../../../support/fhir-packages.js';
import { hasSharedSamples, sharedPath } from '../../../support/shared-samples.js';
import exceptions from '../../../fixtures/us-core-validation.json' with { type: 'json' };

type Json = Record<string, unknown> & { resourceType: string };

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition';

function validatorFor(file: string) {
  const pkg = sharedPackage(file);
  return { pkg, validator: new ProfileValidator({ structureDefinition: lookupOf(pkg), validateCode: testTerminology(pkg) }) };
}

/** The errors of one resource: the base R4 validation, then its declared profiles. */
async function errorsOf(validator: ProfileValidator, resource: Json) {
  const base = validateR4(resource).issues.filter((i) => i.severity === 'error');
  const profiled = await validator.validate(resource, ProfileValidator.declaredProfiles(resource));
  return { errors: [...base, ...profiled.issues.filter((i) => i.severity === 'error')], checked: profiled.checked, unknown: profiled.unknown };
}

describe.skipIf(!hasSharedPackages)('US Core 6.1.0 examples', () => {
  it('all validate against the profiles they declare, with no errors', async () => {
    const { pkg, validator } = validatorFor('hl7.fhir.us.core-6.1.0.tgz');
    const expected = exceptions['us-core-6.1.0-examples'] as Record<string, { path: string }>;
    let resources = 0;
    let checked = 0;
    const unknown = new Set<string>();
    const failures: string[] = [];
    for (const { file, resource } of pkg.examples) {
      // A Bundle's entries are resources of their own, each with its profiles.
      const all = resource.resourceType === 'Bundle' ? ((resource.entry ?? []) as Array<{ resource: Json }>).map((e) => e.resource) : [resource];
      for (const r of all) {
        resources++;
        const result = await errorsOf(validator, r);
        checked += result.checked.length;
        for (const u of result.unknown) unknown.add(u);
        for (const e of result.errors) if (expected[file]?.path !== e.path) failures.push(`${file} ${e.path}: ${e.message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(pkg.examples).toHaveLength(183);
    // 179 resources and 9 in the 4 Bundles; all but 2 Media and an Endpoint (no profile) and 3 Questionnaires (an SDC profile) claim a US Core one.
    expect(resources).toBe(188);
    expect(checked).toBe(182);
    expect([...unknown]).toEqual(['http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire']);
  });

  const example = (file: string): Json => {
    const found = sharedPackage('hl7.fhir.us.core-6.1.0.tgz').examples.find((e) => e.file === file);
    if (!found) throw new Error(`no example ${file}`);
    return structuredClone(found.resource);
  };
  type Alter = [string, string, (r: any) => void, string, IssueCode, string];
  const ALTERED: Alter[] = [
    [
      'a missing required element (Patient.identifier 1..*)',
      'Patient-example.json',
      (r) => delete r.identifier,
      'Patient.identifier',
      'required',
      'minimum required = 1',
    ],
    [
      'a missing required element (Observation.subject 1..1)',
      'Observation-heart-rate.json',
      (r) => delete r.subject,
      'Observation.subject',
      'required',
      'minimum required = 1',
    ],
    [
      'a wrong fixed code',
      'Observation-blood-pressure.json',
      (r) => (r.component[0].valueQuantity.code = 'mmHg'),
      'Observation.component[0].valueQuantity.code',
      'value',
      'must be exactly "mm[Hg]"',
    ],
    [
      'a wrong code where a slice fixes it',
      'Observation-heart-rate.json',
      (r) => (r.category[0].coding[0].code = 'laboratory'),
      'Observation.category',
      'required',
      'slice VSCat',
    ],
    ['a missing slice', 'Observation-blood-pressure.json', (r) => (r.component = [r.component[0]]), 'Observation.component', 'required', 'slice diastolic'],
    [
      'an item left out of a slice chosen by value set',
      'Condition-condition-duodenal-ulcer.json',
      (r) => (r.category[0].coding[0].code = 'encounter-diagnosis'),
      'Condition.category',
      'required',
      'slice us-core',
    ],
    [
      'a slice given more often than allowed',
      'Patient-example.json',
      (r) => r.extension.push({ url: `${US_CORE}/us-core-birthsex`, valueCode: 'F' }, { url: `${US_CORE}/us-core-birthsex`, valueCode: 'M' }),
      'Patient.extension',
      'structure',
      'slice birthsex: maximum allowed = 1',
    ],
    [
      'a code outside a required value set',
      'Observation-some-day-smoker.json',
      (r) => (r.status = 'preliminary'),
      'Observation.status',
      'code-invalid',
      'us-core-observation-smoking-status-status',
    ],
    [
      'a unit outside a required value set',
      'Observation-height.json',
      (r) => Object.assign(r.valueQuantity, { unit: 'kg', code: 'kg' }),
      'Observation.valueQuantity.code',
      'code-invalid',
      'ucum-bodylength',
    ],
    [
      'a reference to a type the profile does not allow',
      'Observation-heart-rate.json',
      (r) => (r.subject = { reference: 'Group/1' }),
      'Observation.subject',
      'structure',
      'refers to a Group',
    ],
    ['an invariant (vs-2)', 'Observation-heart-rate.json', (r) => delete r.valueQuantity, 'Observation', 'invariant', 'vs-2'],
    [
      'an extension value of a type its definition does not allow',
      'Patient-example.json',
      (r) => (r.extension[0].extension[0] = { url: 'ombCategory', valueString: '2106-3' }),
      'Patient.extension[0].extension[0].valueString',
      'structure',
      'must be Coding',
    ],
    [
      'a missing part of a complex extension',
      'Patient-example.json',
      (r) => (r.extension[0].extension = r.extension[0].extension.filter((e: Json) => e.url !== 'text')),
      'Patient.extension[0].extension',
      'required',
      'slice text',
    ],
    [
      'an extension outside its context',
      'Observation-heart-rate.json',
      (r) => (r.extension = [(example('Patient-example.json').extension as unknown[])[0]]),
      'Observation.extension[0]',
      'structure',
      'us-core-race is not allowed on Observation',
    ],
  ];

  it.each(ALTERED)('reports %s (%s) at its path', async (_what, file, change, path, code, words) => {
    const { validator } = validatorFor('hl7.fhir.us.core-6.1.0.tgz');
    const resource = example(file);
    expect((await errorsOf(validator, resource)).errors).toEqual([]);
    change(resource);
    const { errors } = await errorsOf(validator, resource);
    expect(errors).toContainEqual(expect.objectContaining({ path, code, message: expect.stringContaining(words) }));
  });

  it('says which code system it lacks instead of guessing, as a warning', async () => {
    const { validator } = validatorFor('hl7.fhir.us.core-6.1.0.tgz');
    const resource = example('Observation-serum-sodium.json');
    (resource.code as { coding: Array<{ code: string }> }).coding[0]!.code = '99999-9';
    const result = await validator.validate(resource, ProfileValidator.declaredProfiles(resource));
    expect(result.valid).toBe(true);
    expect(result.issues).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        path: 'Observation.code',
        message: expect.stringContaining('the code system http://loinc.org is not held here'),
      }),
    );
  });
});

describe.skipIf(!hasSharedPackages || !hasSharedSamples)('Inferno US Core patient bundles against US Core 3.1.1', () => {
  it('validate with exactly the errors listed (and why) in the fixture', async () => {
    const { validator } = validatorFor('hl7.fhir.us.core-3.1.1.tgz');
    const listed = exceptions['inferno-vs-us-core-3.1.1'] as Record<string, { paths: string[] }>;
    const found: Record<string, string[]> = {};
    let resources = 0;
    for (const file of ['uscore_bundle_patient_85.json', 'uscore_bundle_patient_client_test.json']) {
      const bundle = JSON.parse(readFileSync(sharedPath('inferno-uscore', file), 'utf8')) as { entry: Array<{ resource: Json }> };
      for (const { resource } of bundle.entry) {
        resources++;
        const { errors } = await errorsOf(validator, resource);
        if (errors.length) found[`${file} ${resource.resourceType}/${String(resource.id)}`] = errors.map((e) => e.path);
      }
    }
    expect(resources).toBe(321);
    expect(found).toEqual(Object.fromEntries(Object.entries(listed).map(([k, v]) => [k, v.paths])));
  });
});
