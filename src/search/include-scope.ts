/**
 * Which `_include` / `_revinclude` can add anything to a search. `Patient?_include=Observation:patient`
 * names a source type the search never returns, and `Patient?_revinclude=Encounter:practitioner`
 * a parameter that never points at a Patient: such a parameter is as unusable as an unknown one.
 *
 * Includes apply to the matches; `:iterate` ones also to what other includes added, so an
 * iterating include is usable when its source type is reachable through the others.
 *
 * https://hl7.org/fhir/R4/search.html#include
 */
import type { SearchRegistry } from './registry.js';
import type { IncludeSpec } from './types.js';

export interface IncludeParam {
  kind: '_include' | '_revinclude';
  spec: IncludeSpec;
}

/**
 * The includes among `params` that cannot contribute to a search over `types` (undefined: every
 * type, where each is usable but `_revinclude=*`), each with the reason.
 */
export function unusableIncludes(types: readonly string[] | undefined, params: readonly IncludeParam[], registry: SearchRegistry): Map<IncludeParam, string> {
  const unusable = new Map<IncludeParam, string>();
  for (const param of params) {
    if (param.kind === '_revinclude' && param.spec.sourceType === '*') unusable.set(param, 'a reverse include needs a source type');
  }
  if (types === undefined) return unusable;
  const base = new Set(types);
  const reachable = new Set(types);
  const usable = new Set<IncludeParam>();
  // A fixed point: each usable include makes its output types reachable for iterating ones.
  for (let changed = true; changed; ) {
    changed = false;
    for (const param of params) {
      if (usable.has(param) || unusable.has(param)) continue;
      if (!appliesTo(param, param.spec.iterate ? reachable : base, registry)) continue;
      usable.add(param);
      changed = true;
      for (const type of outputTypes(param, registry)) reachable.add(type);
    }
  }
  for (const param of params) {
    if (usable.has(param) || unusable.has(param)) continue;
    unusable.set(param, reason(param, types, registry));
  }
  return unusable;
}

function appliesTo({ kind, spec }: IncludeParam, present: ReadonlySet<string>, registry: SearchRegistry): boolean {
  if (kind === '_include') return spec.sourceType === '*' || present.has(spec.sourceType);
  if (spec.targetType !== undefined) return present.has(spec.targetType);
  return referenceTargets(spec, registry).some((t) => present.has(t));
}

/** The types an include adds: the targets of `_include`, the source of `_revinclude`. */
function outputTypes({ kind, spec }: IncludeParam, registry: SearchRegistry): string[] {
  if (kind === '_revinclude') return [spec.sourceType];
  if (spec.targetType !== undefined) return [spec.targetType];
  if (spec.sourceType === '*') return [...registry.resourceTypes];
  return referenceTargets(spec, registry);
}

/** The target types of the reference parameter(s) a spec names (`*`: all of its source type's). */
function referenceTargets(spec: IncludeSpec, registry: SearchRegistry): string[] {
  const defs = spec.param === '*' ? registry.paramsFor(spec.sourceType).filter((p) => p.type === 'reference') : [registry.get(spec.sourceType, spec.param)];
  return [...new Set(defs.flatMap((d) => d?.target ?? []))];
}

function reason({ kind, spec }: IncludeParam, types: readonly string[], registry: SearchRegistry): string {
  const searched = types.join(', ');
  if (kind === '_include') return `it applies to ${spec.sourceType} resources, which this search over ${searched} does not return`;
  const targets = spec.targetType !== undefined ? [spec.targetType] : referenceTargets(spec, registry);
  return `${spec.sourceType}:${spec.param} refers to ${targets.join(', ') || 'no resource type'}, never to ${searched}`;
}
