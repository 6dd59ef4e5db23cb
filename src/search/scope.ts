/**
 * Parameter lookup for the resource types a (part of a) search applies to: one type, the
 * `_type` list of a system-level search, or none (every type: only the common parameters).
 *
 * https://hl7.org/fhir/R4/search.html#searchparam (search parameters for all resources)
 */
import { badRequest } from '../r4/errors.js';
import type { IndexTable } from '../storage/search-index.js';
import type { SearchParamComponent, SearchParamType, SearchRegistry } from './registry.js';

/** A search parameter as it applies across the types of a scope. */
export interface ParamInScope {
  code: string;
  type: SearchParamType;
  table: IndexTable | undefined;
  /** Union of the target types (reference parameters). */
  targets: string[];
  /** Composite components (from the first type; they agree across types). */
  components: SearchParamComponent[];
}

/**
 * The parameter `code` in the scope `types` (empty = every type), or undefined when some type of
 * the scope lacks it. A code whose parameter type differs between the types is a 400.
 */
export function resolveInScope(registry: SearchRegistry, types: readonly string[], code: string): ParamInScope | undefined {
  if (types.length === 0) {
    const common = registry.common(code);
    return common && { code, type: common.type, table: common.table, targets: [...common.target], components: [] };
  }
  const defs = types.map((t) => registry.get(t, code));
  if (defs.some((d) => d === undefined)) return undefined;
  const first = defs[0]!;
  for (const d of defs) {
    if (d!.type !== first.type) throw badRequest(`The parameter "${code}" has different types across ${types.join(', ')}`);
  }
  const targets = [...new Set(defs.flatMap((d) => d!.target))];
  return { code, type: first.type, table: first.table, targets, components: registry.componentsOf(first) };
}
