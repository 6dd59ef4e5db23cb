/**
 * The small pure pieces: decimal precision, date ranges, escaping, reference normalization,
 * UCUM canonical units and the evaluator's predicate semantics.
 */
import { describe, expect, it } from 'vitest';
import type { FieldPredicate } from '../../../src/storage/search-index.js';
import { parseDateRange } from '../../../src/search/dates.js';
import { splitEscaped, splitFirstBar, unescapeValue } from '../../../src/search/escape.js';
import { testPredicate } from '../../../src/search/evaluate.js';
import { fixExpression, rewriteResolve, splitUnion } from '../../../src/search/expression-text.js';
import { parseDecimal } from '../../../src/search/numbers.js';
import { normalizeReference } from '../../../src/search/references.js';
import { canonicalUnit } from '../../../src/search/ucum.js';

describe('parseDecimal: implicit precision (https://hl7.org/fhir/R4/search.html#number)', () => {
  it.each([
    ['100', 100, 99.5, 100.5],
    ['100.0', 100, 99.95, 100.05],
    ['100.00', 100, 99.995, 100.005],
    ['1e2', 100, 50, 150],
    ['1.00e2', 100, 99.5, 100.5],
    ['1.5', 1.5, 1.45, 1.55],
    ['-1.5', -1.5, -1.55, -1.45],
    ['0', 0, -0.5, 0.5],
    ['-0', 0, -0.5, 0.5],
    ['5E-3', 0.005, 0.0045, 0.0055],
    ['007', 7, 6.5, 7.5],
  ])('%s → %d in [%d, %d)', (text, value, low, high) => {
    expect(parseDecimal(text)).toEqual({ value, low, high });
  });

  it.each(['', 'abc', '1.', '.5', '1e', 'NaN', 'Infinity', '1e999', '0x10', '1,5', ' 1', '1 ', '+-1'])('rejects %j', (text) => {
    expect(parseDecimal(text)).toBeUndefined();
  });
});

describe('parseDateRange (https://hl7.org/fhir/R4/search.html#date)', () => {
  it.each([
    ['2020-02-30'],
    ['2019-02-29'],
    ['2020-00'],
    ['2020-13'],
    ['2020-01-01T24:00:00Z'],
    ['2020-01-01T10:60'],
    ['2020-01-01T10:00:60Z'],
    ['2020-01-01T10:00:00+15:00'],
    ['2020-01-01T10'],
    ['2020-01-01 10:00'],
    ['20'],
    ['2020-1-1'],
  ])('rejects %s', (text) => {
    expect(parseDateRange(text)).toBeUndefined();
  });

  it('reads minutes as a minute-wide range and offsets as shifts', () => {
    expect(parseDateRange('2020-01-01T10:00+01:00')).toEqual({ low: Date.parse('2020-01-01T09:00:00Z'), high: Date.parse('2020-01-01T09:00:59.999Z') });
  });
});

describe('escaping (https://hl7.org/fhir/R4/search.html#escaping)', () => {
  it('splits on unescaped separators only', () => {
    expect(splitEscaped('a,b\\,c,', ',')).toEqual(['a', 'b\\,c', '']);
    expect(splitEscaped('a\\$b$c', '$')).toEqual(['a\\$b', 'c']);
    expect(splitEscaped('a\\\\,b', ',')).toEqual(['a\\\\', 'b']);
    expect(splitFirstBar('s|c|d')).toEqual(['s', 'c|d']);
    expect(splitFirstBar('s\\|c')).toEqual(['s\\|c']);
  });

  it('unescapes \\, \\$ \\| \\\\ and leaves other backslashes', () => {
    expect(unescapeValue('a\\,b\\$c\\|d\\\\e\\nf')).toBe('a,b$c|d\\e\\nf');
  });
});

describe('expression text', () => {
  it('splits unions at the top level only', () => {
    expect(splitUnion("A.b | (A.c as T) | A.d.where(x = 'a|b')")).toEqual(['A.b', '(A.c as T)', "A.d.where(x = 'a|b')"]);
  });

  it('applies the documented fixes', () => {
    expect(fixExpression('value.as(DateTime) | (Observation.value as Quantity).unit')).toBe('value.as(dateTime) | Observation.value.ofType(Quantity).unit');
    expect(rewriteResolve('Observation.subject.where(resolve() is Patient)')).toBe("Observation.subject.where(bedsideRefIs('Patient'))");
  });
});

describe('normalizeReference', () => {
  const known = (t: string) => ['Patient', 'Observation'].includes(t);
  it.each([
    ['Patient/1', 'Patient/1'],
    ['http://x/fhir/Patient/1', 'Patient/1'],
    ['http://x/fhir/Patient/1/_history/2', 'Patient/1'],
    ['http://y/fhir/Patient/1', 'http://y/fhir/Patient/1'],
    ['Nonsense/1', 'Nonsense/1'],
    ['urn:uuid:1', 'urn:uuid:1'],
  ])('%s → %s', (ref, value) => {
    expect(normalizeReference(ref, known, 'http://x/fhir')?.value).toBe(value);
  });

  it('skips contained and empty references', () => {
    expect(normalizeReference('#a', known)).toBeUndefined();
    expect(normalizeReference('  ', known)).toBeUndefined();
  });
});

describe('canonicalUnit (UCUM)', () => {
  it.each([
    ['mg', 'g', 0.001],
    ['kg', 'g', 1000],
    ['mg/dL', 'g.m-3', 10],
    ['cm', 'm', 0.01],
    ['%', '1', 0.01],
  ])('%s is %s × %d', (code, canonical, factor) => {
    expect(canonicalUnit(code)?.code).toBe(canonical);
    expect(canonicalUnit(code)?.factor).toBeCloseTo(factor, 12);
  });

  it.each(['Cel', '[degF]', '[IU]/L', 'not-a-unit', ''])('has no canonical form for %j', (code) => {
    expect(canonicalUnit(code)).toBeUndefined();
  });
});

describe('predicate semantics of the reference evaluator', () => {
  const row = { table: 'token', param: 'code', system: null, code: 'a', text: 'abc' } as const;
  it.each([
    [{ field: 'code', cmp: 'eq', value: 'a' }, true],
    [{ field: 'system', cmp: 'eq', value: 'a' }, false],
    [{ field: 'system', cmp: 'ne', value: 'a' }, false],
    [{ field: 'system', cmp: 'null' }, true],
    [{ field: 'code', cmp: 'notnull' }, true],
    [{ field: 'text', cmp: 'prefix', value: 'ab' }, true],
    [{ field: 'text', cmp: 'prefix', value: 'b' }, false],
    [{ field: 'text', cmp: 'contains', value: 'b' }, true],
    [{ field: 'text', cmp: 'contains', value: '.*' }, false],
    [{ field: 'code', cmp: 'in', value: ['x', 'a'] }, true],
    [{ field: 'code', cmp: 'lt', value: 1 }, false],
  ] as const)('%j → %s', (predicate, expected) => {
    expect(testPredicate(row, predicate as FieldPredicate)).toBe(expected);
  });
});
