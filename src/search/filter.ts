/**
 * `_filter`: the common subset of FHIR's filter syntax, compiled onto the same conditions as the
 * search parameters themselves (each comparison becomes the criterion it means, compiled by
 * criteria.ts), so both stores, the access layer and the reference evaluator treat it like any
 * other search.
 *
 * Supported: `param op value` with the operations below, `and`, `or`, `not (...)` and
 * parentheses; `not` binds tightest, then `and`, then `or`. Values are JSON strings in double
 * quotes or bare tokens (`http://loinc.org|1234-5`, `2014-10-10`). Refused with a 400 naming
 * the construct: chained and filtered paths (`subject.name`, `related[...]`), the operation
 * `po`, and parameters without an operation here (`_has`, `_list`, `_text`, `_content`, `near`).
 *
 * | operation | string | token, `_id` | reference | uri | date, number, quantity, `_lastUpdated` | composite |
 * | --- | --- | --- | --- | --- | --- | --- |
 * | `eq` | whole value, case and accents ignored | `param=value` | `param=value` | `param=value` | `param=eq…` | `param=value` |
 * | `ne` | not `eq` | `:not` | not `eq` | not `eq` | `param=ne…` | not `eq` |
 * | `co`, `sw`, `ew` | contains, starts with, ends with (case and accents ignored) | | | | | |
 * | `gt` `lt` `ge` `le` `sa` `eb` `ap` | | | | | the prefix of the same name | |
 * | `in`, `ni`, `ss`, `sb` | | `:in`, `:not-in`, `:below`, `:above` (the terminology service) | | | | |
 * | `re` | | | `param=value` | | | |
 * | `pr true`/`false` | has a value / has none (`:missing`) for every type | | | | | |
 *
 * `ss` ("the value subsumes a concept in the set") finds codes at or below the value, `sb` ("the
 * value is subsumed by a concept in the set") codes at or above it.
 *
 * https://hl7.org/fhir/R4/search_filter.html
 */
import { badRequest, notSupported } from '../r4/errors.js';
import type { Condition } from '../storage/search-index.js';
import type { SearchParamType } from './registry.js';
import { normalizeString } from './strings.js';

/** A parsed filter: comparisons joined by `and`, `or` and `not`. */
export type FilterExpression =
  | { kind: 'compare'; path: string; op: string; value: string }
  | { kind: 'and' | 'or'; of: FilterExpression[] }
  | { kind: 'not'; of: FilterExpression };

/** Deepest nesting of parentheses and `not`. */
export const MAX_FILTER_DEPTH = 32;

const OPERATIONS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le', 'ap', 'sa', 'eb', 'pr', 'po', 'ss', 'sb', 'in', 'ni', 're']);
/** The token modifiers the terminology operations stand for (answered by the terminology service). */
const TERMINOLOGY_MODIFIER: Readonly<Record<string, string>> = { in: 'in', ni: 'not-in', ss: 'below', sb: 'above' };
const PREFIXES = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

type Token = { kind: 'open' | 'close' } | { kind: 'word'; text: string } | { kind: 'string'; text: string };

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch === '(' ? 'open' : 'close' });
      i++;
    } else if (ch === '"') {
      // A JSON string: find its end (a quote not escaped), then let JSON read the escapes.
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (end >= text.length) throw badRequest('_filter: a string in double quotes is not closed');
      let value: string;
      try {
        value = JSON.parse(text.slice(i, end + 1)) as string;
      } catch {
        throw badRequest(`_filter: invalid escape in the string ${text.slice(i, Math.min(end + 1, i + 60))}`);
      }
      tokens.push({ kind: 'string', text: value });
      i = end + 1;
    } else {
      // A bare token: anything up to white space or a parenthesis. A path's `[filter]` is kept
      // whole, spaces included, so that it can be refused by name.
      let end = i;
      let brackets = 0;
      while (end < text.length && (brackets > 0 || !/[\s()"]/.test(text[end]!))) {
        if (text[end] === '[') brackets++;
        else if (text[end] === ']') brackets--;
        end++;
      }
      tokens.push({ kind: 'word', text: text.slice(i, end) });
      i = end;
    }
  }
  return tokens;
}

class FilterParser {
  #at = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): FilterExpression {
    if (this.tokens.length === 0) throw badRequest('_filter is empty');
    const expression = this.#or(0);
    if (this.#at < this.tokens.length) throw badRequest(`_filter: unexpected ${describe(this.tokens[this.#at]!)}`);
    return expression;
  }

  #keyword(word: string): boolean {
    const token = this.tokens[this.#at];
    if (token?.kind === 'word' && token.text.toLowerCase() === word) {
      this.#at++;
      return true;
    }
    return false;
  }

  #or(depth: number): FilterExpression {
    const of = [this.#and(depth)];
    while (this.#keyword('or')) of.push(this.#and(depth));
    return of.length === 1 ? of[0]! : { kind: 'or', of };
  }

  #and(depth: number): FilterExpression {
    const of = [this.#unary(depth)];
    while (this.#keyword('and')) of.push(this.#unary(depth));
    return of.length === 1 ? of[0]! : { kind: 'and', of };
  }

  #unary(depth: number): FilterExpression {
    if (depth >= MAX_FILTER_DEPTH) throw badRequest(`_filter: parentheses and not may nest at most ${MAX_FILTER_DEPTH} deep`);
    const negated = this.#keyword('not');
    if (negated && this.tokens[this.#at]?.kind !== 'open') throw badRequest('_filter: not must be followed by a parenthesis, as in not (gender eq male)');
    if (this.tokens[this.#at]?.kind === 'open') {
      this.#at++;
      const inner = this.#or(depth + 1);
      if (this.tokens[this.#at]?.kind !== 'close') throw badRequest('_filter: a parenthesis is not closed');
      this.#at++;
      return negated ? { kind: 'not', of: inner } : inner;
    }
    return this.#compare();
  }

  #compare(): FilterExpression {
    const [path, op, value] = this.tokens.slice(this.#at, this.#at + 3);
    if (path?.kind !== 'word') throw badRequest(`_filter: expected a parameter name${path ? `, found ${describe(path)}` : ' at the end'}`);
    if (op?.kind !== 'word' || !OPERATIONS.has(op.text.toLowerCase())) {
      throw badRequest(
        `_filter: expected an operation (eq, ne, co, sw, ew, gt, lt, ge, le, sa, eb, ap, pr, re) after "${path.text}"${op ? `, found ${describe(op)}` : ''}`,
      );
    }
    if (value?.kind !== 'word' && value?.kind !== 'string') throw badRequest(`_filter: expected a value after "${path.text} ${op.text}"`);
    this.#at += 3;
    return { kind: 'compare', path: path.text, op: op.text.toLowerCase(), value: value.text };
  }
}

function describe(token: Token): string {
  if (!('text' in token)) return token.kind === 'open' ? '"("' : '")"';
  return `"${token.text.slice(0, 60)}"`;
}

/** Parses a `_filter` value (400 for anything outside the grammar). */
export function parseFilter(text: string): FilterExpression {
  return new FilterParser(lex(text)).parse();
}

/** What compiling a filter needs from the search it is part of. */
export interface FilterContext {
  /** The type of parameter `code` for the searched types, or undefined when unknown. */
  typeOf(code: string): SearchParamType | undefined;
  /** Compiles the search criterion `name=value` (value in search syntax, escaped). */
  criterion(name: string, value: string): Condition | undefined;
}

/** Types whose search syntax gives `|` and `$` a meaning: those keep them; others escape them. */
const SEPARATORS: Partial<Record<SearchParamType, RegExp>> = {
  token: /[\\,$]/g,
  reference: /[\\,$]/g,
  quantity: /[\\,$]/g,
  composite: /[\\,]/g,
};

function escapeValue(type: SearchParamType, value: string): string {
  return value.replace(SEPARATORS[type] ?? /[\\,$|]/g, '\\$&');
}

/** Parameters that `_filter` compiles with a fixed type. */
const RESOURCE_PARAMS: Readonly<Record<string, SearchParamType>> = { _id: 'token', _lastUpdated: 'date' };
const WITHOUT_FILTER = new Set(['_has', '_list', '_filter', '_text', '_content', '_query', '_type']);

function compareCondition(compare: Extract<FilterExpression, { kind: 'compare' }>, ctx: FilterContext): Condition {
  const { path, op, value } = compare;
  if (path.includes('[')) throw notSupported(`_filter: filtered paths ("${path}") are not supported`);
  if (path.includes('.')) throw notSupported(`_filter: chained paths ("${path}") are not supported; use a chained search parameter instead`);
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(path)) throw badRequest(`_filter: "${path}" is not a parameter name`);
  if (op === 'po') throw notSupported('_filter: the operation "po" (overlaps) is not supported');
  if (WITHOUT_FILTER.has(path)) throw notSupported(`_filter: "${path}" cannot be used in a filter`);
  const type = RESOURCE_PARAMS[path] ?? ctx.typeOf(path);
  if (type === undefined) throw badRequest(`_filter: unknown search parameter "${path}"`);
  if (type === 'special') throw notSupported(`_filter: the special parameter "${path}" cannot be used in a filter`);
  if (value === '') throw badRequest(`_filter: the value of "${path} ${op}" is empty`);
  const criterion = (name: string, text: string): Condition => {
    const condition = ctx.criterion(name, text);
    if (!condition) throw badRequest(`_filter: "${path} ${op}" has no value to compare with`);
    return condition;
  };
  const refuse = () => notSupported(`_filter: the operation "${op}" is not supported for ${type} parameters ("${path}")`);

  if (op === 'pr') {
    if (value !== 'true' && value !== 'false') throw badRequest(`_filter: "${path} pr" takes true or false`);
    if (path in RESOURCE_PARAMS) return { op: value === 'true' ? 'true' : 'false' };
    return criterion(`${path}:missing`, value === 'true' ? 'false' : 'true');
  }
  const escaped = escapeValue(type, value);
  switch (type) {
    case 'string': {
      const normalized = normalizeString(value);
      if (op === 'eq' || op === 'ne' || op === 'ew') {
        const row: Condition = { op: 'row', table: 'string', param: path, where: [{ field: 'value', cmp: op === 'ew' ? 'suffix' : 'eq', value: normalized }] };
        return op === 'ne' ? { op: 'not', of: row } : row;
      }
      if (op === 'sw') return criterion(path, escaped);
      if (op === 'co') return criterion(`${path}:contains`, escaped);
      throw refuse();
    }
    case 'token':
      if (op === 'eq') return criterion(path, escaped);
      if (op === 'ne') return path === '_id' ? { op: 'not', of: criterion(path, escaped) } : criterion(`${path}:not`, escaped);
      if (op in TERMINOLOGY_MODIFIER && path !== '_id') return criterion(`${path}:${TERMINOLOGY_MODIFIER[op]}`, escaped);
      throw refuse();
    case 'reference':
    case 'uri':
    case 'composite':
      if (op === 'eq' || (op === 're' && type === 'reference')) return criterion(path, escaped);
      if (op === 'ne') return { op: 'not', of: criterion(path, escaped) };
      throw refuse();
    case 'date':
    case 'number':
    case 'quantity':
      if (PREFIXES.has(op)) return criterion(path, `${op}${escaped}`);
      throw refuse();
  }
}

/** The condition a `_filter` value stands for. */
export function filterCondition(text: string, ctx: FilterContext): Condition {
  const compile = (expression: FilterExpression): Condition => {
    switch (expression.kind) {
      case 'compare':
        return compareCondition(expression, ctx);
      case 'not':
        return { op: 'not', of: compile(expression.of) };
      case 'and':
      case 'or':
        return { op: expression.kind, of: expression.of.map(compile) };
    }
  };
  return compile(parseFilter(text));
}
