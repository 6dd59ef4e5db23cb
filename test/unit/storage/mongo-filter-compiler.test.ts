/**
 * The MongoDB filter compiler, checked with sift (an in-process matcher that follows MongoDB's
 * documented query semantics) over in-memory documents: array semantics
 * are tested here independently of CongoDB, whose matcher has its own gaps.
 */
import fc from 'fast-check';
import { ObjectId } from 'mongodb';
import sift from 'sift';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../../src/storage/errors.js';
import { indexFields, type ResourceDoc } from '../../../src/storage/mongo/documents.js';
import { escapeRegex, FilterCompiler, prefixUpperBound } from '../../../src/storage/mongo/filter-compiler.js';
import type { Condition, FieldPredicate, IndexEntry } from '../../../src/storage/search-index.js';

const Y2019: [number, number] = [Date.UTC(2019, 0, 1), Date.UTC(2020, 0, 1) - 1];
const Y2020: [number, number] = [Date.UTC(2020, 0, 1), Date.UTC(2021, 0, 1) - 1];
const Y2021: [number, number] = [Date.UTC(2021, 0, 1), Date.UTC(2022, 0, 1) - 1];

function doc(resourceType: string, id: string, index: IndexEntry[], deleted = false): ResourceDoc {
  return { _id: new ObjectId(), resourceType, id, versionId: 1, lastUpdated: 0, deleted, method: 'PUT', json: '{}', ...indexFields(index) };
}

// sift is CommonJS: under NodeNext its default import is module.exports, whose `default` is the function.
const matcher = (filter: unknown) => sift.default(filter as Parameters<typeof sift.default>[0]);

/** Compiles `condition` with sub-queries answered from `docs`, and returns the ids sift matches. */
async function matching(docs: ResourceDoc[], condition: Condition, maxIntermediateMatches = 100): Promise<string[]> {
  const compiler = new FilterCompiler(async (filter, _projection, limit) => docs.filter(matcher(filter)).slice(0, limit), { maxIntermediateMatches });
  const filter = await compiler.compile(condition);
  return docs.filter((d) => !d.deleted).filter(matcher(filter)).map((d) => d.id);
}

const row = (table: IndexEntry['table'], param: string, ...where: FieldPredicate[]): Condition => ({ op: 'row', table, param, where });
const pred = (field: FieldPredicate['field'], cmp: FieldPredicate['cmp'], value?: FieldPredicate['value'], component?: number): FieldPredicate => ({
  field,
  cmp,
  ...(value === undefined ? {} : { value }),
  ...(component === undefined ? {} : { component }),
});

/** Paths into index arrays that a filter tests outside an `$elemMatch` (there must be none). */
function crossingPaths(filter: unknown): string[] {
  if (Array.isArray(filter)) return filter.flatMap(crossingPaths);
  if (!filter || typeof filter !== 'object') return [];
  return Object.entries(filter).flatMap(([key, value]) => {
    if (key.startsWith('ix_')) {
      const elemMatchOnly = !key.includes('.') && value && typeof value === 'object' && Object.keys(value).every((k) => k === '$elemMatch');
      return elemMatchOnly ? [] : [key];
    }
    return crossingPaths(value);
  });
}

describe('MongoDB filter compiler (checked with sift)', () => {
  it('tests every predicate of a row on one row: no cross-element matches', async () => {
    const docs = [
      doc('Observation', 'two-years', [{ table: 'date', param: 'date', low: Y2019[0], high: Y2019[1] }, { table: 'date', param: 'date', low: Y2021[0], high: Y2021[1] }]),
      doc('Observation', 'in-2020', [{ table: 'date', param: 'date', low: Y2020[0], high: Y2020[1] }]),
    ];
    const within2020 = row('date', 'date', pred('low', 'ge', Y2020[0]), pred('high', 'le', Y2020[1]));
    expect(await matching(docs, within2020)).toEqual(['in-2020']);
    // The same bounds as dotted paths would match both: that is the mistake the compiler avoids.
    expect(docs.filter(matcher({ 'ix_date.low': { $gte: Y2020[0] }, 'ix_date.high': { $lte: Y2020[1] } })).map((d) => d.id)).toEqual(['two-years', 'in-2020']);
  });

  it('keeps system and code, quantity and unit, and composite components on one row', async () => {
    const docs = [
      doc('Observation', 'mixed', [
        { table: 'token', param: 'code', system: 'http://snomed.info/sct', code: '1' },
        { table: 'token', param: 'code', system: null, code: 'X' },
        { table: 'quantity', param: 'qty', low: 5, high: 5, system: null, code: 'mg' },
        { table: 'quantity', param: 'qty', low: 7, high: 7, system: null, code: 'g' },
        { table: 'composite', param: 'bp', components: [{ code: 'sys' }, { low: 80, high: 80 }] },
        { table: 'composite', param: 'bp', components: [{ code: 'dia' }, { low: 120, high: 120 }] },
      ]),
    ];
    expect(await matching(docs, row('token', 'code', pred('system', 'eq', 'http://snomed.info/sct'), pred('code', 'eq', 'X')))).toEqual([]);
    expect(await matching(docs, row('token', 'code', pred('system', 'null'), pred('code', 'eq', 'X')))).toEqual(['mixed']);
    expect(await matching(docs, row('quantity', 'qty', pred('low', 'ge', 6), pred('code', 'eq', 'mg')))).toEqual([]);
    expect(await matching(docs, row('quantity', 'qty', pred('low', 'ge', 6), pred('code', 'eq', 'g')))).toEqual(['mixed']);
    expect(await matching(docs, row('composite', 'bp', pred('code', 'eq', 'sys', 0), pred('low', 'ge', 100, 1)))).toEqual([]);
    expect(await matching(docs, row('composite', 'bp', pred('code', 'eq', 'dia', 0), pred('low', 'ge', 100, 1)))).toEqual(['mixed']);
  });

  it('compiles each row to one $elemMatch and never to dotted paths into the arrays', async () => {
    const compiler = new FilterCompiler(async () => [], { maxIntermediateMatches: 10 });
    const conditions: Condition[] = [
      row('date', 'date', pred('low', 'ge', 1), pred('low', 'le', 5), pred('high', 'lt', 9)),
      row('string', 'name', pred('value', 'prefix', 'a'), pred('value', 'prefix', 'ab'), pred('exact', 'contains', 'b')),
      row('composite', 'bp', pred('code', 'eq', 'x', 0), pred('low', 'gt', 1, 1), pred('system', 'null', undefined, 2)),
      { op: 'not', of: row('token', 'code', pred('code', 'in', ['a', 'b'])) },
      { op: 'missing', table: 'reference', param: 'subject', missing: true },
      { op: 'or', of: [row('uri', 'url', pred('value', 'eq', 'x')), row('number', 'n', pred('low', 'ne', 3))] },
    ];
    for (const condition of conditions) {
      const filter = await compiler.compile(condition);
      expect(crossingPaths(filter), JSON.stringify(filter)).toEqual([]);
    }
    expect(await compiler.compile(conditions[0]!)).toEqual({ ix_date: { $elemMatch: { p: 'date', low: { $gte: 1 }, high: { $lt: 9 }, $and: [{ low: { $lte: 5 } }] } } });
  });

  it('treats absent fields as null, as the embedded store treats NULL columns', async () => {
    const docs = [
      doc('Observation', 'with-system', [{ table: 'token', param: 'code', system: 's', code: 'a' }]),
      doc('Observation', 'no-system', [{ table: 'token', param: 'code', system: null, code: 'b' }]),
      doc('Observation', 'no-rows', []),
    ];
    expect(await matching(docs, row('token', 'code', pred('system', 'null')))).toEqual(['no-system']);
    expect(await matching(docs, row('token', 'code', pred('system', 'notnull')))).toEqual(['with-system']);
    expect(await matching(docs, row('token', 'code', pred('system', 'ne', 's')))).toEqual(['no-system']);
    expect(await matching(docs, row('token', 'code', pred('system', 'eq', null as unknown as string)))).toEqual(['no-system']);
    expect(await matching(docs, row('token', 'code', pred('system', 'lt', null as unknown as string)))).toEqual([]);
    expect(await matching(docs, { op: 'missing', table: 'token', param: 'code', missing: true })).toEqual(['no-rows']);
    expect(await matching(docs, { op: 'not', of: row('token', 'code', pred('code', 'eq', 'a')) })).toEqual(['no-system', 'no-rows']);
  });

  it('resolves chains and _has through bounded sub-queries', async () => {
    const docs = [
      doc('Patient', 'p1', [{ table: 'string', param: 'name', value: 'smith', exact: 'Smith' }]),
      doc('Patient', 'p2', [{ table: 'string', param: 'name', value: 'smith', exact: 'Smith' }], true),
      doc('Observation', 'o1', [{ table: 'reference', param: 'subject', value: 'Patient/p1', targetType: 'Patient', targetId: 'p1' }]),
      doc('Observation', 'o2', [{ table: 'reference', param: 'subject', value: 'Patient/p2', targetType: 'Patient', targetId: 'p2' }]),
    ];
    const smith = row('string', 'name', pred('value', 'eq', 'smith'));
    expect(await matching(docs, { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: smith })).toEqual(['o1']);
    expect(await matching(docs, { op: 'has', sourceType: 'Observation', param: 'subject', where: { op: 'true' } })).toEqual(['p1']);

    const many = Array.from({ length: 5 }, (_, i) => doc('Patient', `x${i}`, []));
    const error = await matching([...many, ...docs], { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: { op: 'true' } }, 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'too-costly' });
  });

  // Characters that mean something to regular expressions, LIKE, JSON or UTF-16 ordering.
  const tricky = fc.constantFrom(...'ab.*+?^${}()|[]\\/-%_\'" \n\0zü日😀\uff01\ue000'.split(/(?:)/u));
  const text = fc.array(tricky, { maxLength: 6 }).map((chars) => chars.join(''));

  it('matches `contains` literally, whatever the characters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 6 }), text, async (values, needle) => {
        const docs = values.map((value, i) => doc('Observation', String(i), [{ table: 'string', param: 'name', value, exact: value }]));
        const expected = docs.filter((_, i) => values[i]!.includes(needle)).map((d) => d.id);
        expect(await matching(docs, row('string', 'name', pred('value', 'contains', needle)))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('matches `prefix` literally, whatever the characters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 6 }), text, async (values, prefix) => {
        const docs = values.map((value, i) => doc('Observation', String(i), [{ table: 'string', param: 'name', value, exact: value }]));
        const expected = docs.filter((_, i) => values[i]!.startsWith(prefix)).map((d) => d.id);
        expect(await matching(docs, row('string', 'name', pred('value', 'prefix', prefix)))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('computes exact upper bounds for prefixes', () => {
    expect(prefixUpperBound('abc')).toBe('abd');
    expect(prefixUpperBound('')).toBeUndefined();
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b');
    expect(prefixUpperBound('\u{10FFFF}\u{10FFFF}')).toBeUndefined();
    expect(prefixUpperBound('x\uD7FF')).toBe('x\uE000');
    expect(prefixUpperBound('x😀')).toBe('x😁');
  });

  it('escapes every regular-expression metacharacter, and NUL', () => {
    const all = 'a.*+?^${}()|[]\\/b\0';
    const escaped = escapeRegex(all);
    expect(escaped).not.toContain('\0');
    expect(new RegExp(escaped).test(`x${all}y`)).toBe(true);
    expect(new RegExp(escaped, 'u').test(`x${all}y`)).toBe(true);
    expect(new RegExp(escapeRegex('.')).test('a')).toBe(false);
  });
});
