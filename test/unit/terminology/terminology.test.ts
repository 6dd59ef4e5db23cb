/**
 * The terminology service over R4 core terminology and a package's resources, against
 * hand-checked expectations (the codes below were read off the R4 specification's pages).
 * The package resources come from an in-memory ConformanceResources (the store-backed one is
 * exercised over HTTP in test/integration/packages/server.test.ts).
 */
import type { CodeSystem, Resource, ValueSet } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import type { ConformanceResources } from '../../../src/packages/conformance.js';
import { Terminology } from '../../../src/terminology/index.js';
import { exampleResource } from '../../support/packages.js';

function inMemory(resources: Resource[]): ConformanceResources {
  const byUrl = (type: string, url: string) => resources.find((r) => r.resourceType === type && (r as { url?: string }).url === url.split('|')[0]);
  const conformance: ConformanceResources = {
    structureDefinition: async (url) => byUrl('StructureDefinition', url) as never,
    valueSet: async (url) => byUrl('ValueSet', url) as ValueSet | undefined,
    codeSystem: async (url) => byUrl('CodeSystem', url) as CodeSystem | undefined,
    implementationGuide: async () => undefined,
    searchParameters: async () => [],
    packages: async () => [],
    through: () => conformance,
  };
  return conformance;
}

const example = inMemory(
  ['CodeSystem-bedside-colours.json', 'ValueSet-bedside-warm-colours.json', 'ValueSet-bedside-observation-codes.json', 'ValueSet-bedside-all-loinc.json'].map(
    exampleResource,
  ),
);
const terminology = new Terminology(example);
const sources = terminology.sources(example);
const codesOf = async (url: string) => (await terminology.expand(sources, (await sources.valueSet(url))!)).expansion!.contains!.map((c) => c.code);

describe('R4 core terminology', () => {
  it.each([
    ['http://hl7.org/fhir/ValueSet/administrative-gender', ['male', 'female', 'other', 'unknown']],
    [
      'http://hl7.org/fhir/ValueSet/observation-category',
      ['social-history', 'vital-signs', 'imaging', 'laboratory', 'procedure', 'survey', 'exam', 'therapy', 'activity'],
    ],
    ['http://hl7.org/fhir/ValueSet/condition-clinical', ['active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved']],
    // HL7 v3: every code below _ActEncounterCode (an is-a filter over v3-ActCode).
    ['http://terminology.hl7.org/ValueSet/v3-ActEncounterCode', ['AMB', 'EMER', 'FLD', 'HH', 'IMP', 'ACUTE', 'NONAC', 'OBSENC', 'PRENC', 'SS', 'VR']],
  ])('expands %s', async (url, expected) => {
    expect(await codesOf(url)).toEqual(expected);
  });

  it(':below and :above over the condition-clinical hierarchy', async () => {
    const system = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
    const below = await terminology.codeSet(sources, { modifier: 'below', value: `${system}|inactive`, name: 'clinical-status:below' });
    expect(below).toEqual([
      { system, code: 'inactive' },
      { system, code: 'remission' },
      { system, code: 'resolved' },
    ]);
    const above = await terminology.codeSet(sources, { modifier: 'above', value: `${system}|relapse`, name: 'clinical-status:above' });
    expect(above).toEqual([
      { system, code: 'relapse' },
      { system, code: 'active' },
    ]);
  });

  it('says which code system it lacks rather than guess (SNOMED CT condition codes)', async () => {
    const check = await terminology.validateCode(sources, 'http://hl7.org/fhir/ValueSet/condition-code', {
      system: 'http://snomed.info/sct',
      code: '44054006',
    });
    expect(check).toMatchObject({ result: 'unknown', missingSystem: 'http://snomed.info/sct' });
    await expect(codesOf('http://hl7.org/fhir/ValueSet/condition-code')).rejects.toMatchObject({ status: 422, missingSystem: 'http://snomed.info/sct' });
  });

  it('looks up an HL7 v3 code with its parent', async () => {
    const found = await terminology.lookup(sources, 'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'AMB');
    expect(found.parameter).toContainEqual({ name: 'display', valueString: 'ambulatory' });
    expect(found.parameter).toContainEqual({
      name: 'property',
      part: [
        { name: 'code', valueCode: 'parent' },
        { name: 'value', valueCode: '_ActEncounterCode' },
      ],
    });
  });
});

describe('package terminology', () => {
  it('expands filters, enumerations, included value sets and exclusions', async () => {
    expect(await codesOf('http://bedside.example/fhir/ValueSet/warm-colours')).toEqual(['red', 'orange', 'amber']);
    expect(await codesOf('http://bedside.example/fhir/ValueSet/observation-codes')).toEqual(['8867-4', '9279-1', 'red', 'orange']);
  });

  it.each([
    ['is-a', 'cool', ['cool', 'blue', 'navy', 'green']],
    ['descendent-of', 'cool', ['blue', 'navy', 'green']],
    ['is-not-a', 'warm', ['cool', 'blue', 'navy', 'green', 'grey']],
    ['generalizes', 'navy', ['cool', 'blue', 'navy']],
    ['in', 'red,grey', ['red', 'grey']],
    ['regex', '[a-z]{3,4}', ['warm', 'red', 'cool', 'blue', 'navy', 'grey']],
  ])('filters concept %s %s', async (op, value, expected) => {
    const valueSet: ValueSet = {
      resourceType: 'ValueSet',
      status: 'draft',
      compose: { include: [{ system: 'http://bedside.example/fhir/CodeSystem/colours', filter: [{ property: 'concept', op: op as 'is-a', value }] }] },
    };
    expect((await terminology.expand(sources, valueSet)).expansion!.contains!.map((c) => c.code).sort()).toEqual([...expected].sort());
  });

  it('the binding check profile validation uses: true, false, unknown', async () => {
    const check = terminology.bindingCheck();
    const vs = 'http://bedside.example/fhir/ValueSet/all-loinc';
    expect(await check(vs, { system: 'http://bedside.example/fhir/CodeSystem/colours', code: 'red' })).toMatchObject({ result: true, display: 'Red' });
    expect(await check(vs, { system: 'http://bedside.example/fhir/CodeSystem/colours', code: 'blue' })).toMatchObject({ result: false });
    expect(await check(vs, { system: 'http://loinc.org', code: '8867-4' })).toMatchObject({ result: 'unknown', missingSystem: 'http://loinc.org' });
    expect(await check('http://nowhere.example/vs', { system: 'http://loinc.org', code: '8867-4' })).toMatchObject({
      result: 'unknown',
      missingValueSet: 'http://nowhere.example/vs',
    });
  });

  it('refuses a value set that includes itself', async () => {
    const loop: ValueSet = {
      resourceType: 'ValueSet',
      url: 'http://loop.example/vs',
      status: 'draft',
      compose: { include: [{ valueSet: ['http://loop.example/vs'] }] },
    };
    await expect(terminology.expand(sources, loop)).rejects.toMatchObject({ status: 400 });
  });
});
