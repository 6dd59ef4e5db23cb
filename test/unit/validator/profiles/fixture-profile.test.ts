/**
 * Profile validation against our own small profiles (test/fixtures/profiles): a valid instance,
 * then a table of altered copies, each with the issue expected at its path. Runs everywhere (no
 * ../shared needed); the bindings are answered by the test binding checker over the fixture's
 * value set and R4 core's.
 */
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProfileValidator } from '../../../../src/fhir/validator/profiles/index.js';
import type { IssueCode } from '../../../../src/fhir/validator/index.js';
import { lookupOf, readPackageFolder, testTerminology } from '../../../support/fhir-packages.js';

type Json = Record<string, unknown>;

const FIXTURES = fileURLToPath(new URL('../../../fixtures/profiles/', import.meta.url));
const fixtures = readPackageFolder(FIXTURES);
const B = 'http://bedside.test/fhir';
const PROFILE = `${B}/StructureDefinition/test-observation`;
const DEVICE = `${B}/StructureDefinition/test-device-extension`;
const PATIENT_FLAG = `${B}/StructureDefinition/test-patient-extension`;
const OBS_CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';
const UCUM = 'http://unitsofmeasure.org';

const validator = new ProfileValidator({ structureDefinition: lookupOf(fixtures), validateCode: testTerminology(fixtures) });

const vital = { coding: [{ system: OBS_CAT, code: 'vital-signs' }] };
const survey = { coding: [{ system: OBS_CAT, code: 'survey' }] };
const valid = (): Json => ({
  resourceType: 'Observation',
  id: 'hr',
  meta: { profile: [PROFILE] },
  extension: [{ url: DEVICE, valueString: 'watch' }],
  identifier: [
    { system: 'urn:bedside:test', value: '1' },
    { system: 'urn:other', value: 'x' },
  ],
  status: 'final',
  category: [vital, survey],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2024-05-01T09:30:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: UCUM, code: '/min' },
  component: [
    { code: { text: 'resting' }, valueQuantity: { value: 60, unit: 'beats/minute', system: UCUM, code: '/min' } },
    { code: { text: 'comment' }, valueString: 'steady' },
  ],
});
const altered = (change: (r: Json) => void): Json => {
  const r = valid();
  change(r);
  return r;
};

async function check(resource: Json, profiles = [PROFILE]) {
  return validator.validate(resource, profiles);
}

describe('the fixture profile', () => {
  it('accepts a conforming instance without any issue', async () => {
    const result = await check(valid());
    expect(result.issues).toEqual([]);
    expect(result).toMatchObject({ valid: true, checked: [PROFILE], unknown: [] });
  });

  // [what, change, path of the expected error, its code, a word of its message]
  const ERRORS: Array<[string, (r: Json) => void, string, IssueCode, string]> = [
    ['a missing element the profile requires', (r) => delete r.subject, 'Observation.subject', 'required', 'minimum required = 1'],
    ['a prohibited element (max 0)', (r) => (r.interpretation = [{ text: 'high' }]), 'Observation.interpretation', 'structure', 'max 0'],
    [
      'a choice type the profile removes',
      (r) => ((r.effectivePeriod = { start: '2024-05-01' }), delete r.effectiveDateTime),
      'Observation.effectivePeriod',
      'structure',
      'must be dateTime',
    ],
    ['a wrong fixed code', (r) => ((r.valueQuantity as Json).code = 'mm[Hg]'), 'Observation.valueQuantity.code', 'value', 'must be exactly "/min"'],
    [
      'a missing element below a choice',
      (r) => delete (r.valueQuantity as Json).system,
      'Observation.valueQuantity.system',
      'required',
      'minimum required = 1',
    ],
    [
      'a value outside the pattern',
      (r) => (r.code = { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }),
      'Observation.code',
      'value',
      'must match the pattern',
    ],
    ['a code outside a required value set', (r) => (r.status = 'preliminary'), 'Observation.status', 'code-invalid', 'test-status'],
    ['a reference to a type no target profile allows', (r) => (r.subject = { reference: 'Group/g1' }), 'Observation.subject', 'structure', 'refers to a Group'],
    [
      'a contained reference to a type no target profile allows',
      (r) => ((r.contained = [{ resourceType: 'Group', id: 'g', type: 'person', actual: true }]), (r.subject = { reference: '#g' })),
      'Observation.subject',
      'structure',
      'refers to a Group',
    ],
    ['a missing slice (value discriminators)', (r) => (r.category = [survey]), 'Observation.category', 'required', 'slice vital'],
    ['a slice given twice', (r) => (r.category = [vital, vital]), 'Observation.category', 'structure', 'slice vital: maximum allowed = 1'],
    [
      'an item matching no slice under closed slicing',
      (r) => (r.category = [vital, { coding: [{ system: OBS_CAT, code: 'laboratory' }] }]),
      'Observation.category[1]',
      'structure',
      'closed',
    ],
    ['slices out of order under ordered slicing', (r) => (r.category = [survey, vital]), 'Observation.category[1]', 'structure', 'out of order'],
    [
      'a fixed value inside a slice (the item then matches no slice)',
      (r) => (r.category = [{ coding: [{ system: 'http://example.org', code: 'vital-signs' }] }]),
      'Observation.category',
      'required',
      'slice vital',
    ],
    [
      'a datatype not conforming to the profile its slice needs (profile discriminator)',
      (r) => (r.identifier = [{ system: 'urn:other', value: '1' }]),
      'Observation.identifier',
      'required',
      'slice bedside',
    ],
    [
      'an exists-discriminated slice given twice',
      (r) =>
        (r.note = [
          { authorString: 'a', text: 'x' },
          { authorString: 'b', text: 'y' },
        ]),
      'Observation.note',
      'structure',
      'slice signed: maximum allowed = 1',
    ],
    [
      'a type-discriminated slice given twice',
      (r) => (r.component = [...(r.component as Json[]), { code: { text: 'again' }, valueQuantity: { value: 1, unit: '/min', system: UCUM, code: '/min' } }]),
      'Observation.component',
      'structure',
      'slice measured: maximum allowed = 1',
    ],
    [
      'a rule of the sliced element in a slice without rules of its own',
      (r) => (r.category = [vital, { ...survey, text: 'a survey of the patient' }]),
      'Observation.category[1].text',
      'value',
      'maxLength of 12',
    ],
    [
      'maxLength inside a slice',
      (r) => ((r.component as Json[])[1]!.valueString = 'far too long for the twenty characters'),
      'Observation.component[1].valueString',
      'value',
      'maxLength of 20',
    ],
    [
      'an unknown extension where the extension slicing is closed',
      (r) => (r.extension = [{ url: 'http://example.org/other', valueString: 'x' }]),
      'Observation.extension[0]',
      'structure',
      'closed',
    ],
    [
      'an extension value of a type its definition does not allow',
      (r) => (r.extension = [{ url: DEVICE, valueBoolean: true }]),
      'Observation.extension[0].valueBoolean',
      'structure',
      'must be string',
    ],
    [
      'nested extensions in a simple extension',
      (r) => (r.extension = [{ url: DEVICE, extension: [{ url: 'x', valueString: 'y' }] }]),
      'Observation.extension[0].extension',
      'structure',
      'max 0',
    ],
    [
      'an extension outside its context',
      (r) => ((r.code as Json).extension = [{ url: PATIENT_FLAG, valueBoolean: true }]),
      'Observation.code.extension[0]',
      'structure',
      'not allowed on Observation.code',
    ],
    ['an invariant of the profile', (r) => delete r.effectiveDateTime, 'Observation', 'invariant', 'bt-1'],
  ];

  it.each(ERRORS)('reports %s at its path', async (_what, change, path, code, words) => {
    const result = await check(altered(change));
    expect(result.valid).toBe(false);
    const errors = result.issues.filter((i) => i.severity === 'error');
    expect(errors).toContainEqual(expect.objectContaining({ path, code, message: expect.stringContaining(words) }));
  });

  it('reports a warning-level invariant of the profile as a warning', async () => {
    const result = await check(altered((r) => (r.note = [{ text: 'measured at rest' }])));
    expect(result.valid).toBe(true);
    expect(result.issues).toEqual([expect.objectContaining({ severity: 'warning', code: 'invariant', path: 'Observation', constraint: 'bt-2' })]);
  });

  it('answers a profile it does not know with a warning, not an error', async () => {
    const unknown = 'http://example.org/StructureDefinition/nothing';
    const result = await check(valid(), [unknown]);
    expect(result).toMatchObject({ valid: true, checked: [], unknown: [unknown] });
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'not-found', path: 'Observation', message: expect.stringContaining(unknown) }),
    ]);
  });

  it('answers an extension it has no definition for with one warning per URL', async () => {
    const other = 'http://example.org/fhir/StructureDefinition/note-flag';
    const result = await check(
      altered(
        (r) =>
          ((r.code as Json).extension = [
            { url: other, valueString: 'a' },
            { url: other, valueString: 'b' },
          ]),
      ),
    );
    expect(result.valid).toBe(true);
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'not-found', path: 'Observation.code.extension[0]', message: expect.stringContaining(other) }),
    ]);
  });

  it('refuses a profile of another resource type', async () => {
    const result = await check({ resourceType: 'Patient', id: 'p' });
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'error', path: 'Patient', message: `the profile ${PROFILE} is for Observation, not Patient` }),
    ]);
  });

  it('picks up a profile added (or changed) after it was first asked for, once recheckMs has passed', async () => {
    const held = new Map<string, unknown>();
    const lookup = async (url: string) => held.get(url) as never;
    const late = new ProfileValidator({ structureDefinition: lookup, validateCode: testTerminology(fixtures), recheckMs: 0 });
    expect((await late.validate(valid(), [PROFILE])).unknown).toEqual([PROFILE]);
    for (const [url, sd] of fixtures.structureDefinitions) held.set(url, sd);
    const found = await late.validate(
      altered((r) => delete r.subject),
      [PROFILE],
    );
    expect(found.unknown).toEqual([]);
    expect(found.issues).toContainEqual(expect.objectContaining({ path: 'Observation.subject', severity: 'error' }));
    // A new version of the profile that no longer requires a subject.
    const relaxed = structuredClone(fixtures.structureDefinitions.get(PROFILE)!);
    relaxed.version = '0.2.0';
    relaxed.snapshot!.element.find((e) => e.id === 'Observation.subject')!.min = 0;
    held.set(PROFILE, relaxed);
    expect(
      (
        await late.validate(
          altered((r) => delete r.subject),
          [PROFILE],
        )
      ).issues,
    ).toEqual([]);
  });

  it('never fails on garbage: any JSON in any element gives issues, not a validator failure', async () => {
    const keys = [
      'extension',
      'identifier',
      'status',
      'category',
      'code',
      'subject',
      'effectiveDateTime',
      'valueQuantity',
      'component',
      'note',
      'contained',
      'meta',
      'valueString',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 4 }), async (key, value) => {
        const result = await check(altered((r) => (r[key] = value)));
        expect(result.issues.filter((i) => i.message.startsWith('profile validation failed'))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('a slice chosen by a value set', () => {
  const CONDITION = `${B}/StructureDefinition/test-condition`;
  const condition = (system: string, code: string): Json => ({
    resourceType: 'Condition',
    category: [{ coding: [{ system, code }] }],
    code: { text: 'a finding' },
    subject: { reference: 'Patient/p1' },
  });

  it('takes the items whose code is in it', async () => {
    expect((await check(condition('http://terminology.hl7.org/CodeSystem/condition-category', 'problem-list-item'), [CONDITION])).issues).toEqual([]);
  });

  it('is an error when no item is in it', async () => {
    const result = await check(condition('http://terminology.hl7.org/CodeSystem/condition-category', 'encounter-diagnosis'), [CONDITION]);
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'error', path: 'Condition.category', message: 'slice problem: minimum required = 1, but only found 0' }),
    ]);
  });

  it('is only a warning, naming the value set, when the code belongs to a code system Bedside does not hold', async () => {
    const result = await check(condition('http://snomed.info/sct', '55607006'), [CONDITION]);
    expect(result.valid).toBe(true);
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'warning', path: 'Condition.category', message: expect.stringContaining(`could not be decided here`) }),
    ]);
    expect(result.issues[0]!.message).toContain(`${B}/ValueSet/test-problem-categories`);
  });
});
