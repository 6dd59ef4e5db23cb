/**
 * Properties of parseSearch on arbitrary input: it either compiles or throws a 400 FhirError
 * (never anything else), and what it compiles is plain data (user input never becomes an
 * operator, a pattern or a function), which the reference evaluator accepts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Condition } from '../../../src/storage/search-index.js';
import { FhirError } from '../../../src/r4/errors.js';
import { MemoryIndex } from '../../../src/search/evaluate.js';
import { parseSearch } from '../../../src/search/parse.js';
import { BASE_URL, NOW, RESOURCES } from './fixtures.js';

const index = MemoryIndex.of(RESOURCES, { baseUrl: BASE_URL });

const CODES = [
  'name',
  'family',
  'birthdate',
  'gender',
  'identifier',
  'subject',
  'patient',
  'code',
  'value-quantity',
  'date',
  'probability',
  'url',
  'code-value-quantity',
  'component-code-value-quantity',
  '_id',
  '_lastUpdated',
  '_tag',
  '_profile',
  '_list',
  '_has',
  '_sort',
  '_count',
  '_include',
  '_revinclude',
  '_total',
  '_summary',
  '_elements',
  '_type',
  '_text',
  'organization',
  'general-practitioner',
  'near',
  'deceased',
];
const MODIFIERS = ['', ':missing', ':exact', ':contains', ':not', ':text', ':of-type', ':above', ':below', ':in', ':Patient', ':identifier', ':iterate', ':x'];

const text = fc.string({ unit: 'binary', maxLength: 24 });
const name = fc.oneof(
  fc.tuple(fc.constantFrom(...CODES), fc.constantFrom(...MODIFIERS)).map(([c, m]) => c + m),
  fc
    .tuple(fc.constantFrom('subject', 'patient', 'organization'), fc.constantFrom('', ':Patient', ':Organization'), fc.constantFrom(...CODES))
    .map(([c, t, rest]) => `${c}${t}.${rest}`),
  fc
    .tuple(fc.constantFrom('Observation', 'Patient', 'Nope', ''), fc.constantFrom('patient', 'subject', 'code', ''), fc.constantFrom(...CODES))
    .map(([t, p, rest]) => `_has:${t}:${p}:${rest}`),
  text,
);
const value = fc.oneof(
  text,
  fc
    .tuple(
      fc.constantFrom('', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'zz'),
      fc.oneof(
        fc.double().map(String),
        fc.integer().map(String),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 4 + (Math.abs(d.getTime()) % 20))),
      ),
    )
    .map(([p, v]) => p + v),
  fc.tuple(text, text, text).map((parts) => parts.join('|')),
  fc.tuple(text, text).map((parts) => parts.join('$')),
  fc.array(text, { maxLength: 4 }).map((parts) => parts.join(',')),
  fc.constantFrom('true', 'false', '*', 'Observation:subject', 'Patient/p1', `${BASE_URL}/Patient/p1`, '-birthdate,name', '1e308', 'ap1.7976931348623157e308'),
);
const params = fc.array(fc.tuple(name, value), { maxLength: 5 });
const type = fc.constantFrom('Patient', 'Observation', 'RiskAssessment', 'ValueSet', 'Location', undefined);

const PLAIN_KEYS = new Set([
  'op',
  'of',
  'table',
  'param',
  'where',
  'missing',
  'ids',
  'types',
  'targetTypes',
  'sourceType',
  'field',
  'cmp',
  'value',
  'component',
]);

/** Every value is a string, boolean, finite number, or an array/object of those (known keys only). */
function assertPlain(x: unknown, at = 'where'): void {
  if (typeof x === 'string' || typeof x === 'boolean') return;
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) throw new Error(`${at} is not finite`);
    return;
  }
  if (Array.isArray(x)) return x.forEach((e, i) => assertPlain(e, `${at}[${i}]`));
  if (typeof x !== 'object' || x === null || Object.getPrototypeOf(x) !== Object.prototype) throw new Error(`${at} is not plain data`);
  for (const [k, v] of Object.entries(x)) {
    if (!PLAIN_KEYS.has(k)) throw new Error(`${at}.${k} is not a contract key`);
    if (k === 'value' && typeof v === 'object' && !Array.isArray(v)) throw new Error(`${at}.value is an object`);
    assertPlain(v, `${at}.${k}`);
  }
}

describe('parseSearch on arbitrary input', () => {
  it('compiles to plain data or throws a 400 FhirError', () => {
    fc.assert(
      fc.property(type, params, fc.boolean(), (t, p, strict) => {
        let where: Condition;
        try {
          const parsed = parseSearch(t, p, { baseUrl: BASE_URL, strict, maxCount: 100, defaultCount: 10, now: NOW });
          where = parsed.where;
          expect(parsed.count).toBeGreaterThanOrEqual(0);
          expect(JSON.parse(JSON.stringify(parsed.sort))).toStrictEqual(parsed.sort);
        } catch (e) {
          if (!(e instanceof FhirError) || e.status !== 400) throw e;
          return;
        }
        assertPlain(where);
        expect(JSON.parse(JSON.stringify(where))).toStrictEqual(where);
        index.search(undefined, where);
      }),
      { numRuns: 3000 },
    );
  });
});
