/**
 * The public shapes of parsed searches. The conditions and sort keys themselves are the
 * storage-neutral contract in src/storage/search-index.ts.
 *
 * https://hl7.org/fhir/R4/search.html
 */
import type { OperationOutcomeIssue } from 'fhir/r4';
import type { Condition, SortKey } from '../storage/search-index.js';
import type { SearchRegistry } from './registry.js';

/** A token modifier answered by terminology. https://hl7.org/fhir/R4/search.html#token */
export type CodeSetModifier = 'in' | 'not-in' | 'above' | 'below';

/** One value of a terminology modifier: `code:in=<ValueSet URL>`, `code:below=<system>|<code>`. */
export interface CodeSetRequest {
  modifier: CodeSetModifier;
  /** The raw value (escapes removed). */
  value: string;
  /** The parameter as written, for messages. */
  name: string;
}

/** The codings a {@link CodeSetRequest} stands for (a value set's expansion, a code's subsumees). */
export type CodeSet = ReadonlyArray<{ readonly system: string; readonly code: string }>;

/**
 * Answers terminology modifiers while parsing. Parsing is synchronous: the caller resolves the
 * requests first (src/fhir/search-execution.ts) and hands their answers in here.
 */
export type CodeSetLookup = (request: CodeSetRequest) => CodeSet;

/** How to parse a search request. */
export interface SearchOptions {
  /** Our FHIR base URL (no trailing slash): absolute references to it mean `Type/id`. */
  baseUrl: string;
  /** `Prefer: handling=strict`: unknown or unsupported parameters are a 400 rather than a warning. */
  strict: boolean;
  /** Largest `_count`; larger ones are clamped with a warning. */
  maxCount: number;
  /** Page size when `_count` is absent. */
  defaultCount: number;
  /** "Now" in epoch ms, for `ap` on dates (10% of the gap to now); defaults to Date.now(). */
  now?: number;
  /** The parameters (R4 plus loaded packages'); the R4 registry when absent. */
  registry?: SearchRegistry;
  /** Terminology for `:in`, `:not-in`, `:above`, `:below` on tokens; without it they are refused. */
  codeSets?: CodeSetLookup;
}

/**
 * An `_include` or `_revinclude`: `sourceType:param[:targetType]`, or `*` (every reference
 * parameter) as sourceType and/or param. https://hl7.org/fhir/R4/search.html#include
 */
export interface IncludeSpec {
  sourceType: string;
  param: string;
  targetType?: string;
  /** `:iterate` (or R3's `:recurse`): also apply to included resources. */
  iterate: boolean;
}

/** https://hl7.org/fhir/R4/search.html#summary */
export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

/** https://hl7.org/fhir/R4/search.html#total */
export type TotalMode = 'none' | 'estimate' | 'accurate';

/** A search request compiled for the stores. */
export interface ParsedSearch {
  /** What the matches satisfy (`{ op: 'true' }` when there is no criterion). */
  where: Condition;
  /** Sort keys in order (empty: store order). */
  sort: SortKey[];
  /** Page size (0: count only). */
  count: number;
  total?: TotalMode;
  summary?: SummaryMode;
  /** `_elements`: the top-level elements to return. */
  elements?: string[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  /**
   * Resource types to search: `[type]` for a type-level search, the `_type` list at system
   * level, undefined for every type.
   */
  types?: string[];
  /** Issues to report in the Bundle (ignored parameters, clamped `_count`). */
  warnings: OperationOutcomeIssue[];
  /**
   * The parameters as applied, in the request's order: ignored ones left out, a clamped `_count`
   * with the value used. The searchset's self link is built from them (R4 search.html#errors:
   * "the server SHALL return the parameters that were actually used").
   */
  applied: Array<[string, string]>;
  /** `_cursor`, passed through as it came. */
  cursor?: string;
}

/** Parameters as they come from a query string or a form body. */
export type SearchParamsInput = URLSearchParams | Iterable<readonly [string, string]>;
