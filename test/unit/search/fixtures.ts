/**
 * A small hand-written set of resources for the search tables: each resource exists to exercise
 * a type, precision or modifier case (the comments say which).
 */
import type { FhirResource as Resource } from 'fhir/r4';

export const BASE_URL = 'http://x/fhir';
export const UCUM = 'http://unitsofmeasure.org';
const LOINC = 'http://loinc.org';

const meta = (lastUpdated: string, extra: Record<string, unknown> = {}) => ({ lastUpdated, ...extra });

export const RESOURCES: Resource[] = [
  {
    resourceType: 'Patient',
    id: 'p1',
    meta: meta('2020-01-01T00:00:00Z', {
      tag: [{ system: 'http://example.org/tags', code: 'vip' }],
      profile: ['http://hl7.org/fhir/StructureDefinition/Patient'],
    }),
    identifier: [
      {
        system: 'urn:oid:1.2.36.146.595.217.0.1',
        value: '12345',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }], text: 'Medical record' },
      },
    ],
    // Narrative for _text: markup, an entity, a plural (stemmed), a phrase.
    text: {
      status: 'generated',
      div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Peter James <b>Chalmers</b> has had two heart attacks&#160;and has high blood pressure.</p></div>',
    },
    active: true,
    name: [
      { family: 'Chalmers', given: ['Peter', 'James'] },
      { use: 'usual', given: ['Jim'] },
    ],
    telecom: [{ system: 'phone', value: '(03) 5555 6473' }],
    gender: 'male',
    birthDate: '1974-12-25',
    deceasedBoolean: false,
    address: [{ line: ['534 Erewhon St'], city: 'PleasantVille', postalCode: '3999', country: 'Australia' }],
    generalPractitioner: [{ reference: 'Practitioner/dr1' }],
    managingOrganization: { reference: 'Organization/org1' },
  },
  {
    // Accents, a whole-year birth date, an identifier value with | and , (escaping), and
    // references given as absolute URLs (ours and someone else's).
    resourceType: 'Patient',
    id: 'p2',
    meta: meta('2021-06-15T12:00:00Z'),
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Zoë MÜLLER: type 2 diabetes; goes running every day.</div>' },
    identifier: [{ system: 'http://hospital/mrn', value: 'A|1,2' }],
    active: false,
    name: [{ family: 'Müller', given: ['Zoë'] }],
    gender: 'female',
    birthDate: '1980',
    managingOrganization: { reference: `${BASE_URL}/Organization/org2` },
    generalPractitioner: [{ reference: 'http://other.org/fhir/Practitioner/ext1' }],
  },
  {
    // Name text only; deceasedDateTime with a +01:00 offset; a logical (identifier) reference.
    resourceType: 'Patient',
    id: 'p3',
    meta: meta('2022-12-31T23:59:59.999Z'),
    name: [{ text: 'Baby  Doe' }],
    birthDate: '2020-02-29',
    deceasedDateTime: '2020-03-01T10:00:00+01:00',
    managingOrganization: { identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.3' } },
  },
  { resourceType: 'Patient', id: 'p4', meta: meta('2023-01-01T00:00:00Z'), gender: 'unknown' },
  { resourceType: 'Practitioner', id: 'dr1', meta: meta('2020-01-01T00:00:00Z'), name: [{ family: 'Careful', given: ['Adam'] }] },
  { resourceType: 'Organization', id: 'org1', meta: meta('2020-01-01T00:00:00Z'), name: 'Acme Health', partOf: { reference: 'Organization/org2' } },
  { resourceType: 'Organization', id: 'org2', meta: meta('2020-01-01T00:00:00Z'), name: 'Big Holding', address: [{ city: 'Boston' }] },
  {
    resourceType: 'Observation',
    id: 'o1',
    meta: meta('2021-03-05T10:31:00Z'),
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Heart rate <span>at rest</span></div>' },
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: 'Patient/p1' },
    performer: [{ reference: 'Practitioner/dr1' }],
    effectiveDateTime: '2021-03-05T10:30:00Z',
    valueQuantity: { value: 72, unit: 'beats/minute', system: UCUM, code: '/min' },
  },
  {
    // A Period effective time.
    resourceType: 'Observation',
    id: 'o2',
    meta: meta('2021-03-03T00:00:00Z'),
    status: 'preliminary',
    code: { coding: [{ system: LOINC, code: '29463-7', display: 'Body weight' }] },
    subject: { reference: 'Patient/p1' },
    effectivePeriod: { start: '2021-03-01', end: '2021-03-02' },
    valueQuantity: { value: 185, unit: 'lbs', system: UCUM, code: '[lb_av]' },
  },
  {
    // Components: composite search must not mix the code of one with the value of another.
    resourceType: 'Observation',
    id: 'o3',
    meta: meta('2021-05-02T00:00:00Z'),
    status: 'final',
    code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }] },
    subject: { reference: 'Patient/p2' },
    effectiveDateTime: '2021-05',
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
      { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 80, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
    ],
  },
  {
    // A -05:00 offset (13:00Z).
    resourceType: 'Observation',
    id: 'o4',
    meta: meta('2021-05-20T14:00:00Z'),
    status: 'final',
    code: { coding: [{ system: LOINC, code: '2339-0', display: 'Glucose' }] },
    subject: { reference: 'Patient/p2' },
    effectiveDateTime: '2021-05-20T08:00:00-05:00',
    valueQuantity: { value: 5.4, unit: 'mmol/L', system: UCUM, code: 'mmol/L' },
  },
  {
    // 5400 mg: found by 5.4 g through the canonical (UCUM) rows. No subject.
    resourceType: 'Observation',
    id: 'o5',
    meta: meta('2021-01-01T00:00:00Z'),
    status: 'final',
    code: { coding: [{ system: 'http://example.org/codes', code: 'mass' }] },
    valueQuantity: { value: 5400, unit: 'mg', system: UCUM, code: 'mg' },
  },
  {
    resourceType: 'Observation',
    id: 'o6',
    meta: meta('2021-01-01T00:00:00Z'),
    status: 'final',
    code: { coding: [{ system: 'http://example.org/codes', code: 'test' }], text: 'Free text' },
    subject: { reference: 'Patient/p3' },
    valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '10828004', display: 'Positive' }], text: 'positive result' },
  },
  {
    resourceType: 'Observation',
    id: 'o7',
    meta: meta('2020-01-02T00:00:00Z'),
    status: 'final',
    code: { coding: [{ system: LOINC, code: '2345-7' }] },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2020-01-01',
    valueQuantity: { value: 100, unit: 'mg/dL', system: UCUM, code: 'mg/dL' },
  },
  {
    // valueDateTime: the code-value-date composite (whose official expression says DateTime).
    resourceType: 'Observation',
    id: 'o8',
    meta: meta('2020-01-02T00:00:00Z'),
    status: 'final',
    code: { coding: [{ system: 'http://example.org/codes', code: 'birth' }] },
    subject: { reference: 'Patient/p1' },
    valueDateTime: '2019-07-01',
  },
  {
    resourceType: 'Provenance',
    id: 'prov1',
    meta: meta('2021-05-03T00:00:00Z'),
    target: [{ reference: 'Observation/o3' }],
    recorded: '2021-05-03T00:00:00Z',
    agent: [{ who: { reference: 'Practitioner/dr1' } }],
  },
  {
    resourceType: 'List',
    id: 'list1',
    meta: meta('2021-01-01T00:00:00Z'),
    status: 'current',
    mode: 'working',
    entry: [{ item: { reference: 'Patient/p2' } }, { item: { reference: 'Patient/p4' } }],
  },
  // Numbers with different implicit precisions (RiskAssessment.prediction.probability).
  ...(
    [
      ['ra1', { probabilityDecimal: 0.02 }],
      ['ra2', { probabilityRange: { low: { value: 0.1 }, high: { value: 0.3 } } }],
      ['ra3', { probabilityDecimal: 100 }],
      ['ra4', { probabilityDecimal: 100.03 }],
      ['ra5', { probabilityDecimal: 99.6 }],
      ['ra6', { probabilityDecimal: 140 }],
    ] as const
  ).map(
    ([id, prediction]): Resource => ({
      resourceType: 'RiskAssessment',
      id,
      meta: meta('2021-01-01T00:00:00Z'),
      status: 'final',
      subject: { reference: 'Patient/p1' },
      prediction: [prediction],
    }),
  ),
  { resourceType: 'ValueSet', id: 'vs1', meta: meta('2021-01-01T00:00:00Z'), status: 'active', url: 'http://acme.org/fhir/ValueSet/123' },
  { resourceType: 'ValueSet', id: 'vs2', meta: meta('2021-01-01T00:00:00Z'), status: 'active', url: 'http://acme.org/fhir/ValueSet/123/_history/5' },
  { resourceType: 'ValueSet', id: 'vs3', meta: meta('2021-01-01T00:00:00Z'), status: 'active', url: 'urn:oid:1.2.3' },
  // Positions for near: around Boston (5 to 66 km apart), and on both sides of the antimeridian.
  ...(
    [
      ['loc-boston', 'Boston City Hall', 42.3601, -71.0589],
      ['loc-cambridge', 'Cambridge Clinic', 42.3736, -71.119],
      ['loc-worcester', 'Worcester Clinic', 42.2626, -71.8023],
      ['loc-providence', 'Providence Clinic', 41.824, -71.4128],
      ['loc-suva', 'Suva Hospital', -18.1416, 178.4419],
      ['loc-taveuni', 'Taveuni Health Centre', -16.8, -179.9],
    ] as const
  ).map(
    ([id, name, latitude, longitude]): Resource => ({
      resourceType: 'Location',
      id,
      meta: meta('2021-01-01T00:00:00Z'),
      name,
      position: { latitude, longitude },
    }),
  ),
  { resourceType: 'Location', id: 'loc-nowhere', meta: meta('2021-01-01T00:00:00Z'), name: 'Mobile unit' },
];

/** "Now" for `ap` on dates. */
export const NOW = Date.parse('2024-01-01T00:00:00Z');
