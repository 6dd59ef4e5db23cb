/**
 * R4 primitive formats (https://hl7.org/fhir/R4/datatypes.html#primitive): tables of values each
 * type accepts and rejects, and adversarial inputs that must be answered in linear time.
 */
import { describe, expect, it } from 'vitest';
import { PRIMITIVES, checkPrimitive } from '../../../src/fhir/validator/primitives.js';

const check = (type: string, value: unknown) => checkPrimitive(PRIMITIVES.get(type)!, value);

const VALID: Record<string, unknown[]> = {
  boolean: [true, false],
  decimal: [0, -1.5, 1e-10, 123456789.123],
  integer: [0, -2147483648, 2147483647, 42],
  positiveInt: [1, 2147483647],
  unsignedInt: [0, 2147483647],
  string: ['a', ' padded ', 'line\nbreak\ttab', 'ünïcödé 😀'],
  markdown: ['# Title\n\n* item'],
  code: ['final', 'a b', 'urn:x', 'a\tb'],
  id: ['a', 'A-1.b', 'x'.repeat(64)],
  uri: ['http://example.org/a', 'urn:uuid:x', '#p1', 'cid:abc'],
  url: ['https://example.org/fhir'],
  canonical: ['http://hl7.org/fhir/ValueSet/x|4.0.1'],
  oid: ['urn:oid:1.2.3', 'urn:oid:2.16.840.1.113883'],
  uuid: ['urn:uuid:c757873d-ec9a-4326-a141-556f43239520'],
  base64Binary: ['QUJD', 'QUJDRA==', 'QU JD\nRA ==', ' QUJD '],
  date: ['2020', '2020-02', '2020-02-29', '0001-01-01'],
  dateTime: ['2020', '2020-02', '2020-02-29', '2020-02-29T10:11:12Z', '2020-02-29T10:11:12.123456+14:00', '2015-02-07T13:28:17-05:00', '2016-12-31T23:59:60Z'],
  instant: ['2020-02-29T10:11:12Z', '2020-02-29T10:11:12.5-13:59'],
  time: ['00:00:00', '23:59:60', '12:30:00.25'],
  xhtml: ['<div xmlns="http://www.w3.org/1999/xhtml">x</div>'],
};

const INVALID: Record<string, unknown[]> = {
  boolean: ['true', 1, null, [], {}],
  decimal: ['1.0', true, Infinity, NaN],
  integer: [1.5, 2147483648, -2147483649, '1'],
  positiveInt: [0, -1, 1.1],
  unsignedInt: [-1, 2147483648],
  string: ['', '   ', '\n\t', 'bell\u0007', 'x'.repeat(1024 * 1024 + 1), 5],
  markdown: ['', ' '],
  code: ['', ' final', 'final ', 'a  b', 'a\n\nb'],
  id: ['', 'a b', 'a_b', 'x'.repeat(65), 'ü'],
  uri: ['', 'has space', ' http://x'],
  url: ['', 'http://a b'],
  canonical: ['a b'],
  oid: ['1.2.3', 'urn:oid:3.1', 'urn:oid:1.02', 'urn:oid:1', 'urn:oid:1.2.'],
  uuid: ['c757873d-ec9a-4326-a141-556f43239520', 'urn:uuid:C757873D-EC9A-4326-A141-556F43239520', 'urn:uuid:c757873d'],
  base64Binary: ['', 'QUJ', 'QUJD!', 'QU=JD=', '    '],
  date: ['', '20', '2020-1', '2020-13', '2020-02-30', '2019-02-29', '0000', '2020-01-01T00:00:00Z', '2020/01/01'],
  dateTime: [
    '2020-01-01T10:00',
    '2020-01-01T10:00:00',
    '2020-01-01T24:00:00Z',
    '2020-01-01T10:00:00+15:00',
    '2020-01-01T10:00:00+14:30',
    '2020-01-01 10:00:00Z',
    '2020-01-01T10:00:00.Z',
    '2020-04-31',
  ],
  instant: ['2020-01-01', '2020-01-01T10:00:00', '2020-01-01T10:00Z'],
  time: ['24:00:00', '12:00', '12:00:00Z', '1:00:00'],
  xhtml: ['', '  '],
};

describe('primitive formats', () => {
  for (const [type, values] of Object.entries(VALID)) {
    it.each(values.map((v) => [JSON.stringify(v).slice(0, 40), v]))(`${type} accepts %s`, (_, value) => {
      expect(check(type, value)).toBeUndefined();
    });
  }
  for (const [type, values] of Object.entries(INVALID)) {
    it.each(values.map((v) => [JSON.stringify(v)?.slice(0, 40) ?? String(v), v]))(`${type} rejects %s`, (_, value) => {
      expect(check(type, value)).toEqual(expect.any(String));
    });
  }

  it('covers every R4 primitive type', () => {
    expect([...PRIMITIVES.keys()].sort()).toEqual(Object.keys(VALID).sort());
  });
});

describe('adversarial inputs (no catastrophic backtracking)', () => {
  const n = 200_000;
  const inputs: Array<[string, string]> = [
    ['code', `${'a '.repeat(n)} `],
    ['code', `${'a'.repeat(n)}  b`],
    ['code', `${'\t'.repeat(n)}!`],
    ['oid', `urn:oid:1${'.1'.repeat(n)}.`],
    ['oid', `urn:oid:1${'.0'.repeat(n)}0`],
    ['base64Binary', `${'QUJD '.repeat(n)}!`],
    ['base64Binary', `${' '.repeat(n)}QUJ`],
    ['dateTime', `2020-01-01T10:00:00.${'1'.repeat(n)}X`],
    ['instant', `2020-01-01T10:00:00.${'9'.repeat(n)}`],
    ['time', `10:00:00.${'1'.repeat(n)}:`],
    ['uri', `${'a'.repeat(n)} `],
    ['id', 'a'.repeat(n)],
    ['string', `${' '.repeat(n)}\u0001`],
    ['uuid', `urn:uuid:${'a'.repeat(n)}`],
  ];
  it.each(inputs.map(([type, value]) => [type, value.slice(0, 12), value]))('%s on %s… answers fast', (type, _, value) => {
    const start = performance.now();
    const result = check(type, value);
    expect(performance.now() - start).toBeLessThan(200);
    expect(result).toEqual(expect.any(String));
  });
});
