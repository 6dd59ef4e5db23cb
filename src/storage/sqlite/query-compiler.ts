/**
 * Translates search Conditions and SortKeys (storage/search-index.ts) into SQL over the
 * embedded schema. Every value is a bound parameter; user input never becomes SQL text.
 */
import { badRequest } from '../../fhir/errors.js';
import type { Condition, FieldPredicate, IndexField, IndexTable, SortKey } from '../search-index.js';
import type { Connection } from './database.js';
import type { ParamKeys } from './param-keys.js';

type SqlValue = string | number | null;

export interface Sql {
  text: string;
  params: SqlValue[];
}

const COLUMN: Record<IndexField, string> = {
  value: 'value',
  exact: 'exact',
  system: 'system',
  code: 'code',
  text: 'text',
  ofType: 'of_type',
  low: 'low',
  high: 'high',
  canonical: 'canonical',
  targetType: 'target_type',
  targetId: 'target_id',
  identifierSystem: 'identifier_system',
  identifierValue: 'identifier_value',
};

const NUMERIC_FIELDS = new Set<IndexField>(['low', 'high', 'canonical']);

/** The largest code point: `prefix` < every string that starts with it < `prefix + MAX_CHAR`. */
const MAX_CHAR = String.fromCodePoint(0x10ffff);

export class ConditionCompiler {
  #aliasCounter = 0;

  constructor(
    private readonly keys: ParamKeys,
    private readonly db: Connection,
  ) {}

  /**
   * SQL boolean expression over the `resources` row aliased `alias`, whose type is one of `types`
   * (undefined = any type).
   */
  compile(condition: Condition, alias: string, types: readonly string[] | undefined): Sql {
    switch (condition.op) {
      case 'true':
        return { text: '1', params: [] };
      case 'false':
        return { text: '0', params: [] };
      case 'and':
      case 'or': {
        if (condition.of.length === 0) return { text: condition.op === 'and' ? '1' : '0', params: [] };
        const parts = condition.of.map((c) => this.compile(c, alias, types));
        return {
          text: `(${parts.map((p) => p.text).join(condition.op === 'and' ? ' AND ' : ' OR ')})`,
          params: parts.flatMap((p) => p.params),
        };
      }
      case 'not': {
        const inner = this.compile(condition.of, alias, types);
        return { text: `NOT ${inner.text.startsWith('(') ? inner.text : `(${inner.text})`}`, params: inner.params };
      }
      case 'id':
        return inList(`${alias}.id`, condition.ids);
      case 'type':
        return inList(`${alias}.type`, condition.types);
      case 'lastUpdated': {
        if (condition.where.length === 0) return { text: '1', params: [] };
        return {
          text: `(${condition.where.map((w) => `${alias}.last_updated ${OPERATOR[w.cmp]} ?`).join(' AND ')})`,
          params: condition.where.map((w) => w.value),
        };
      }
      case 'row': {
        const pks = this.keys.keysFor(types, condition.param, this.db);
        if (pks.length === 0) return { text: '0', params: [] };
        const predicates = condition.where.map((p) => predicate(p, condition.table));
        const where = [pkList(pks), ...predicates.map((p) => p.text)].join(' AND ');
        return {
          text: `${alias}.rid IN (SELECT rid FROM idx_${condition.table} WHERE ${where})`,
          params: [...pks, ...predicates.flatMap((p) => p.params)],
        };
      }
      case 'missing': {
        const pks = this.keys.keysFor(types, condition.param, this.db);
        if (pks.length === 0) return { text: condition.missing ? '1' : '0', params: [] };
        return {
          text: `${alias}.rid ${condition.missing ? 'NOT IN' : 'IN'} (SELECT rid FROM idx_${condition.table} WHERE ${pkList(pks)})`,
          params: pks,
        };
      }
      case 'chain': {
        const pks = this.keys.keysFor(types, condition.param, this.db);
        if (pks.length === 0 || condition.targetTypes.length === 0) return { text: '0', params: [] };
        const t = this.#nextAlias();
        const inner = this.compile(condition.where, t, condition.targetTypes);
        const typeList = inList(`${t}.type`, condition.targetTypes);
        return {
          text:
            `${alias}.rid IN (SELECT x.rid FROM idx_reference x JOIN resources ${t} ` +
            `ON ${t}.type = x.target_type AND ${t}.id = x.target_id ` +
            `WHERE ${pkList(pks, 'x.pk')} AND ${t}.deleted = 0 AND ${typeList.text} AND ${inner.text})`,
          params: [...pks, ...typeList.params, ...inner.params],
        };
      }
      case 'has': {
        const pks = this.keys.keysFor([condition.sourceType], condition.param, this.db);
        if (pks.length === 0) return { text: '0', params: [] };
        const s = this.#nextAlias();
        const inner = this.compile(condition.where, s, [condition.sourceType]);
        return {
          text:
            `(${alias}.type, ${alias}.id) IN (SELECT x.target_type, x.target_id FROM idx_reference x ` +
            `JOIN resources ${s} ON ${s}.rid = x.rid ` +
            `WHERE ${pkList(pks, 'x.pk')} AND ${s}.deleted = 0 AND ${inner.text})`,
          params: [...pks, ...inner.params],
        };
      }
    }
  }

  /** SQL expressions to order by (and to store in cursors), one per sort key. */
  sortExpressions(sort: readonly SortKey[], alias: string, types: readonly string[] | undefined): SortExpression[] {
    return sort.map((key) => {
      if (key.by !== 'param') {
        return { sql: { text: key.by === 'id' ? `${alias}.id` : `${alias}.last_updated`, params: [] }, descending: key.descending };
      }
      const pks = this.keys.keysFor(types, key.param, this.db);
      const numeric = NUMERIC_FIELDS.has(key.field);
      // Missing values sort last in both directions.
      const missing = key.descending ? (numeric ? '-9e300' : "''") : numeric ? '9e300' : `'${MAX_CHAR}'`;
      if (pks.length === 0) return { sql: { text: missing, params: [] }, descending: key.descending };
      const column = key.table === 'composite' ? 'c0_' + COLUMN[key.field] : COLUMN[key.field];
      const aggregate = key.descending ? 'max' : 'min';
      return {
        sql: {
          text: `coalesce((SELECT ${aggregate}(${column}) FROM idx_${key.table} WHERE rid = ${alias}.rid AND ${pkList(pks)}), ${missing})`,
          params: pks,
        },
        descending: key.descending,
      };
    });
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

function predicate(p: FieldPredicate, table: IndexTable): Sql {
  if (!(p.field in COLUMN)) throw badRequest(`Unknown index field ${String(p.field)}`);
  let column = COLUMN[p.field];
  if (table === 'composite') column = `c${p.component ?? 0}_${column}`;
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

function scalar(value: FieldPredicate['value']): SqlValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (Array.isArray(value)) throw badRequest('A list is only valid with the "in" comparison');
  return value ?? null;
}

function inList(column: string, values: ReadonlyArray<string | number>): Sql {
  if (values.length === 0) return { text: '0', params: [] };
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
  const keys = [...expressions.map((e) => ({ text: e.sql.text, params: e.sql.params, descending: e.descending })), { text: ridColumn, params: [] as SqlValue[], descending: false }];
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
