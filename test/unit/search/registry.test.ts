/**
 * The registry equals the official R4 SearchParameter set, and answers lookups.
 * https://hl7.org/fhir/R4/searchparameter-registry.html
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bundle, SearchParameter } from 'fhir/r4';
import r4 from 'fhirpath/fhir-context/r4';
import { describe, expect, it } from 'vitest';
import { getSearchRegistry, r4ResourceTypes } from '../../../src/search/registry.js';

const OFFICIAL = fileURLToPath(new URL('../../../../shared/fhir-samples/search-parameters.json', import.meta.url));

describe.skipIf(!existsSync(OFFICIAL))('the registry equals the official R4 search-parameters.json', () => {
  const bundle = existsSync(OFFICIAL) ? (JSON.parse(readFileSync(OFFICIAL, 'utf8')) as Bundle<SearchParameter>) : { entry: [] };
  const official = (bundle.entry ?? []).map((e) => e.resource!);
  const registry = getSearchRegistry();

  it('has the same parameters (by URL)', () => {
    expect(official).toHaveLength(1375);
    expect(
      registry
        .definitions()
        .map((d) => d.url)
        .sort(),
    ).toEqual(official.map((sp) => sp.url).sort());
  });

  it('has the same code, type, base, expression, targets and components for each', () => {
    const mismatches: string[] = [];
    for (const sp of official) {
      const def = registry.getByUrl(sp.url);
      const expected = {
        code: sp.code,
        type: sp.type,
        base: sp.base,
        expression: sp.expression,
        target: sp.target ?? [],
        components: (sp.component ?? []).map((c) => ({ definition: c.definition, expression: c.expression })),
      };
      const actual = def && {
        code: def.code,
        type: def.type,
        base: def.base,
        expression: def.expression,
        target: def.target,
        components: def.componentRefs,
      };
      if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push(sp.id ?? sp.url);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('R4 resource types', () => {
  it('are the concrete resource types of the FHIRPath.js R4 model', () => {
    const t2p = (r4 as unknown as { type2Parent: Record<string, string> }).type2Parent;
    const model = Object.keys(t2p).filter((t) => (t2p[t] === 'DomainResource' || t2p[t] === 'Resource') && t !== 'DomainResource');
    expect([...r4ResourceTypes()]).toEqual(model.sort());
    expect(r4ResourceTypes()).toHaveLength(146);
  });

  it('exclude the non-R4 types the definitions package adds', () => {
    expect(getSearchRegistry().isResourceType('SubscriptionStatus')).toBe(false);
    expect(getSearchRegistry().isResourceType('Patient')).toBe(true);
    expect(getSearchRegistry().isResourceType('Resource')).toBe(false);
  });
});

describe('lookups', () => {
  const registry = getSearchRegistry();

  it('finds own and common parameters by type and code', () => {
    expect(registry.get('Patient', 'name')).toMatchObject({ type: 'string', table: 'string', expression: 'Patient.name' });
    expect(registry.get('Patient', '_id')).toMatchObject({ type: 'token', expression: 'Resource.id' });
    // Typed string in R4, searched by words: the text table.
    expect(registry.get('Patient', '_text')).toMatchObject({ type: 'string', table: 'text' });
    expect(registry.get('Patient', '_content')).toMatchObject({ type: 'string', table: 'text' });
    expect(registry.get('Bundle', '_text')).toBeUndefined(); // Bundle is not a DomainResource
    expect(registry.get('Bundle', '_lastUpdated')).toBeDefined();
    expect(registry.get('Patient', 'nonsense')).toBeUndefined();
    expect(registry.get('Nonsense', '_id')).toBeUndefined();
    expect(registry.get('Location', 'near')).toMatchObject({ type: 'special', table: 'position' });
    expect(registry.common('_tag')).toMatchObject({ type: 'token' });
  });

  it('lists the parameters of a type, common ones included', () => {
    const codes = registry.paramsFor('Observation').map((d) => d.code);
    expect(codes).toEqual(
      expect.arrayContaining(['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', 'code', 'subject', 'code-value-quantity']),
    );
    expect(new Set(codes).size).toBe(codes.length);
    expect(registry.paramsFor('Nonsense')).toEqual([]);
  });

  it('splits multi-type expressions per type', () => {
    const code = registry.get('Condition', 'code')!;
    expect(code.id).toBe('clinical-code');
    expect(registry.expressionFor(code, 'Condition')).toBe('Condition.code');
    expect(registry.expressionFor(code, 'AllergyIntolerance')).toBe('AllergyIntolerance.code | AllergyIntolerance.reaction.substance');
    expect(registry.expressionFor(registry.get('InsurancePlan', 'name')!, 'InsurancePlan')).toBe('name | alias');
    expect(registry.expressionFor(registry.get('Patient', '_tag')!, 'Patient')).toBe('Resource.meta.tag');
  });

  it('gives targets with the official R4 values', () => {
    expect(registry.get('Condition', 'patient')!.target).toEqual(['Patient', 'Group']);
    expect(registry.get('MeasureReport', 'subject')!.target).toHaveLength(7);
    expect(registry.get('DetectedIssue', 'status')).toBeUndefined();
  });

  it('resolves composite components to their parameters', () => {
    const components = registry.componentsOf(registry.get('Observation', 'code-value-quantity')!);
    expect(components.map((c) => [c.param.code, c.param.type, c.expression])).toEqual([
      ['code', 'token', 'code'],
      ['value-quantity', 'quantity', 'value.as(Quantity)'],
    ]);
    expect(registry.componentsOf(registry.get('Observation', 'code')!)).toEqual([]);
  });
});
