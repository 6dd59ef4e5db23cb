/**
 * FHIRPath.js (HL7's FHIRPath engine, https://github.com/HL7/fhirpath.js) with the R4 model:
 * expressions compiled once per (model path, expression) and evaluated synchronously, with
 * `trace()` silenced. Results are read as FHIRPath Booleans.
 *
 * https://hl7.org/fhir/R4/fhirpath.html
 */
import fhirpath, { FP_Decimal } from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';

/** A FHIRPath Boolean result: true, false, or empty (null). */
export type B3 = boolean | null;

/** `%resource` and `%rootResource` (https://hl7.org/fhir/R4/fhirpath.html#variables). */
export interface FhirPathEnv {
  readonly resource: unknown;
  readonly rootResource: unknown;
}

type Compiled = (node: unknown, env: Record<string, unknown>) => unknown[];

const compiled = new Map<string, Compiled | Error>();
const silent = { traceFn: () => undefined };

/** Compiles once per (base, expression); a parse error is kept too, so it is not retried. */
export function compileFhirPath(base: string, expression: string): Compiled | Error {
  const cacheKey = `${base}\n${expression}`;
  let fn = compiled.get(cacheKey);
  if (!fn) {
    try {
      fn = fhirpath.compile({ base, expression }, r4, silent) as unknown as Compiled;
    } catch (error) {
      fn = error instanceof Error ? error : new Error(String(error));
    }
    compiled.set(cacheKey, fn);
  }
  return fn;
}

/**
 * A result read as a Boolean: empty is null, one Boolean is itself, one other item is true
 * (https://hl7.org/fhirpath/N1/#singleton-evaluation-of-collections); several items cannot be
 * read (undefined).
 */
export function toB3(result: unknown[]): B3 | undefined {
  if (result.length === 0) return null;
  if (result.length > 1) return undefined;
  const [item] = result;
  return typeof item === 'boolean' ? item : true;
}

/** Evaluates `expression` on `node` (an element at model path `base`); undefined if it fails to compile or throws. */
export function evaluateFhirPath(base: string, expression: string, node: unknown, env: FhirPathEnv): B3 | undefined {
  const fn = compileFhirPath(base, expression);
  if (fn instanceof Error) return undefined;
  const vars = { resource: env.resource, rootResource: env.rootResource };
  try {
    return toB3(fn(node, vars));
  } catch {
    // FHIRPath.js 5.2 fails on a bare JSON number as the context (`ctx.getDecimal is not a
    // function`); its own decimal type is accepted.
    if (typeof node !== 'number') return undefined;
    try {
      return toB3(fn(FP_Decimal.getDecimal(node), vars));
    } catch {
      return undefined;
    }
  }
}
