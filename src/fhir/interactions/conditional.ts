/**
 * Resolving the criteria of conditional create, update, patch and delete with FHIR search.
 * https://hl7.org/fhir/R4/http.html#ccreate
 */
import { badRequest } from '../../r4/errors.js';
import { parseSearch } from '../../search/index.js';
import type { StoredVersion } from '../../storage/resource-store.js';
import { parseQuery } from '../../text-decoding.js';
import type { FhirContext } from '../context.js';

const IGNORED = new Set(['_format', '_pretty', '_count', '_sort', '_summary', '_elements', '_total', '_include', '_revinclude', '_cursor']);

/**
 * The current versions of `type` matching `criteria` (a query string), at most 2: enough to tell
 * none, one and several apart. Criteria are parsed strictly (an unknown parameter is an error,
 * never silently ignored), and criteria that constrain nothing are refused.
 */
export async function findMatches(context: FhirContext, type: string, criteria: string): Promise<StoredVersion[]> {
  const params = parseQuery(criteria, badRequest, 'The conditional query');
  for (const name of [...params.keys()]) if (IGNORED.has(name)) params.delete(name);
  if ([...params.keys()].length === 0) throw badRequest('Conditional operations need search criteria');
  const config = context.services.config;
  const search = parseSearch(type, params, {
    baseUrl: config.fhirBaseUrl,
    strict: true,
    maxCount: 2,
    defaultCount: 2,
    registry: context.services.searchRegistry(),
  });
  if (search.where.op === 'true') throw badRequest(`The criteria "${criteria.slice(0, 200)}" do not constrain the search`);
  const page = await context.store.search({ types: [type], where: search.where, sort: [], limit: 2 });
  return page.resources;
}
