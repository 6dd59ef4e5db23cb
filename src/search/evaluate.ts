/**
 * The reference semantics of {@link Condition} and {@link SortKey}: a small in-memory evaluator
 * over index rows. It is the oracle of the search tests (query → expected matches) and of the
 * stores' parity tests, so it favours being obviously right over being fast.
 *
 * Row semantics: a `row` leaf holds when some row of the parameter satisfies all predicates.
 * Comparisons with a null/absent field are false (as in SQL), except `null`/`notnull`.
 *
 * https://hl7.org/fhir/R4/search.html
 */
import type { Resource } from 'fhir/r4';
import { greatCircleMeters } from '../storage/geo.js';
import type { Condition, FieldPredicate, IndexEntry, PositionEntry, SortKey } from '../storage/search-index.js';
import { extractIndex, type ExtractOptions } from './extract.js';

/** A resource as the evaluator sees it: identity, lastUpdated and its index rows. */
export interface IndexedResource {
  resourceType: string;
  id: string;
  /** Epoch ms. */
  lastUpdated: number;
  index: readonly IndexEntry[];
}

/** Access to the other resources, for chains and `_has`. */
export interface ResourceLookup {
  get(resourceType: string, id: string): IndexedResource | undefined;
  ofType(resourceType: string): Iterable<IndexedResource>;
}

function fieldOf(row: IndexEntry, p: FieldPredicate): unknown {
  if (p.component !== undefined) {
    return row.table === 'composite' ? (row.components[p.component] as Record<string, unknown> | undefined)?.[p.field] : undefined;
  }
  return (row as unknown as Record<string, unknown>)[p.field];
}

function ordered(a: unknown, b: unknown): a is number | string {
  return (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
}

/** Whether one predicate holds on one row. */
export function testPredicate(row: IndexEntry, p: FieldPredicate): boolean {
  const v = fieldOf(row, p);
  const present = v !== null && v !== undefined;
  const want = p.value;
  switch (p.cmp) {
    case 'null':
      return !present;
    case 'notnull':
      return present;
    case 'eq':
      return present && v === want;
    case 'ne':
      return present && v !== want;
    case 'lt':
      return ordered(v, want) && v < want!;
    case 'le':
      return ordered(v, want) && v <= want!;
    case 'gt':
      return ordered(v, want) && v > want!;
    case 'ge':
      return ordered(v, want) && v >= want!;
    case 'prefix':
      return typeof v === 'string' && typeof want === 'string' && v.startsWith(want);
    case 'contains':
      return typeof v === 'string' && typeof want === 'string' && v.includes(want);
    case 'suffix':
      return typeof v === 'string' && typeof want === 'string' && v.endsWith(want);
    case 'phrase':
      // The words one after another, between spaces or the ends of the text.
      return typeof v === 'string' && Array.isArray(want) && want.length > 0 && ` ${v} `.includes(` ${want.join(' ')} `);
    case 'in':
      return present && Array.isArray(want) && (want as unknown[]).includes(v);
  }
}

function pointsAt(row: IndexEntry, param: string, target: IndexedResource): boolean {
  return row.table === 'reference' && row.param === param && row.targetType === target.resourceType && row.targetId === target.id;
}

/** Whether `resource` satisfies `condition`; chains and `_has` look other resources up in `lookup`. */
export function matches(condition: Condition, resource: IndexedResource, lookup: ResourceLookup): boolean {
  switch (condition.op) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'and':
      return condition.of.every((c) => matches(c, resource, lookup));
    case 'or':
      return condition.of.some((c) => matches(c, resource, lookup));
    case 'not':
      return !matches(condition.of, resource, lookup);
    case 'row':
      return resource.index.some(
        (row) => row.table === condition.table && row.param === condition.param && condition.where.every((p) => testPredicate(row, p)),
      );
    case 'missing': {
      const has = resource.index.some((row) => row.table === condition.table && row.param === condition.param);
      return condition.missing ? !has : has;
    }
    case 'id':
      return condition.ids.includes(resource.id);
    case 'type':
      return condition.types.includes(resource.resourceType);
    case 'lastUpdated':
      return condition.where.every((w) =>
        testPredicate({ table: 'date', param: '', low: resource.lastUpdated, high: resource.lastUpdated }, { field: 'low', cmp: w.cmp, value: w.value }),
      );
    case 'chain':
      return resource.index.some((row) => {
        if (row.table !== 'reference' || row.param !== condition.param || !row.targetType || !row.targetId) return false;
        if (!condition.targetTypes.includes(row.targetType)) return false;
        const target = lookup.get(row.targetType, row.targetId);
        return target !== undefined && matches(condition.where, target, lookup);
      });
    case 'has':
      for (const source of lookup.ofType(condition.sourceType)) {
        if (source.index.some((row) => pointsAt(row, condition.param, resource)) && matches(condition.where, source, lookup)) return true;
      }
      return false;
    case 'near':
      return distances(resource, condition.param, condition).some((d) => d <= condition.distance);
  }
  return unreachable(condition);
}

/**
 * The search parameters whose index rows `condition` reads on the resource itself (not those of
 * chained or `_has` hops), so an in-memory check can extract only those.
 */
export function conditionParams(condition: Condition, out = new Set<string>()): Set<string> {
  switch (condition.op) {
    case 'and':
    case 'or':
      for (const c of condition.of) conditionParams(c, out);
      break;
    case 'not':
      conditionParams(condition.of, out);
      break;
    case 'row':
    case 'missing':
    case 'chain':
    case 'near':
      out.add(condition.param);
      break;
    default:
      break;
  }
  return out;
}

function unreachable(value: never): never {
  throw new Error(`Unexpected condition ${JSON.stringify(value)}`);
}

/** Great-circle metres from the point to each position row of `param`. */
function distances(resource: IndexedResource, param: string, point: { latitude: number; longitude: number }): number[] {
  return resource.index
    .filter((row) => row.table === 'position' && row.param === param)
    .map((row) => {
      const position = row as PositionEntry;
      return greatCircleMeters(position.latitude, position.longitude, point.latitude, point.longitude);
    });
}

function sortValue(resource: IndexedResource, key: SortKey): number | string | undefined {
  if (key.by === 'distance') {
    const all = distances(resource, key.param, key);
    return all.length === 0 ? undefined : key.descending ? Math.max(...all) : Math.min(...all);
  }
  if (key.by !== 'param') return key.by === 'id' ? resource.id : resource.lastUpdated;
  let best: number | string | undefined;
  for (const row of resource.index) {
    if (row.table !== key.table || row.param !== key.param) continue;
    const v = (row as unknown as Record<string, unknown>)[key.field];
    if (typeof v !== 'number' && typeof v !== 'string') continue;
    if (best === undefined || (key.descending ? v > best : v < best)) best = v;
  }
  return best;
}

const compareValues = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A comparator for `keys`: ascending keys use the smallest value of the parameter, descending
 * ones the largest; resources without a value come last; ties end in type and id order.
 * https://hl7.org/fhir/R4/search.html#sort
 */
export function sortComparator(keys: readonly SortKey[]): (a: IndexedResource, b: IndexedResource) => number {
  return (a, b) => {
    for (const key of keys) {
      const va = sortValue(a, key);
      const vb = sortValue(b, key);
      if (va === undefined && vb === undefined) continue;
      if (va === undefined) return 1;
      if (vb === undefined) return -1;
      const c = compareValues(va, vb);
      if (c !== 0) return key.descending ? -c : c;
    }
    return compareValues(a.resourceType, b.resourceType) || compareValues(a.id, b.id);
  };
}

/** An in-memory set of indexed resources: the evaluator's {@link ResourceLookup}. */
export class MemoryIndex implements ResourceLookup {
  private readonly byType = new Map<string, Map<string, IndexedResource>>();

  /** Indexes `resources` with {@link extractIndex}; lastUpdated comes from meta.lastUpdated (else 0). */
  static of(resources: readonly Resource[], options: ExtractOptions = {}): MemoryIndex {
    const index = new MemoryIndex();
    for (const r of resources) {
      const lastUpdated = r.meta?.lastUpdated ? Date.parse(r.meta.lastUpdated) : 0;
      index.add({ resourceType: r.resourceType, id: r.id ?? '', lastUpdated, index: extractIndex(r, options) });
    }
    return index;
  }

  add(resource: IndexedResource): void {
    let map = this.byType.get(resource.resourceType);
    if (!map) this.byType.set(resource.resourceType, (map = new Map()));
    map.set(resource.id, resource);
  }

  get(resourceType: string, id: string): IndexedResource | undefined {
    return this.byType.get(resourceType)?.get(id);
  }

  *ofType(resourceType: string): Iterable<IndexedResource> {
    yield* this.byType.get(resourceType)?.values() ?? [];
  }

  /** The resources of `types` (undefined: all) matching `where`, sorted by `sort`. */
  search(types: readonly string[] | undefined, where: Condition, sort: readonly SortKey[] = []): IndexedResource[] {
    const candidates = (types ?? [...this.byType.keys()]).flatMap((t) => [...this.ofType(t)]);
    return candidates.filter((r) => matches(where, r, this)).sort(sortComparator(sort));
  }
}
