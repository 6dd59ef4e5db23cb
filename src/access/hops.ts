/**
 * The policy on every hop of a query. A search condition may step from the searched type into
 * others: a chained parameter (`subject:Patient.family=x`) tests resources of the target type,
 * `_has` tests resources of the source type, nested to any depth. Each such hop is limited here
 * to what the token may search for that type (its compartment and granular filters), so the
 * answer, its total and whether it is empty depend only on resources the token may see.
 *
 * A hop into a type the token may not search is refused with the same 403 (insufficient_scope)
 * as a direct search of that type would get. A chain whose parameter reaches several types
 * (`subject.name` reaches Patient, Group, Device, Location) is limited to the ones the token may
 * search, and refused when there are none.
 *
 * https://hl7.org/fhir/R4/search.html#chaining and
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import { FhirError } from '../r4/errors.js';
import type { Condition } from '../storage/search-index.js';
import type { AccessPolicy } from './policy.js';

/** Nested hops deeper than this are refused (the search parser allows less). */
const MAX_HOPS = 8;

/**
 * `condition` with the policy's search filter ANDed into every chained and reverse-chained hop.
 * Returns the same object when the condition has no hop.
 */
export async function limitHops(condition: Condition, policy: AccessPolicy, depth = 0): Promise<Condition> {
  if (isLeaf(condition)) return condition;
  switch (condition.op) {
    case 'and':
    case 'or': {
      const of = await Promise.all(condition.of.map((c) => limitHops(c, policy, depth)));
      return of.every((c, i) => c === condition.of[i]) ? condition : { op: condition.op, of };
    }
    case 'not': {
      const of = await limitHops(condition.of, policy, depth);
      return of === condition.of ? condition : { op: 'not', of };
    }
    case 'chain': {
      checkDepth(depth);
      const types = searchableTypes(condition.targetTypes, policy, `The chained parameter "${condition.param}"`);
      const inner = await limitHops(condition.where, policy, depth + 1);
      const hops: Condition[] = [];
      for (const type of types) {
        const where = and(inner, await policy.searchFilter(type, 'search'));
        if (where.op !== 'false') hops.push({ op: 'chain', param: condition.param, targetTypes: [type], where });
      }
      if (hops.length === 0) return { op: 'false' };
      return hops.length === 1 ? hops[0]! : { op: 'or', of: hops };
    }
    case 'has': {
      checkDepth(depth);
      searchableTypes([condition.sourceType], policy, `_has:${condition.sourceType}:${condition.param}`);
      const where = and(await limitHops(condition.where, policy, depth + 1), await policy.searchFilter(condition.sourceType, 'search'));
      return where.op === 'false' ? where : { op: 'has', sourceType: condition.sourceType, param: condition.param, where };
    }
    default:
      return stepsUnknown(condition);
  }
}

/** Whether a condition steps into other resource types at all (most do not: the fast path). */
export function hasHops(condition: Condition): boolean {
  if (isLeaf(condition)) return false;
  switch (condition.op) {
    case 'and':
    case 'or':
      return condition.of.some(hasHops);
    case 'not':
      return hasHops(condition.of);
    case 'chain':
    case 'has':
      return true;
    default:
      return stepsUnknown(condition);
  }
}

/** The condition kinds that test the resource's own rows and columns, never another resource. */
type Leaf = Extract<Condition, { op: 'row' | 'missing' | 'id' | 'type' | 'lastUpdated' | 'near' | 'true' | 'false' }>;
const LEAF_KINDS: Readonly<Record<Leaf['op'], true>> = {
  row: true,
  missing: true,
  id: true,
  type: true,
  lastUpdated: true,
  near: true,
  true: true,
  false: true,
};

function isLeaf(condition: Condition): condition is Leaf {
  return Object.hasOwn(LEAF_KINDS, condition.op);
}

/**
 * A condition kind this file does not know: it cannot tell whether it steps into another type,
 * so it refuses rather than let a hop through unlimited. (A compile error first: the switches
 * above list every kind.)
 */
function stepsUnknown(condition: never): never {
  throw new FhirError(500, 'exception', `The access layer does not know the search condition "${(condition as { op: string }).op}"`);
}

/**
 * The types of `types` the token may search; throws the direct search's 403 when there is none.
 * `what` names the hop in the refusal.
 */
export function searchableTypes(types: readonly string[], policy: AccessPolicy, what: string): string[] {
  const allowed = types.filter((t) => policy.permits(t, 'search'));
  if (allowed.length > 0) return allowed;
  try {
    policy.assertAllowed(types[0], 'search');
  } catch (error) {
    if (error instanceof FhirError && types.length > 1) {
      const message = `${what} reaches ${types.join(', ')}, none of which the token may search`;
      error.issues[0]!.diagnostics = message;
      const challenge = error.headers['www-authenticate'];
      if (challenge) error.headers['www-authenticate'] = challenge.replace(/error_description="[^"]*"/, `error_description="${message}"`);
    } else if (error instanceof FhirError) {
      error.issues[0]!.diagnostics = `${what} reaches ${types[0]}: ${error.issues[0]!.diagnostics}`;
    }
    throw error;
  }
  // permits() said no but assertAllowed did not throw: refuse anyway, never widen.
  throw new FhirError(403, 'forbidden', `${what} reaches types the token may not search`);
}

function checkDepth(depth: number): void {
  if (depth >= MAX_HOPS) throw new FhirError(400, 'too-costly', `Chains and _has may be nested at most ${MAX_HOPS} deep`);
}

function and(inner: Condition, filter: Condition | undefined): Condition {
  if (!filter || filter.op === 'true') return inner;
  if (filter.op === 'false' || inner.op === 'false') return { op: 'false' };
  if (inner.op === 'true') return filter;
  return { op: 'and', of: [inner, filter] };
}
