/**
 * String normalization shared by indexing and querying: string search is case- and
 * accent-insensitive and matches the start of the value by default.
 *
 * https://hl7.org/fhir/R4/search.html#string
 */

const COMBINING_MARKS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/g;
const WHITESPACE = /\s+/g;
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/** Lower case, accents removed (NFD, combining marks stripped), whitespace collapsed and trimmed. */
export function normalizeString(value: string): string {
  const folded = PLAIN_ASCII.test(value) ? value : value.normalize('NFD').replace(COMBINING_MARKS, '');
  return folded.toLowerCase().replace(WHITESPACE, ' ').trim();
}
