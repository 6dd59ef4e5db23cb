/**
 * The error-level invariants of the R4 definitions (ElementDefinition.constraint), compiled once
 * per (element, constraint): a native transcription when there is one (native-invariants.ts),
 * otherwise the FHIRPath expression compiled by FHIRPath.js with the R4 model. ele-1 and ext-1
 * hold everywhere and are checked by the walker itself (walk.ts).
 *
 * Semantics (https://hl7.org/fhir/R4/conformance-rules.html#constraints): the expression is
 * evaluated with the element as its context, `%resource` and `%rootResource` set; only a result
 * of `false` is a violation. An empty result means the rule does not apply (e.g. ras-2 on a
 * prediction without a probability). A single non-Boolean item counts as true (singleton
 * evaluation, https://hl7.org/fhirpath/N1/#singleton-evaluation-of-collections); several items
 * or an evaluation error mean the rule could not be evaluated: the walker reports a warning.
 *
 * Every error-level R4 constraint is evaluated. FHIRPath.js cannot evaluate two of them, which
 * are therefore native only: dom-3 (`descendants().as(canonical)` applies `as()` to a collection)
 * and ctm-1 (`resolve()` would fetch the referenced resource).
 */
import type { ConstraintDef } from './definitions.js';
import { compileFhirPath, evaluateFhirPath, type B3 } from './fhirpath.js';
import { DEFER, nativeInvariant, type NativeEnv } from './native-invariants.js';

export interface Invariant {
  readonly key: string;
  readonly human: string;
  readonly expression: string;
  /** Model path of the context (`Quantity`, `Observation.referenceRange`). */
  readonly base: string;
  /** Which engine evaluates it: a native check (deferring to FHIRPath.js for rare inputs) or FHIRPath.js. */
  readonly engine: 'native' | 'fhirpath';
  /** The FHIRPath result (true, false, or null for empty); undefined if it could not be evaluated. */
  evaluate(node: unknown, env: NativeEnv): B3 | undefined;
}

/** Checked by the walker natively, everywhere. */
export const WALKER_INVARIANTS: ReadonlySet<string> = new Set(['ele-1', 'ext-1']);

/**
 * The evaluator of one constraint at model path `base` (`Quantity`, `Observation.referenceRange`),
 * or undefined if the walker checks it (ele-1, ext-1).
 */
export function compileInvariant(constraint: ConstraintDef, base: string): Invariant | undefined {
  const { key, human, expression } = constraint;
  if (WALKER_INVARIANTS.has(key)) return undefined;
  const native = nativeInvariant(key, expression);
  if (native) {
    const check = native.check;
    const fallback = native.nativeOnly ? () => undefined : (node: unknown, env: NativeEnv) => evaluateFhirPath(base, expression, node, env);
    return {
      key,
      human,
      expression,
      base,
      engine: 'native',
      evaluate(node, env) {
        if (!native.onValue && (typeof node !== 'object' || node === null || Array.isArray(node))) return fallback(node, env);
        let result: B3 | undefined;
        try {
          result = check(node as Record<string, unknown>, env);
        } catch {
          result = DEFER;
        }
        return result === DEFER ? fallback(node, env) : result;
      },
    };
  }
  compileFhirPath(base, expression);
  return { key, human, expression, base, engine: 'fhirpath', evaluate: (node, env) => evaluateFhirPath(base, expression, node, env) };
}
