/**
 * The search registry extended by a package's SearchParameters: new codes are added for their
 * base types, codes R4 already has for a type keep R4's definition, and what cannot be indexed
 * is left out with the reason.
 */
import type { SearchParameter } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { extractIndex } from '../../../src/search/extract.js';
import { getSearchRegistry } from '../../../src/search/registry.js';

const sp = (code: string, base: string[], expression: string | undefined, type = 'token'): SearchParameter =>
  ({
    resourceType: 'SearchParameter',
    url: `http://pkg.example/SearchParameter/${code}`,
    name: code,
    status: 'active',
    description: code,
    code,
    base,
    type,
    ...(expression ? { expression } : {}),
  }) as SearchParameter;

describe('SearchRegistry.withParameters', () => {
  const race = sp('race', ['Patient'], "Patient.extension.where(url = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race').extension.value.code");
  const { registry, added, ignored } = getSearchRegistry().withParameters([
    race,
    sp('code', ['Observation'], 'Observation.code'),
    sp('_id', ['Patient'], 'Patient.id'),
    sp('role', ['CareTeam', 'NotAType'], 'CareTeam.participant.role'),
    sp('special-one', ['Patient'], undefined, 'special'),
  ]);

  it('adds new codes for their R4 base types and leaves R4 (and the shared instance) as it was', () => {
    expect(added.map((d) => `${d.base.join(',')}.${d.code}`)).toEqual(['Patient.race', 'CareTeam.role']);
    expect(registry.get('Patient', 'race')?.url).toBe(race.url);
    expect(registry.get('Observation', 'code')?.url).toBe('http://hl7.org/fhir/SearchParameter/clinical-code');
    expect(getSearchRegistry().get('Patient', 'race')).toBeUndefined();
    expect(ignored.map((i) => i.url.split('/').pop())).toEqual(['code', '_id', 'special-one']);
  });

  it('indexes resources with the added parameters only when asked to use that registry', () => {
    const patient = {
      resourceType: 'Patient',
      extension: [
        {
          url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
          extension: [{ url: 'ombCategory', valueCoding: { system: 'urn:oid:2.16.840.1.113883.6.238', code: '2106-3' } }],
        },
      ],
    };
    expect(extractIndex(patient, { registry }).filter((r) => r.param === 'race')).toEqual([
      { table: 'token', param: 'race', system: null, code: '2106-3', text: null },
    ]);
    expect(extractIndex(patient).filter((r) => r.param === 'race')).toEqual([]);
  });
});
