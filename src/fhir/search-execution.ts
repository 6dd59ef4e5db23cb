/**
 * Running a parsed search: the page of matches from the (policy-guarded) store, then
 * `_include` / `_revinclude` (with `:iterate`, bounded), and the searchset Bundle with
 * `_summary` / `_elements` applied and cursor paging links.
 * https://hl7.org/fhir/R4/search.html
 */
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { searchableTypes } from '../access/hops.js';
import type { SearchPage, StoredVersion } from '../storage/resource-store.js';
import type { Condition, ReferenceEntry } from '../storage/search-index.js';
import { versionJson } from '../storage/stored-version.js';
import { bundleJson, pageUrl, withCursor, type BundleEntryJson, type BundleLink } from './bundle-json.js';
import type { FhirContext } from './context.js';
import { preferences, type FhirRequest } from './request.js';
import { applyElements, applySummary } from './projection.js';
import { parseSearch, type IncludeSpec, type ParsedSearch } from '../search/index.js';
import type { CodeSet, CodeSetRequest, SearchOptions } from '../search/types.js';

/** At most this many resources are added by _include/_revinclude to one page. */
export const MAX_INCLUDED = 1000;
/** `:iterate` follows references at most this many levels deep. */
export const MAX_INCLUDE_DEPTH = 3;

export interface SearchResult {
  page: SearchPage;
  included: StoredVersion[];
  warnings: OperationOutcomeIssue[];
}

/**
 * Parses a search with the server's options (`Prefer: handling=strict` makes unknown parameters
 * an error). Terminology modifiers (`code:in=...`) are found by a first parse, answered by the
 * terminology service through the request's store, and handed to the second.
 */
export async function parseRequestSearch(context: FhirContext, request: FhirRequest, type: string | undefined, params: URLSearchParams): Promise<ParsedSearch> {
  const { config, codeSets } = context.services;
  const options: SearchOptions = {
    baseUrl: config.fhirBaseUrl,
    strict: preferences(request).handling === 'strict',
    maxCount: config.maxPageSize,
    defaultCount: config.defaultPageSize,
    registry: context.services.searchRegistry(),
  };
  if (!codeSets) return parseSearch(type, params, options);
  const needed: CodeSetRequest[] = [];
  const first = parseSearch(type, params, { ...options, codeSets: (r) => (needed.push(r), []) });
  if (needed.length === 0) return first;
  const answers = await codeSets.resolve(context.store, needed);
  const byKey = new Map<string, CodeSet>(needed.map((r, i) => [`${r.modifier}\u0000${r.value}`, answers[i]!]));
  return parseSearch(type, params, { ...options, codeSets: (r) => byKey.get(`${r.modifier}\u0000${r.value}`) ?? [] });
}

/** Runs the search and its includes. `extra` is ANDed in (compartments). */
export async function executeSearch(context: FhirContext, search: ParsedSearch, extra?: Condition): Promise<SearchResult> {
  // Includes into types the token may not search are refused before anything runs, whatever the data.
  for (const spec of search.include) includeTargets(context, spec);
  for (const spec of search.revinclude)
    if (spec.sourceType !== '*') searchableTypes([spec.sourceType], context.policy, `_revinclude=${spec.sourceType}:${spec.param}`);
  const where: Condition = extra ? { op: 'and', of: [search.where, extra] } : search.where;
  const countOnly = search.summary === 'count' || search.count === 0;
  const page = await context.store.search({
    ...(search.types ? { types: search.types } : {}),
    where,
    sort: search.sort,
    limit: countOnly ? 0 : search.count,
    ...(search.cursor ? { cursor: search.cursor } : {}),
    total: countOnly ? 'accurate' : (search.total ?? 'none'),
  });
  const warnings = [...search.warnings];
  const included = countOnly ? [] : await resolveIncludes(context, page.resources, search.include, search.revinclude, warnings);
  return { page, included, warnings };
}

async function resolveIncludes(
  context: FhirContext,
  matches: StoredVersion[],
  include: IncludeSpec[],
  revinclude: IncludeSpec[],
  warnings: OperationOutcomeIssue[],
): Promise<StoredVersion[]> {
  if (include.length === 0 && revinclude.length === 0) return [];
  const seen = new Set(matches.map(key));
  const included: StoredVersion[] = [];
  let frontier = matches;
  for (let depth = 0; depth < MAX_INCLUDE_DEPTH && frontier.length > 0; depth++) {
    const includes = depth === 0 ? include : include.filter((s) => s.iterate);
    const revincludes = depth === 0 ? revinclude : revinclude.filter((s) => s.iterate);
    if (includes.length === 0 && revincludes.length === 0) break;
    const found: StoredVersion[] = [];
    for (const spec of includes) found.push(...(await forwardIncludes(context, frontier, spec)));
    for (const spec of revincludes) found.push(...(await reverseIncludes(context, frontier, spec)));
    const fresh: StoredVersion[] = [];
    for (const version of found) {
      const k = key(version);
      if (seen.has(k) || version.deleted) continue;
      seen.add(k);
      fresh.push(version);
      if (included.length + fresh.length >= MAX_INCLUDED) break;
    }
    included.push(...fresh);
    if (included.length >= MAX_INCLUDED) {
      warnings.push({
        severity: 'warning',
        code: 'too-costly',
        diagnostics: `_include/_revinclude stopped at ${MAX_INCLUDED} resources for this page; use a smaller _count`,
      });
      break;
    }
    frontier = fresh;
  }
  return included;
}

/**
 * The types an include may step into: its target type, or the parameter's declared targets.
 * Like a chained hop, it reaches only types the token may search, and is refused (403) when it
 * names none of them; `*` (as `$everything` uses it) follows whatever the token may search.
 */
function includeTargets(context: FhirContext, spec: IncludeSpec): Set<string> | undefined {
  if (spec.sourceType === '*' || spec.param === '*') return undefined;
  const declared = spec.targetType ? [spec.targetType] : [...(context.services.searchRegistry().get(spec.sourceType, spec.param)?.target ?? [])];
  if (declared.length === 0) return new Set();
  return new Set(searchableTypes(declared, context.policy, `_include=${spec.sourceType}:${spec.param}${spec.targetType ? `:${spec.targetType}` : ''}`));
}

/** `_include=Source:param[:Target]`: the resources that the page's references point at. */
async function forwardIncludes(context: FhirContext, from: StoredVersion[], spec: IncludeSpec): Promise<StoredVersion[]> {
  const reachable = includeTargets(context, spec);
  const targets = new Map<string, { resourceType: string; id: string }>();
  for (const version of from) {
    if (spec.sourceType !== '*' && version.resourceType !== spec.sourceType) continue;
    const resource = version.resource;
    if (!resource) continue;
    for (const row of context.services.indexer(resource)) {
      if (row.table !== 'reference' || (spec.param !== '*' && row.param !== spec.param)) continue;
      const ref = row as ReferenceEntry;
      if (!ref.targetType || !ref.targetId) continue;
      if (spec.targetType && ref.targetType !== spec.targetType) continue;
      if (reachable ? !reachable.has(ref.targetType) : !context.policy.permits(ref.targetType, 'search')) continue;
      targets.set(`${ref.targetType}/${ref.targetId}`, { resourceType: ref.targetType, id: ref.targetId });
    }
  }
  if (targets.size === 0) return [];
  // Included resources are what a search of their type by id would find (the guarded store ANDs the policy in).
  const byType = new Map<string, string[]>();
  for (const t of [...targets.values()].slice(0, MAX_INCLUDED)) byType.set(t.resourceType, [...(byType.get(t.resourceType) ?? []), t.id]);
  const found: StoredVersion[] = [];
  for (const [type, ids] of byType) {
    const page = await context.store.search({ types: [type], where: { op: 'id', ids }, sort: [], limit: ids.length });
    found.push(...page.resources);
  }
  return found;
}

/**
 * `_revinclude=Source:param[:Target]`: resources of Source whose `param` references the page. A
 * source type the token may not search is refused (403), as a search of it would be.
 */
async function reverseIncludes(context: FhirContext, to: StoredVersion[], spec: IncludeSpec): Promise<StoredVersion[]> {
  if (spec.sourceType === '*') return [];
  searchableTypes([spec.sourceType], context.policy, `_revinclude=${spec.sourceType}:${spec.param}`);
  const refs = to.filter((v) => !spec.targetType || v.resourceType === spec.targetType).map((v) => `${v.resourceType}/${v.id}`);
  if (refs.length === 0) return [];
  const params =
    spec.param === '*'
      ? context.services
          .searchRegistry()
          .paramsFor(spec.sourceType)
          .filter((p) => p.type === 'reference')
          .map((p) => p.code)
      : [spec.param];
  const rows: Condition[] = params.map((param) => ({ op: 'row', table: 'reference', param, where: [{ field: 'value', cmp: 'in', value: refs }] }));
  if (rows.length === 0) return [];
  const page = await context.store.search({
    types: [spec.sourceType],
    where: rows.length === 1 ? rows[0]! : { op: 'or', of: rows },
    sort: [],
    limit: MAX_INCLUDED,
  });
  return page.resources;
}

function key(version: StoredVersion): string {
  return `${version.resourceType}/${version.id}`;
}

/**
 * The searchset Bundle of a search result. Its links carry `params`: the parameters the search
 * applied (by default those of `search`), never one it ignored (R4 search.html#errors).
 */
export function searchsetJson(
  context: FhirContext,
  search: ParsedSearch,
  result: SearchResult,
  path: string,
  params = new URLSearchParams(search.applied),
): string {
  const base = context.services.config.fhirBaseUrl;
  const linkParams = new URLSearchParams(params);
  linkParams.delete('_cursor');
  if (search.cursor) linkParams.append('_cursor', search.cursor);
  const links: BundleLink[] = [{ relation: 'self', url: pageUrl(base, path, linkParams) }];
  if (result.page.next) links.push({ relation: 'next', url: pageUrl(base, path, withCursor(params, result.page.next)) });
  if (result.page.previous) links.push({ relation: 'previous', url: pageUrl(base, path, withCursor(params, result.page.previous)) });
  let total = result.page.total;
  // A first page with no next page holds every match: its total is known for free.
  if (total === undefined && !search.cursor && !result.page.next && search.total !== 'none') total = result.page.resources.length;
  const entries: BundleEntryJson[] = [
    ...result.page.resources.map((v) => entry(base, v, 'match', search)),
    ...result.included.map((v) => entry(base, v, 'include', search)),
  ];
  if (result.warnings.length) {
    entries.push({
      resourceJson: JSON.stringify({ resourceType: 'OperationOutcome', issue: result.warnings }),
      rest: { search: { mode: 'outcome' } },
    });
  }
  return bundleJson('searchset', { ...(total !== undefined ? { total } : {}), links, entries });
}

function entry(base: string, version: StoredVersion, mode: 'match' | 'include', search: ParsedSearch): BundleEntryJson {
  let json = versionJson(version)!;
  if (search.elements?.length || (search.summary && search.summary !== 'false' && search.summary !== 'count')) {
    let resource = version.resource as Resource;
    if (search.summary && search.summary !== 'false') resource = applySummary(resource, search.summary);
    if (search.elements?.length && mode === 'match') resource = applyElements(resource, search.elements);
    json = JSON.stringify(resource);
  }
  return { fullUrl: `${base}/${version.resourceType}/${version.id}`, resourceJson: json, rest: { search: { mode } } };
}
