/**
 * The index schema, defined once: every kind of index row (one table per kind of search value),
 * its fields in order with what each holds, and the lookups the stores keep on them. Everything a
 * store builds for index rows is derived from this data:
 *
 * - the row types' field names (search-index.ts checks its row types against it);
 * - the embedded store's tables, columns, value indexes, INSERTs and integrity check
 *   (sqlite/schema.ts, sqlite/resource-store.ts, sqlite/query-compiler.ts, sqlite/integrity.ts);
 * - MongoDB's row arrays, sort values and indexes (mongo/documents.ts, mongo/indexes.ts,
 *   mongo/filter-compiler.ts, mongo/integrity.ts).
 *
 * Adding a field or a table here changes every store; a change that existing databases must
 * follow also moves the embedded store's SCHEMA_VERSION (sqlite/schema.ts).
 */

/**
 * What a field holds, which decides its column type, how it sorts and how it is compared:
 * - `text`: a string, compared by code point;
 * - `number`: a finite number (date bounds in epoch ms, decimals, coordinates);
 * - `flag`: true or absent (SQLite 1 or NULL), so "not set" is the predicate `null`;
 * - `terms`: words for full-text search ({@link isTerm}), separated by single spaces, in text
 *   order. Only tested with `phrase`, never sorted; each store keeps a word index on it (SQLite
 *   FTS5, a multikey array of the distinct words on MongoDB).
 */
export type FieldKind = 'text' | 'number' | 'flag' | 'terms';

/** A store lookup on some fields of one table, after the row's parameter. */
export interface LookupDef {
  /** Name suffix: `idx_<table>_<name>` on SQLite, `<table>_<name>` on MongoDB. */
  readonly name: string;
  /** Fields in index order (of the first component, for composite rows). */
  readonly fields: readonly string[];
  /** Looked up whatever the parameter and resource type (chains and `_has` find rows by target). */
  readonly acrossParams?: true;
  /** Kept by one store only, because only its planner uses it (the reason is beside each). */
  readonly only?: 'embedded' | 'mongodb';
}

export interface TableDef {
  /** Field name → kind, in column order. */
  readonly fields: Readonly<Record<string, FieldKind>>;
  readonly lookups: readonly LookupDef[];
  /** Composite rows hold up to this many components, each with all the fields. */
  readonly components?: number;
}

export const INDEX_SCHEMA = {
  string: {
    fields: { value: 'text', exact: 'text' },
    lookups: [
      { name: 'value', fields: ['value'] },
      // `:exact`: the embedded planner reaches exact values through the value index (a string
      // search's normalized prefix), so only MongoDB keeps this one.
      { name: 'exact', fields: ['exact'], only: 'mongodb' },
    ],
  },
  token: {
    fields: { system: 'text', code: 'text', text: 'text', ofType: 'text' },
    lookups: [{ name: 'code', fields: ['code', 'system'] }],
  },
  date: {
    fields: { low: 'number', high: 'number' },
    lookups: [
      { name: 'low', fields: ['low'] },
      { name: 'high', fields: ['high'] },
    ],
  },
  number: {
    fields: { low: 'number', high: 'number' },
    lookups: [{ name: 'low', fields: ['low'] }],
  },
  quantity: {
    fields: { low: 'number', high: 'number', system: 'text', code: 'text', canonical: 'flag' },
    lookups: [{ name: 'low', fields: ['low'] }],
  },
  reference: {
    fields: { value: 'text', targetType: 'text', targetId: 'text', identifierSystem: 'text', identifierValue: 'text' },
    lookups: [
      { name: 'value', fields: ['value'] },
      // (pk, target_id) + rid: `patient=X` streams its matches in rid order, so the embedded
      // store reads a page without collecting every match first; MongoDB pages by _id anyway.
      { name: 'param_target', fields: ['targetId'], only: 'embedded' },
      { name: 'target', fields: ['targetType', 'targetId'], acrossParams: true },
    ],
  },
  uri: {
    fields: { value: 'text' },
    lookups: [{ name: 'value', fields: ['value'] }],
  },
  composite: {
    fields: { system: 'text', code: 'text', value: 'text', low: 'number', high: 'number' },
    lookups: [{ name: 'code', fields: ['code'] }],
    components: 3,
  },
  /** Full text (`_text`, `_content`): one row per parameter, its words in order. */
  text: {
    fields: { terms: 'terms' },
    lookups: [],
  },
  /** A point in WGS84 degrees (Location.position), for `near`. */
  position: {
    fields: { latitude: 'number', longitude: 'number' },
    lookups: [{ name: 'latitude', fields: ['latitude'] }],
  },
} as const satisfies Record<string, TableDef>;

/** Which index table a row lives in. One per SearchParameter type that stores values. */
export type IndexTable = keyof typeof INDEX_SCHEMA;

/** The fields of one table. */
export type FieldOf<T extends IndexTable> = keyof (typeof INDEX_SCHEMA)[T]['fields'] & string;

/** Names of the fields a predicate can test, over all tables. */
export type IndexField = { [T in IndexTable]: FieldOf<T> }[IndexTable];

/** Every table, in schema order. */
export const INDEX_TABLES = Object.keys(INDEX_SCHEMA) as IndexTable[];

/** The fields of `table` in column order, with their kinds. */
export function fieldsOf(table: IndexTable): Array<{ name: IndexField; kind: FieldKind }> {
  const fields = INDEX_SCHEMA[table].fields as Readonly<Record<string, FieldKind>>;
  return Object.entries(fields).map(([name, kind]) => ({ name: name as IndexField, kind }));
}

/** Whether `field` is a field of `table`. */
export function hasField(table: IndexTable, field: string): field is IndexField {
  const def = (INDEX_SCHEMA as Record<string, TableDef>)[table];
  return def !== undefined && Object.hasOwn(def.fields, field);
}

/** The kind of `field` in `table` (undefined when the table has no such field). */
export function kindOf(table: IndexTable, field: string): FieldKind | undefined {
  return hasField(table, field) ? (INDEX_SCHEMA[table].fields as Readonly<Record<string, FieldKind>>)[field] : undefined;
}

/** Whether `field` holds numbers in any table (their sorts and missing-value sentinels are numeric). */
export function isNumericField(field: IndexField): boolean {
  return INDEX_TABLES.some((t) => {
    const kind = kindOf(t, field);
    return kind === 'number' || kind === 'flag';
  });
}

/** The lookups of `table` that `store` keeps. */
export function lookupsOf(table: IndexTable, store: 'embedded' | 'mongodb'): readonly LookupDef[] {
  return (INDEX_SCHEMA[table].lookups as readonly LookupDef[]).filter((l) => l.only === undefined || l.only === store);
}

/** Number of components of composite rows (1 for other tables). */
export function componentsOf(table: IndexTable): number {
  return (INDEX_SCHEMA[table] as TableDef).components ?? 1;
}

const TERM = /^(?:[a-z0-9]|[^\x00-\x7f])+$/;

/**
 * Whether `word` may be one of the words of a `terms` field: not empty, and no ASCII character
 * other than a-z and 0-9 (so no space, no upper case). Other characters (letters of other
 * scripts) are allowed. Both stores then split the field at exactly its spaces: SQLite's FTS5
 * `ascii` tokenizer separates at every other ASCII character and keeps the rest, MongoDB phrase
 * checks match whole words between spaces.
 */
export function isTerm(word: string): boolean {
  return TERM.test(word);
}

/** The `terms` fields of a table (they get a full-text index). */
export function termsFieldsOf(table: IndexTable): IndexField[] {
  return fieldsOf(table)
    .filter((f) => f.kind === 'terms')
    .map((f) => f.name);
}
