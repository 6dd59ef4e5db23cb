/**
 * Index rows per FHIR data type and search parameter type.
 * https://hl7.org/fhir/R4/search.html#ptypes
 */
import type { FhirResource as Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { extractIndex } from '../../../src/search/extract.js';
import { r4ResourceTypes } from '../../../src/search/registry.js';
import { normalizeString } from '../../../src/search/strings.js';
import { BASE_URL, UCUM } from './fixtures.js';

const rowsOf = (resource: Resource, param: string) => extractIndex(resource, { baseUrl: BASE_URL }).filter((r) => r.param === param);
const bothEngines = (resource: Resource) => {
  const fast = extractIndex(resource, { baseUrl: BASE_URL })
    .map((r) => JSON.stringify(r))
    .sort();
  const slow = extractIndex(resource, { baseUrl: BASE_URL, engine: 'fhirpath' })
    .map((r) => JSON.stringify(r))
    .sort();
  return [fast, slow];
};
const utc = (s: string) => Date.parse(s);

describe('normalizeString', () => {
  it.each([
    ['Müller', 'muller'],
    ['  Zoë   ANNE ', 'zoe anne'],
    ['Ångström\tÇa', 'angstrom ca'],
    ['São\nPaulo', 'sao paulo'],
    ['ABC', 'abc'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalizeString(input)).toBe(expected);
  });
});

describe('string rows', () => {
  it('index every part of a HumanName', () => {
    const p: Resource = {
      resourceType: 'Patient',
      name: [{ family: 'Van Dyke', given: ['José', 'M.'], prefix: ['Dr'], suffix: ['Jr'], text: 'Dr José Van Dyke' }],
    };
    expect(rowsOf(p, 'name').map((r) => r.table === 'string' && [r.value, r.exact])).toEqual([
      ['van dyke', 'Van Dyke'],
      ['jose', 'José'],
      ['m.', 'M.'],
      ['dr jose van dyke', 'Dr José Van Dyke'],
      ['dr', 'Dr'],
      ['jr', 'Jr'],
    ]);
    expect(rowsOf(p, 'family')).toEqual([{ table: 'string', param: 'family', value: 'van dyke', exact: 'Van Dyke' }]);
  });

  it('index the parts of an Address', () => {
    const p: Resource = {
      resourceType: 'Patient',
      address: [{ line: ['1 Main St', 'Apt 2'], city: 'Springfield', district: 'X', state: 'IL', postalCode: '62701', country: 'US', text: 'somewhere' }],
    };
    expect(rowsOf(p, 'address').map((r) => r.table === 'string' && r.exact)).toEqual([
      '1 Main St',
      'Apt 2',
      'Springfield',
      'X',
      'IL',
      '62701',
      'US',
      'somewhere',
    ]);
    expect(rowsOf(p, 'address-postalcode').map((r) => r.table === 'string' && r.value)).toEqual(['62701']);
  });

  it('write identical rows once', () => {
    const p: Resource = { resourceType: 'Patient', name: [{ given: ['Ann'] }, { given: ['Ann'] }] };
    expect(rowsOf(p, 'given')).toHaveLength(1);
  });
});

describe('token rows', () => {
  it('index codings, CodeableConcept.text and displays for :text', () => {
    const o: Resource = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '1', display: 'Héart' }, { code: '2' }], text: 'Heart  rate' },
    };
    expect(rowsOf(o, 'code')).toEqual([
      { table: 'token', param: 'code', system: 'http://loinc.org', code: '1', text: 'heart' },
      { table: 'token', param: 'code', system: null, code: '2', text: null },
      { table: 'token', param: 'code', system: null, code: null, text: 'heart rate' },
    ]);
    expect(rowsOf(o, 'status')).toEqual([{ table: 'token', param: 'status', system: null, code: 'final', text: null }]);
  });

  it('index identifiers with their type for :of-type', () => {
    const p: Resource = {
      resourceType: 'Patient',
      identifier: [
        {
          system: 's',
          value: 'v',
          type: {
            coding: [
              { system: 'ts', code: 'MR' },
              { system: 'ts', code: 'PI' },
            ],
            text: 'Rec',
          },
        },
        { value: 'only' },
      ],
    };
    expect(rowsOf(p, 'identifier')).toEqual([
      { table: 'token', param: 'identifier', system: 's', code: 'v', text: 'rec', ofType: 'ts|MR' },
      { table: 'token', param: 'identifier', system: 's', code: 'v', text: 'rec', ofType: 'ts|PI' },
      { table: 'token', param: 'identifier', system: null, code: 'only', text: null, ofType: null },
    ]);
  });

  it('index booleans, ContactPoints (filtered by system) and the deceased expression', () => {
    const p: Resource = {
      resourceType: 'Patient',
      active: false,
      telecom: [
        { system: 'phone', value: '555' },
        { system: 'email', value: 'a@b.c' },
      ],
    };
    expect(rowsOf(p, 'active')).toEqual([{ table: 'token', param: 'active', system: null, code: 'false', text: null }]);
    expect(rowsOf(p, 'phone').map((r) => r.table === 'token' && r.code)).toEqual(['555']);
    expect(rowsOf(p, 'email').map((r) => r.table === 'token' && r.code)).toEqual(['a@b.c']);
    expect(rowsOf(p, 'deceased').map((r) => r.table === 'token' && r.code)).toEqual(['false']);
    expect(rowsOf({ resourceType: 'Patient', deceasedDateTime: '2020' }, 'deceased').map((r) => r.table === 'token' && r.code)).toEqual(['true']);
  });

  it('index meta tags, security labels, profiles and source', () => {
    const p: Resource = {
      resourceType: 'Patient',
      meta: { tag: [{ system: 't', code: 'a' }], security: [{ system: 's', code: 'R' }], profile: ['http://p'], source: 'http://src#1' },
    };
    expect(rowsOf(p, '_tag')).toEqual([{ table: 'token', param: '_tag', system: 't', code: 'a', text: null }]);
    expect(rowsOf(p, '_security')).toEqual([{ table: 'token', param: '_security', system: 's', code: 'R', text: null }]);
    expect(rowsOf(p, '_profile')).toEqual([{ table: 'uri', param: '_profile', value: 'http://p' }]);
    expect(rowsOf(p, '_source')).toEqual([{ table: 'uri', param: '_source', value: 'http://src#1' }]);
    expect(rowsOf(p, '_id')).toEqual([]);
  });
});

describe('date rows', () => {
  const birth = (birthDate: string) => rowsOf({ resourceType: 'Patient', birthDate }, 'birthdate');
  it.each([
    ['2020', '2020-01-01T00:00:00.000Z', '2020-12-31T23:59:59.999Z'],
    ['2020-02', '2020-02-01T00:00:00.000Z', '2020-02-29T23:59:59.999Z'],
    ['2021-02', '2021-02-01T00:00:00.000Z', '2021-02-28T23:59:59.999Z'],
    ['2020-02-29', '2020-02-29T00:00:00.000Z', '2020-02-29T23:59:59.999Z'],
    ['0001-01-01', '0001-01-01T00:00:00.000Z', '0001-01-01T23:59:59.999Z'],
  ])('a date %s covers its precision', (value, low, high) => {
    expect(birth(value)).toEqual([{ table: 'date', param: 'birthdate', low: utc(low), high: utc(high) }]);
  });

  const effective = (effectiveDateTime: string) => rowsOf({ resourceType: 'Observation', status: 'final', code: {}, effectiveDateTime }, 'date');
  it.each([
    ['2020-01-01T10:00:00Z', '2020-01-01T10:00:00.000Z', '2020-01-01T10:00:00.999Z'],
    ['2020-01-01T10:00:00+02:00', '2020-01-01T08:00:00.000Z', '2020-01-01T08:00:00.999Z'],
    ['2020-01-01T10:00:00-05:30', '2020-01-01T15:30:00.000Z', '2020-01-01T15:30:00.999Z'],
    ['2020-01-01T10:00:00', '2020-01-01T10:00:00.000Z', '2020-01-01T10:00:00.999Z'],
    ['2020-01-01T10:00:00.5Z', '2020-01-01T10:00:00.500Z', '2020-01-01T10:00:00.599Z'],
    ['2020-01-01T10:00:00.123456Z', '2020-01-01T10:00:00.123Z', '2020-01-01T10:00:00.123Z'],
  ])('a dateTime %s covers its precision (no zone: UTC)', (value, low, high) => {
    expect(effective(value)).toEqual([{ table: 'date', param: 'date', low: utc(low), high: utc(high) }]);
  });

  it('skips invalid dates', () => {
    expect(birth('2020-02-30')).toEqual([]);
    expect(birth('soon')).toEqual([]);
  });

  it('index a Period, open ends at the JavaScript date limits', () => {
    const period = (effectivePeriod: object) => rowsOf({ resourceType: 'Observation', status: 'final', code: {}, effectivePeriod } as Resource, 'date');
    expect(period({ start: '2020', end: '2021-06' })).toEqual([{ table: 'date', param: 'date', low: utc('2020-01-01'), high: utc('2021-07-01') - 1 }]);
    expect(period({ start: '2020' })).toEqual([{ table: 'date', param: 'date', low: utc('2020-01-01'), high: 8.64e15 }]);
    expect(period({ end: '2020' })).toEqual([{ table: 'date', param: 'date', low: -8.64e15, high: utc('2021-01-01') - 1 }]);
    expect(period({})).toEqual([]);
  });

  it('index a Timing by its outer limits', () => {
    expect(
      rowsOf(
        {
          resourceType: 'CarePlan',
          status: 'active',
          intent: 'plan',
          subject: { reference: 'Patient/1' },
          activity: [{ detail: { status: 'scheduled', scheduledTiming: { event: ['2020-01-05', '2020-01-02'] } } }],
        },
        'activity-date',
      ),
    ).toEqual([{ table: 'date', param: 'activity-date', low: utc('2020-01-02'), high: utc('2020-01-06') - 1 }]);
  });
});

describe('number and quantity rows', () => {
  const probability = (prediction: object) =>
    rowsOf({ resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/1' }, prediction: [prediction] } as Resource, 'probability');
  // Stored numbers are exact; the implicit precision of R4 applies to the search value.
  it.each([100, 1.5, 0.02, -3, 1e21])('the number %d is stored exactly, as the point [v, v]', (value) => {
    expect(probability({ probabilityDecimal: value })).toEqual([{ table: 'number', param: 'probability', low: value, high: value }]);
  });

  it('a Range is the range from its low to its high', () => {
    expect(probability({ probabilityRange: { low: { value: 1 }, high: { value: 2 } } })).toEqual([{ table: 'number', param: 'probability', low: 1, high: 2 }]);
    expect(probability({ probabilityRange: { low: { value: 1 } } })).toEqual([{ table: 'number', param: 'probability', low: 1, high: Number.MAX_VALUE }]);
  });

  it('a UCUM quantity also gets a canonical row', () => {
    const o: Resource = { resourceType: 'Observation', status: 'final', code: {}, valueQuantity: { value: 2.5, unit: 'kilogram', system: UCUM, code: 'kg' } };
    expect(rowsOf(o, 'value-quantity')).toEqual([
      { table: 'quantity', param: 'value-quantity', low: 2.5, high: 2.5, system: UCUM, code: 'kg' },
      { table: 'quantity', param: 'value-quantity', low: 2500, high: 2500, system: UCUM, code: 'g', canonical: true },
    ]);
  });

  it('uses the unit when there is no code, and converts no non-UCUM or special units', () => {
    const q = (valueQuantity: object) => rowsOf({ resourceType: 'Observation', status: 'final', code: {}, valueQuantity } as Resource, 'value-quantity');
    expect(q({ value: 1, unit: 'tablet' })).toEqual([{ table: 'quantity', param: 'value-quantity', low: 1, high: 1, system: null, code: 'tablet' }]);
    expect(q({ value: 37, system: UCUM, code: 'Cel' })).toHaveLength(1);
    expect(q({ value: 1, system: 'http://other', code: 'mg' })).toHaveLength(1);
    expect(q({ unit: 'mg' })).toEqual([]);
  });

  it('index Money with the ISO 4217 system', () => {
    const claim = {
      resourceType: 'ChargeItem',
      status: 'billed',
      code: {},
      subject: { reference: 'Patient/1' },
      priceOverride: { value: 12.5, currency: 'EUR' },
    } as Resource;
    expect(rowsOf(claim, 'price-override')).toEqual([
      { table: 'quantity', param: 'price-override', low: 12.5, high: 12.5, system: 'urn:iso:std:iso:4217', code: 'EUR' },
    ]);
  });
});

describe('reference rows', () => {
  const ref = (reference: object) => rowsOf({ resourceType: 'Observation', status: 'final', code: {}, subject: reference } as Resource, 'subject');
  const row = (
    value: string | null,
    targetType: string | null,
    targetId: string | null,
    identifierSystem: string | null = null,
    identifierValue: string | null = null,
  ) => ({
    table: 'reference',
    param: 'subject',
    value,
    targetType,
    targetId,
    identifierSystem,
    identifierValue,
  });

  it.each([
    [{ reference: 'Patient/1' }, row('Patient/1', 'Patient', '1')],
    [{ reference: 'Patient/1/_history/2' }, row('Patient/1', 'Patient', '1')],
    [{ reference: `${BASE_URL}/Patient/1` }, row('Patient/1', 'Patient', '1')],
    [{ reference: 'http://other.org/fhir/Patient/1' }, row('http://other.org/fhir/Patient/1', null, null)],
    [{ reference: 'urn:uuid:123' }, row('urn:uuid:123', null, null)],
    [{ reference: 'Patient/1', identifier: { system: 's', value: 'v' } }, row('Patient/1', 'Patient', '1', 's', 'v')],
    [{ identifier: { system: 's', value: 'v' } }, row(null, null, null, 's', 'v')],
  ])('%j', (reference, expected) => {
    expect(ref(reference)).toEqual([expected]);
  });

  it('skips contained and empty references', () => {
    expect(ref({ reference: '#p1' })).toEqual([]);
    expect(ref({ display: 'Someone' })).toEqual([]);
  });

  it('keeps only references to the type named in where(resolve() is T)', () => {
    const obs = (subject: object) => rowsOf({ resourceType: 'Observation', status: 'final', code: {}, subject } as Resource, 'patient');
    expect(obs({ reference: 'Group/1' })).toEqual([]);
    expect(obs({ reference: 'http://other/fhir/Patient/1' })).toHaveLength(1);
    expect(obs({ reference: 'urn:uuid:1', type: 'Patient' })).toHaveLength(1);
    expect(obs({ reference: 'Patient/1' })).toHaveLength(1);
  });

  it('index canonical references without their version', () => {
    const qr: Resource = { resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'http://q.org/Questionnaire/x|2.0' };
    expect(rowsOf(qr, 'questionnaire')).toEqual([
      {
        table: 'reference',
        param: 'questionnaire',
        value: 'http://q.org/Questionnaire/x',
        targetType: null,
        targetId: null,
        identifierSystem: null,
        identifierValue: null,
      },
    ]);
  });

  it('index the first entry of a document Bundle as its composition', () => {
    const bundle: Resource = { resourceType: 'Bundle', type: 'document', entry: [{ resource: { resourceType: 'Composition', id: 'c1' } as Resource }] };
    expect(rowsOf(bundle, 'composition')).toEqual([
      {
        table: 'reference',
        param: 'composition',
        value: 'Composition/c1',
        targetType: 'Composition',
        targetId: 'c1',
        identifierSystem: null,
        identifierValue: null,
      },
    ]);
  });
});

describe('composite rows', () => {
  it('combine the components of each element, never across elements', () => {
    const o: Resource = {
      resourceType: 'Observation',
      status: 'final',
      code: {},
      component: [
        {
          code: {
            coding: [
              { system: 'l', code: 'sys' },
              { system: 'x', code: 's2' },
            ],
          },
          valueQuantity: { value: 120, system: UCUM, code: 'mm[Hg]' },
        },
        { code: { coding: [{ system: 'l', code: 'dia' }] }, valueQuantity: { value: 80 } },
      ],
    };
    expect(rowsOf(o, 'component-code-value-quantity')).toEqual([
      {
        table: 'composite',
        param: 'component-code-value-quantity',
        components: [
          { system: 'l', code: 'sys' },
          { system: UCUM, code: 'mm[Hg]', low: 120, high: 120 },
        ],
      },
      {
        table: 'composite',
        param: 'component-code-value-quantity',
        components: [
          { system: 'x', code: 's2' },
          { system: UCUM, code: 'mm[Hg]', low: 120, high: 120 },
        ],
      },
      {
        table: 'composite',
        param: 'component-code-value-quantity',
        components: [
          { system: 'l', code: 'dia' },
          { system: null, code: null, low: 80, high: 80 },
        ],
      },
    ]);
  });

  it('need every component', () => {
    const o: Resource = { resourceType: 'Observation', status: 'final', code: { coding: [{ code: 'a' }] } };
    expect(rowsOf(o, 'code-value-quantity')).toEqual([]);
  });

  it('read components relative to the resource with %resource', () => {
    const seq: Resource = {
      resourceType: 'MolecularSequence',
      type: 'dna',
      coordinateSystem: 0,
      referenceSeq: { chromosome: { coding: [{ system: 'c', code: '1' }] } },
      variant: [{ start: 10, end: 20 }],
    };
    expect(rowsOf(seq, 'chromosome-variant-coordinate')).toEqual([
      {
        table: 'composite',
        param: 'chromosome-variant-coordinate',
        components: [
          { system: 'c', code: '1' },
          { low: 10, high: 10 },
          { low: 20, high: 20 },
        ],
      },
    ]);
  });
});

describe('extraction', () => {
  it('compiles the expressions of every R4 resource type with both engines', () => {
    // An empty resource has no values, except Patient's `deceased`, which is false when absent.
    const expected = (resourceType: string) =>
      resourceType === 'Patient' ? [{ table: 'token', param: 'deceased', system: null, code: 'false', text: null }] : [];
    for (const resourceType of r4ResourceTypes()) {
      expect(extractIndex({ resourceType }), resourceType).toEqual(expected(resourceType));
      expect(extractIndex({ resourceType }, { engine: 'fhirpath' }), resourceType).toEqual(expected(resourceType));
    }
  });

  it('gives no rows for unknown resource types', () => {
    expect(extractIndex({ resourceType: 'Nonsense' })).toEqual([]);
  });

  it('does not index contained resources', () => {
    const p = {
      resourceType: 'Observation',
      status: 'final',
      code: {},
      contained: [{ resourceType: 'Patient', id: 'c', name: [{ family: 'Hidden' }] }],
    } as Resource;
    expect(extractIndex(p).some((r) => r.table === 'string' && r.value === 'hidden')).toBe(false);
  });

  it('gives the same rows with the fast path and with FHIRPath.js', () => {
    const o: Resource = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'l', code: '1' }], text: 'x' },
      subject: { reference: 'Patient/1' },
      effectivePeriod: { start: '2020' },
      valueCodeableConcept: { text: 'pos' },
      component: [{ code: { text: 'c' }, valueQuantity: { value: 1, system: UCUM, code: 'mg' } }],
    };
    const [fast, slow] = bothEngines(o);
    expect(fast).toEqual(slow);
    expect(fast!.length).toBeGreaterThan(5);
  });
});
