/**
 * The MongoDB store's document layout.
 *
 * `resources` holds one document per (resourceType, id): its current version (live or a
 * deletion marker) with the index rows of the live version. `history` holds every version.
 *
 * - `_id` is an ObjectId made by the writer when the resource is first created. It never
 *   changes, so it is the internal key that cursors, scans and tie-breaks use (the embedded
 *   store's `rid`). The FHIR id lives in its own field: CongoDB rejects non-ObjectId `_id`s and
 *   FHIR ids are only unique per type.
 * - `json` is the resource's JSON text, not a BSON object: reads hand it to the HTTP response
 *   unchanged (stored-version.ts), it round-trips exactly, and it is free of BSON's key rules
 *   (names starting with `$` or holding `.`). Queries never look inside it: they use the rows.
 * - Index rows live in one top-level array per table (`ix_token: [{p, system, code, ...}]`, `p`
 *   being the search parameter code). A query tests one row with one `$elemMatch`, never with
 *   dotted paths across array elements (see filter-compiler.ts).
 * - A `terms` field (full text) is stored as its words in order and, beside it, its distinct
 *   words (`termsSet`) for the multikey index; MongoDB's own `$text` index is not used: it stems
 *   words its own way, allows one per collection, and CongoDB does not implement it.
 * - `sort` keeps, per (table, field, parameter), the smallest and largest value, computed here
 *   at write time: sorting on the array fields themselves is wrong on CongoDB and needs a
 *   per-document min/max on MongoDB anyway (R4 search: ascending sorts by the smallest value).
 * - `versionId` 0 marks a create placeholder (see resource-store.ts): never visible to readers.
 */
import type { ObjectId } from 'mongodb';
import type { StoredVersion } from '../resource-store.js';
import { componentsOf, fieldsOf, INDEX_TABLES, type FieldKind } from '../index-schema.js';
import type { CompositeComponent, IndexEntry, IndexField, IndexTable } from '../search-index.js';
import { LazyVersion, toInstant } from '../stored-version.js';

export type Method = StoredVersion['method'];

/** One index row as stored: the entry without `table`, with `param` as `p`, nulls left out. */
export type IndexRow = Record<string, unknown> & { p: string };

interface ResourceFields {
  _id: ObjectId;
  resourceType: string;
  id: string;
  /** 1, 2, ...; 0 for a create placeholder. */
  versionId: number;
  /** Epoch ms. */
  lastUpdated: number;
  deleted: boolean;
  method: Method;
  /** The resource JSON (with meta stamped); null for deletions and placeholders. */
  json: string | null;
  /** Sort values per {@link sortKeyName}; absent when the resource has no rows. */
  sort?: Record<string, { min: string | number; max: string | number }>;
}

/** The row arrays, one per table of the index schema (`ix_token`, ...). */
export type RowArrays = { [T in IndexTable as `ix_${T}`]?: IndexRow[] };

export type ResourceDoc = ResourceFields & RowArrays;

/** One version in `history`: the resource's fields without its sort values; `_id` orders versions written in the same millisecond. */
export type HistoryDoc = Omit<ResourceFields, 'sort'>;

/** Name of the top-level array holding a table's rows. */
export function rowsField(table: IndexTable): `ix_${IndexTable}` {
  return `ix_${table}`;
}

/**
 * Key of a parameter's sort values in `sort`. Parameter codes are escaped so the key never
 * holds `.` or starts with `$` (both would break MongoDB field paths).
 */
export function sortKeyName(table: IndexTable, field: IndexField, param: string): string {
  return `${table}:${field}:${encodeURIComponent(param).replace(/\./g, '%2E')}`;
}

/** The `ix_*` arrays and `sort` document for a version's index entries. */
export function indexFields(entries: readonly IndexEntry[]): RowArrays & Pick<ResourceDoc, 'sort'> {
  const fields: RowArrays & Pick<ResourceDoc, 'sort'> = {};
  const sort: NonNullable<ResourceDoc['sort']> = {};
  for (const entry of entries) {
    const row = toRow(entry);
    (fields[rowsField(entry.table)] ??= []).push(row);
    const sortSource = entry.table === 'composite' ? ((row.c0 as Record<string, unknown> | undefined) ?? {}) : row;
    for (const field of fieldsOf(entry.table)) {
      const value = sortValue(field.kind, sortSource[field.name]);
      if (value === undefined) continue;
      const key = sortKeyName(entry.table, field.name, entry.param);
      const current = sort[key];
      if (!current) {
        sort[key] = { min: value, max: value };
      } else {
        if (compareSortValues(value, current.min) < 0) current.min = value;
        if (compareSortValues(value, current.max) > 0) current.max = value;
      }
    }
  }
  if (Object.keys(sort).length > 0) fields.sort = sort;
  return fields;
}

function sortValue(kind: FieldKind, value: unknown): string | number | undefined {
  if (kind === 'flag') return value === true ? 1 : value === false ? 0 : undefined;
  // Words are searched, never sorted on (and would double the document's size here).
  if (kind === 'terms') return undefined;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return undefined;
}

/** Orders like MongoDB and SQLite: numbers numerically, strings by code point (UTF-8 bytes). */
export function compareSortValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return compareCodePoints(String(a), String(b));
}

function compareCodePoints(a: string, b: string): number {
  // JS `<` compares UTF-16 code units, which puts U+10000.. before U+E000..U+FFFF.
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/**
 * The stored row of an entry: `param` becomes `p`, the schema's fields (index-schema.ts) with
 * null, undefined and NaN values left out, composite components as sub-documents `c0`, `c1` ...
 * As in the embedded store, a flag is stored only when set (`canonical` on canonical-unit rows):
 * absent is null, and the search layer asks for `canonical null` to find values as given.
 */
export function toRow(entry: IndexEntry): IndexRow {
  const row: IndexRow = { p: entry.param };
  if (entry.table === 'composite') {
    for (let i = 0; i < Math.min(entry.components.length, componentsOf('composite')); i++) {
      row[`c${i}`] = compact('composite', entry.components[i] ?? {});
    }
    return row;
  }
  return Object.assign(row, compact(entry.table, entry));
}

function compact(table: IndexTable, values: IndexEntry | CompositeComponent): Record<string, unknown> {
  const source = values as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of fieldsOf(table)) {
    const value = source[field.name];
    if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) continue;
    if (field.kind === 'flag' && value !== true) continue;
    out[field.name] = value;
    if (field.kind === 'terms' && typeof value === 'string') out[wordSetField(field.name)] = [...new Set(value.split(' '))];
  }
  return out;
}

/**
 * The field beside a `terms` field that holds its distinct words: what the multikey index
 * (indexes.ts) finds documents by, before the phrase is checked on the words in order.
 */
export function wordSetField(field: string): string {
  return `${field}Set`;
}

/** The `ix_*` array fields, for projections and $unset. */
export const ROW_ARRAY_FIELDS = INDEX_TABLES.map(rowsField);

/** A version as the port returns it. */
export function toVersion(doc: Pick<HistoryDoc, 'resourceType' | 'id' | 'versionId' | 'lastUpdated' | 'deleted' | 'method' | 'json'>): StoredVersion {
  return new LazyVersion(doc.resourceType, doc.id, String(doc.versionId), toInstant(doc.lastUpdated), doc.deleted, doc.method, {
    json: doc.json ?? undefined,
  });
}

/** Fields to fetch when only the version is needed (not the index rows). */
export const VERSION_PROJECTION = { resourceType: 1, id: 1, versionId: 1, lastUpdated: 1, deleted: 1, method: 1, json: 1 } as const;
