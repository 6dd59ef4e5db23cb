/**
 * The validator on hand-written inputs: a table of bad resources, each rejected with an issue at
 * the expected path; a table of unusual but valid ones; and garbage, which must never make it
 * throw or hang.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, validateR4, type IssueCode } from '../../../src/fhir/validator/index.js';

type Json = Record<string, unknown>;

const observation = (extra: Json = {}): Json => ({
  resourceType: 'Observation',
  id: 'hr',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2024-05-01T09:30:00Z',
  valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  ...extra,
});
const patient = (extra: Json = {}): Json => ({
  resourceType: 'Patient',
  id: 'p1',
  name: [{ family: 'Doe', given: ['Jane'] }],
  gender: 'female',
  birthDate: '1970-01-01',
  ...extra,
});
const CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const condition = (extra: Json = {}): Json => ({
  resourceType: 'Condition',
  clinicalStatus: { coding: [{ system: CLINICAL, code: 'active' }] },
  subject: { reference: 'Patient/p1' },
  ...extra,
});
const ext = { url: 'http://example.org/x', valueString: 'y' };
const div = (inner: string) => ({ status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${inner}</div>` });
const without = (r: Json, key: string) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== key));
const nest = (depth: number): Json => (depth === 0 ? { linkId: 'x', type: 'display' } : { linkId: `l${depth}`, type: 'group', item: [nest(depth - 1)] });

// [what, resource, path of the expected issue, its code]
const INVALID: Array<[string, unknown, string, IssueCode]> = [
  ['unknown top-level element', observation({ foo: 1 }), 'Observation.foo', 'structure'],
  ['unknown nested element', patient({ name: [{ family: 'Doe', foo: 'x' }] }), 'Patient.name[0].foo', 'structure'],
  ['unknown element in a choice value', observation({ valueQuantity: { value: 1, zzz: 1 } }), 'Observation.valueQuantity.zzz', 'structure'],
  ['choice with an unknown type suffix', observation({ valueQuantity: undefined, valueFoo: 'x' }), 'Observation.valueFoo', 'structure'],
  [
    'choice with a type the element does not allow',
    observation({ valueQuantity: undefined, valueAttachment: { url: 'http://x' } }),
    'Observation.valueAttachment',
    'structure',
  ],
  ['two types of one choice', observation({ valueString: 'x' }), 'Observation.valueString', 'structure'],
  ['primitive extension with an unknown key', observation({ _status: { foo: 1 } }), 'Observation._status.foo', 'structure'],
  ['_element of a complex element', observation({ _code: { extension: [ext] } }), 'Observation._code', 'structure'],
  ['_element of xhtml (no extensions on xhtml)', patient({ text: { ...div('x'), _div: { extension: [ext] } } }), 'Patient.text._div', 'structure'],
  ['_element of an unknown element', patient({ _nickname: { extension: [ext] } }), 'Patient._nickname', 'structure'],
  ['resourceType inside a datatype', patient({ name: [{ resourceType: 'HumanName', family: 'x' }] }), 'Patient.name[0].resourceType', 'structure'],
  ['array for a single value', observation({ status: ['final'] }), 'Observation.status', 'structure'],
  ['single value for an array', patient({ name: { family: 'Doe' } }), 'Patient.name', 'structure'],
  ['number for a code', patient({ gender: 1 }), 'Patient.gender', 'value'],
  ['string for a boolean', patient({ active: 'true' }), 'Patient.active', 'value'],
  ['string for an object', observation({ code: 'x' }), 'Observation.code', 'structure'],
  ['object for a string', patient({ name: [{ family: { value: 'Doe' } }] }), 'Patient.name[0].family', 'value'],
  ['impossible date', patient({ birthDate: '1970-02-30' }), 'Patient.birthDate', 'value'],
  ['dateTime with minutes only', observation({ effectiveDateTime: '2020-01-01T10:00' }), 'Observation.effectiveDateTime', 'value'],
  ['dateTime with a time and no zone', observation({ effectiveDateTime: '2020-01-01T10:00:00' }), 'Observation.effectiveDateTime', 'value'],
  ['instant without time', observation({ issued: '2020-01-01' }), 'Observation.issued', 'value'],
  ['bad resource id', patient({ id: 'a b' }), 'Patient.id', 'value'],
  ['decimal integer', patient({ multipleBirthInteger: 1.5 }), 'Patient.multipleBirthInteger', 'value'],
  ['integer beyond 32 bits', patient({ multipleBirthInteger: 2 ** 31 }), 'Patient.multipleBirthInteger', 'value'],
  [
    'positiveInt 0',
    observation({ valueQuantity: undefined, valueSampledData: { origin: { value: 0 }, period: 1, dimensions: 0, data: '1' } }),
    'Observation.valueSampledData.dimensions',
    'value',
  ],
  ['bad base64', { resourceType: 'Binary', contentType: 'text/plain', data: 'QUJ!' }, 'Binary.data', 'value'],
  ['missing required element', without(observation(), 'status'), 'Observation.status', 'required'],
  [
    'missing required element in a backbone',
    { resourceType: 'Questionnaire', status: 'draft', item: [{ linkId: 'a', type: 'group', item: [{ type: 'string' }] }] },
    'Questionnaire.item[0].item[0].linkId',
    'required',
  ],
  ['extension without url', patient({ extension: [{ valueString: 'x' }] }), 'Patient.extension[0].url', 'required'],
  [
    'extension without url in a primitive _element',
    patient({ _birthDate: { extension: [{ valueString: 'x' }] } }),
    'Patient._birthDate.extension[0].url',
    'required',
  ],
  ['empty string', patient({ name: [{ family: '' }] }), 'Patient.name[0].family', 'value'],
  ['whitespace-only string', patient({ name: [{ family: '  ' }] }), 'Patient.name[0].family', 'value'],
  ['empty array', patient({ name: [{ family: 'Doe', given: [] }] }), 'Patient.name[0].given', 'structure'],
  ['empty object', patient({ name: [{}] }), 'Patient.name[0]', 'invariant'],
  ['object with only an id', patient({ name: [{ id: 'n1' }] }), 'Patient.name[0]', 'invariant'],
  ['null value', patient({ gender: null }), 'Patient.gender', 'structure'],
  ['null in an array without an extension', patient({ name: [{ given: ['a', null] }] }), 'Patient.name[0].given[1]', 'structure'],
  ['null in an array of objects', patient({ name: [null] }), 'Patient.name[0]', 'structure'],
  ['value and extension both null', patient({ name: [{ given: [null], _given: [null] }] }), 'Patient.name[0]._given[0]', 'structure'],
  ['misaligned _element array', patient({ name: [{ given: ['a'], _given: [null, { extension: [ext] }] }] }), 'Patient.name[0]._given', 'structure'],
  ['_element without value nor extension', { ...without(patient(), 'birthDate'), _birthDate: { id: 'b' } }, 'Patient._birthDate', 'invariant'],
  ['code outside a required binding', observation({ status: 'bogus' }), 'Observation.status', 'code-invalid'],
  ['gender outside a required binding', patient({ gender: 'bogus' }), 'Patient.gender', 'code-invalid'],
  ['code outside a required binding in a datatype', patient({ telecom: [{ system: 'pager2', value: '1' }] }), 'Patient.telecom[0].system', 'code-invalid'],
  [
    'CodeableConcept outside a required binding',
    condition({ clinicalStatus: { coding: [{ system: CLINICAL, code: 'gone' }] } }),
    'Condition.clinicalStatus',
    'code-invalid',
  ],
  [
    'CodeableConcept with the right code in another system',
    condition({ clinicalStatus: { coding: [{ system: 'http://example.org', code: 'active' }] } }),
    'Condition.clinicalStatus',
    'code-invalid',
  ],
  ['CodeableConcept with a required binding and only text', condition({ clinicalStatus: { text: 'active' } }), 'Condition.clinicalStatus', 'code-invalid'],
  ['ext-1: value and extensions', patient({ extension: [{ ...ext, extension: [ext] }] }), 'Patient.extension[0]', 'invariant'],
  ['ext-1: neither value nor extensions', patient({ extension: [{ url: 'http://example.org/x' }] }), 'Patient.extension[0]', 'invariant'],
  ['obs-6: value and dataAbsentReason', observation({ dataAbsentReason: { text: 'x' } }), 'Observation', 'invariant'],
  [
    'obs-7: a component with the observation code',
    observation({ component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, valueString: 'x' }] }),
    'Observation',
    'invariant',
  ],
  ['qty-3: code without system', observation({ valueQuantity: { value: 1, code: 'mg' } }), 'Observation.valueQuantity', 'invariant'],
  [
    'per-1: start after end',
    observation({ effectiveDateTime: undefined, effectivePeriod: { start: '2020-01-02', end: '2020-01-01' } }),
    'Observation.effectivePeriod',
    'invariant',
  ],
  [
    'rng-2: low above high (same non-UCUM unit)',
    observation({ valueQuantity: undefined, valueRange: { low: { value: 3, unit: 'x' }, high: { value: 2, unit: 'x' } } }),
    'Observation.valueRange',
    'invariant',
  ],
  ['ref-1: local reference to nothing', observation({ subject: { reference: '#nope' } }), 'Observation.subject', 'invariant'],
  [
    'dom-2: nested contained',
    patient({
      contained: [{ resourceType: 'Patient', id: 'c', contained: [{ resourceType: 'Patient', id: 'd' }] }],
      link: [{ other: { reference: '#c' }, type: 'seealso' }],
    }),
    'Patient',
    'invariant',
  ],
  ['dom-3: contained resource nobody refers to', patient({ contained: [{ resourceType: 'Organization', id: 'o', name: 'x' }] }), 'Patient', 'invariant'],
  [
    'dom-4: contained with a versionId',
    patient({ contained: [{ resourceType: 'Organization', id: 'o', name: 'x', meta: { versionId: '1' } }], managingOrganization: { reference: '#o' } }),
    'Patient',
    'invariant',
  ],
  [
    'dom-5: contained with a security label',
    patient({
      contained: [{ resourceType: 'Organization', id: 'o', name: 'x', meta: { security: [{ code: 'R' }] } }],
      managingOrganization: { reference: '#o' },
    }),
    'Patient',
    'invariant',
  ],
  ['contained without resourceType', patient({ contained: [{ id: 'o', name: 'x' }] }), 'Patient.contained[0].resourceType', 'required'],
  ['contained of an unknown type', patient({ contained: [{ resourceType: 'Bot', id: 'o' }] }), 'Patient.contained[0].resourceType', 'structure'],
  ['contained of an abstract type', patient({ contained: [{ resourceType: 'DomainResource', id: 'o' }] }), 'Patient.contained[0].resourceType', 'structure'],
  [
    'bad element in a contained resource',
    patient({ contained: [{ resourceType: 'Organization', id: 'o', name: '' }], managingOrganization: { reference: '#o' } }),
    'Patient.contained[0].name',
    'value',
  ],
  [
    'bad contained id',
    patient({ contained: [{ resourceType: 'Organization', id: 'o_1', name: 'x' }], managingOrganization: { reference: '#o_1' } }),
    'Patient.contained[0].id',
    'value',
  ],
  [
    'bad Bundle entry resource',
    { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:c757873d-ec9a-4326-a141-556f43239520', resource: patient({ gender: 'x' }) }] },
    'Bundle.entry[0].resource.gender',
    'code-invalid',
  ],
  [
    'Bundle entry resource invariant',
    { resourceType: 'Bundle', type: 'collection', entry: [{ resource: observation({ dataAbsentReason: { text: 'x' } }) }] },
    'Bundle.entry[0].resource',
    'invariant',
  ],
  [
    'bad Parameters resource',
    { resourceType: 'Parameters', parameter: [{ name: 'p', resource: patient({ birthDate: 'x' }) }] },
    'Parameters.parameter[0].resource.birthDate',
    'value',
  ],
  [
    'ras-2: probability above 100',
    { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [{ probabilityDecimal: 101 }] },
    'RiskAssessment.prediction[0]',
    'invariant',
  ],
  [
    'SimpleQuantity with a comparator',
    {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: { text: 'x' },
      subject: { reference: 'Patient/p1' },
      dispenseRequest: { quantity: { value: 1, comparator: '<' } },
    },
    'MedicationRequest.dispenseRequest.quantity.comparator',
    'structure',
  ],
  ["Medplum's Meta.project is not R4", patient({ meta: { project: 'x' } }), 'Patient.meta.project', 'structure'],
  ["Medplum's Binary.url is not R4", { resourceType: 'Binary', contentType: 'text/plain', url: 'http://x' }, 'Binary.url', 'structure'],
  [
    'R5 EvidenceVariable element',
    { resourceType: 'EvidenceVariable', status: 'draft', characteristic: [{ definitionCodeableConcept: { text: 'x' }, linkId: 'a' }] },
    'EvidenceVariable.characteristic[0].linkId',
    'structure',
  ],
  [
    'R4 EvidenceVariable requires a definition',
    { resourceType: 'EvidenceVariable', status: 'draft', characteristic: [{ description: 'x' }] },
    'EvidenceVariable.characteristic[0].definition[x]',
    'required',
  ],
  ['txt-2: empty narrative', patient({ text: div('\n  ') }), 'Patient.text.div', 'invariant'],
  ['txt-1: script in the narrative', patient({ text: div('<script>alert(1)</script>x') }), 'Patient.text.div', 'invariant'],
  ['txt-1: event attribute in the narrative', patient({ text: div('<p onclick="x()">x</p>') }), 'Patient.text.div', 'invariant'],
  ['narrative without its status', patient({ text: { div: div('x').div } }), 'Patient.text.status', 'required'],
  [
    'que-7: operator exists with a non-Boolean answer',
    {
      resourceType: 'Questionnaire',
      status: 'draft',
      item: [{ linkId: 'a', type: 'string', enableWhen: [{ question: 'b', operator: 'exists', answerString: 'x' }] }],
    },
    'Questionnaire.item[0].enableWhen[0]',
    'invariant',
  ],
  [
    'ctm-1: onBehalfOf for a non-Practitioner',
    { resourceType: 'CareTeam', participant: [{ member: { reference: 'Patient/p1' }, onBehalfOf: { reference: 'Organization/o' } }] },
    'CareTeam.participant[0]',
    'invariant',
  ],
  [
    'too deeply nested',
    { resourceType: 'Questionnaire', status: 'draft', item: [nest(MAX_DEPTH)] },
    `Questionnaire${'.item[0]'.repeat(MAX_DEPTH)}`,
    'too-costly',
  ],
  ['not a resource', 'Patient', 'Resource', 'structure'],
  ['no resourceType', { id: 'x' }, 'Resource.resourceType', 'required'],
  ['unknown resourceType', { resourceType: 'Foo' }, 'Resource.resourceType', 'structure'],
];

const VALID: Array<[string, Json]> = [
  ['a vital sign', observation()],
  [
    'a CodeableConcept with one coding of its required value set among others',
    condition({
      clinicalStatus: {
        coding: [
          { system: 'http://example.org', code: 'x' },
          { system: CLINICAL, code: 'resolved' },
        ],
      },
    }),
  ],
  [
    'a required binding to a value set of external codes (not checked)',
    { resourceType: 'MolecularSequence', coordinateSystem: 0, structureVariant: [{ variantType: { coding: [{ system: 'http://loinc.org', code: 'x' }] } }] },
  ],
  ['a patient', patient()],
  ['a required primitive given only by its extension', without(observation({ _status: { extension: [ext] } }), 'status')],
  ['aligned primitive and extension arrays with nulls', patient({ name: [{ given: ['a', null], _given: [null, { extension: [ext] }] }] })],
  ['a primitive with both value and _element id', patient({ birthDate: '1970', _birthDate: { id: 'b' } })],
  [
    'ras-2 without a probability (empty, not false)',
    { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [{ outcome: { text: 'x' } }] },
  ],
  [
    'a contained resource referenced with #id',
    patient({ contained: [{ resourceType: 'Organization', id: 'o', name: 'x' }], managingOrganization: { reference: '#o' } }),
  ],
  [
    'a contained resource referring to its container with #',
    patient({ contained: [{ resourceType: 'Patient', id: 'c', link: [{ other: { reference: '#' }, type: 'seealso' }] }] }),
  ],
  [
    'a contained resource referenced from a canonical',
    {
      resourceType: 'Questionnaire',
      status: 'draft',
      contained: [{ resourceType: 'ValueSet', id: 'vs', status: 'draft' }],
      item: [{ linkId: 'a', type: 'choice', answerValueSet: '#vs' }],
    },
  ],
  ['a narrative with xml:lang', patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">x</div>' } })],
  ['a narrative with only an image', patient({ text: div('<img src="#p"/>') })],
  [
    'que-7 with a Boolean answer',
    {
      resourceType: 'Questionnaire',
      status: 'draft',
      item: [{ linkId: 'a', type: 'string', enableWhen: [{ question: 'b', operator: 'exists', answerBoolean: true }] }],
    },
  ],
  [
    'rng-2 with different non-UCUM units (not comparable: empty)',
    observation({ valueQuantity: undefined, valueRange: { low: { value: 3, unit: 'x' }, high: { value: 2, unit: 'y' } } }),
  ],
  ['per-1 with different precisions (empty)', observation({ effectiveDateTime: undefined, effectivePeriod: { start: '2020', end: '2020-01-01' } })],
  [
    'ctm-1 with a Practitioner member',
    { resourceType: 'CareTeam', participant: [{ member: { reference: 'Practitioner/x' }, onBehalfOf: { reference: 'Organization/o' } }] },
  ],
  [
    'R4 EvidenceVariable',
    { resourceType: 'EvidenceVariable', status: 'draft', characteristic: [{ definitionCodeableConcept: { text: 'x' }, groupMeasure: 'median' }] },
  ],
  [
    'Bundle.entry.response.outcome of any resource type',
    {
      resourceType: 'Bundle',
      type: 'batch-response',
      entry: [{ response: { status: '200', outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] } } }],
    },
  ],
  ['deep but within bounds', { resourceType: 'Questionnaire', status: 'draft', item: [nest(30)] }],
];

describe('the R4 validator rejects', () => {
  it.each(INVALID)('%s', (_, resource, path, code) => {
    const result = validateR4(resource);
    expect(result.valid).toBe(false);
    expect(result.issues.filter((i) => i.severity === 'error').map((i) => [i.path, i.code])).toContainEqual([path, code]);
  });

  it('a resource of another type than expected', () => {
    const result = validateR4(patient(), { expectedType: 'Observation' });
    expect(result.issues.map((i) => i.path)).toEqual(['Patient.resourceType']);
  });
});

describe('the R4 validator accepts', () => {
  it.each(VALID)('%s', (_, resource) => {
    expect(validateR4(resource).issues.filter((i) => i.severity === 'error')).toEqual([]);
  });
});

describe('garbage', () => {
  it('never makes it throw, whatever the JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = validateR4(value);
        expect(result.valid).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('never makes it throw inside a known resource type', () => {
    const types = ['Patient', 'Observation', 'Bundle', 'Questionnaire', 'Extension', 'Parameters', 'MedicationRequest'];
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.dictionary(
          fc.constantFrom('id', 'name', 'extension', 'contained', 'entry', 'item', 'text', 'valueQuantity', 'status', '_status', 'code', 'meta'),
          fc.jsonValue(),
        ),
        (type, body) => {
          validateR4({ resourceType: type, ...body });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['unclosed tags', '<p>'.repeat(100_000)],
    ['lone brackets', '<'.repeat(300_000)],
    ['an unterminated comment', `<!--${'-'.repeat(300_000)}`],
    ['a long xml:lang', `<p xml:lang="${'a'.repeat(300_000)}>x</p>`],
    ['many images without src', '<img alt="x"/>'.repeat(50_000)],
  ])('answers a narrative with %s fast', (_, inner) => {
    const start = performance.now();
    const result = validateR4(patient({ text: div(inner) }));
    expect(performance.now() - start).toBeLessThan(1000);
    expect(result.issues.map((i) => i.path)).toContain('Patient.text.div');
  });

  it('answers a huge resource in time linear in its size', () => {
    const given = Array.from({ length: 50_000 }, (_, i) => `name${i}`);
    const start = performance.now();
    expect(validateR4(patient({ name: [{ family: 'x', given }] })).valid).toBe(true);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
