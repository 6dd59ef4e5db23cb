/**
 * What the CapabilityStatement says about the search parameters whose syntax or behaviour R4
 * leaves to the server, and the common parameters every type accepts that the SearchParameter
 * registry does not list (`_filter`, `_list`).
 *
 * https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.resource.searchParam.documentation
 */
import { DEFAULT_DISTANCE_KM } from './near.js';
import { MAX_WORDS } from './text.js';

const TEXT_SYNTAX =
  'words must all occur, in any order; "quoted words" must occur one after another; OR (in capitals) between two terms lets either occur; ' +
  'commas separate alternatives. Case, accents and English word endings do not count (Porter stemming); a word is a run of letters and digits';

export const SEARCH_DOCUMENTATION: Readonly<Record<string, string>> = {
  _text: `Full text of the narrative (text.div without its markup): ${TEXT_SYNTAX}.`,
  _content: `Full text of the whole resource (every string and number, the narrative included; not id and meta; the first ${MAX_WORDS} words): ${TEXT_SYNTAX}.`,
  near:
    `latitude|longitude|distance|units in WGS84 degrees; units a UCUM length (km when absent, m, [mi_i] or mi, ...); ` +
    `without a distance, ${DEFAULT_DISTANCE_KM} km. Great-circle distance; nearest first when the search has no _sort. :missing is supported.`,
  _filter:
    'The common subset of FHIR _filter: eq, ne, co, sw, ew, gt, lt, ge, le, sa, eb, ap, pr and re on a parameter of the searched type, ' +
    'and in, ni, ss, sb on tokens (the terminology service, as :in, :not-in, :below, :above), ' +
    'joined by and, or, not (...) and parentheses (not binds tightest, then and, then or). Chained or filtered paths and po are refused with 400.',
  _list: 'The resources List/[id] lists (its entry.item). The List itself must be one the token may search. Functional lists ($current-...) are not supported.',
};

/** Parameters of every type that have no SearchParameter in the registry. */
export const UNREGISTERED_PARAMS: ReadonlyArray<{ name: string; type: 'special' }> = [
  { name: '_filter', type: 'special' },
  { name: '_list', type: 'special' },
];
