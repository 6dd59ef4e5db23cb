/**
 * The MongoDB filter compiler, checked with sift (an in-process matcher that follows MongoDB's
 * documented query semantics) over in-memory documents: array semantics
 * are tested here independently of CongoDB, whose matcher has its own gaps.
 */
import fc from 'fast-check';
import { ObjectId } from 'mongodb';
import sift, { createEqualsOperation } from 'sift';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../../src/storage/errors.js';
import { indexFields, type ResourceDoc } from '../../../src/storage/mongo/documents.js';
import { escapeRegex, FilterCompiler, prefixUpperBound } from '../../../src/storage/mongo/filter-compiler.js';
import { greatCircleMeters } from '../../../src/storage/geo.js';
import { distanceExpression } from '../../../src/storage/mongo/geo-expression.js';
import { sortColumns } from '../../../src/storage/mongo/paging.js';
import type { Condition, FieldPredicate, IndexEntry } from '../../../src/storage/search-index.js';

const Y2019: [number, number] = [Date.UTC(2019, 0, 1), Date.UTC(2020, 0, 1) - 1];
const Y2020: [number, number] = [Date.UTC(2020, 0, 1), Date.UTC(2021, 0, 1) - 1];
const Y2021: [number, number] = [Date.UTC(2021, 0, 1), Date.UTC(2022, 0, 1) - 1];

function doc(resourceType: string, id: string, index: IndexEntry[], deleted = false): ResourceDoc {
  return { _id: new ObjectId(), resourceType, id, versionId: 1, lastUpdated: 0, deleted, method: 'PUT', json: '{}', ...indexFields(index) };
}

/**
 * The aggregation expressions the compiler puts in `$expr` (near), evaluated as MongoDB's manual
 * defines each operator: an oracle independent of CongoDB, whose evaluator is JavaScript too.
 * https://www.mongodb.com/docs/manual/reference/operator/aggregation/
 */
function evaluateExpression(expression: unknown, doc: Record<string, unknown>, vars: Record<string, unknown> = {}): unknown {
  if (typeof expression === 'string' && expression.startsWith('$')) {
    const [head, ...path] = expression.startsWith('$$') ? expression.slice(2).split('.') : ['ROOT', ...expression.slice(1).split('.')];
    let value: unknown = head === 'ROOT' ? doc : vars[head!];
    for (const key of path) value = value === null || value === undefined ? undefined : (value as Record<string, unknown>)[key];
    return value;
  }
  if (typeof expression !== 'object' || expression === null) return expression;
  if (Array.isArray(expression)) return expression.map((e) => evaluateExpression(e, doc, vars));
  const [[operator, argument]] = Object.entries(expression) as Array<[string, any]>;
  const value = (e: unknown) => evaluateExpression(e, doc, vars);
  const numbers = () => (argument as unknown[]).map((a) => value(a) as number);
  switch (operator) {
    case '$literal':
      return argument;
    case '$let': {
      const bound = Object.fromEntries(Object.entries(argument.vars as Record<string, unknown>).map(([k, v]) => [k, value(v)]));
      return evaluateExpression(argument.in, doc, { ...vars, ...bound });
    }
    case '$map':
      return ((value(argument.input) as unknown[] | null) ?? []).map((item) => evaluateExpression(argument.in, doc, { ...vars, [argument.as]: item }));
    case '$filter':
      return ((value(argument.input) as unknown[] | null) ?? []).filter(
        (item) => evaluateExpression(argument.cond, doc, { ...vars, [argument.as]: item }) === true,
      );
    case '$ifNull': {
      const first = value(argument[0]);
      return first === null || first === undefined ? value(argument[1]) : first;
    }
    case '$eq':
      return value(argument[0]) === value(argument[1]);
    case '$lte':
      return (value(argument[0]) as number) <= (value(argument[1]) as number);
    case '$anyElementTrue':
      return (value(argument[0]) as unknown[]).some((v) => v !== false && v !== null && v !== undefined && v !== 0);
    case '$add':
      return numbers().reduce((a, b) => a + b, 0);
    case '$multiply':
      return numbers().reduce((a, b) => a * b, 1);
    case '$subtract':
      return numbers()[0]! - numbers()[1]!;
    case '$divide':
      return numbers()[0]! / numbers()[1]!;
    case '$min':
    case '$max': {
      // One array operand: its numbers (none: null); several operands: those.
      const list = (Array.isArray(argument) ? numbers() : (value(argument) as number[])).filter((n) => typeof n === 'number');
      if (list.length === 0) return null;
      return operator === '$min' ? Math.min(...list) : Math.max(...list);
    }
    case '$sin':
    case '$cos':
    case '$asin':
    case '$sqrt':
      return Math[operator.slice(1) as 'sin'](value(argument) as number);
    default:
      throw new Error(`The test's expression evaluator does not know ${operator}`);
  }
}

// sift is CommonJS: under NodeNext its default import is module.exports, whose `default` is the function.
const matcher = (filter: unknown) =>
  sift.default(
    filter as Parameters<typeof sift.default>[0],
    {
      operations: {
        $expr: (params: unknown, ownerQuery: unknown, options: any) =>
          createEqualsOperation((doc: Record<string, unknown>) => evaluateExpression(params, doc) === true, ownerQuery, options),
      },
    } as any,
  );

/** Compiles `condition` with sub-queries answered from `docs`, and returns the ids sift matches. */
async function matching(docs: ResourceDoc[], condition: Condition, maxIntermediateMatches = 100): Promise<string[]> {
  const compiler = new FilterCompiler(async (filter, _projection, limit) => docs.filter(matcher(filter)).slice(0, limit), { maxIntermediateMatches });
  const filter = await compiler.compile(condition);
  return docs
    .filter((d) => !d.deleted)
    .filter(matcher(filter))
    .map((d) => d.id);
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
      doc('Observation', 'two-years', [
        { table: 'date', param: 'date', low: Y2019[0], high: Y2019[1] },
        { table: 'date', param: 'date', low: Y2021[0], high: Y2021[1] },
      ]),
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
    expect(await compiler.compile(conditions[0]!)).toEqual({
      ix_date: { $elemMatch: { p: 'date', low: { $gte: 1 }, high: { $lt: 9 }, $and: [{ low: { $lte: 5 } }] } },
    });
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
    const error = await matching([...many, ...docs], { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: { op: 'true' } }, 3).catch(
      (e: unknown) => e,
    );
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

  it('matches a phrase as words one after another in one row, and only a list of words', async () => {
    const docs = [
      doc('Patient', 'in-order', [{ table: 'text', param: '_text', terms: 'two heart attack and high blood pressur' }]),
      doc('Patient', 'reversed', [{ table: 'text', param: '_text', terms: 'attack heart' }]),
      doc('Patient', 'other-param', [{ table: 'text', param: '_content', terms: 'heart attack' }]),
      doc('Patient', 'split', [
        { table: 'text', param: '_text', terms: 'heart' },
        { table: 'text', param: '_text', terms: 'attack' },
      ]),
      doc('Patient', 'longer-word', [{ table: 'text', param: '_text', terms: 'heartbeat attacks' }]),
    ];
    const phrase = (...words: string[]) => row('text', '_text', pred('terms', 'phrase', words));
    expect(await matching(docs, phrase('heart', 'attack'))).toEqual(['in-order']);
    expect(await matching(docs, phrase('heart'))).toEqual(['in-order', 'reversed', 'split']);
    expect(await matching(docs, phrase('pressur'))).toEqual(['in-order']);
    expect(await matching(docs, { op: 'and', of: [phrase('heart'), phrase('attack')] })).toEqual(['in-order', 'reversed', 'split']);
    const compiler = new FilterCompiler(async () => [], { maxIntermediateMatches: 10 });
    const filter = await compiler.compile(phrase('heart', 'attack'));
    expect(crossingPaths(filter)).toEqual([]);
    expect(filter).toEqual({
      ix_text: { $elemMatch: { p: '_text', termsSet: { $all: ['heart', 'attack'] }, terms: { $regex: '(?:^| )heart attack(?: |$)' } } },
    });
    for (const bad of [[], ['Heart'], ['a b'], ['"x'], ['a*']] as string[][]) {
      await expect(compiler.compile(phrase(...bad))).rejects.toMatchObject({ code: 'invalid-query' });
    }
  });

  it('stores the distinct words of a text row beside its words in order', () => {
    const fields = indexFields([{ table: 'text', param: '_content', terms: 'heart rate heart' }]);
    expect(fields.ix_text).toEqual([{ p: '_content', terms: 'heart rate heart', termsSet: ['heart', 'rate'] }]);
    // Words are never sort values.
    expect(fields.sort).toBeUndefined();
  });

  it('matches `suffix` literally, whatever the characters, at the very end', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 6 }), text, async (values, suffix) => {
        const docs = values.map((value, i) => doc('Observation', String(i), [{ table: 'string', param: 'name', value, exact: value }]));
        const expected = docs.filter((_, i) => values[i]!.endsWith(suffix)).map((d) => d.id);
        expect(await matching(docs, row('string', 'name', pred('value', 'suffix', suffix)))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
    const docs = [doc('Observation', 'newline', [{ table: 'string', param: 'name', value: 'ab\n', exact: 'ab\n' }])];
    expect(await matching(docs, row('string', 'name', pred('value', 'suffix', 'ab')))).toEqual([]);
  });

  // Points anywhere (poles and the antimeridian included) and distances from a metre to the
  // whole earth.
  const latitude = fc.double({ min: -90, max: 90, noNaN: true });
  const longitude = fc.double({ min: -180, max: 180, noNaN: true });
  const point = fc.tuple(latitude, longitude);
  const nearby = (center: [number, number]) =>
    fc
      .tuple(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }))
      .map(([dLat, dLon]): [number, number] => [Math.max(-90, Math.min(90, center[0] + dLat)), ((center[1] + dLon + 540) % 360) - 180]);

  it('computes the great-circle distance in MongoDB exactly as storage/geo.ts does', () => {
    fc.assert(
      fc.property(point, point, ([lat1, lon1], [lat2, lon2]) => {
        expect(evaluateExpression(distanceExpression(lat1, lon1, lat2, lon2), {})).toBe(greatCircleMeters(lat1, lon1, lat2, lon2));
      }),
      { numRuns: 500 },
    );
  });

  it('finds exactly the positions within a near distance: bounding box on the index, exact distance after', async () => {
    await fc.assert(
      fc.asyncProperty(
        point.chain((center) => fc.tuple(fc.constant(center), fc.array(fc.oneof(nearby(center), point), { minLength: 1, maxLength: 8 }))),
        fc.oneof(fc.double({ min: 1, max: 500_000, noNaN: true }), fc.double({ min: 1, max: 3e7, noNaN: true })),
        async ([center, positions], meters) => {
          const docs = positions.map(([lat, lon], i) => doc('Location', String(i), [{ table: 'position', param: 'near', latitude: lat, longitude: lon }]));
          docs.push(doc('Location', 'no-position', []));
          const condition: Condition = { op: 'near', param: 'near', latitude: center[0], longitude: center[1], distance: meters };
          const expected = positions.flatMap(([lat, lon], i) => (greatCircleMeters(lat, lon, center[0], center[1]) <= meters ? [String(i)] : []));
          expect(await matching(docs, condition)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sorts by distance with the nearest position of the parameter, no position last', () => {
    const docs = [
      doc('Location', 'far', [{ table: 'position', param: 'near', latitude: 10, longitude: 10 }]),
      doc('Location', 'none', []),
      doc('Location', 'two', [
        { table: 'position', param: 'near', latitude: 20, longitude: 20 },
        { table: 'position', param: 'near', latitude: 0.1, longitude: 0.1 },
      ]),
    ];
    const [column] = sortColumns([{ by: 'distance', param: 'near', latitude: 0, longitude: 0, descending: false }]);
    const values = docs.map((d) => evaluateExpression(column!.compute, d as unknown as Record<string, unknown>));
    expect(values).toEqual([greatCircleMeters(10, 10, 0, 0), 9e300, greatCircleMeters(0.1, 0.1, 0, 0)]);
  });
});
