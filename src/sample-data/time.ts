/**
 * Calendar arithmetic on UTC milliseconds. Everything is UTC so output never depends on the
 * machine's time zone; "today" is always passed in, never read from the clock.
 */

export const DAY_MS = 86_400_000;
export const YEAR_MS = 365.25 * DAY_MS;

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses `YYYY-MM-DD` to UTC midnight; throws on anything else, including impossible dates. */
export function parseDate(text: string): number {
  const match = DATE_PATTERN.exec(text);
  if (!match) throw new RangeError(`Expected a date as YYYY-MM-DD, got "${text}"`);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  if (formatDate(ms) !== text) throw new RangeError(`Not a calendar date: "${text}"`);
  return ms;
}

/** FHIR `date`: `YYYY-MM-DD`. */
export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** FHIR `dateTime`/`instant` to the second, in UTC. */
export function formatDateTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** UTC midnight of the day containing `ms`. */
export function startOfDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Adds whole calendar years, keeping month and day (29 February becomes 1 March). */
export function addYears(ms: number, years: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear() + years, d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes());
}

/** Age in fractional years at `at`. */
export function ageAt(birthDate: number, at: number): number {
  return (at - birthDate) / YEAR_MS;
}

/** The UTC calendar year of `ms`. */
export function yearOf(ms: number): number {
  return new Date(ms).getUTCFullYear();
}
