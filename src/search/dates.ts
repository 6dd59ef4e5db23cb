/**
 * FHIR dates as ranges: a date, dateTime or instant covers every millisecond of its precision
 * (`2020` is the whole year, `2020-03-01T10:00` the whole minute). Used for index rows and for
 * search values.
 *
 * Times without a timezone are read as UTC (R4 lets the server pick; Bedside's choice is UTC, so
 * results never depend on the host's zone). Dates (no time) are also UTC days.
 *
 * https://hl7.org/fhir/R4/search.html#date
 * https://hl7.org/fhir/R4/datatypes.html#dateTime
 */

/** An inclusive range of epoch milliseconds. */
export interface DateRange {
  low: number;
  high: number;
}

/** The smallest and largest times JavaScript can represent: the ends of an open Period. */
export const MIN_TIME = -8.64e15;
export const MAX_TIME = 8.64e15;

const DATE_PATTERN = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const t = Date.UTC(year, month, day, hour, minute, second, ms);
  if (year >= 100) return t;
  // Date.UTC maps years 0-99 to 1900-1999.
  const d = new Date(t);
  d.setUTCFullYear(year);
  return d.getTime();
}

function daysIn(year: number, month: number): number {
  return new Date(utc(year, month + 1, 1) - 1).getUTCDate();
}

/**
 * The range a FHIR date/dateTime/instant covers, or undefined when `text` is not one.
 * Accepts `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, and `YYYY-MM-DDThh:mm[:ss[.fff…]][Z|±hh:mm]`.
 */
export function parseDateRange(text: string): DateRange | undefined {
  const m = DATE_PATTERN.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  if (m[2] === undefined) return { low: utc(year, 0, 1), high: utc(year + 1, 0, 1) - 1 };
  const month = Number(m[2]) - 1;
  if (month < 0 || month > 11) return undefined;
  if (m[3] === undefined) return { low: utc(year, month, 1), high: utc(year, month + 1, 1) - 1 };
  const day = Number(m[3]);
  if (day < 1 || day > daysIn(year, month)) return undefined;
  if (m[4] === undefined) return { low: utc(year, month, day), high: utc(year, month, day + 1) - 1 };
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  if (hour > 23 || minute > 59) return undefined;
  const offset = zoneOffsetMs(m[8]);
  if (offset === undefined) return undefined;
  if (m[6] === undefined) {
    const low = utc(year, month, day, hour, minute) - offset;
    return { low, high: low + 59_999 };
  }
  const second = Number(m[6]);
  if (second > 59) return undefined;
  const start = utc(year, month, day, hour, minute, second) - offset;
  const fraction = m[7];
  if (fraction === undefined) return { low: start, high: start + 999 };
  // A fraction is as precise as its digits: `.5` is a tenth of a second wide.
  const digits = Math.min(fraction.length, 3);
  const unit = 10 ** (3 - digits);
  const low = start + Number(fraction.slice(0, digits)) * unit;
  return { low, high: low + unit - 1 };
}

function zoneOffsetMs(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 14 || minutes > 59) return undefined;
  const ms = (hours * 60 + minutes) * 60_000;
  return zone[0] === '-' ? -ms : ms;
}
