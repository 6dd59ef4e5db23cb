/**
 * Parsing of the few non-search parameters interactions take (`_since`, `_at`).
 */
import { badRequest } from '../../r4/errors.js';
import { parseDateRange } from '../../search/dates.js';

/**
 * A FHIR date/dateTime/instant as the inclusive range of epoch ms it covers at its precision
 * (`2020` is the whole year). A time without a zone is read as UTC. Read by the same parser as
 * search dates, so an impossible date (`2020-02-31`) is refused rather than rolled over.
 */
export function parseInstantParam(name: string, value: string): { low: number; high: number } {
  const text = value.trim();
  // A `+` in a timezone arrives as a space when the client did not percent-encode it.
  const range = parseDateRange(/ \d{2}:\d{2}$/.test(text) ? `${text.slice(0, -6)}+${text.slice(-5)}` : text);
  if (!range) throw badRequest(`${name} must be a FHIR date or instant such as 2024-05-01T10:00:00Z (got "${value.slice(0, 40)}")`);
  return range;
}
