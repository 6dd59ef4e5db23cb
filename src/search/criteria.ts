/**
 * One search criterion (a parameter name with its modifiers, chains or `_has`, and its raw
 * value) compiled to a {@link Condition}. Comma-separated values are ORed here; repeated
 * parameters are ANDed by the caller.
 *
 * https://hl7.org/fhir/R4/search.html#combining (`,` is OR, repetition is AND)
 * https://hl7.org/fhir/R4/search.html#chaining
 * https://hl7.org/fhir/R4/search.html#has
 */
import type { OperationOutcomeIssue } from 'fhir/r4';
import type { Condition, IndexTable } from '../storage/search-index.js';
import { badRequest, notSupported } from '../r4/errors.js';
import { splitEscaped, unescapeValue } from './escape.js';
import { checkModifier } from './modifiers.js';
import type { SearchRegistry } from './registry.js';
import type { CodeSetLookup, CodeSetModifier } from './types.js';
import { resolveInScope, type ParamInScope } from './scope.js';
import {
  dateAlternatives,
  numberAlternatives,
  quantityAlternatives,
  referenceAlternatives,
  stringAlternatives,
  tokenAlternatives,
  uriAlternatives,
  type Alternatives,
  type ValueContext,
} from './value-predicates.js';
import { filterCondition } from './filter.js';
import { nearCondition } from './near.js';
import { textCondition } from './text.js';

/** What compiling criteria needs. */
export interface CriteriaContext extends ValueContext {
  registry: SearchRegistry;
  /** Unknown or unsupported parameters are errors rather than warnings. */
  strict: boolean;
  /** Where ignored parameters are reported. */
  warnings: OperationOutcomeIssue[];
  /** Terminology for `:in`, `:not-in`, `:above`, `:below` on tokens (absent: refused). */
  codeSets?: CodeSetLookup;
}

const CODE_SET_MODIFIERS: ReadonlySet<string> = new Set<CodeSetModifier>(['in', 'not-in', 'above', 'below']);

/** Deepest nesting of chains and `_has` (each level is a join in the stores). */
export const MAX_NESTING = 4;

/** Common parameters without index rows: compiled here rather than from the registry. */
const SPECIAL = new Set(['_id', '_lastUpdated', '_list', '_text', '_content', '_query', '_filter', '_contained', '_containedType']);

const or = (of: Condition[]): Condition => (of.length === 1 ? of[0]! : { op: 'or', of });

/** Reports a parameter that is not applied: a warning, or an error when strict or nested. */
function ignore(name: string, reason: 'unknown' | 'unsupported', ctx: CriteriaContext, nested: boolean): undefined {
  const message = reason === 'unknown' ? `Unknown search parameter "${name}"` : `The search parameter "${name}" is not supported`;
  if (ctx.strict || nested) throw reason === 'unknown' ? badRequest(message) : notSupported(message);
  ctx.warnings.push({ severity: 'warning', code: 'not-supported', diagnostics: `${message}; it was ignored` });
  return undefined;
}

/** The non-empty comma-separated alternatives of a raw value (escapes kept). */
function alternativesOf(value: string): string[] {
  return splitEscaped(value, ',').filter((v) => v !== '');
}

function rows(table: IndexTable, param: string, alternatives: Alternatives): Condition {
  return or(alternatives.map((where) => ({ op: 'row', table, param, where })));
}

function valueAlternatives(param: ParamInScope, name: string, modifier: string, raw: string, ctx: CriteriaContext, component?: number): Alternatives {
  switch (param.type) {
    case 'string':
      return stringAlternatives(raw, modifier, component);
    case 'token':
      return tokenAlternatives(raw, modifier === 'not' ? 'none' : modifier, name, component);
    case 'reference':
      return referenceAlternatives(raw, modifier, name, param.targets, ctx, component);
    case 'uri':
      return uriAlternatives(raw, modifier, component);
    case 'number':
      return numberAlternatives(raw, name, component);
    case 'date':
      return dateAlternatives(raw, name, ctx, component);
    case 'quantity':
      return quantityAlternatives(raw, name, component);
    case 'composite':
      if (component !== undefined) throw badRequest(`A composite parameter cannot be a component ("${name}")`);
      return compositeAlternatives(param, name, raw, ctx);
    case 'special':
      throw notSupported(`The search parameter "${name}" is not supported`);
  }
}

/** https://hl7.org/fhir/R4/search.html#composite: `a$b`, each part per its component's type. */
function compositeAlternatives(param: ParamInScope, name: string, raw: string, ctx: CriteriaContext): Alternatives {
  const parts = splitEscaped(raw, '$');
  if (param.components.length === 0) throw notSupported(`The composite parameter "${name}" is not supported`);
  if (parts.length !== param.components.length) {
    throw badRequest(`The value of "${name}" must have ${param.components.length} parts separated by $`);
  }
  let product: Alternatives = [[]];
  parts.forEach((part, i) => {
    const def = param.components[i]!.param;
    const component: ParamInScope = { code: def.code, type: def.type, table: def.table, targets: [...def.target], components: [] };
    const alternatives = valueAlternatives(component, `${name} (component ${i + 1})`, 'none', part, ctx, i);
    product = product.flatMap((prefix) => alternatives.map((conj) => [...prefix, ...conj]));
  });
  return product;
}

function parseMissing(value: string, name: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw badRequest(`The value of "${name}" must be true or false`);
}

/** A parameter with index rows: `name[:modifier]=v1,v2`. */
function compileLeaf(param: ParamInScope, name: string, modifier: string | undefined, value: string, ctx: CriteriaContext): Condition | undefined {
  const kind = checkModifier(name, param.type, modifier, (t) => param.targets.includes(t), ctx.codeSets !== undefined);
  const table = param.table!;
  if (kind === 'missing') return { op: 'missing', table, param: param.code, missing: parseMissing(value, name) };
  const values = alternativesOf(value);
  if (values.length === 0) return undefined;
  if (param.type === 'token' && CODE_SET_MODIFIERS.has(kind)) return codeSetCondition(param.code, name, kind as CodeSetModifier, values, ctx);
  const effective = kind === 'type' ? modifier! : kind;
  const any = or(values.map((v) => rows(table, param.code, valueAlternatives(param, name, effective, v, ctx))));
  return kind === 'not' ? { op: 'not', of: any } : any;
}

/**
 * `:in`/`:not-in` a value set, `:below`/`:above` a code (https://hl7.org/fhir/R4/search.html#token):
 * some coding of the parameter is one of the codes the terminology gives (per system, one `in`
 * list); `:not-in` is its negation, as `:not` is.
 */
function codeSetCondition(param: string, name: string, modifier: CodeSetModifier, values: string[], ctx: CriteriaContext): Condition {
  const conditions: Condition[] = [];
  for (const value of values) {
    const codes = ctx.codeSets!({ modifier, value: unescapeValue(value), name });
    const bySystem = new Map<string, string[]>();
    for (const { system, code } of codes) {
      let list = bySystem.get(system);
      if (!list) bySystem.set(system, (list = []));
      list.push(code);
    }
    for (const [system, list] of bySystem) {
      conditions.push({
        op: 'row',
        table: 'token',
        param,
        where: [
          { field: 'system', cmp: 'eq', value: system },
          list.length === 1 ? { field: 'code', cmp: 'eq', value: list[0]! } : { field: 'code', cmp: 'in', value: list },
        ],
      });
    }
  }
  const any: Condition = conditions.length === 0 ? { op: 'false' } : or(conditions);
  return modifier === 'not-in' ? { op: 'not', of: any } : any;
}

function rejectModifier(name: string, modifier: string | undefined): void {
  if (modifier !== undefined) throw badRequest(`The parameter "${name}" takes no modifier`);
}

/** `_id`, `_lastUpdated`, `_list` and the unsupported special parameters. */
function compileSpecial(code: string, name: string, modifier: string | undefined, value: string, ctx: CriteriaContext, nested: boolean): Condition | undefined {
  const values = alternativesOf(value);
  switch (code) {
    case '_id':
      rejectModifier(name, modifier);
      return values.length > 0 ? { op: 'id', ids: values.map(unescapeValue) } : undefined;
    case '_lastUpdated': {
      rejectModifier(name, modifier);
      if (values.length === 0) return undefined;
      const conds = values.flatMap((v) =>
        dateAlternatives(v, name, ctx).map(
          (conj): Condition => ({
            op: 'lastUpdated',
            where: conj.map((p) => ({ cmp: p.cmp as 'lt' | 'le' | 'gt' | 'ge', value: p.value as number })),
          }),
        ),
      );
      return or(conds);
    }
    case '_list': {
      // https://hl7.org/fhir/R4/search.html#list: members of List/[id] are what its items point at.
      rejectModifier(name, modifier);
      if (values.length === 0) return undefined;
      const ids = values.map(unescapeValue);
      if (ids.some((id) => id.startsWith('$'))) throw notSupported('Functional lists ($current-...) are not supported in _list');
      return { op: 'has', sourceType: 'List', param: 'item', where: { op: 'id', ids } };
    }
    default:
      return ignore(name, 'unsupported', ctx, nested);
  }
}

/** `_has:Type:param:criterion=value`: some `Type` whose `param` points here matches. */
function compileHas(types: readonly string[], name: string, value: string, ctx: CriteriaContext, depth: number): Condition | undefined {
  const parts = name.split(':');
  const [, sourceType = '', refCode = ''] = parts;
  const inner = parts.slice(3).join(':');
  if (sourceType === '' || refCode === '' || inner === '') throw badRequest(`Invalid "${name}": expected _has:Type:parameter:criterion`);
  if (!ctx.registry.isResourceType(sourceType)) throw badRequest(`Unknown resource type "${sourceType}" in "${name}"`);
  const ref = ctx.registry.get(sourceType, refCode);
  if (ref?.type !== 'reference') throw badRequest(`"${refCode}" is not a reference parameter of ${sourceType} (in "${name}")`);
  if (types.length > 0 && !types.some((t) => ref.target.includes(t))) {
    throw badRequest(`${sourceType}.${refCode} does not refer to ${types.join(' or ')} (in "${name}")`);
  }
  const where = compileCriterion([sourceType], inner, value, ctx, depth + 1);
  return where && { op: 'has', sourceType, param: refCode, where };
}

/** `ref[:Type].criterion=value`: some target of `ref` matches the criterion. */
function compileChain(types: readonly string[], name: string, dot: number, value: string, ctx: CriteriaContext, depth: number): Condition | undefined {
  const [code = '', typeModifier, extra] = name.slice(0, dot).split(':');
  const rest = name.slice(dot + 1);
  if (extra !== undefined || rest === '') throw badRequest(`Invalid chained parameter "${name}"`);
  const param = resolveInScope(ctx.registry, types, code);
  if (!param) return ignore(name, 'unknown', ctx, depth > 0);
  if (param.type !== 'reference') throw badRequest(`"${code}" is not a reference parameter and cannot be chained (in "${name}")`);
  let candidates = param.targets;
  if (typeModifier !== undefined) {
    if (!param.targets.includes(typeModifier)) throw badRequest(`"${typeModifier}" is not a target type of "${code}" (in "${name}")`);
    candidates = [typeModifier];
  }
  const next = /^[^:.]*/.exec(rest)![0];
  const usable = rest.startsWith('_has:') ? candidates : candidates.filter((t) => SPECIAL.has(next) || ctx.registry.get(t, next) !== undefined);
  if (usable.length === 0) throw badRequest(`No target type of "${code}" has a search parameter "${next}" (in "${name}")`);
  // Group target types whose chained condition compiles the same, one chain node per group.
  const groups = new Map<string, { targetTypes: string[]; where: Condition }>();
  for (const t of usable) {
    const where = compileCriterion([t], rest, value, ctx, depth + 1);
    if (!where) return undefined;
    const key = JSON.stringify(where);
    const group = groups.get(key);
    if (group) group.targetTypes.push(t);
    else groups.set(key, { targetTypes: [t], where });
  }
  return or([...groups.values()].map((g) => ({ op: 'chain', param: code, targetTypes: g.targetTypes, where: g.where })));
}

/** `_filter=expression` (filter.ts): each comparison compiled as the criterion it stands for. */
function compileFilter(
  types: readonly string[],
  name: string,
  modifier: string | undefined,
  value: string,
  ctx: CriteriaContext,
  depth: number,
): Condition | undefined {
  rejectModifier(name, modifier);
  if (value.trim() === '') return undefined;
  return filterCondition(value, {
    typeOf: (code) => resolveInScope(ctx.registry, types, code)?.type,
    criterion: (criterion, text) => compileCriterion(types, criterion, text, ctx, depth + 1),
  });
}

/**
 * Compiles the criterion `name=value` for resources of `types` (empty: every type). Returns
 * undefined when it is ignored (an empty value, or an unknown parameter in lenient mode).
 */
export function compileCriterion(types: readonly string[], name: string, value: string, ctx: CriteriaContext, depth = 0): Condition | undefined {
  if (depth > MAX_NESTING) throw badRequest(`Chains and _has may nest at most ${MAX_NESTING} levels ("${name}")`);
  if (name === '_has' || name.startsWith('_has:')) return compileHas(types, name, value, ctx, depth);
  const dot = name.indexOf('.');
  if (dot >= 0) return compileChain(types, name, dot, value, ctx, depth);
  const colon = name.indexOf(':');
  const code = colon < 0 ? name : name.slice(0, colon);
  const modifier = colon < 0 ? undefined : name.slice(colon + 1);
  if (code === '_text' || code === '_content') return textCondition(code, name, modifier, value);
  if (code === '_filter') return compileFilter(types, name, modifier, value, ctx, depth);
  if (SPECIAL.has(code)) return compileSpecial(code, name, modifier, value, ctx, depth > 0);
  const param = resolveInScope(ctx.registry, types, code);
  if (!param) return ignore(name, 'unknown', ctx, depth > 0);
  if (!param.table) return ignore(name, 'unsupported', ctx, depth > 0);
  if (param.table === 'position') return nearCondition(param.code, name, modifier, value);
  return compileLeaf(param, name, modifier, value, ctx);
}
