/**
 * Translates search Conditions and SortKeys (storage/search-index.ts) into SQL over the
 * embedded schema. Every value is a bound parameter; user input never becomes SQL text.
 *
 * Query shape: one condition of the top-level AND is chosen as the *driver* (the most
 * selective one that an index can answer: an id, a reference, a code ...); it produces the
 * candidate resources through its index, and every other condition is checked per candidate
 * with a correlated EXISTS that seeks the index tables by resource (their clustered primary key
 * starts with rid). Without a driver the resources of the searched types are scanned.
 * Columns in correlated checks are written `+column` so SQLite cannot pick a value index there,
 * which would turn a per-row seek into a range scan.
 *
 * Full-text `phrase` predicates are answered by the table's FTS5 index (schema.ts); `near` by a
 * latitude/longitude box on the position lookup, then the exact distance (geo-sql.ts).
 */
import { StorageError } from '../errors.js';
import { componentsOf, hasField, isNumericField, isTerm, kindOf, termsFieldsOf } from '../index-schema.js';
import type { Condition, FieldPredicate, IndexField, IndexTable, SortKey } from '../search-index.js';
import { preparedStatements, type Connection, type Prepare } from './database.js';
import { DISTANCE_FUNCTION, geoBox } from './geo-sql.js';
import type { ParamKeys } from './param-keys.js';
import { columnOf, fullTextTable } from './schema.js';

type SqlValue = string | number | null;

export interface Sql {
  text: string;
  params: SqlValue[];
}

/** The largest code point: `prefix` < every string that starts with it < `prefix + MAX_CHAR`. */
const MAX_CHAR = String.fromCodePoint(0x10ffff);

/** Candidate counts above this are all "many" to the planner. */
const ESTIMATE_CAP = 500;

/** Prepared statements of estimate queries, per connection (their SQL repeats across searches). */
const estimateStatements = new WeakMap<Connection, Prepare>();

const TRUE: Sql = { text: '1', params: [] };
const FALSE: Sql = { text: '0', params: [] };

/**
 * How the candidates of a search are found.
 * - `stream`: a join from one index table, in rid order when `ordered` (rows may repeat a rid).
 * - `set`: a subquery returning the candidate rids (deduplicated by IN).
 * - `scan`: no driver; scan the resources of the searched types.
 */
export type Driver = { kind: 'stream'; table: IndexTable; where: Sql; ordered: boolean } | { kind: 'set'; rids: Sql } | { kind: 'scan' };

export interface QueryPlan {
  driver: Driver;
  /** The remaining conditions, as a boolean expression over the resources row `r`. */
  filter: Sql;
}

export class ConditionCompiler {
  #aliasCounter = 0;

  constructor(
    private readonly keys: ParamKeys,
    private readonly db: Connection,
  ) {}

  /** Splits a condition into a driver and a per-candidate filter over alias `r`. */
  plan(condition: Condition, searched: readonly string[] | undefined): QueryPlan {
    const parts = flattenAnd(condition);
    const types = narrowTypes(parts, searched);
    const drivable = parts.map((part, index) => ({ part, index, score: driverScore(part) })).filter((d) => d.score > 0);
    if (drivable.length === 0) return { driver: { kind: 'scan' }, filter: this.compile(condition, 'r', types) };
    drivable.sort((a, b) => b.score - a.score);
    const best = drivable.length > 1 ? this.#smallest(drivable, types, ESTIMATE_CAP) : drivable[0]!;
    const chosen = best.part;
    const rest = parts.filter((_, i) => i !== best.index);
    const filter = rest.length === 0 ? TRUE : this.compile({ op: 'and', of: rest }, 'r', types);
    if (chosen.op === 'row') {
      const stream = this.#rowStream(chosen, types);
      if (stream) return { driver: stream, filter };
    }
    const rids = this.candidates(chosen, types);
    return { driver: rids ? { kind: 'set', rids } : { kind: 'scan' }, filter: rids ? filter : this.compile(condition, 'r', types) };
  }

  /**
   * Of several conditions that could drive, the one whose index gives the fewest candidates.
   * Counting stops at the best count so far (at most `cap`), so a poor candidate costs little to
   * rule out. When several reach the cap, they are counted again with a ten times higher one
   * (once): a granular scope's `gender=female` and a `_has` of a few hundred patients both
   * exceed 500, and the wrong choice costs ten times more.
   */
  #smallest<T extends { part: Condition }>(drivable: readonly T[], types: readonly string[] | undefined, cap: number): T {
    let best = drivable[0]!;
    let bestCount = this.#estimate(best.part, types, cap);
    const many: T[] = [];
    for (const candidate of drivable.slice(1)) {
      if (bestCount === 0) break;
      const count = this.#estimate(candidate.part, types, bestCount);
      if (count < bestCount) {
        best = candidate;
        bestCount = count;
      } else if (count >= cap) many.push(candidate);
    }
    if (bestCount >= cap && many.length > 0 && cap === ESTIMATE_CAP) return this.#smallest([best, ...many], types, cap * 10);
    return best;
  }

  /** Number of candidates a driving condition yields, counted up to `cap`. */
  #estimate(condition: Condition, types: readonly string[] | undefined, cap: number): number {
    // A UNION deduplicates before LIMIT applies: estimate an OR by its branches instead.
    if (condition.op === 'or') {
      let sum = 0;
      for (const c of condition.of) {
        sum += this.#estimate(c, types, cap - sum);
        if (sum >= cap) return cap;
      }
      return sum;
    }
    const rids = this.candidates(condition, types);
    if (!rids) return Number.MAX_SAFE_INTEGER;
    const row = this.#prepare(`SELECT count(*) AS n FROM (${rids.text} LIMIT ?)`).get(...rids.params, cap) as { n: number };
    return row.n;
  }

  #prepare(sql: string) {
    let prepare = estimateStatements.get(this.db);
    if (!prepare) estimateStatements.set(this.db, (prepare = preparedStatements(this.db, 500)));
    return prepare(sql);
  }

  /**
   * A subquery returning the rids of the resources (of `types`) that satisfy `condition`,
   * answered from indexes; undefined when the condition cannot drive a search.
   */
  candidates(condition: Condition, types: readonly string[] | undefined): Sql | undefined {
    switch (condition.op) {
      case 'row': {
        const pks = this.keys.keysFor(types, condition.param, this.db);
        if (pks.length === 0) return { text: 'SELECT NULL WHERE 0', params: [] };
        if (termsFieldsOf(condition.table).length > 0) return fullTextCandidates(condition, pks);
        const predicates = condition.where.map((p) => predicate(p, condition.table, false));
        return {
          text: `SELECT rid FROM idx_${condition.table} WHERE ${[pkList(pks), ...predicates.map((p) => p.text)].join(' AND ')}`,
          params: [...pks, ...predicates.flatMap((p) => p.params)],
        };
      }
      case 'id': {
        const typeList = types ? inList('type', types) : TRUE;
        const ids = inList('id', condition.ids);
        return { text: `SELECT rid FROM resources WHERE ${typeList.text} AND ${ids.text}`, params: [...typeList.params, ...ids.params] };
      }
      case 'or': {
        const sets = condition.of.map((c) => this.candidates(c, types));
        if (sets.length === 0 || sets.some((s) => s === undefined)) return undefined;
        return { text: sets.map((s) => s!.text).join(' UNION '), params: sets.flatMap((s) => s!.params) };
      }
      case 'and': {
        const plan = this.plan(condition, types);
        if (plan.driver.kind === 'scan') return undefined;
        const source = plan.driver.kind === 'set' ? plan.driver.rids : streamAsSet(plan.driver);
        const t = this.#nextAlias();
        const filter = plan.filter.text === '1' ? TRUE : this.compile(condition, t, types);
        return {
          text: `SELECT ${t}.rid FROM resources ${t} WHERE ${t}.rid IN (${source.text}) AND ${filter.text}`,
          params: [...source.params, ...filter.params],
        };
      }
      case 'chain': {
        const pks = this.keys.keysFor(types, condition.param, this.db);
        if (pks.length === 0 || condition.targetTypes.length === 0) return { text: 'SELECT NULL WHERE 0', params: [] };
        const targets = this.#resourcesMatching(condition.where, condition.targetTypes);
        if (!targets) return undefined;
        return {
          text: `SELECT x.rid FROM idx_reference x WHERE (x.target_id, x.target_type) IN (SELECT id, type FROM resources WHERE rid IN (${targets.text})) AND ${pkList(pks, '+x.pk')}`,
          params: [...targets.params, ...pks],
        };
      }
      case 'has': {
        const pks = this.keys.keysFor([condition.sourceType], condition.param, this.db);
        if (pks.length === 0) return { text: 'SELECT NULL WHERE 0', params: [] };
        const sources = this.#resourcesMatching(condition.where, [condition.sourceType]);
        if (!sources) return undefined;
        const typeList = types ? inList('o.type', types) : TRUE;
        return {
          text:
            `SELECT o.rid FROM resources o WHERE (o.type, o.id) IN (SELECT x.target_type, x.target_id FROM idx_reference x ` +
            `WHERE x.rid IN (${sources.text}) AND ${pkList(pks, '+x.pk')}) AND ${typeList.text}`,
          params: [...sources.params, ...pks, ...typeList.params],
        };
      }
      case 'near': {
        const pks = this.keys.keysFor(types, condition.param, this.db);
        if (pks.length === 0) return { text: 'SELECT NULL WHERE 0', params: [] };
        const within = nearRows(condition, '');
        return { text: `SELECT rid FROM idx_position WHERE ${pkList(pks)} AND ${within.text}`, params: [...pks, ...within.params] };
      }
      default:
        return undefined;
    }
  }

  /**
   * SQL boolean expression over the `resources` row aliased `alias`, whose type is one of `types`
   * (undefined = any type), checked per row (correlated).
   */
  compile(condition: Condition, alias: string, types: readonly string[] | undefined): Sql {
    switch (condition.op) {
      case 'true':
        return TRUE;
      case 'false':
        return FALSE;
      case 'and':
      case 'or':
        return this.#junction(condition, alias, types);
      case 'not': {
        const inner = this.compile(condition.of, alias, types);
        return { text: `NOT ${inner.text.startsWith('(') ? inner.text : `(${inner.text})`}`, params: inner.params };
      }
      case 'id':
        // `+`: a per-row check, never an index choice (inside a chain's join, an id index would
        // drive the join from the target and turn each row's seek into a scan of its referrers).
        return inList(`+${alias}.id`, condition.ids);
      case 'type':
        return inList(`${alias}.type`, condition.types);
      case 'lastUpdated': {
        if (condition.where.length === 0) return TRUE;
        return {
          text: `(${condition.where.map((w) => `${alias}.last_updated ${OPERATOR[w.cmp]} ?`).join(' AND ')})`,
          params: condition.where.map((w) => w.value),
        };
      }
      case 'row':
        return this.#row(condition, alias, types);
      case 'missing': {
        const pks = this.keys.keysFor(types, condition.param, this.db);
        if (pks.length === 0) return condition.missing ? TRUE : FALSE;
        return {
          text: `${condition.missing ? 'NOT ' : ''}EXISTS (SELECT 1 FROM idx_${condition.table} WHERE rid = ${alias}.rid AND ${pkList(pks, '+pk')})`,
          params: pks,
        };
      }
      case 'chain':
        return this.#chain(condition, alias, types);
      case 'has':
        return this.#has(condition, alias);
      case 'near': {
        const pks = this.keys.keysFor(types, condition.param, this.db);
        if (pks.length === 0) return FALSE;
        const within = nearRows(condition, '+');
        return {
          text: `EXISTS (SELECT 1 FROM idx_position WHERE rid = ${alias}.rid AND ${pkList(pks, '+pk')} AND ${within.text})`,
          params: [...pks, ...within.params],
        };
      }
    }
  }

  /** `and` / `or`: inside an `and`, each part sees only the types the others leave. */
  #junction(condition: Extract<Condition, { op: 'and' | 'or' }>, alias: string, types: readonly string[] | undefined): Sql {
    if (condition.of.length === 0) return condition.op === 'and' ? TRUE : FALSE;
    const scope = condition.op === 'and' ? narrowTypes(condition.of, types) : types;
    const parts = condition.of.map((c) => this.compile(c, alias, scope));
    return {
      text: `(${parts.map((p) => p.text).join(condition.op === 'and' ? ' AND ' : ' OR ')})`,
      params: parts.flatMap((p) => p.params),
    };
  }

  /** Some index row of the parameter meets every predicate. */
  #row(condition: Extract<Condition, { op: 'row' }>, alias: string, types: readonly string[] | undefined): Sql {
    const pks = this.keys.keysFor(types, condition.param, this.db);
    if (pks.length === 0) return FALSE;
    const predicates = condition.where.map((p) => predicate(p, condition.table, true));
    const where = [`rid = ${alias}.rid`, pkList(pks, '+pk'), ...predicates.map((p) => p.text)].join(' AND ');
    return { text: `EXISTS (SELECT 1 FROM idx_${condition.table} WHERE ${where})`, params: [...pks, ...predicates.flatMap((p) => p.params)] };
  }

  /** A chain (`subject:Patient.name=x`): some live resource the row references meets the inner condition. */
  #chain(condition: Extract<Condition, { op: 'chain' }>, alias: string, types: readonly string[] | undefined): Sql {
    const pks = this.keys.keysFor(types, condition.param, this.db);
    if (pks.length === 0 || condition.targetTypes.length === 0) return FALSE;
    const t = this.#nextAlias();
    const inner = this.compile(condition.where, t, condition.targetTypes);
    const typeList = inList(`+${t}.type`, condition.targetTypes);
    return {
      text:
        `EXISTS (SELECT 1 FROM idx_reference x JOIN resources ${t} ON ${t}.type = x.target_type AND ${t}.id = x.target_id ` +
        `WHERE x.rid = ${alias}.rid AND ${pkList(pks, '+x.pk')} AND ${t}.deleted = 0 AND ${typeList.text} AND ${inner.text})`,
      params: [...pks, ...typeList.params, ...inner.params],
    };
  }

  /** A reverse chain (`_has:Observation:patient:code=x`): some live resource referencing the row meets the inner condition. */
  #has(condition: Extract<Condition, { op: 'has' }>, alias: string): Sql {
    const pks = this.keys.keysFor([condition.sourceType], condition.param, this.db);
    if (pks.length === 0) return FALSE;
    const s = this.#nextAlias();
    const inner = this.compile(condition.where, s, [condition.sourceType]);
    return {
      text:
        `EXISTS (SELECT 1 FROM idx_reference x JOIN resources ${s} ON ${s}.rid = x.rid ` +
        `WHERE x.target_id = ${alias}.id AND x.target_type = ${alias}.type AND ${pkList(pks, '+x.pk')} AND ${s}.deleted = 0 AND ${inner.text})`,
      params: [...pks, ...inner.params],
    };
  }

  /** SQL expressions to order by (and to store in cursors), one per sort key. */
  sortExpressions(sort: readonly SortKey[], alias: string, types: readonly string[] | undefined): SortExpression[] {
    return sort.map((key) => {
      if (key.by !== 'param' && key.by !== 'distance') {
        return { sql: { text: key.by === 'id' ? `${alias}.id` : `${alias}.last_updated`, params: [] }, descending: key.descending };
      }
      const pks = this.keys.keysFor(types, key.param, this.db);
      if (key.by === 'distance') {
        const missing = key.descending ? '-9e300' : '9e300';
        if (pks.length === 0) return { sql: { text: missing, params: [] }, descending: key.descending };
        return {
          sql: {
            text: `coalesce((SELECT ${key.descending ? 'max' : 'min'}(${DISTANCE_FUNCTION}(+latitude, +longitude, ?, ?)) FROM idx_position WHERE rid = ${alias}.rid AND ${pkList(pks, '+pk')}), ${missing})`,
            params: [key.latitude, key.longitude, ...pks],
          },
          descending: key.descending,
        };
      }
      const numeric = isNumericField(key.field);
      // Missing values sort last in both directions.
      const missing = key.descending ? (numeric ? '-9e300' : "''") : numeric ? '9e300' : `'${MAX_CHAR}'`;
      if (pks.length === 0) return { sql: { text: missing, params: [] }, descending: key.descending };
      if (!hasField(key.table, key.field) || kindOf(key.table, key.field) === 'terms')
        throw new StorageError('invalid-query', `Cannot sort ${key.table} parameter ${key.param} by ${String(key.field)}`);
      const column = columnOf(key.table, key.field);
      const aggregate = key.descending ? 'max' : 'min';
      return {
        sql: {
          text: `coalesce((SELECT ${aggregate}(+${column}) FROM idx_${key.table} WHERE rid = ${alias}.rid AND ${pkList(pks, '+pk')}), ${missing})`,
          params: pks,
        },
        descending: key.descending,
      };
    });
  }

  /** A driving join over one index table, when the row condition has a usable index. */
  #rowStream(condition: Extract<Condition, { op: 'row' }>, types: readonly string[] | undefined): Driver | undefined {
    const pks = this.keys.keysFor(types, condition.param, this.db);
    if (pks.length === 0) return { kind: 'set', rids: { text: 'SELECT NULL WHERE 0', params: [] } };
    // Full text drives from its FTS5 index instead (candidates).
    if (termsFieldsOf(condition.table).length > 0) return undefined;
    const predicates = condition.where.map((p) => predicate(p, condition.table, false, 'd.'));
    const where = { text: [pkList(pks, 'd.pk'), ...predicates.map((p) => p.text)].join(' AND '), params: [...pks, ...predicates.flatMap((p) => p.params)] };
    // The value indexes are (pk, column...) + rid: equality on every leading column yields rids in order.
    const eq = new Set(condition.where.filter((p) => p.cmp === 'eq' && p.value !== null && p.value !== undefined).map((p) => p.field));
    const ordered = pks.length === 1 && isOrderedLookup(condition.table, eq);
    return { kind: 'stream', table: condition.table, where, ordered };
  }

  /** rids of the resources of `types` that satisfy `condition` (driven if possible, else scanned). */
  #resourcesMatching(condition: Condition, types: readonly string[]): Sql | undefined {
    const plan = this.plan(condition, types);
    const t = this.#nextAlias();
    const typeList = inList(`${t}.type`, types);
    if (plan.driver.kind === 'scan') {
      const filter = this.compile(condition, t, types);
      return {
        text: `SELECT ${t}.rid FROM resources ${t} WHERE ${typeList.text} AND ${t}.deleted = 0 AND ${filter.text}`,
        params: [...typeList.params, ...filter.params],
      };
    }
    const source = plan.driver.kind === 'set' ? plan.driver.rids : streamAsSet(plan.driver);
    const filter = plan.filter.text === '1' ? TRUE : this.compile(condition, t, types);
    const plusTypes = inList(`+${t}.type`, types);
    return {
      text: `SELECT ${t}.rid FROM resources ${t} WHERE ${t}.rid IN (${source.text}) AND ${plusTypes.text} AND ${t}.deleted = 0 AND ${filter.text}`,
      params: [...source.params, ...plusTypes.params, ...filter.params],
    };
  }

  #nextAlias(): string {
    this.#aliasCounter += 1;
    return `t${this.#aliasCounter}`;
  }
}

export interface SortExpression {
  sql: Sql;
  descending: boolean;
}

const OPERATOR = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/** Which equality sets give rid order from each table's value index (schema.ts). */
function isOrderedLookup(table: IndexTable, eq: Set<IndexField>): boolean {
  switch (table) {
    case 'token':
      return eq.has('code') && eq.has('system');
    case 'string':
    case 'uri':
      return eq.has('value');
    case 'reference':
      return eq.has('value') || (eq.has('targetId') && eq.size === 1);
    default:
      return false;
  }
}

/** How good a condition is at producing few candidates from an index (0 = cannot drive). */
function driverScore(condition: Condition): number {
  switch (condition.op) {
    case 'id':
      return 100;
    case 'row': {
      const eq = new Set(condition.where.filter((p) => p.cmp === 'eq' || p.cmp === 'in').map((p) => `${p.component ?? ''}${p.field}`));
      if (condition.table === 'reference' && (eq.has('value') || eq.has('targetId'))) return 90;
      if (condition.table === 'token' && eq.has('code')) return eq.has('system') ? 85 : 80;
      if (condition.table === 'uri' && eq.has('value')) return 80;
      if (condition.table === 'composite' && eq.has('0code')) return 70;
      if (condition.table === 'string' && (eq.has('value') || eq.has('exact'))) return 75;
      if (condition.table === 'string' && condition.where.some((p) => p.cmp === 'prefix' && p.field === 'value')) return 60;
      if (condition.table === 'reference' && eq.has('identifierValue')) return 60;
      if (condition.where.some((p) => p.cmp === 'phrase')) return 70;
      if (condition.where.some((p) => (p.field === 'low' || p.field === 'high') && p.cmp !== 'ne')) return 20;
      return 0;
    }
    case 'chain':
      return 65;
    case 'near':
      return 60;
    case 'has':
      return 55;
    case 'or': {
      const scores = condition.of.map(driverScore);
      return scores.length > 0 && scores.every((s) => s > 0) ? Math.min(...scores) - 5 : 0;
    }
    case 'and': {
      const scores = condition.of.map(driverScore);
      return scores.length > 0 ? Math.max(...scores) : 0;
    }
    default:
      return 0;
  }
}

/**
 * The types the parts of an AND can match: a `type` part limits its siblings, so their
 * parameter keys are looked up for those types only (a per-type OR over many types, such as
 * the patient compartment, would otherwise look up every parameter for every type).
 */
function narrowTypes(parts: readonly Condition[], types: readonly string[] | undefined): readonly string[] | undefined {
  let narrowed = types;
  for (const part of parts) {
    if (part.op === 'type') narrowed = narrowed ? narrowed.filter((t) => part.types.includes(t)) : part.types;
  }
  return narrowed;
}

function flattenAnd(condition: Condition): Condition[] {
  if (condition.op === 'and') return condition.of.flatMap(flattenAnd);
  if (condition.op === 'true') return [];
  return [condition];
}

function streamAsSet(driver: Extract<Driver, { kind: 'stream' }>): Sql {
  return { text: `SELECT d.rid FROM idx_${driver.table} d WHERE ${driver.where.text}`, params: driver.where.params };
}

/**
 * One predicate on an index column. `correlated` checks write `+column` so the planner keeps
 * seeking by rid instead of scanning a value index.
 */
function predicate(p: FieldPredicate, table: IndexTable, correlated: boolean, prefix = ''): Sql {
  if (!hasField(table, p.field)) throw new StorageError('invalid-query', `Unknown index field ${String(p.field)} for ${table} parameters`);
  if (p.cmp === 'phrase' || kindOf(table, p.field) === 'terms') return phraseOfRow(p, table, `${prefix || `idx_${table}.`}tid`);
  const component = p.component ?? 0;
  if (!Number.isInteger(component) || component < 0 || component >= componentsOf(table))
    throw new StorageError('invalid-query', `Component ${String(component)} does not exist`);
  const column = `${correlated ? '+' : ''}${prefix}${columnOf(table, p.field, component)}`;
  const value = p.value;
  switch (p.cmp) {
    case 'null':
      return { text: `${column} IS NULL`, params: [] };
    case 'notnull':
      return { text: `${column} IS NOT NULL`, params: [] };
    case 'in': {
      const list = Array.isArray(value) ? value : [];
      return inList(column, list);
    }
    case 'prefix': {
      const text = String(value ?? '');
      return { text: `(${column} >= ? AND ${column} < ?)`, params: [text, text + MAX_CHAR] };
    }
    case 'contains':
      return { text: `instr(${column}, ?) > 0`, params: [String(value ?? '')] };
    case 'suffix': {
      // substr counts characters (code points), as the suffix's length does here.
      const text = String(value ?? '');
      if (text === '') return { text: `${column} IS NOT NULL`, params: [] };
      return { text: `substr(${column}, ?) = ?`, params: [-[...text].length, text] };
    }
    case 'eq':
      if (value === null || value === undefined) return { text: `${column} IS NULL`, params: [] };
      return { text: `${column} = ?`, params: [scalar(value)] };
    case 'ne':
      if (value === null || value === undefined) return { text: `${column} IS NOT NULL`, params: [] };
      return { text: `${column} IS NOT ?`, params: [scalar(value)] };
    default:
      return { text: `${column} ${OPERATOR[p.cmp]} ?`, params: [scalar(value)] };
  }
}

/**
 * The FTS5 query of `phrase` predicates: each a quoted phrase (the words one after another) on
 * its column, all of them required. Words are checked (index-schema.ts isTerm), so the query
 * holds no quote or FTS5 operator of its own.
 */
function matchQuery(predicates: readonly FieldPredicate[], table: IndexTable): string {
  return predicates
    .map((p) => {
      const words = Array.isArray(p.value) ? p.value.map(String) : [];
      if (p.cmp !== 'phrase' || kindOf(table, p.field) !== 'terms' || words.length === 0 || !words.every(isTerm)) {
        throw new StorageError('invalid-query', `A ${table} field is only tested with "phrase" and a list of words (lower case, no ASCII punctuation)`);
      }
      return `${columnOf(table, p.field)} : "${words.join(' ')}"`;
    })
    .join(' AND ');
}

/**
 * `phrase` on one row (a correlated check): the FTS5 index is asked about that row's key only,
 * a seek in its word lists. (An `IN (SELECT rowid ... MATCH)` would list every match of the words
 * in the whole database first.)
 */
function phraseOfRow(p: FieldPredicate, table: IndexTable, key: string): Sql {
  const fts = fullTextTable(table);
  return { text: `EXISTS (SELECT 1 FROM ${fts} WHERE ${fts} MATCH ? AND ${fts}.rowid = ${key})`, params: [matchQuery([p], table)] };
}

/**
 * The resources whose rows of a full-text parameter hold the phrases: the FTS5 matches joined to
 * their rows, streamed, so a count stops early (the planner's estimate) and a page is cheap.
 */
function fullTextCandidates(condition: Extract<Condition, { op: 'row' }>, pks: number[]): Sql {
  const fts = fullTextTable(condition.table);
  return {
    text: `SELECT x.rid FROM ${fts} JOIN idx_${condition.table} x ON x.tid = ${fts}.rowid WHERE ${fts} MATCH ? AND ${pkList(pks, 'x.pk')}`,
    params: [matchQuery(condition.where, condition.table), ...pks],
  };
}

/** The position rows within a `near` condition's distance: the bounding box, then the exact distance. */
function nearRows(condition: Extract<Condition, { op: 'near' }>, plus: '' | '+'): Sql {
  const box = geoBox(condition);
  const longitudes = box.longitudes.map(() => `${plus}longitude BETWEEN ? AND ?`);
  return {
    text: `${plus}latitude BETWEEN ? AND ? AND (${longitudes.join(' OR ')}) ` + `AND ${DISTANCE_FUNCTION}(${plus}latitude, ${plus}longitude, ?, ?) <= ?`,
    params: [box.minLatitude, box.maxLatitude, ...box.longitudes.flat(), condition.latitude, condition.longitude, condition.distance],
  };
}

function scalar(value: FieldPredicate['value']): SqlValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (Array.isArray(value)) throw new StorageError('invalid-query', 'A list is only valid with the "in" comparison');
  return value ?? null;
}

function inList(column: string, values: ReadonlyArray<string | number>): Sql {
  if (values.length === 0) return FALSE;
  if (values.length === 1) return { text: `${column} = ?`, params: [values[0]!] };
  return { text: `${column} IN (${values.map(() => '?').join(', ')})`, params: [...values] };
}

function pkList(pks: number[], column = 'pk'): string {
  return pks.length === 1 ? `${column} = ?` : `${column} IN (${pks.map(() => '?').join(', ')})`;
}

/**
 * Keyset condition: rows strictly after (or before) `values` in the given order, with the
 * resource's rid as the final tie-breaker (always ascending).
 */
export function keysetCondition(expressions: SortExpression[], ridColumn: string, values: SqlValue[], rid: number, direction: 'after' | 'before'): Sql {
  const keys = [
    ...expressions.map((e) => ({ text: e.sql.text, params: e.sql.params, descending: e.descending })),
    { text: ridColumn, params: [] as SqlValue[], descending: false },
  ];
  const bound = [...values, rid];
  const disjuncts: string[] = [];
  const params: SqlValue[] = [];
  for (let i = 0; i < keys.length; i++) {
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      parts.push(`${keys[j]!.text} = ?`);
      params.push(...keys[j]!.params, bound[j]!);
    }
    const forward = keys[i]!.descending ? '<' : '>';
    const backward = keys[i]!.descending ? '>' : '<';
    parts.push(`${keys[i]!.text} ${direction === 'after' ? forward : backward} ?`);
    params.push(...keys[i]!.params, bound[i]!);
    disjuncts.push(`(${parts.join(' AND ')})`);
  }
  return { text: `(${disjuncts.join(' OR ')})`, params };
}
