/**
 * Sorting and keyset paging for searches and history on MongoDB, mirroring the embedded
 * store (sqlite/query-compiler.ts): the same sort values, the same missing-value sentinels, the
 * internal key (`_id`) as the final ascending tie-breaker, and opaque base64url cursors.
 */
import { ObjectId, type Document } from 'mongodb';
import { decodeCursor as decodeStoreCursor, encodeCursor as encodeStoreCursor } from '../cursor.js';
import { StorageError } from '../errors.js';
import type { SortKey } from '../search-index.js';
import { hasField, isNumericField, kindOf } from '../index-schema.js';
import { distancesExpression } from './geo-expression.js';
import { sortKeyName } from './documents.js';

/**
 * The largest code point: the embedded store's "missing" value for ascending string sorts. It
 * sorts after every string in MongoDB's (UTF-8 byte) order; in CongoDB's UTF-16 order, strings
 * starting with U+E000..U+FFFF would sort after it.
 */
const MAX_CHAR = String.fromCodePoint(0x10ffff);

/** One column of the sort order, as a field of the (possibly `$addFields`-extended) document. */
export interface SortColumn {
  path: string;
  descending: boolean;
  /** Expression computing `path` in an `$addFields` stage, for parameter sorts. */
  compute?: Document;
}

/**
 * The sort columns of a search. A parameter sort reads the value precomputed at write time
 * (documents.ts: the smallest for ascending, the largest for descending) and puts resources
 * without one last in either direction, with the embedded store's sentinels.
 */
export function sortColumns(sort: readonly SortKey[]): SortColumn[] {
  return sort.map((key, i) => {
    if (key.by === 'distance') {
      const distances = distancesExpression(key.param, key.latitude, key.longitude);
      const nearest = key.descending ? { $max: distances } : { $min: distances };
      return { path: `_s${i}`, descending: key.descending, compute: { $ifNull: [nearest, key.descending ? -9e300 : 9e300] } };
    }
    if (key.by !== 'param') return { path: key.by, descending: key.descending };
    if (!hasField(key.table, key.field) || kindOf(key.table, key.field) === 'terms')
      throw new StorageError('invalid-query', `Cannot sort ${key.table} parameter ${key.param} by ${String(key.field)}`);
    const numeric = isNumericField(key.field);
    const missing = key.descending ? (numeric ? -9e300 : '') : numeric ? 9e300 : MAX_CHAR;
    const source = `$sort.${sortKeyName(key.table, key.field, key.param)}.${key.descending ? 'max' : 'min'}`;
    return { path: `_s${i}`, descending: key.descending, compute: { $ifNull: [source, missing] } };
  });
}

/** The `$sort` document: the columns, then `_id` ascending; everything flipped when paging backwards. */
export function sortSpec(columns: readonly SortColumn[], backwards: boolean): Record<string, 1 | -1> {
  const spec: Record<string, 1 | -1> = {};
  for (const c of columns) if (!(c.path in spec)) spec[c.path] = c.descending !== backwards ? -1 : 1;
  spec._id = backwards ? -1 : 1;
  return spec;
}

export interface Cursor {
  direction: 'after' | 'before';
  values: Array<string | number>;
  key: ObjectId;
}

/** Documents strictly after (or before) the cursor position in the columns' order. */
export function keysetFilter(columns: readonly SortColumn[], cursor: Cursor): Document {
  const keys = [...columns.map((c) => ({ path: c.path, descending: c.descending })), { path: '_id', descending: false }];
  const bound: unknown[] = [...cursor.values, cursor.key];
  const disjuncts: Document[] = [];
  for (let i = 0; i < keys.length; i++) {
    const parts: Document[] = [];
    for (let j = 0; j < i; j++) parts.push({ [keys[j]!.path]: { $eq: bound[j] } });
    const forward = keys[i]!.descending ? '$lt' : '$gt';
    const backward = keys[i]!.descending ? '$gt' : '$lt';
    parts.push({ [keys[i]!.path]: { [cursor.direction === 'after' ? forward : backward]: bound[i] } });
    disjuncts.push(parts.length === 1 ? parts[0]! : { $and: parts });
  }
  return disjuncts.length === 1 ? disjuncts[0]! : { $or: disjuncts };
}

/** The cursor position of a result document. */
export function positionOf(doc: Document, columns: readonly SortColumn[]): { values: Array<string | number>; key: ObjectId } {
  return { values: columns.map((c) => doc[c.path] as string | number), key: doc._id as ObjectId };
}

export function encodeCursor(cursor: Cursor): string {
  return encodeStoreCursor({ direction: cursor.direction, values: cursor.values, key: cursor.key.toHexString() });
}

const isObjectIdHex = (key: unknown): key is string => typeof key === 'string' && /^[0-9a-f]{24}$/.test(key);

/** Parses a cursor made by {@link encodeCursor} for a search with `columns` sort values. */
export function decodeCursor(text: string, columns: number): Cursor {
  const { direction, values, key } = decodeStoreCursor(text, columns, isObjectIdHex);
  return { direction, values, key: new ObjectId(key) };
}
