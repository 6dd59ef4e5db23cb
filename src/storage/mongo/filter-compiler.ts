/**
 * Translates search Conditions (storage/search-index.ts) into MongoDB filters on `resources`.
 *
 * Rules that keep MongoDB's array semantics from changing FHIR's meaning:
 * - A `row` condition becomes ONE `$elemMatch` on the table's top-level array, so every
 *   predicate holds on the same row. Dotted paths (`ix_date.low`) would let different rows meet
 *   different bounds (a row [2019, 2019] and a row [2021, 2021] would match "low >= 2020 AND
 *   high <= 2020"), and CongoDB (where the MongoDB tests run) gets some operators wrong on such paths.
 * - Composite components are sub-documents (`c0`, `c1`, `c2`), never arrays, so `c1.low`
 *   inside the `$elemMatch` crosses no second array.
 * - User input never becomes a pattern: `prefix` is a string range and `contains` a regular
 *   expression whose every metacharacter is escaped. (`$indexOfCP` would avoid the regex, but
 *   `$expr` is not allowed inside `$elemMatch` and CongoDB does not implement it.)
 * - `chain` and `has` run their inner condition as a separate, bounded query first and
 *   substitute the matching keys with `$in` (MongoDB has no joins in `find`).
 */
import type { Document, Filter } from 'mongodb';
import { StorageError } from '../errors.js';
import type { Condition, FieldPredicate, IndexField, IndexTable } from '../search-index.js';
import { boundingBox } from '../geo.js';
import { componentsOf, hasField, isTerm, kindOf } from '../index-schema.js';
import { rowsField, wordSetField, type ResourceDoc } from './documents.js';
import { withinExpression } from './geo-expression.js';

/** Matches every document. */
export const MATCH_ALL: Filter<ResourceDoc> = {};
/** Matches no document (every document has an `_id`). */
export const MATCH_NONE: Filter<ResourceDoc> = { _id: { $in: [] } };

/**
 * Runs a sub-query for `chain` and `has`: at most `limit` live resources matching `filter`,
 * with the fields in `projection`.
 */
export type Lookup = (filter: Filter<ResourceDoc>, projection: Document, limit: number) => Promise<Array<Partial<ResourceDoc>>>;

export interface CompilerOptions {
  /** Most resources a chain or _has may match before the search is refused as too costly. */
  maxIntermediateMatches: number;
}

/** Compiles conditions for one search; sub-queries go through `lookup` (and its session). */
export class FilterCompiler {
  constructor(
    private readonly lookup: Lookup,
    private readonly options: CompilerOptions = { maxIntermediateMatches: 10_000 },
  ) {}

  /** The filter on `resources` matching `condition` (callers add `deleted: false` and the types). */
  async compile(condition: Condition): Promise<Filter<ResourceDoc>> {
    switch (condition.op) {
      case 'true':
        return MATCH_ALL;
      case 'false':
        return MATCH_NONE;
      case 'and':
        return and(await this.#compileAll(condition.of));
      case 'or':
        return or(await this.#compileAll(condition.of));
      case 'not':
        return not(await this.compile(condition.of));
      case 'id':
        return { id: { $in: [...condition.ids] } };
      case 'type':
        return { resourceType: { $in: [...condition.types] } };
      case 'lastUpdated': {
        if (condition.where.length === 0) return MATCH_ALL;
        return and(condition.where.map((w) => ({ lastUpdated: { [RANGE_OPERATOR[w.cmp]]: w.value } })));
      }
      case 'row':
        return rowFilter(condition.table, condition.param, condition.where);
      case 'missing': {
        const some: Filter<ResourceDoc> = { [rowsField(condition.table)]: { $elemMatch: { p: condition.param } } };
        return condition.missing ? not(some) : some;
      }
      case 'chain':
        return this.#chain(condition);
      case 'has':
        return this.#has(condition);
      case 'near':
        return nearFilter(condition);
    }
  }

  async #compileAll(conditions: Condition[]): Promise<Array<Filter<ResourceDoc>>> {
    const out: Array<Filter<ResourceDoc>> = [];
    // One after another: each may run sub-queries, and a search should not fan out unbounded.
    for (const c of conditions) out.push(await this.compile(c));
    return out;
  }

  /** Some reference row of `param` points at a live resource of `targetTypes` matching `where`. */
  async #chain(condition: Extract<Condition, { op: 'chain' }>): Promise<Filter<ResourceDoc>> {
    if (condition.targetTypes.length === 0) return MATCH_NONE;
    const inner = await this.compile(condition.where);
    if (inner === MATCH_NONE) return MATCH_NONE;
    const targets = await this.#bounded(
      and([{ resourceType: { $in: [...condition.targetTypes] }, deleted: false }, inner]),
      { resourceType: 1, id: 1 },
      `the chained parameter ${condition.param}`,
    );
    const idsByType = new Map<string, string[]>();
    for (const t of targets) {
      const ids = idsByType.get(t.resourceType!) ?? [];
      ids.push(t.id!);
      idsByType.set(t.resourceType!, ids);
    }
    return or(
      [...idsByType].map(([type, ids]) => ({
        ix_reference: { $elemMatch: { p: condition.param, targetType: type, targetId: { $in: ids } } },
      })),
    );
  }

  /** This resource is the target of reference `param` of some live `sourceType` matching `where`. */
  async #has(condition: Extract<Condition, { op: 'has' }>): Promise<Filter<ResourceDoc>> {
    const inner = await this.compile(condition.where);
    if (inner === MATCH_NONE) return MATCH_NONE;
    const sources = await this.#bounded(
      and([{ resourceType: condition.sourceType, deleted: false, ix_reference: { $elemMatch: { p: condition.param } } }, inner]),
      { ix_reference: 1 },
      `_has:${condition.sourceType}:${condition.param}`,
    );
    const idsByType = new Map<string, Set<string>>();
    for (const source of sources) {
      for (const row of source.ix_reference ?? []) {
        if (row.p !== condition.param || typeof row.targetType !== 'string' || typeof row.targetId !== 'string') continue;
        const ids = idsByType.get(row.targetType) ?? new Set<string>();
        ids.add(row.targetId);
        idsByType.set(row.targetType, ids);
      }
    }
    return or([...idsByType].map(([type, ids]) => ({ resourceType: type, id: { $in: [...ids] } })));
  }

  async #bounded(filter: Filter<ResourceDoc>, projection: Document, what: string): Promise<Array<Partial<ResourceDoc>>> {
    const max = this.options.maxIntermediateMatches;
    const found = await this.lookup(filter, projection, max + 1);
    if (found.length > max) {
      throw new StorageError('too-costly', `The condition on ${what} matches more than ${max} resources; make it more selective`);
    }
    return found;
  }
}

/** AND of filters, simplified: no clause is `MATCH_ALL`, any `MATCH_NONE` wins. */
export function and(filters: Array<Filter<ResourceDoc>>): Filter<ResourceDoc> {
  if (filters.some((f) => f === MATCH_NONE)) return MATCH_NONE;
  const kept = filters.filter((f) => f !== MATCH_ALL && Object.keys(f).length > 0);
  if (kept.length === 0) return MATCH_ALL;
  return kept.length === 1 ? kept[0]! : { $and: kept };
}

/** OR of filters, simplified: an empty OR matches nothing. */
export function or(filters: Array<Filter<ResourceDoc>>): Filter<ResourceDoc> {
  if (filters.some((f) => f === MATCH_ALL || Object.keys(f).length === 0)) return MATCH_ALL;
  const kept = filters.filter((f) => f !== MATCH_NONE);
  if (kept.length === 0) return MATCH_NONE;
  return kept.length === 1 ? kept[0]! : { $or: kept };
}

/** Negation with `$nor`, which (unlike `$not`) applies to a whole filter. */
export function not(filter: Filter<ResourceDoc>): Filter<ResourceDoc> {
  if (filter === MATCH_NONE) return MATCH_ALL;
  if (filter === MATCH_ALL || Object.keys(filter).length === 0) return MATCH_NONE;
  return { $nor: [filter] };
}

/** One `$elemMatch` on the table's array: some single row of `param` meets every predicate. */
export function rowFilter(table: IndexTable, param: string, predicates: readonly FieldPredicate[]): Filter<ResourceDoc> {
  const byPath = new Map<string, Document[]>();
  for (const predicate of predicates) {
    const conditions = predicateConditions(predicate, table);
    if (conditions === undefined) return MATCH_NONE;
    for (const [field, condition] of conditions) {
      const path = table === 'composite' ? `c${componentIndex(predicate)}.${field}` : field;
      byPath.set(path, [...(byPath.get(path) ?? []), condition]);
    }
  }
  const match: Document = { p: param };
  const extra: Document[] = [];
  for (const [path, conditions] of byPath) {
    // Two predicates on one field may use the same operator (two prefixes): keep them apart.
    match[path] = conditions[0];
    for (const c of conditions.slice(1)) extra.push({ [path]: c });
  }
  if (extra.length > 0) match.$and = extra;
  return { [rowsField(table)]: { $elemMatch: match } } as Filter<ResourceDoc>;
}

function componentIndex(predicate: FieldPredicate): number {
  const n = predicate.component ?? 0;
  if (!Number.isInteger(n) || n < 0 || n >= componentsOf('composite'))
    throw new StorageError('invalid-query', `Composite component ${String(n)} does not exist`);
  return n;
}

const RANGE_OPERATOR = { lt: '$lt', le: '$lte', gt: '$gt', ge: '$gte' } as const;

/**
 * The operator documents of one predicate, each on a field of the row (`phrase` tests two), or
 * undefined when it can never hold.
 */
function predicateConditions(predicate: FieldPredicate, table: IndexTable): Array<[string, Document]> | undefined {
  const field = predicate.field;
  if (!hasField(table, field)) throw new StorageError('invalid-query', `Unknown index field ${String(field)} for ${table} parameters`);
  if (predicate.cmp === 'phrase' || kindOf(table, field) === 'terms') return phraseConditions(predicate, table);
  const condition = predicateCondition(predicate, field);
  return condition === undefined ? undefined : [[field, condition]];
}

/**
 * `phrase`: every word is among the row's distinct words (what the index finds), and the words
 * stand one after another in the text, between spaces or the ends.
 */
function phraseConditions(predicate: FieldPredicate, table: IndexTable): Array<[string, Document]> {
  const words = Array.isArray(predicate.value) ? predicate.value.map(String) : [];
  if (predicate.cmp !== 'phrase' || words.length === 0 || !words.every(isTerm)) {
    throw new StorageError('invalid-query', `A ${table} field is only tested with "phrase" and a list of words (lower case, no ASCII punctuation)`);
  }
  return [
    [wordSetField(predicate.field), { $all: [...new Set(words)] }],
    [predicate.field, { $regex: `(?:^| )${escapeRegex(words.join(' '))}(?: |$)` }],
  ];
}

/**
 * `near`: a position row within the bounding box (what the latitude index finds), and the exact
 * great-circle distance (geo-expression.ts) within the limit. `$expr` cannot stand inside
 * `$elemMatch`, so the exact check looks at the document's rows of the parameter itself.
 */
function nearFilter(condition: Extract<Condition, { op: 'near' }>): Filter<ResourceDoc> {
  const box = boundingBox(condition.latitude, condition.longitude, condition.distance);
  const longitude = box.longitudes.map(([from, to]) => ({ longitude: { $gte: from, $lte: to } }));
  const inBox = {
    p: condition.param,
    latitude: { $gte: box.minLatitude, $lte: box.maxLatitude },
    ...(longitude.length === 1 ? longitude[0] : { $or: longitude }),
  };
  return { $and: [{ [rowsField('position')]: { $elemMatch: inBox } }, { $expr: withinExpression(condition) }] } as Filter<ResourceDoc>;
}

/** The operator document for one predicate on a plain field, or undefined when it can never hold. */
function predicateCondition(predicate: FieldPredicate, field: IndexField): Document | undefined {
  const value = predicate.value;
  switch (predicate.cmp) {
    case 'null':
      return { $eq: null };
    case 'notnull':
      return { $ne: null };
    case 'in':
      return { $in: (Array.isArray(value) ? value : []).map((v) => coerce(field, v)) };
    case 'prefix': {
      const text = String(value ?? '');
      const upper = prefixUpperBound(text);
      return upper === undefined ? { $gte: text } : { $gte: text, $lt: upper };
    }
    case 'contains':
      return { $regex: escapeRegex(String(value ?? '')) };
    case 'suffix':
      // Not `$`: in PCRE it also matches before a final newline. The lookahead means "the end".
      return { $regex: `${escapeRegex(String(value ?? ''))}(?![\\s\\S])` };
    case 'eq':
      return { $eq: value === null || value === undefined ? null : coerce(field, scalar(value)) };
    case 'ne':
      return { $ne: value === null || value === undefined ? null : coerce(field, scalar(value)) };
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge':
      // SQL: a comparison with NULL is never true.
      if (value === null || value === undefined) return undefined;
      return { [RANGE_OPERATOR[predicate.cmp]]: coerce(field, scalar(value)) };
    default:
      throw new StorageError('invalid-query', `Unknown comparison ${String(predicate.cmp)}`);
  }
}

function scalar(value: FieldPredicate['value']): string | number | boolean {
  if (Array.isArray(value)) throw new StorageError('invalid-query', 'A list is only valid with the "in" comparison');
  return value as string | number | boolean;
}

/** `canonical` is stored as a boolean; elsewhere booleans compare as 1/0 (as in SQLite). */
function coerce(field: IndexField, value: string | number | boolean): string | number | boolean {
  if (field === 'canonical') return typeof value === 'boolean' ? value : typeof value === 'number' ? value !== 0 : value;
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

/**
 * The smallest string above every string that starts with `prefix` (its last code point plus
 * one, carrying over U+10FFFF), or undefined when there is none. Unlike `prefix + U+10FFFF`,
 * this bound is exact both in MongoDB's code point order and in the UTF-16 order of JavaScript
 * engines (CongoDB, sift), where U+E000..U+FFFF sort above the surrogates of U+10FFFF.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const chars = Array.from(prefix);
  while (chars.length > 0) {
    const last = chars.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      // Surrogate code points are no characters (BSON strings cannot hold them): skip them.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return chars.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

/**
 * A regular expression matching `text` literally, in both PCRE (MongoDB) and JavaScript
 * (CongoDB, sift): every syntax character is backslash-escaped, and NUL, which MongoDB refuses
 * inside a pattern, is written as `\x00`. No flags: matching stays case-sensitive, as `instr`.
 */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&').replace(/\0/g, '\\x00');
}
