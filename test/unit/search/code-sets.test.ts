/**
 * The token modifiers answered by terminology (`:in`, `:not-in`, `:above`, `:below`): compiled
 * from the code sets the caller resolved, one `in` list per system; refused without terminology.
 * https://hl7.org/fhir/R4/search.html#token
 */
import { describe, expect, it } from 'vitest';
import { parseSearch } from '../../../src/search/index.js';
import type { CodeSetRequest } from '../../../src/search/types.js';

const options = { baseUrl: 'http://x/fhir', strict: true, maxCount: 100, defaultCount: 10 };
const SYS = 'http://terminology.hl7.org/CodeSystem/condition-clinical';

describe('terminology modifiers', () => {
  it('asks for each value and ORs one row per system', () => {
    const asked: CodeSetRequest[] = [];
    const search = parseSearch('Condition', new URLSearchParams({ 'clinical-status:below': `${SYS}|inactive,${SYS}|active` }), {
      ...options,
      codeSets: (r) => {
        asked.push(r);
        return r.value.endsWith('inactive')
          ? [
              { system: SYS, code: 'inactive' },
              { system: SYS, code: 'resolved' },
              { system: 'http://other', code: 'x' },
            ]
          : [];
      },
    });
    expect(asked).toEqual([
      { modifier: 'below', value: `${SYS}|inactive`, name: 'clinical-status:below' },
      { modifier: 'below', value: `${SYS}|active`, name: 'clinical-status:below' },
    ]);
    expect(search.where).toEqual({
      op: 'or',
      of: [
        {
          op: 'row',
          table: 'token',
          param: 'clinical-status',
          where: [
            { field: 'system', cmp: 'eq', value: SYS },
            { field: 'code', cmp: 'in', value: ['inactive', 'resolved'] },
          ],
        },
        {
          op: 'row',
          table: 'token',
          param: 'clinical-status',
          where: [
            { field: 'system', cmp: 'eq', value: 'http://other' },
            { field: 'code', cmp: 'eq', value: 'x' },
          ],
        },
      ],
    });
  });

  it(':not-in negates; an empty set matches nothing', () => {
    const notIn = parseSearch('Condition', new URLSearchParams({ 'code:not-in': 'http://vs' }), { ...options, codeSets: () => [] });
    expect(notIn.where).toEqual({ op: 'not', of: { op: 'false' } });
    const inEmpty = parseSearch('Condition', new URLSearchParams({ 'code:in': 'http://vs' }), { ...options, codeSets: () => [] });
    expect(inEmpty.where).toEqual({ op: 'false' });
  });

  it('is refused as not supported without terminology, and stays invalid on other types', () => {
    expect(() => parseSearch('Condition', new URLSearchParams({ 'code:in': 'http://vs' }), options)).toThrow(/needs the terminology service/);
    expect(() => parseSearch('Patient', new URLSearchParams({ 'birthdate:in': 'http://vs' }), { ...options, codeSets: () => [] })).toThrow(
      /not valid for date parameters/,
    );
  });
});
