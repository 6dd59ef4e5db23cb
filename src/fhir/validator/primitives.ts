/**
 * The R4 primitive types: which JSON type carries each one and the lexical rules of its value.
 * The patterns are those of https://hl7.org/fhir/R4/datatypes.html#primitive, written so that no
 * quantifier can backtrack into another (each repetition starts with a character the previous
 * part cannot match): every check is linear in the length of the value, whatever the input.
 * Dates are also checked against the calendar (no 2023-02-30), as xs:date does.
 *
 * JSON rules (https://hl7.org/fhir/R4/json.html#primitive): numbers and booleans are JSON
 * numbers and booleans, everything else is a JSON string, and a string is never empty.
 */

import { isFhirId } from '../../r4/ids.js';

export type JsonKind = 'string' | 'number' | 'boolean';

export interface PrimitiveRule {
  readonly name: string;
  readonly json: JsonKind;
  /** The problem with a value already of the right JSON type, or undefined if it is valid. */
  check(value: never): string | undefined;
}

/** 1 MB: https://hl7.org/fhir/R4/datatypes.html#string */
const MAX_STRING = 1024 * 1024;
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

const OID = /^urn:oid:[0-2](?:\.(?:0|[1-9]\d*))+$/;
const UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NO_WHITESPACE = /^\S+$/;
const CODE = /^\S+(?:\s\S+)*$/;
const HAS_CONTENT = /\S/;
// C0 controls other than tab, LF and CR cannot appear in XML, so a resource with them has no XML form.
const CONTROL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;
const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Year 0001-9999, month 01-12, day within the month (each part only if present). */
function validDate(year: string, month: string | undefined, day: string | undefined): boolean {
  const y = Number(year);
  if (y === 0) return false;
  if (month === undefined) return true;
  const m = Number(month);
  if (m < 1 || m > 12) return false;
  if (day === undefined) return true;
  const d = Number(day);
  return d >= 1 && d <= daysIn(y, m);
}

/** hh 00-23, mm 00-59, ss 00-60 (leap second). */
function validTime(h: string, m: string, s: string): boolean {
  return Number(h) <= 23 && Number(m) <= 59 && Number(s) <= 60;
}

/** Z, or ±hh:mm from -13:59 to +14:00 as in the R4 pattern `(0[0-9]|1[0-3]):[0-5][0-9]|14:00`. */
function validZone(zone: string): boolean {
  if (zone === 'Z') return true;
  const h = Number(zone.slice(1, 3));
  const m = Number(zone.slice(4, 6));
  return m <= 59 && (h <= 13 || (h === 14 && m === 0));
}

function checkDate(value: string): string | undefined {
  const m = DATE.exec(value);
  return m && validDate(m[1]!, m[2], m[3]) ? undefined : 'is not a valid date (YYYY, YYYY-MM or YYYY-MM-DD)';
}

function checkDateTime(value: string): string | undefined {
  const m = DATE_TIME.exec(value);
  const ok = m && validDate(m[1]!, m[2], m[3]) && (m[4] === undefined || (validTime(m[4], m[5]!, m[6]!) && validZone(m[7]!)));
  return ok ? undefined : 'is not a valid dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone)';
}

function checkInstant(value: string): string | undefined {
  const m = INSTANT.exec(value);
  const ok = m && validDate(m[1]!, m[2], m[3]) && validTime(m[4]!, m[5]!, m[6]!) && validZone(m[7]!);
  return ok ? undefined : 'is not a valid instant (YYYY-MM-DDThh:mm:ss(.sss) with a time zone)';
}

function checkTime(value: string): string | undefined {
  const m = TIME.exec(value);
  return m && validTime(m[1]!, m[2]!, m[3]!) ? undefined : 'is not a valid time (hh:mm:ss)';
}

function checkText(value: string): string | undefined {
  if (!HAS_CONTENT.test(value)) return 'has no non-whitespace content';
  if (value.length > MAX_STRING) return 'is longer than 1 MB';
  if (CONTROL_CHAR.test(value)) return 'contains control characters';
  return undefined;
}

const matches = (pattern: RegExp, what: string) => (value: string) =>
  value.length <= MAX_STRING && pattern.test(value) ? undefined : `is not a valid ${what}`;

/**
 * base64 with whitespace allowed anywhere (R4: `(\s*([0-9a-zA-Z\+\=]){4}\s*)+`, the examples wrap
 * lines): a single pass counting the non-whitespace characters, which must come in fours.
 */
function checkBase64(value: string): string | undefined {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61) count++;
    else if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return 'is not valid base64';
  }
  return count > 0 && count % 4 === 0 ? undefined : 'is not valid base64 (length is not a multiple of 4)';
}

function checkNumber(min: number, max: number, integer: boolean, what: string) {
  return (value: number) => {
    if (!Number.isFinite(value)) return 'is not a finite number';
    if (integer && !Number.isInteger(value)) return `is not an integer`;
    if (value < min || value > max) return `is out of range for ${what}`;
    return undefined;
  };
}

const rule = <T>(name: string, json: JsonKind, check: (value: T) => string | undefined): PrimitiveRule => ({
  name,
  json,
  check: check as (value: never) => string | undefined,
});

const rules: PrimitiveRule[] = [
  rule('boolean', 'boolean', () => undefined),
  rule('decimal', 'number', checkNumber(-Infinity, Infinity, false, 'decimal')),
  rule('integer', 'number', checkNumber(INT_MIN, INT_MAX, true, 'integer (32-bit)')),
  rule('positiveInt', 'number', checkNumber(1, INT_MAX, true, 'positiveInt (1..2147483647)')),
  rule('unsignedInt', 'number', checkNumber(0, INT_MAX, true, 'unsignedInt (0..2147483647)')),
  rule('string', 'string', checkText),
  rule('markdown', 'string', checkText),
  rule('xhtml', 'string', checkText),
  rule('code', 'string', matches(CODE, 'code (no leading, trailing or double whitespace)')),
  rule('id', 'string', (value: string) => (isFhirId(value) ? undefined : 'is not a valid id (1-64 characters of A-Z a-z 0-9 - .)')),
  rule('uri', 'string', matches(NO_WHITESPACE, 'uri (no whitespace)')),
  rule('url', 'string', matches(NO_WHITESPACE, 'url (no whitespace)')),
  rule('canonical', 'string', matches(NO_WHITESPACE, 'canonical (no whitespace)')),
  rule('oid', 'string', matches(OID, 'oid (urn:oid:1.2.3)')),
  rule('uuid', 'string', matches(UUID, 'uuid (urn:uuid: and lower-case hex)')),
  rule('base64Binary', 'string', checkBase64),
  rule('date', 'string', checkDate),
  rule('dateTime', 'string', checkDateTime),
  rule('instant', 'string', checkInstant),
  rule('time', 'string', checkTime),
];

/** The rule of every R4 primitive type, by type name. */
export const PRIMITIVES: ReadonlyMap<string, PrimitiveRule> = new Map(rules.map((r) => [r.name, r]));

/**
 * Checks one primitive value: its JSON type, then its lexical form. Returns the problem or
 * undefined. Empty strings are reported here (https://hl7.org/fhir/R4/json.html: no empty values).
 */
export function checkPrimitive(rule: PrimitiveRule, value: unknown): string | undefined {
  if (typeof value !== rule.json) return `must be a JSON ${rule.json} (${rule.name}), not ${jsonTypeOf(value)}`;
  if (value === '') return 'must not be an empty string';
  return rule.check(value as never);
}

/** The JSON type of a value, for messages. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
