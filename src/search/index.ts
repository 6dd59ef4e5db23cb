/**
 * FHIR R4 search semantics, independent of any store: the parameter registry, index extraction,
 * request parsing into storage-neutral conditions, and the in-memory reference evaluator.
 *
 * https://hl7.org/fhir/R4/search.html
 */
export { getSearchRegistry, r4ResourceTypes, type SearchParamDef, type SearchParamType, type SearchRegistry } from './registry.js';
export { extractIndex, type ExtractOptions } from './extract.js';
export { normalizeString } from './strings.js';
export { parseSearch } from './parse.js';
export type { IncludeSpec, ParsedSearch, SearchOptions, SearchParamsInput, SummaryMode, TotalMode } from './types.js';
export { MemoryIndex, matches, sortComparator, type IndexedResource, type ResourceLookup } from './evaluate.js';
