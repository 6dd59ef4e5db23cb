/**
 * Parsing of the few non-search parameters interactions take (`_since`, `_at`).
 */
import { badRequest } from '../errors.js';

const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * A FHIR date/dateTime/instant as the inclusive range of epoch ms it covers at its precision
 * (`2020` is the whole year). A time without a zone is read as UTC.
 */
export function parseInstantParam(name: string, value: string): { low: number; high: number } {
  const m = DATE_TIME.exec(value.trim());
  if (!m) throw badRequest(`${name} must be a FHIR date or instant such as 2024-05-01T10:00:00Z (got "${value.slice(0, 40)}")`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const day = d ? Number(d) : 1;
  if (month > 11 || day < 1 || day > 31 || (h && Number(h) > 23) || (mi && Number(mi) > 59) || (s && Number(s) > 60)) {
    throw badRequest(`${name} is not a valid date (got "${value.slice(0, 40)}")`);
  }
  const offsetMs = zone && zone !== 'Z' ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000 : 0;
  const at = (yy: number, mm: number, dd: number, hh = 0, mn = 0, ss = 0, ms = 0) => Date.UTC(yy, mm, dd, hh, mn, ss, ms) - offsetMs;
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const millis = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const low = at(year, month, day, hour, minute, second, millis);
  // The end of the value's precision: next year, month, day, minute, second or millisecond.
  let next: number;
  if (!mo) next = at(year + 1, 0, 1);
  else if (!d) next = at(year, month + 1, 1);
  else if (!h) next = at(year, month, day + 1);
  else if (!s) next = low + 60_000;
  else if (!frac) next = low + 1000;
  else next = low + 1;
  return { low, high: next - 1 };
}
