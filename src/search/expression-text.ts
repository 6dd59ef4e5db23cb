/**
 * Text-level handling of SearchParameter FHIRPath expressions: splitting unions and the small
 * documented fixes applied before evaluation.
 *
 * https://hl7.org/fhir/R4/searchparameter.html (SearchParameter.expression)
 */

/** Splits `a | b | (c as T)` on the top-level `|` (not inside parentheses or string literals). */
export function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === "'") quote = false;
    } else if (ch === "'") quote = true;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

/**
 * Fixes applied to official expressions before either evaluator sees them.
 * - `as(DateTime)`: Observation-code-value-date's component says `value.as(DateTime)`, which is
 *   System.DateTime and matches no FHIR element in FHIRPath.js; the intent is FHIR `dateTime`.
 * - `(A.b as T)`: the `as` operator requires a single input ("Expected singleton"), so
 *   `(Observation.component.value as Quantity)` fails on every Observation with two components.
 *   The intent is a filter, which is `A.b.ofType(T)` (what R5's SearchParameters say).
 */
const EXPRESSION_FIXES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(as|ofType|is)\(DateTime\)/g, '$1(dateTime)'],
  [/\((%?[A-Za-z][A-Za-z0-9_.]*)\s+as\s+([A-Za-z]+)\)/g, '$1.ofType($2)'],
];

/** The expression with {@link EXPRESSION_FIXES} applied. */
export function fixExpression(expression: string): string {
  let result = expression;
  for (const [pattern, replacement] of EXPRESSION_FIXES) result = result.replace(pattern, replacement);
  return result;
}

/** Name of the FHIRPath function that replaces `resolve() is T` (see {@link rewriteResolve}). */
export const REF_IS_FUNCTION = 'bedsideRefIs';

/**
 * `X.where(resolve() is T)` needs fhirpath's asynchronous resolve(); search only needs "keep the
 * references whose target type is T", so it becomes `X.where(bedsideRefIs('T'))`, a synchronous
 * user function that reads the type from the reference itself.
 */
export function rewriteResolve(expression: string): string {
  return expression.replace(/resolve\(\)\s+is\s+([A-Za-z]+)/g, `${REF_IS_FUNCTION}('$1')`);
}
