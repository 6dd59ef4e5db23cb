/**
 * The general path: SearchParameter expressions evaluated by FHIRPath.js with the R4 model,
 * synchronously (`resolve() is T` is rewritten, see expression-text.ts).
 *
 * https://hl7.org/fhir/R4/fhirpath.html
 */
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { REF_IS_FUNCTION, fixExpression, rewriteResolve } from './expression-text.js';
import { normalizeTypeName } from './index-values.js';
import { referenceTargetType } from './references.js';

/** A value found by an expression: the JSON value, its FHIR type and its model path. */
export interface Focus {
  value: unknown;
  type: string;
  /** Model path of the value (`Observation.component`, `Quantity`): the base for relative expressions. */
  path: string;
}

/** Evaluates from `focus` (a resource or, for relative expressions, an element); `%resource` is `resource`. */
export type FhirPathEvaluator = (focus: unknown, resource: unknown) => Focus[];

interface Node {
  data: unknown;
  path: string | null;
}

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && 'data' in v && 'parentResNode' in v;

/** FHIRPath.js wraps decimals and integers of nodes in FP_Decimal; the converters want numbers. */
function plain(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return value;
}

/**
 * Compiles `expression` (absolute, or relative to elements at model path `base`). Evaluation
 * errors (FHIRPath.js rejects some data shapes) yield no values rather than failing the write.
 */
export function compileFhirPath(expression: string, isResourceType: (t: string) => boolean, base?: string): FhirPathEvaluator {
  const text = rewriteResolve(fixExpression(expression));
  const refIs = (inputs: unknown[], type: string): boolean[] => inputs.map((n) => referenceTargetType(fhirpath.util.valData(n), isResourceType) === type);
  const compiled = fhirpath.compile(base ? { base, expression: text } : text, r4, {
    resolveInternalTypes: false,
    userInvocationTable: { [REF_IS_FUNCTION]: { fn: refIs, arity: { 1: ['String'] }, internalStructures: true } },
  });
  return (focus, resource) => {
    let out: unknown[];
    try {
      out = compiled(focus, { resource }) as unknown[];
    } catch {
      return [];
    }
    const types = fhirpath.types(out);
    return out.map((n, i) => {
      const type = normalizeTypeName(types[i] ?? '');
      return isNode(n) ? { value: plain(n.data), type, path: n.path ?? type } : { value: plain(n), type, path: type };
    });
  };
}
