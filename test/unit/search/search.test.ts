/**
 * FHIR search semantics as a table: query string → the ids it must find among the fixtures,
 * through extractIndex (index rows), parseSearch (conditions) and the reference evaluator.
 * https://hl7.org/fhir/R4/search.html
 */
import { describe, expect, it } from 'vitest';
import { MemoryIndex } from '../../../src/fhir/search/evaluate.js';
import { parseSearch } from '../../../src/fhir/search/parse.js';
import { BASE_URL, NOW, RESOURCES } from './fixtures.js';

const index = MemoryIndex.of(RESOURCES, { baseUrl: BASE_URL });
const options = { baseUrl: BASE_URL, strict: true, maxCount: 100, defaultCount: 20, now: NOW };

function search(type: string | undefined, query: string): string[] {
  const parsed = parseSearch(type, new URLSearchParams(query), options);
  const found = index.search(parsed.types, parsed.where, parsed.sort).map((r) => r.id);
  return parsed.sort.length > 0 ? found : found.sort();
}

type Row = readonly [type: string | undefined, query: string, expected: string[]];

const ALL_OBS = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8'];
const P1_OBS = ['o1', 'o2', 'o7', 'o8'];

const TABLES: Record<string, Row[]> = {
  string: [
    ['Patient', 'name=peter', ['p1']],
    ['Patient', 'name=PET', ['p1']],
    ['Patient', 'name=chal', ['p1']],
    ['Patient', 'name=müller', ['p2']],
    ['Patient', 'name=muller', ['p2']],
    ['Patient', 'name=MULL', ['p2']],
    ['Patient', 'name=zoe', ['p2']],
    ['Patient', 'name=baby doe', ['p3']],
    ['Patient', 'name=baby%20%20%20doe', ['p3']],
    ['Patient', 'name:exact=Peter', ['p1']],
    ['Patient', 'name:exact=peter', []],
    ['Patient', 'name:exact=Müller', ['p2']],
    ['Patient', 'name:exact=Muller', []],
    ['Patient', 'name:contains=alme', ['p1']],
    ['Patient', 'name:contains=LL', ['p2']],
    ['Patient', 'family=chalmers', ['p1']],
    ['Patient', 'given=jim', ['p1']],
    ['Patient', 'address-city=pleasant', ['p1']],
    ['Patient', 'address=erewhon', []],
    ['Patient', 'address=534', ['p1']],
    ['Patient', 'address:contains=erewhon', ['p1']],
    ['Patient', 'name=peter,zoe', ['p1', 'p2']],
    ['Patient', 'name=peter&name=james', ['p1']],
    ['Patient', 'name=peter&name=zoe', []],
    ['Patient', 'name:missing=true', ['p4']],
    ['Patient', 'name:missing=false', ['p1', 'p2', 'p3']],
    ['Organization', 'name=acme', ['org1']],
  ],
  token: [
    ['Patient', 'gender=male', ['p1']],
    ['Patient', 'gender=male,female', ['p1', 'p2']],
    ['Patient', 'gender:not=male', ['p2', 'p3', 'p4']],
    ['Patient', 'gender:not=male,female', ['p3', 'p4']],
    ['Patient', 'identifier=12345', ['p1']],
    ['Patient', 'identifier=urn:oid:1.2.36.146.595.217.0.1|12345', ['p1']],
    ['Patient', 'identifier=|12345', []],
    ['Patient', 'identifier=urn:oid:1.2.36.146.595.217.0.1|', ['p1']],
    ['Patient', 'identifier=http://hospital/mrn|A\\|1\\,2', ['p2']],
    ['Patient', 'identifier=A\\|1\\,2', ['p2']],
    ['Patient', 'identifier=A|1,2', []],
    ['Patient', 'identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345', ['p1']],
    ['Patient', 'identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|99', []],
    ['Patient', 'identifier:text=medical', ['p1']],
    ['Patient', 'active=true', ['p1']],
    ['Patient', 'active=false', ['p2']],
    ['Patient', 'deceased=true', ['p3']],
    ['Patient', 'deceased=false', ['p1', 'p2', 'p4']],
    ['Patient', 'phone=(03) 5555 6473', ['p1']],
    ['Patient', 'telecom=(03) 5555 6473', ['p1']],
    ['Patient', '_tag=http://example.org/tags|vip', ['p1']],
    ['Patient', '_tag=vip', ['p1']],
    ['Patient', '_tag:not=vip', ['p2', 'p3', 'p4']],
    ['Observation', 'code=http://loinc.org|29463-7', ['o2']],
    ['Observation', 'code=29463-7,2339-0', ['o2', 'o4']],
    ['Observation', 'code:text=heart', ['o1']],
    ['Observation', 'code:text=free', ['o6']],
    ['Observation', 'combo-code=8480-6', ['o3']],
    ['Observation', 'component-code=8480-6', ['o3']],
    ['Observation', 'status:not=final', ['o2']],
    ['Observation', 'category=vital-signs', ['o1']],
    ['Observation', 'value-concept=10828004', ['o6']],
    ['Observation', 'value-concept:text=positive', ['o6']],
    ['Observation', 'value-string=positive', ['o6']],
    ['Patient', '_id=p1,p3', ['p1', 'p3']],
    ['Patient', '_list=list1', ['p2', 'p4']],
  ],
  date: [
    ['Patient', 'birthdate=1974', ['p1']],
    ['Patient', 'birthdate=1974-12', ['p1']],
    ['Patient', 'birthdate=1974-12-25', ['p1']],
    ['Patient', 'birthdate=1974-12-24', []],
    ['Patient', 'birthdate=1980', ['p2']],
    ['Patient', 'birthdate=1980-06', []],
    ['Patient', 'birthdate=eq1980', ['p2']],
    ['Patient', 'birthdate=ne1980-06', ['p1', 'p2', 'p3']],
    ['Patient', 'birthdate=gt1980', ['p3']],
    ['Patient', 'birthdate=ge1980', ['p2', 'p3']],
    ['Patient', 'birthdate=lt1980', ['p1']],
    ['Patient', 'birthdate=le1980', ['p1', 'p2']],
    ['Patient', 'birthdate=lt1980-06', ['p1', 'p2']],
    ['Patient', 'birthdate=gt1980-06', ['p2', 'p3']],
    ['Patient', 'birthdate=sa1979', ['p2', 'p3']],
    ['Patient', 'birthdate=eb1980', ['p1']],
    ['Patient', 'birthdate=eb1980-06', ['p1']],
    ['Patient', 'birthdate=ap2020-03', ['p3']],
    ['Patient', 'birthdate=ap1990', []],
    ['Patient', 'birthdate=ge1974-12-25&birthdate=le1980', ['p1', 'p2']],
    ['Patient', 'birthdate:missing=true', ['p4']],
    // Seconds, minutes, timezone offsets; a time without zone is UTC.
    ['Observation', 'date=2021-03-05T10:30:00Z', ['o1']],
    ['Observation', 'date=2021-03-05T10:30:00', ['o1']],
    ['Observation', 'date=2021-03-05T11:30:00%2B01:00', ['o1']],
    ['Observation', 'date=2021-03-05T11:30:00+01:00', ['o1']],
    ['Observation', 'date=2021-03-05T05:30:00-05:00', ['o1']],
    ['Observation', 'date=2021-03-05T10:30', ['o1']],
    ['Observation', 'date=2021-03-05T10:31', []],
    // The stored value is only known to the second: not within a millisecond-precise search.
    ['Observation', 'date=2021-03-05T10:30:00.000Z', []],
    // ap: 10% of the gap to now (about 2.8 years, so ±103 days).
    ['Observation', 'date=ap2021-03-05T10:30:00.000Z', ['o1', 'o2', 'o3', 'o4']],
    ['Observation', 'date=2021-05-20', ['o4']],
    ['Observation', 'date=2021-05-20T13:00:00Z', ['o4']],
    ['Observation', 'date=2021-05-20T08:00:00-05:00', ['o4']],
    ['Observation', 'date=2021-05-20T08:00:00Z', []],
    // A Period is a range: within March, not within its first day.
    ['Observation', 'date=2021-03', ['o1', 'o2']],
    ['Observation', 'date=2021-03-01', []],
    ['Observation', 'date=ge2021-03-02', ['o1', 'o3', 'o4']],
    ['Observation', 'date=sa2021-02-28', ['o1', 'o2', 'o3', 'o4']],
    ['Observation', 'date=eb2021-03-03', ['o2', 'o7']],
    ['Observation', 'date=2021-05', ['o3', 'o4']],
    ['Patient', 'death-date=2020-03-01', ['p3']],
    ['Patient', 'death-date=2020-03-01T09:00:00Z', ['p3']],
    ['Patient', 'death-date=2020-03-01T10:00:00Z', []],
    // _lastUpdated: resource-level, millisecond instants.
    ['Patient', '_lastUpdated=gt2020-06', ['p2', 'p3', 'p4']],
    ['Patient', '_lastUpdated=2022', ['p3']],
    ['Patient', '_lastUpdated=lt2022-12-31T23:59:59.999Z', ['p1', 'p2']],
    ['Patient', '_lastUpdated=le2022-12-31T23:59:59.999Z', ['p1', 'p2', 'p3']],
    ['Patient', '_lastUpdated=ne2022', ['p1', 'p2', 'p4']],
    ['Patient', '_lastUpdated=2020,2023', ['p1', 'p4']],
  ],
  number: [
    ['RiskAssessment', 'probability=100', ['ra3', 'ra4', 'ra5']],
    ['RiskAssessment', 'probability=1e2', ['ra3', 'ra4', 'ra5', 'ra6']],
    ['RiskAssessment', 'probability=1.00e2', ['ra3', 'ra4', 'ra5']],
    ['RiskAssessment', 'probability=100.0', ['ra3', 'ra4']],
    ['RiskAssessment', 'probability=100.03', ['ra4']],
    ['RiskAssessment', 'probability=1.0003e2', ['ra4']],
    ['RiskAssessment', 'probability=0.02', ['ra1']],
    ['RiskAssessment', 'probability=0.2', []],
    ['RiskAssessment', 'probability=gt100', ['ra4', 'ra6']],
    ['RiskAssessment', 'probability=lt1', ['ra1', 'ra2']],
    ['RiskAssessment', 'probability=ge100', ['ra3', 'ra4', 'ra6']],
    // gt/ge/lt/le/sa/eb ignore the implicit precision of the search value (R4 search.html#number).
    ['RiskAssessment', 'probability=gt99.9', ['ra3', 'ra4', 'ra6']],
    ['RiskAssessment', 'probability=le0.02', ['ra1']],
    ['RiskAssessment', 'probability=ne100', ['ra1', 'ra2', 'ra6']],
    ['RiskAssessment', 'probability=sa100', ['ra4', 'ra6']],
    ['RiskAssessment', 'probability=eb1', ['ra1', 'ra2']],
    ['RiskAssessment', 'probability=ap100', ['ra3', 'ra4', 'ra5']],
  ],
  quantity: [
    ['Observation', 'value-quantity=72', ['o1']],
    ['Observation', 'value-quantity=72||/min', ['o1']],
    ['Observation', 'value-quantity=72|http://unitsofmeasure.org|/min', ['o1']],
    ['Observation', 'value-quantity=72||beats/minute', []],
    ['Observation', 'value-quantity=72|http://other|/min', []],
    ['Observation', 'value-quantity=5.4|http://unitsofmeasure.org|g', ['o5']],
    ['Observation', 'value-quantity=5.4e6|http://unitsofmeasure.org|ug', ['o5']],
    ['Observation', 'value-quantity=5400|http://unitsofmeasure.org|mg', ['o5']],
    // Stored values are exact: 5.4 g is within 5400000 ug ± 0.5 ug.
    ['Observation', 'value-quantity=5400000|http://unitsofmeasure.org|ug', ['o5']],
    ['Observation', 'value-quantity=5.4', ['o4']],
    ['Observation', 'value-quantity=gt100||mg/dL', []],
    ['Observation', 'value-quantity=ge100||mg/dL', ['o7']],
    ['Observation', 'value-quantity=lt100', ['o1', 'o4']],
    ['Observation', 'value-quantity=ap80', ['o1']],
    ['Observation', 'value-quantity:missing=true', ['o3', 'o6', 'o8']],
  ],
  composite: [
    ['Observation', 'code-value-quantity=http://loinc.org|8867-4$72', ['o1']],
    ['Observation', 'code-value-quantity=http://loinc.org|8867-4$gt100', []],
    ['Observation', 'component-code-value-quantity=http://loinc.org|8480-6$gt100', ['o3']],
    ['Observation', 'component-code-value-quantity=http://loinc.org|8462-4$gt100', []],
    ['Observation', 'component-code-value-quantity=http://loinc.org|8462-4$lt90,http://loinc.org|8480-6$gt200', ['o3']],
    ['Observation', 'combo-code-value-quantity=http://loinc.org|8480-6$120', ['o3']],
    ['Observation', 'code-value-concept=http://example.org/codes|test$http://snomed.info/sct|10828004', ['o6']],
    ['Observation', 'code-value-concept=test$10828004', ['o6']],
    ['Observation', 'code-value-date=http://example.org/codes|birth$2019-07', ['o8']],
    ['Observation', 'code-value-quantity:missing=false', ['o1', 'o2', 'o4', 'o5', 'o7']],
  ],
  reference: [
    ['Observation', 'subject=Patient/p1', P1_OBS],
    ['Observation', 'subject=p1', P1_OBS],
    ['Observation', 'patient=p1', P1_OBS],
    ['Observation', 'subject=http://x/fhir/Patient/p1', P1_OBS],
    ['Observation', 'subject=Patient/p1/_history/3', P1_OBS],
    ['Observation', 'subject:Patient=p1', P1_OBS],
    ['Observation', 'subject:Group=p1', []],
    ['Observation', 'subject:missing=true', ['o5']],
    ['Observation', 'subject=Patient/p1,Patient/p3', [...P1_OBS, 'o6'].sort()],
    ['Patient', 'general-practitioner=http://other.org/fhir/Practitioner/ext1', ['p2']],
    ['Patient', 'general-practitioner:Practitioner=dr1', ['p1']],
    ['Patient', 'organization=org2', ['p2']],
    ['Patient', 'organization=Organization/org2', ['p2']],
    ['Patient', 'organization=http://x/fhir/Organization/org2', ['p2']],
    ['Patient', 'organization:identifier=urn:ietf:rfc:3986|urn:oid:1.2.3', ['p3']],
    ['Patient', 'organization:identifier=urn:oid:1.2.3', ['p3']],
    ['List', 'item=Patient/p4', ['list1']],
  ],
  uri: [
    ['ValueSet', 'url=http://acme.org/fhir/ValueSet/123', ['vs1']],
    ['ValueSet', 'url:below=http://acme.org/fhir', ['vs1', 'vs2']],
    ['ValueSet', 'url:below=http://acme.org/fhir/Value', []],
    ['ValueSet', 'url:above=http://acme.org/fhir/ValueSet/123/_history/5', ['vs1', 'vs2']],
    ['ValueSet', 'url:above=http://acme.org/fhir/ValueSet/1234', []],
    ['ValueSet', 'url=urn:oid:1.2.3', ['vs3']],
    ['Patient', '_profile=http://hl7.org/fhir/StructureDefinition/Patient', ['p1']],
  ],
  chain: [
    ['Observation', 'subject:Patient.name=peter', P1_OBS],
    ['Observation', 'subject.name=peter', P1_OBS],
    ['Observation', 'subject:Patient.name:exact=Peter', P1_OBS],
    ['Observation', 'patient.organization.name=acme', P1_OBS],
    ['Observation', 'patient.organization.partof.name=big', P1_OBS],
    ['Observation', 'patient.organization.partof.address-city=boston', P1_OBS],
    ['Observation', 'patient.birthdate=1980', ['o3', 'o4']],
    ['Observation', 'subject.gender=female', ['o3', 'o4']],
    ['Observation', 'subject.gender:missing=true', ['o6']],
    ['Observation', 'performer.name=careful', ['o1']],
    ['Observation', 'subject._id=p2', ['o3', 'o4']],
    ['Observation', 'subject._has:Provenance:target:agent=Practitioner/dr1', []],
    ['RiskAssessment', 'subject.name=peter&probability=gt100', ['ra4', 'ra6']],
  ],
  has: [
    ['Patient', '_has:Observation:patient:code=8867-4', ['p1']],
    ['Patient', '_has:Observation:subject:code=85354-9', ['p2']],
    ['Patient', '_has:Observation:patient:code=8867-4,85354-9', ['p1', 'p2']],
    ['Patient', '_has:Observation:patient:_has:Provenance:target:agent=Practitioner/dr1', ['p2']],
    ['Practitioner', '_has:Patient:general-practitioner:name=peter', ['dr1']],
    ['Organization', '_has:Patient:organization:_has:Observation:patient:code=8867-4', ['org1']],
    ['Patient', '_has:Observation:patient:subject.name=zoe', ['p2']],
  ],
  'system level': [
    [undefined, '_type=Patient,Practitioner&name=careful', ['dr1']],
    [undefined, '_id=dr1', ['dr1']],
    [undefined, '_type=Observation&code=8867-4', ['o1']],
    [undefined, '_tag=vip', ['p1']],
  ],
  sort: [
    ['Patient', '_sort=birthdate', ['p1', 'p2', 'p3', 'p4']],
    ['Patient', '_sort=-birthdate', ['p3', 'p2', 'p1', 'p4']],
    ['Patient', '_sort=-_lastUpdated', ['p4', 'p3', 'p2', 'p1']],
    ['Patient', '_sort=name', ['p3', 'p1', 'p2', 'p4']],
    ['Patient', '_sort=_id', ['p1', 'p2', 'p3', 'p4']],
    ['Observation', 'subject=Patient/p1&_sort=-date,_id', ['o1', 'o2', 'o7', 'o8']],
    // Descending sorts use the largest bound: 100 (up to 100.5) sorts above 100.03.
    ['RiskAssessment', '_sort=-probability', ['ra6', 'ra4', 'ra3', 'ra5', 'ra2', 'ra1']],
    ['RiskAssessment', '_sort=probability', ['ra1', 'ra2', 'ra5', 'ra3', 'ra4', 'ra6']],
    ['Patient', '_sort=gender,-_id', ['p2', 'p1', 'p4', 'p3']],
  ],
};

describe('FHIR search semantics (extractIndex + parseSearch + evaluate)', () => {
  for (const [group, rows] of Object.entries(TABLES)) {
    describe(group, () => {
      it.each(rows.map(([type, query, expected]) => ({ type, query, expected })))('$type?$query', ({ type, query, expected }) => {
        expect(search(type, query)).toEqual(expected);
      });
    });
  }

  it('matches everything without criteria', () => {
    expect(search('Observation', '')).toEqual(ALL_OBS);
  });
});
