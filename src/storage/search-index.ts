/**
 * The storage-neutral shape of search: index rows written with each resource, and the
 * conditions a search compiles to. FHIR search semantics (prefixes, precision, modifiers,
 * chaining rules) live in src/search/, which produces these; stores only translate them to
 * SQL or MongoDB filters, so both stores answer every search the same way.
 *
 * https://hl7.org/fhir/R4/search.html
 */

import type { FieldOf, IndexField, IndexTable } from './index-schema.js';

export type { IndexField, IndexTable } from './index-schema.js';

/**
 * One indexed value of one search parameter of one resource. `param` is the search parameter's
 * code (e.g. `code`, `subject`, `_profile`). A resource has any number of rows per parameter.
 * Bounds are inclusive ranges: a date `2020` is [2020-01-01T00:00:00.000, 2020-12-31T23:59:59.999]
 * as epoch milliseconds; a number or quantity value v is exactly [v, v] (a Range its bounds).
 */
export type IndexEntry =
  | StringEntry
  | TokenEntry
  | DateEntry
  | NumberEntry
  | QuantityEntry
  | ReferenceEntry
  | UriEntry
  | CompositeEntry
  | TextEntry
  | PositionEntry;

export interface StringEntry {
  table: 'string';
  param: string;
  /** Lower-cased, accents removed, whitespace collapsed: what prefix and :contains match. */
  value: string;
  /** The original text: what :exact matches. */
  exact: string;
}

export interface TokenEntry {
  table: 'token';
  param: string;
  /** null when the coding/identifier has no system. */
  system: string | null;
  /** null when only a system or a text is present. */
  code: string | null;
  /** Normalized display/text (CodeableConcept.text, Coding.display, Identifier.type.text): :text matches it. */
  text?: string | null;
  /**
   * Identifier.type as `system|code`, for `:of-type` (`type-system|type-code|value`).
   * Only on rows made from Identifiers.
   */
  ofType?: string | null;
}

export interface DateEntry {
  table: 'date';
  param: string;
  /** Inclusive range in epoch ms; an open Period end is +/- 8.64e15 (the JS date limit). */
  low: number;
  high: number;
}

export interface NumberEntry {
  table: 'number';
  param: string;
  /** The stored value (low = high), or a Range's bounds. */
  low: number;
  high: number;
}

export interface QuantityEntry {
  table: 'quantity';
  param: string;
  low: number;
  high: number;
  system: string | null;
  /** Quantity.code, or Quantity.unit when there is no code. */
  code: string | null;
  /**
   * Set (true) only on the extra row converted to UCUM canonical units (then `code` is the
   * canonical unit); absent on the row as given. Stores keep it null/absent when not true, so
   * "as given" is the predicate `canonical null`.
   */
  canonical?: boolean;
}

export interface ReferenceEntry {
  table: 'reference';
  param: string;
  /**
   * Normalized target: `Type/id` for local references (including absolute ones to our own base),
   * the absolute URL otherwise, a canonical URL (without `|version`) for canonical elements.
   * null for a logical reference that only has an identifier.
   */
  value: string | null;
  /** Target type and id of a local reference (for chaining and the :Type modifier). */
  targetType?: string | null;
  targetId?: string | null;
  /** Reference.identifier, for the :identifier modifier. */
  identifierSystem?: string | null;
  identifierValue?: string | null;
}

export interface UriEntry {
  table: 'uri';
  param: string;
  value: string;
}

/** The words of a text (normalized by the search layer), for full-text search. */
export interface TextEntry {
  table: 'text';
  param: string;
  /** Words in text order, separated by single spaces; each word passes `isTerm` (index-schema.ts). */
  terms: string;
}

/** A point on the earth in WGS84 decimal degrees. */
export interface PositionEntry {
  table: 'position';
  param: string;
  /** -90 to 90. */
  latitude: number;
  /** -180 to 180. */
  longitude: number;
}

/** One component of a composite row; fields as in the component's own table. */
export interface CompositeComponent {
  system?: string | null;
  code?: string | null;
  value?: string | null;
  low?: number | null;
  high?: number | null;
}

/** A composite parameter value: its components, in the SearchParameter's order (2 or 3). */
export interface CompositeEntry {
  table: 'composite';
  param: string;
  components: CompositeComponent[];
}

/**
 * Compile-time check that each row type has exactly the fields the index schema gives its table
 * (index-schema.ts), so the two cannot drift apart.
 */
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type RowFields<T extends IndexTable> = T extends 'composite' ? keyof CompositeComponent : Exclude<keyof Extract<IndexEntry, { table: T }>, 'table' | 'param'>;
const ROWS_MATCH_SCHEMA: { [T in IndexTable]: SameKeys<RowFields<T>, FieldOf<T>> } = {
  string: true,
  token: true,
  date: true,
  number: true,
  quantity: true,
  reference: true,
  uri: true,
  composite: true,
  text: true,
  position: true,
};
void ROWS_MATCH_SCHEMA;

/**
 * A comparison on one column of an index row. `prefix`, `suffix` and `contains` are literal
 * (never patterns); `null`/`notnull` test presence; `phrase` (on a `terms` field, with a list of
 * words) holds when the words occur one after another in the field. For composite rows,
 * `component` picks the part.
 */
export interface FieldPredicate {
  field: IndexField;
  cmp: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'prefix' | 'suffix' | 'contains' | 'in' | 'null' | 'notnull' | 'phrase';
  value?: string | number | boolean | Array<string | number>;
  component?: number;
}

/**
 * A search condition. Leaves test "some index row of this parameter matches all predicates";
 * chains and reverse chains nest a condition on another resource type.
 */
export type Condition =
  | { op: 'and'; of: Condition[] }
  | { op: 'or'; of: Condition[] }
  /** True when the inner condition is false (used for :not). */
  | { op: 'not'; of: Condition }
  /** Some row of `param` in `table` satisfies every predicate. */
  | { op: 'row'; table: IndexTable; param: string; where: FieldPredicate[] }
  /** `missing: true`: no row of `param` in any table; false: at least one. */
  | { op: 'missing'; table: IndexTable; param: string; missing: boolean }
  /** Resource-level columns. */
  | { op: 'id'; ids: string[] }
  /** The resource is of one of these types (system-level searches, per-type access filters). */
  | { op: 'type'; types: string[] }
  | { op: 'lastUpdated'; where: Array<{ cmp: 'lt' | 'le' | 'gt' | 'ge'; value: number }> }
  /**
   * Some position row of `param` lies within `distance` metres of (latitude, longitude) along
   * the earth's surface (storage/geo.ts: great-circle distance on a sphere of the mean radius).
   */
  | { op: 'near'; param: string; latitude: number; longitude: number; distance: number }
  /**
   * Chaining: some reference row of `param` points at a resource of one of `targetTypes` that
   * satisfies `where`.
   */
  | { op: 'chain'; param: string; targetTypes: string[]; where: Condition }
  /**
   * Reverse chaining (_has): some resource of `sourceType` whose reference row `param` points at
   * this resource satisfies `where`.
   */
  | { op: 'has'; sourceType: string; param: string; where: Condition }
  /** Matches everything (e.g. an empty AND). */
  | { op: 'true' }
  /** Matches nothing. */
  | { op: 'false' };

/** A sort key. Ascending uses the smallest value of the parameter, descending the largest (R4 search 3.1.1.4.2). */
export type SortKey =
  | { by: 'id' | 'lastUpdated'; descending: boolean }
  | { by: 'param'; table: IndexTable; param: string; field: IndexField; descending: boolean }
  /** By the distance of the nearest position row of `param` from the point; no position sorts last. */
  | { by: 'distance'; param: string; latitude: number; longitude: number; descending: boolean };
