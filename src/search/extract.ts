/**
 * Index extraction: the search index rows of a resource, one or more per search parameter of its
 * type, written by the stores beside the resource. Expressions are compiled once per resource
 * type; simple ones run on the fast evaluator, the rest on FHIRPath.js.
 *
 * Not indexed: `special` parameters other than `near`, `_query` (no expression), `_id` and
 * `_lastUpdated` (resource-level columns in the stores), and contained resources on their own
 * (their words are part of `_content`). `_text` and `_content` have no expression: their words
 * come from text.ts.
 *
 * https://hl7.org/fhir/R4/search.html#ptypes
 */
import { fieldsOf } from '../storage/index-schema.js';
import type { CompositeComponent, IndexEntry, IndexTable } from '../storage/search-index.js';
import { ctxOf } from './element-model.js';
import { fixExpression, splitUnion } from './expression-text.js';
import { compileSteps, parseFastPath, resourceItem, type Item } from './fast-path.js';
import { compileFhirPath } from './fhirpath-eval.js';
import { CONVERTERS, toComponents, type ValueContext } from './index-values.js';
import { getSearchRegistry, type SearchParamDef, type SearchRegistry } from './registry.js';
import { TEXT_SOURCES } from './text.js';

/**
 * The version of what extractIndex makes. Stores record the version their rows were made with,
 * and a different one makes the server reindex at start-up (src/ingest/reindex.ts), so a
 * change to what resources' rows are must move it. 1: until full-text and position rows;
 * 2: with `_text`, `_content` and `near`.
 */
export const INDEX_VERSION = 2;

/** Options of {@link extractIndex}. */
export interface ExtractOptions {
  /** Our FHIR base URL (no trailing slash): absolute references to it are indexed as `Type/id`. */
  baseUrl?: string;
  /**
   * `fast` (default): the fast evaluator where it applies, FHIRPath.js elsewhere.
   * `fhirpath`: FHIRPath.js for everything (the reference the fast path is tested against).
   */
  engine?: 'fast' | 'fhirpath';
  /** Only these parameters (e.g. the few an access check needs); all when absent. */
  params?: ReadonlySet<string>;
  /** The parameters to index (R4 plus loaded packages'); the R4 registry when absent. */
  registry?: SearchRegistry;
}

type ValueTable = Exclude<IndexTable, 'composite'>;
/** Values selected from `focus` (`%resource` is `resource`), each with its model context. */
type Evaluate = (focus: Item, resource: Item) => Item[];

interface ParamPlan {
  code: string;
  table: IndexTable;
  evaluate: Evaluate;
  components?: Array<{ table: ValueTable; evaluate: Evaluate }>;
  /** Full-text parameters without an expression: where their words come from (text.ts). */
  words?: (resource: Record<string, unknown>) => string[];
}

/** Parameters whose values are resource-level columns rather than index rows. */
const RESOURCE_COLUMNS = new Set(['_id', '_lastUpdated']);

/** Plans per registry (a package's parameters make a new one), engine and resource type. */
const plansByRegistry = new WeakMap<SearchRegistry, { fast: Map<string, ParamPlan[]>; fhirpath: Map<string, ParamPlan[]> }>();

const isResourceType = (t: string): boolean => getSearchRegistry().isResourceType(t);

function fromFhirPath(expression: string, base: string | undefined): Evaluate {
  const evaluate = compileFhirPath(expression, isResourceType, base);
  return (focus, resource) => evaluate(focus.v, resource.v).map((f) => ({ v: f.value, c: ctxOf(f.type, f.path) }));
}

/**
 * Compiles an expression. With the fast engine each union part runs on the fast evaluator when
 * it can and on FHIRPath.js otherwise; `base` makes it relative to elements at that model path.
 */
function compileExpression(expression: string, engine: 'fast' | 'fhirpath', base?: string): Evaluate {
  // Union parts are evaluated separately and concatenated: FHIRPath's `|` also removes items it
  // deems equal (1e-245 g "equals" 1e-22 g at its decimal precision), which search must not do;
  // repeated identical rows are removed later, exactly.
  const parts = splitUnion(fixExpression(expression)).map((part) => {
    const steps = engine === 'fast' ? parseFastPath(part, base !== undefined, isResourceType) : undefined;
    return steps ? compileSteps(steps, isResourceType) : fromFhirPath(part, base);
  });
  if (parts.length === 1) return parts[0]!;
  return (focus, resource) => parts.flatMap((p) => p(focus, resource));
}

function planParam(registry: SearchRegistry, def: SearchParamDef, type: string, engine: 'fast' | 'fhirpath'): ParamPlan | undefined {
  if (!def.table || RESOURCE_COLUMNS.has(def.code)) return undefined;
  const expression = registry.expressionFor(def, type);
  const words = def.table === 'text' ? TEXT_SOURCES[def.code] : undefined;
  if (words) return { code: def.code, table: 'text', evaluate: () => [], words };
  if (!expression) return undefined;
  const plan: ParamPlan = { code: def.code, table: def.table, evaluate: compileExpression(expression, engine) };
  if (def.table !== 'composite') return plan;
  const components = registry.componentsOf(def);
  if (components.length === 0) return undefined;
  // Components are relative to the composite's elements; their model path is known only at run
  // time (e.g. `Observation | Observation.component`), so compile per base path on first use.
  const compiled = components.map((c) => {
    const table = c.param.table;
    if (!table || table === 'composite') return undefined;
    const byBase = new Map<string, Evaluate>();
    const evaluate: Evaluate = (focus, resource) => {
      let fn = byBase.get(focus.c.path);
      if (!fn) byBase.set(focus.c.path, (fn = compileExpression(c.expression, engine, focus.c.path)));
      return fn(focus, resource);
    };
    return { table, evaluate };
  });
  if (compiled.some((c) => c === undefined)) return undefined;
  plan.components = compiled as Array<{ table: ValueTable; evaluate: Evaluate }>;
  return plan;
}

function plansFor(registry: SearchRegistry, type: string, engine: 'fast' | 'fhirpath'): ParamPlan[] {
  let plans = plansByRegistry.get(registry);
  if (!plans) plansByRegistry.set(registry, (plans = { fast: new Map(), fhirpath: new Map() }));
  const cache = plans[engine];
  let list = cache.get(type);
  if (!list) {
    list = registry
      .paramsFor(type)
      .map((def) => planParam(registry, def, type, engine))
      .filter((p): p is ParamPlan => p !== undefined);
    cache.set(type, list);
  }
  return list;
}

/**
 * Why `def` cannot be indexed on `type` (its expression does not compile), or undefined when it
 * can. Package parameters are checked with it before they are put in force.
 */
export function unindexableReason(registry: SearchRegistry, def: SearchParamDef, type: string): string | undefined {
  try {
    planParam(registry, def, type, 'fhirpath');
    planParam(registry, def, type, 'fast');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function compositeRows(plan: ParamPlan, root: Item, ctx: ValueContext, out: IndexEntry[]): void {
  for (const focus of plan.evaluate(root, root)) {
    const parts: CompositeComponent[][] = [];
    for (const component of plan.components!) {
      const values = component.evaluate(focus, root).flatMap((f) => toComponents(component.table, f.c.type, f.v, ctx));
      if (values.length === 0) break;
      parts.push(values);
    }
    if (parts.length !== plan.components!.length) continue;
    let combos: CompositeComponent[][] = [[]];
    for (const values of parts) combos = combos.flatMap((prefix) => values.map((v) => [...prefix, v]));
    for (const components of combos) out.push({ table: 'composite', param: plan.code, components });
  }
}

/** The one row of a full-text parameter: its words in order (none when there are no words). */
function textRow(param: string, words: string[], out: IndexEntry[]): void {
  if (words.length > 0) out.push({ table: 'text', param, terms: words.join(' ') });
}

/** What tells two rows of one parameter apart: their fields (storage/index-schema.ts), absent as null. */
function rowKey(row: IndexEntry): string {
  if (row.table === 'composite') return JSON.stringify(row.components);
  const values = row as unknown as Record<string, unknown>;
  return JSON.stringify(fieldsOf(row.table).map((f) => values[f.name] ?? null));
}

/** Removes repeated rows of one parameter (out[start..]), keeping the first of each. */
function dedupe(out: IndexEntry[], start: number): void {
  const seen = new Set<string>();
  let write = start;
  for (let read = start; read < out.length; read++) {
    const key = rowKey(out[read]!);
    if (seen.has(key)) continue;
    seen.add(key);
    out[write++] = out[read]!;
  }
  out.length = write;
}

/**
 * The index rows of `resource`: for every search parameter of its type, the rows of each value
 * its expression selects (see index-values.ts for the conversions). Unknown resource types give
 * no rows. Repeated identical rows of one parameter are written once.
 */
export function extractIndex(resource: { resourceType: string }, options: ExtractOptions = {}): IndexEntry[] {
  const type = resource.resourceType;
  if (!isResourceType(type)) return [];
  const ctx: ValueContext = { baseUrl: options.baseUrl, isResourceType };
  const root = resourceItem(resource);
  const out: IndexEntry[] = [];
  for (const plan of plansFor(options.registry ?? getSearchRegistry(), type, options.engine ?? 'fast')) {
    if (options.params && !options.params.has(plan.code)) continue;
    const start = out.length;
    if (plan.words) textRow(plan.code, plan.words(resource as Record<string, unknown>), out);
    else if (plan.components) compositeRows(plan, root, ctx, out);
    else {
      const convert = CONVERTERS[plan.table as ValueTable];
      for (const f of plan.evaluate(root, root)) convert(plan.code, f.c.type, f.v, ctx, out);
    }
    if (out.length - start > 1) dedupe(out, start);
  }
  return out;
}
