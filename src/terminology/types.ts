/**
 * The shapes the terminology service answers with (src/terminology/): used by `$validate-code`,
 * by the token search modifiers `:in`/`:not-in`/`:above`/`:below`, and by profile validation
 * for bindings.
 * https://hl7.org/fhir/R4/terminology-service.html
 */

/** A code to check: system, code and optionally display (a Coding, or a `code` with its system). */
export interface CodeToCheck {
  system?: string;
  code: string;
  display?: string;
  version?: string;
}

/**
 * The answer of a binding check (`validateCode(valueSetUrl, coding)`):
 * - `true`: the code is in the value set;
 * - `false`: it is not (or the display is wrong: `message` says which);
 * - `'unknown'`: Bedside cannot tell, because the value set draws on a code system it does not
 *   hold (`missingSystem`, e.g. `http://loinc.org`), or the value set itself is unknown
 *   (`missingValueSet`). Never a guess.
 */
export interface CodeCheck {
  result: true | false | 'unknown';
  message: string;
  /** The code system Bedside would need to answer (LOINC, SNOMED CT, RxNorm, ...). */
  missingSystem?: string;
  /** The value set URL Bedside does not hold. */
  missingValueSet?: string;
  /** The display Bedside has for the code, when it knows the code. */
  display?: string;
}

/**
 * The binding check the validator calls: is `code` in the value set `valueSetUrl`?
 * Implemented by `Terminology.validateCode` (src/terminology/service.ts).
 */
export type ValidateCode = (valueSetUrl: string, code: CodeToCheck) => Promise<CodeCheck>;
