/**
 * parseSearch: every bad input is a 400 FhirError; result parameters, warnings and the exact
 * conditions of a few representative criteria.
 * https://hl7.org/fhir/R4/search.html
 */
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../../src/r4/errors.js';
import { parseSearch } from '../../../src/search/parse.js';
import type { SearchOptions } from '../../../src/search/types.js';
import { BASE_URL, NOW } from './fixtures.js';

const lenient: SearchOptions = { baseUrl: BASE_URL, strict: false, maxCount: 100, defaultCount: 20, now: NOW };
const strict: SearchOptions = { ...lenient, strict: true };

const parse = (type: string | undefined, query: string, options = lenient) => parseSearch(type, new URLSearchParams(query), options);

function rejection(run: () => unknown): FhirError {
  try {
    run();
  } catch (e) {
    if (e instanceof FhirError) return e;
    throw e;
  }
  throw new Error('expected a FhirError');
}

describe('invalid input is a 400 OperationOutcome', () => {
  const BAD: Array<readonly [string | undefined, string, ('invalid' | 'not-supported' | 'too-costly')?]> = [
    // dates
    ['Patient', 'birthdate=2020-13'],
    ['Patient', 'birthdate=2020-02-30'],
    ['Patient', 'birthdate=2019-02-29'],
    ['Patient', 'birthdate=20200101'],
    ['Patient', 'birthdate=2020-01-01T25:00'],
    ['Patient', 'birthdate=2020-01-01T10:00:00+15:00'],
    ['Patient', 'birthdate=2020-01-01T10'],
    ['Patient', 'birthdate=yesterday'],
    ['Patient', 'birthdate=xx2020'],
    ['Patient', 'birthdate=gt'],
    ['Patient', 'birthdate=GT2020'],
    ['Patient', '_lastUpdated=2020-1-1'],
    // numbers and quantities
    ['RiskAssessment', 'probability=abc'],
    ['RiskAssessment', 'probability=1.'],
    ['RiskAssessment', 'probability=.5'],
    ['RiskAssessment', 'probability=NaN'],
    ['RiskAssessment', 'probability=Infinity'],
    ['RiskAssessment', 'probability=1e999'],
    ['RiskAssessment', 'probability=0x10'],
    ['RiskAssessment', 'probability=1,2x'],
    ['Observation', 'value-quantity=5|http://unitsofmeasure.org'],
    ['Observation', 'value-quantity=|http://unitsofmeasure.org|mg'],
    ['Observation', 'value-quantity=5|a|b|c'],
    // modifiers
    ['Patient', 'name:foo=x'],
    ['Patient', 'name:not=x'],
    ['Patient', 'gender:exact=x'],
    ['Patient', 'birthdate:exact=2020'],
    ['Patient', 'gender:in=http://hl7.org/fhir/ValueSet/administrative-gender', 'not-supported'],
    ['Patient', 'gender:below=male', 'not-supported'],
    ['Patient', 'organization:above=Organization/1', 'not-supported'],
    ['ValueSet', 'url:contains=acme'],
    ['Observation', 'subject:Practitioner=x'],
    ['Observation', 'subject:Nonsense=x'],
    ['Patient', 'name:missing=maybe'],
    ['Patient', 'identifier:of-type=a|b'],
    ['Patient', 'identifier:of-type=a||c'],
    ['Patient', 'identifier=|'],
    ['Observation', 'subject=#contained'],
    ['Observation', 'subject:Patient=Group/1'],
    ['Observation', 'subject:Patient=http://other/x/y'],
    ['Patient', '_id:missing=true'],
    ['Patient', '_lastUpdated:missing=true'],
    ['Patient', '_list=$current-allergies', 'not-supported'],
    // composites
    ['Observation', 'code-value-quantity=http://loinc.org|8480-6'],
    ['Observation', 'code-value-quantity=a$b$c'],
    ['Observation', 'code-value-quantity=a$notanumber'],
    ['Observation', 'code-value-date=a$2020-99'],
    // chains and _has
    ['Observation', 'subject.foo=x'],
    ['Observation', 'status.name=x'],
    ['Observation', 'subject:Practitioner.name=x'],
    ['Observation', 'subject:Patient:x.name=x'],
    ['Observation', 'subject.=x'],
    ['Observation', 'subject.name:foo=x'],
    ['Observation', 'subject.name=x&subject.unknown=y'],
    ['Patient', '_has:Foo:bar:x=1'],
    ['Patient', '_has:Observation:foo:code=x'],
    ['Patient', '_has:Observation:code:code=x'],
    ['Patient', '_has:Observation:encounter:code=x'],
    ['Patient', '_has:Observation:patient'],
    ['Patient', '_has:Observation:patient:nonsense=x'],
    ['Patient', '_has=x'],
    ['Observation', 'patient.organization.partof.partof.partof.partof.name=x'],
    // result parameters
    ['Patient', '_count=-1'],
    ['Patient', '_count=abc'],
    ['Patient', '_count=1.5'],
    ['Patient', '_count=1&_count=2'],
    ['Patient', '_count:x=1'],
    ['Patient', '_total=maybe'],
    ['Patient', '_summary=yes'],
    ['Patient', '_elements=na me'],
    ['Patient', '_include=Foo:bar'],
    ['Patient', '_include=Observation'],
    ['Patient', '_include=Observation:code'],
    ['Patient', '_include=Observation:subject:Practitioner'],
    ['Patient', '_include=Observation:*:Nonsense'],
    ['Patient', '_include:foo=Observation:subject'],
    ['Patient', '_revinclude=Observation:subject:Patient:x'],
    ['Observation', '_sort=code-value-quantity'],
    ['Patient', '_sort=_text'],
    ['Location', '_sort=near'],
    // full text
    ['Patient', '_text:exact=heart'],
    ['Patient', '_text=%22heart'],
    ['Patient', '_text=OR heart'],
    ['Patient', '_text=heart OR'],
    ['Patient', '_text=heart OR OR lung'],
    ['Patient', '_text=- ; !'],
    ['Patient', `_text=${Array.from({ length: 33 }, (_, i) => `w${i}`).join(' ')}`, 'too-costly'],
    // near
    ['Location', 'near=42.3'],
    ['Location', 'near=91|0'],
    ['Location', 'near=0|-181'],
    ['Location', 'near=north|east'],
    ['Location', 'near=42|-71|-5|km'],
    ['Location', 'near=42|-71|ten|km'],
    ['Location', 'near=42|-71|10|kg'],
    ['Location', 'near=42|-71|10|parsec'],
    ['Location', 'near=42|-71|10|km|x'],
    ['Location', 'near:missing=maybe'],
    ['Location', 'near:exact=1|1'],
    // _filter: grammar, unsupported constructs (named), and values
    ['Patient', '_filter='.concat(encodeURIComponent('name eq'))],
    ['Patient', '_filter=name'],
    ['Patient', '_filter=name xx "a"'],
    ['Patient', '_filter=name eq "a'],
    ['Patient', '_filter=name eq "a\\q"'],
    ['Patient', '_filter=(name eq a'],
    ['Patient', '_filter=name eq a)'],
    ['Patient', '_filter=name eq a and'],
    ['Patient', '_filter=not name eq a'],
    ['Patient', '_filter=name eq a or or name eq b'],
    ['Patient', '_filter=nonsense eq a'],
    ['Patient', '_filter=name:exact eq a'],
    ['Patient', '_filter=name gt "a"', 'not-supported'],
    ['Patient', '_filter=gender co male', 'not-supported'],
    ['Patient', '_filter=birthdate co 2000', 'not-supported'],
    ['Patient', '_filter=organization.name eq acme', 'not-supported'],
    ['Observation', '_filter=related[type eq has-member].target pr true', 'not-supported'],
    // in, ni, ss, sb need the terminology service, which these options do not give
    ['Patient', '_filter=gender in http://hl7.org/fhir/ValueSet/administrative-gender', 'not-supported'],
    ['Patient', '_filter=gender ni http://hl7.org/fhir/ValueSet/administrative-gender', 'not-supported'],
    ['Observation', '_filter=code ss http://snomed.info/sct|404684003', 'not-supported'],
    ['Observation', '_filter=code sb http://snomed.info/sct|404684003', 'not-supported'],
    ['Patient', '_filter=birthdate po 2000', 'not-supported'],
    ['Patient', '_filter=_has eq x', 'not-supported'],
    ['Patient', '_filter=_text eq heart', 'not-supported'],
    ['Location', '_filter=near eq 42|-71', 'not-supported'],
    ['Patient', '_filter=name pr maybe'],
    ['Patient', '_filter=name eq ""'],
    ['Patient', '_filter=birthdate eq yesterday'],
    ['Patient', `_filter=${'not ('.repeat(40)}name eq a${')'.repeat(40)}`],
    ['Patient', '_filter:exact=name eq a'],
    [undefined, '_type=Foo'],
    [undefined, '_type=Patient&_type=Observation'],
  ];

  it.each(BAD.map(([type, query, code]) => ({ type, query, code: code ?? 'invalid' })))('$type?$query', ({ type, query, code }) => {
    const error = rejection(() => parse(type, query));
    expect(error.status).toBe(400);
    expect(error.code).toBe(code);
    expect(error.toOperationOutcome().issue[0]!.diagnostics).toBeTruthy();
  });

  it('rejects an unknown resource type', () => {
    expect(rejection(() => parse('Foo', '')).status).toBe(400);
  });

  it.each([
    ['Patient', 'foo=bar'],
    ['Patient', '_query=x'],
    ['Patient', '_containedType=x'],
    ['Patient', 'Patient=x'],
    ['Patient', '_sort=foo'],
    ['Patient', '_type=Patient'],
    [undefined, 'name=x&_type=Patient,Organization&birthdate=2020'],
  ])('strict mode rejects the unknown or unsupported %s?%s', (type, query) => {
    expect(rejection(() => parse(type, query, strict)).status).toBe(400);
  });
});

describe('lenient mode ignores unknown parameters with a warning', () => {
  it.each([
    ['Patient', 'foo=bar'],
    ['Patient', '_query=x'],
    ['Patient', '_type=Patient'],
    ['Patient', 'name:missing=true&foo=1'],
    [undefined, 'name=x&_type=Patient,Organization&birthdate=2020'],
  ])('%s?%s', (type, query) => {
    const parsed = parse(type, query);
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings[0]).toMatchObject({ severity: 'warning', code: 'not-supported' });
  });

  it('keeps the criteria it knows', () => {
    expect(parse('Patient', 'foo=bar&gender=male').where).toEqual({
      op: 'row',
      table: 'token',
      param: 'gender',
      where: [{ field: 'code', cmp: 'eq', value: 'male' }],
    });
  });
});

describe('full text, near and _filter compile onto rows of the index', () => {
  const phrase = (param: string, ...words: string[]) => ({ op: 'row', table: 'text', param, where: [{ field: 'terms', cmp: 'phrase', value: words }] });

  it('reads words, "phrases", OR and alternatives, normalized and stemmed as the rows are', () => {
    expect(parse('Patient', '_text=Heart-Attacks').where).toEqual(phrase('_text', 'heart', 'attack'));
    expect(parse('Patient', '_text=Zoë "Blood  Pressure" OR lungs').where).toEqual({
      op: 'and',
      of: [phrase('_text', 'zoe'), { op: 'or', of: [phrase('_text', 'blood', 'pressur'), phrase('_text', 'lung')] }],
    });
    // An escaped comma is part of the value (a bare token of two words: a phrase); a comma separates alternatives.
    expect(parse('Patient', '_content=a\\,b,c').where).toEqual({ op: 'or', of: [phrase('_content', 'a', 'b'), phrase('_content', 'c')] });
    expect(parse('Patient', '_text=').where).toEqual({ op: 'true' });
  });

  it('reads near with units and the default distance, and sorts nearest first without _sort', () => {
    const parsed = parse('Location', 'near=42.3|-71.1|2|[mi_i]');
    expect(parsed.where).toEqual({ op: 'near', param: 'near', latitude: 42.3, longitude: -71.1, distance: 2 * 1609.344 });
    expect(parsed.sort).toEqual([{ by: 'distance', param: 'near', latitude: 42.3, longitude: -71.1, descending: false }]);
    expect(parse('Location', 'near=42.3|-71.1').where).toMatchObject({ distance: 10_000 });
    expect(parse('Location', 'near=42.3|-71.1|500|m').where).toMatchObject({ distance: 500 });
    expect(parse('Location', 'near=42.3|-71.1|1&_sort=name').sort).toEqual([
      { by: 'param', table: 'string', param: 'name', field: 'value', descending: false },
    ]);
    // Two points: no single "nearest".
    expect(parse('Location', 'near=42.3|-71.1,40|-70').sort).toEqual([]);
  });

  it('compiles _filter comparisons as the criteria they stand for', () => {
    expect(parse('Patient', '_filter=gender eq male and not (name co "a,b")').where).toEqual({
      op: 'and',
      of: [
        { op: 'row', table: 'token', param: 'gender', where: [{ field: 'code', cmp: 'eq', value: 'male' }] },
        { op: 'not', of: { op: 'row', table: 'string', param: 'name', where: [{ field: 'value', cmp: 'contains', value: 'a,b' }] } },
      ],
    });
    expect(parse('Patient', '_filter=name EQ "Zoë" OR family ew "ER"').where).toEqual({
      op: 'or',
      of: [
        { op: 'row', table: 'string', param: 'name', where: [{ field: 'value', cmp: 'eq', value: 'zoe' }] },
        { op: 'row', table: 'string', param: 'family', where: [{ field: 'value', cmp: 'suffix', value: 'er' }] },
      ],
    });
    expect(parse('Patient', '_filter=birthdate ge 2014-10-10').where).toEqual(parse('Patient', 'birthdate=ge2014-10-10').where);
    expect(parse('Patient', '_filter=name pr false').where).toEqual(parse('Patient', 'name:missing=true').where);
    expect(parse('Observation', '_filter=code eq http://loinc.org|1234-5').where).toEqual(parse('Observation', 'code=http://loinc.org|1234-5').where);
    expect(parse('Observation', '_filter=subject re Patient/1').where).toEqual(parse('Observation', 'subject=Patient/1').where);
  });

  it('sends in, ni, ss and sb on tokens to the terminology, as :in, :not-in, :below and :above', () => {
    const asked: Array<[string, string]> = [];
    const codeSets: SearchOptions['codeSets'] = (request) => {
      asked.push([request.modifier, request.value]);
      return [{ system: 'http://snomed.info/sct', code: '404684003' }];
    };
    const withTerminology = { ...lenient, codeSets };
    const filter = `_filter=${encodeURIComponent('code in http://x/vs or code ni http://x/vs or code ss http://snomed.info/sct|1 or code sb http://snomed.info/sct|2')}`;
    const where = parse('Observation', filter, withTerminology).where;
    expect(asked).toEqual([
      ['in', 'http://x/vs'],
      ['not-in', 'http://x/vs'],
      ['below', 'http://snomed.info/sct|1'],
      ['above', 'http://snomed.info/sct|2'],
    ]);
    expect(where).toEqual({
      op: 'or',
      of: [
        parse('Observation', 'code:in=http://x/vs', withTerminology).where,
        parse('Observation', 'code:not-in=http://x/vs', withTerminology).where,
        parse('Observation', 'code:below=http://snomed.info/sct|1', withTerminology).where,
        parse('Observation', 'code:above=http://snomed.info/sct|2', withTerminology).where,
      ],
    });
    // Only tokens have a terminology: on _id, strings and dates the operations are refused by name.
    for (const query of ['_filter=_id in http://x/vs', `_filter=${encodeURIComponent('value-string ss "a"')}`, '_filter=date sb 2020']) {
      const error = rejection(() => parse('Observation', query, withTerminology));
      expect([query, error.status, error.code]).toEqual([query, 400, 'not-supported']);
      expect(error.message).toMatch(/the operation "(in|ss|sb)" is not supported for (token|string|date) parameters/);
    }
  });
});

describe('result parameters', () => {
  it('uses the default count, clamps to the maximum with a warning, allows 0', () => {
    expect(parse('Patient', '').count).toBe(20);
    expect(parse('Patient', '_count=0').count).toBe(0);
    const clamped = parse('Patient', '_count=500');
    expect(clamped.count).toBe(100);
    expect(clamped.warnings).toEqual([expect.objectContaining({ severity: 'warning', code: 'too-costly' })]);
  });

  it('reads _total, _summary, _elements, _cursor and ignores _format and _pretty', () => {
    const parsed = parse('Patient', '_total=accurate&_summary=count&_elements=id,name&_cursor=abc%3D%3D&_format=json&_pretty=true');
    expect(parsed).toMatchObject({ total: 'accurate', summary: 'count', elements: ['id', 'name'], cursor: 'abc==', warnings: [] });
  });

  it('reads _include and _revinclude with :iterate', () => {
    const parsed = parse(
      'Observation',
      '_include=Observation:subject&_include=Observation:subject:Patient&_include:iterate=Patient:general-practitioner&_include=*&_revinclude=Provenance:target&_revinclude:recurse=Observation:*',
    );
    expect(parsed.include).toEqual([
      { sourceType: 'Observation', param: 'subject', iterate: false },
      { sourceType: 'Observation', param: 'subject', targetType: 'Patient', iterate: false },
      { sourceType: 'Patient', param: 'general-practitioner', iterate: true },
      { sourceType: '*', param: '*', iterate: false },
    ]);
    expect(parsed.revinclude).toEqual([
      { sourceType: 'Provenance', param: 'target', iterate: false },
      { sourceType: 'Observation', param: '*', iterate: true },
    ]);
  });

  it('compiles _sort keys in order', () => {
    expect(parse('Observation', '_sort=-date,code,_id,-_lastUpdated,value-quantity').sort).toEqual([
      { by: 'param', table: 'date', param: 'date', field: 'high', descending: true },
      { by: 'param', table: 'token', param: 'code', field: 'code', descending: false },
      { by: 'id', descending: false },
      { by: 'lastUpdated', descending: true },
      { by: 'param', table: 'quantity', param: 'value-quantity', field: 'low', descending: false },
    ]);
  });

  it('reports the types searched', () => {
    expect(parse('Patient', '').types).toEqual(['Patient']);
    expect(parse(undefined, '').types).toBeUndefined();
    expect(parse(undefined, '_type=Patient,Observation,Patient').types).toEqual(['Patient', 'Observation']);
  });

  it('accepts [name, value] pairs as well as URLSearchParams', () => {
    const parsed = parseSearch(
      'Patient',
      [
        ['name', 'a,b'],
        ['name', 'c'],
      ],
      lenient,
    );
    expect(parsed.where).toMatchObject({ op: 'and', of: [{ op: 'or' }, { op: 'row' }] });
  });
});

describe('compiled conditions', () => {
  it('ANDs repeated parameters and ORs comma-separated values', () => {
    expect(parse('Patient', 'family=a,b&family=c').where).toEqual({
      op: 'and',
      of: [
        {
          op: 'or',
          of: [
            { op: 'row', table: 'string', param: 'family', where: [{ field: 'value', cmp: 'prefix', value: 'a' }] },
            { op: 'row', table: 'string', param: 'family', where: [{ field: 'value', cmp: 'prefix', value: 'b' }] },
          ],
        },
        { op: 'row', table: 'string', param: 'family', where: [{ field: 'value', cmp: 'prefix', value: 'c' }] },
      ],
    });
  });

  it('keeps escaped separators literal', () => {
    expect(parse('Patient', 'family=a\\,b').where).toEqual({
      op: 'row',
      table: 'string',
      param: 'family',
      where: [{ field: 'value', cmp: 'prefix', value: 'a,b' }],
    });
    expect(parse('Observation', 'code=a\\|b').where).toEqual({
      op: 'row',
      table: 'token',
      param: 'code',
      where: [{ field: 'code', cmp: 'eq', value: 'a|b' }],
    });
  });

  it('ignores empty values', () => {
    expect(parse('Patient', 'name=&gender=,').where).toEqual({ op: 'true' });
  });

  it('compiles :not to a negated condition', () => {
    expect(parse('Patient', 'gender:not=male').where).toEqual({
      op: 'not',
      of: { op: 'row', table: 'token', param: 'gender', where: [{ field: 'code', cmp: 'eq', value: 'male' }] },
    });
  });

  it('chains to every target type that has the parameter, grouped by condition', () => {
    const where = parse('Observation', 'subject.name=x').where;
    expect(where).toMatchObject({ op: 'chain', param: 'subject' });
    expect(where.op === 'chain' && [...where.targetTypes].sort()).toEqual(['Location', 'Patient']);
  });

  it('compiles _has with the source type and parameter', () => {
    expect(parse('Patient', '_has:Observation:patient:code=1234').where).toEqual({
      op: 'has',
      sourceType: 'Observation',
      param: 'patient',
      where: { op: 'row', table: 'token', param: 'code', where: [{ field: 'code', cmp: 'eq', value: '1234' }] },
    });
  });

  it('compiles _lastUpdated to resource-level predicates', () => {
    expect(parse('Patient', '_lastUpdated=ge2020-01-01').where).toEqual({
      op: 'or',
      of: [
        { op: 'lastUpdated', where: [{ cmp: 'gt', value: Date.parse('2020-01-01T23:59:59.999Z') }] },
        {
          op: 'lastUpdated',
          where: [
            { cmp: 'ge', value: Date.parse('2020-01-01T00:00:00Z') },
            { cmp: 'le', value: Date.parse('2020-01-01T23:59:59.999Z') },
          ],
        },
      ],
    });
  });

  it('compiles a UCUM quantity to the given and the canonical units', () => {
    const where = parse('Observation', 'value-quantity=5.4|http://unitsofmeasure.org|mg').where;
    expect(where).toEqual({
      op: 'or',
      of: [
        {
          op: 'row',
          table: 'quantity',
          param: 'value-quantity',
          where: [
            { field: 'low', cmp: 'ge', value: 5.35 },
            { field: 'high', cmp: 'lt', value: 5.45 },
            { field: 'system', cmp: 'eq', value: 'http://unitsofmeasure.org' },
            { field: 'code', cmp: 'eq', value: 'mg' },
            { field: 'canonical', cmp: 'null' },
          ],
        },
        {
          op: 'row',
          table: 'quantity',
          param: 'value-quantity',
          where: [
            { field: 'low', cmp: 'ge', value: 5.35 * 0.001 },
            { field: 'high', cmp: 'lt', value: 5.45 * 0.001 },
            { field: 'system', cmp: 'eq', value: 'http://unitsofmeasure.org' },
            { field: 'code', cmp: 'eq', value: 'g' },
            { field: 'canonical', cmp: 'eq', value: true },
          ],
        },
      ],
    });
  });

  it('compiles composite components with their index', () => {
    expect(parse('Observation', 'code-value-quantity=http://loinc.org|8480-6$lt60').where).toEqual({
      op: 'row',
      table: 'composite',
      param: 'code-value-quantity',
      where: [
        { field: 'system', cmp: 'eq', value: 'http://loinc.org', component: 0 },
        { field: 'code', cmp: 'eq', value: '8480-6', component: 0 },
        { field: 'low', cmp: 'lt', value: 60, component: 1 },
      ],
    });
  });
});
