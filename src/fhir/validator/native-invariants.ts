/**
 * Native implementations of the R4 invariants that run on nearly every write (the DomainResource
 * rules, the common datatypes, the resources Synthea and US Core data are made of). Each one is
 * the FHIRPath expression transcribed with FHIRPath semantics: three-valued logic, an element
 * "exists" if it has a value or only extensions (`_x`), and an empty result is not a violation.
 * When an input falls outside what the transcription covers (a primitive given only by its `_x`
 * extension, a comparison needing UCUM conversion or partial-precision dates, a non-object where
 * an object belongs), the check returns {@link DEFER} and the expression is evaluated by
 * FHIRPath.js instead. test/unit/validator/invariants.test.ts compares every native check with
 * FHIRPath.js on the sample data and on generated inputs.
 *
 * A native check is used only when the definition's expression is exactly the one transcribed
 * here, so a changed definition falls back to FHIRPath.js rather than to a stale transcription.
 *
 * https://hl7.org/fhir/R4/conformance-rules.html#constraints
 * https://hl7.org/fhirpath/N1/#boolean-logic
 */

import { DATATYPES, DOMAIN_RESOURCE } from './native-datatypes.js';
import type { NativeInvariant } from './native-logic.js';
import { NARRATIVE } from './native-narrative.js';
import { RESOURCES } from './native-resources.js';

export { DEFER, type B3, type NativeCheck, type NativeEnv, type NativeInvariant } from './native-logic.js';

/** Every native check, by constraint key (a key may appear once per distinct expression). */
export const NATIVE_INVARIANTS: readonly NativeInvariant[] = [...DOMAIN_RESOURCE, ...DATATYPES, ...NARRATIVE, ...RESOURCES];

const byKey = new Map<string, NativeInvariant[]>();
for (const n of NATIVE_INVARIANTS) byKey.set(n.key, [...(byKey.get(n.key) ?? []), n]);

/** The native check transcribing exactly this constraint, if there is one. */
export function nativeInvariant(key: string, expression: string): NativeInvariant | undefined {
  return byKey.get(key)?.find((n) => n.expression === expression);
}
