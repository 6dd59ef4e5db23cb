/**
 * Keyset paging cursors, as both stores make them: opaque base64url text holding the direction,
 * the sort values of the last (or first) row of a page and the store's own tie-breaker key.
 * A cursor that does not decode for the query at hand is refused (StorageError invalid-cursor).
 */
import { StorageError } from './errors.js';

export interface Cursor<K> {
  direction: 'after' | 'before';
  values: Array<string | number>;
  /** The store's tie-breaker: SQLite's row id, MongoDB's ObjectId (as hex). */
  key: K;
}

export function encodeCursor<K extends string | number>(cursor: Cursor<K>): string {
  return Buffer.from(JSON.stringify([cursor.direction === 'after' ? 'a' : 'b', cursor.values, cursor.key])).toString('base64url');
}

/**
 * Decodes a cursor for a query with `keys` sort values; `isKey` checks the tie-breaker's form.
 */
export function decodeCursor<K>(text: string, keys: number, isKey: (key: unknown) => key is K): Cursor<K> {
  try {
    const [d, values, key] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [unknown, unknown, unknown];
    if (
      (d === 'a' || d === 'b') &&
      Array.isArray(values) &&
      values.length === keys &&
      values.every((v) => typeof v === 'string' || typeof v === 'number') &&
      isKey(key)
    ) {
      return { direction: d === 'a' ? 'after' : 'before', values: values as Array<string | number>, key };
    }
  } catch {
    // fall through to the error below
  }
  throw new StorageError('invalid-cursor', 'The paging cursor (_cursor) is not valid for this search; start again from the first page');
}
