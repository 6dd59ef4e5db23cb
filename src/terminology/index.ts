/**
 * Terminology: `ValueSet/$expand`, `ValueSet/$validate-code`, `CodeSystem/$lookup`,
 * `CodeSystem/$subsumes`, the token search modifiers `:in`/`:not-in`/`:above`/`:below`, and the
 * binding check profile validation uses, over R4 core terminology and the installed packages.
 * https://hl7.org/fhir/R4/terminology-service.html
 */
export { Terminology, type ExpandOptions, type SubsumesOutcome } from './service.js';
export { terminologyOperations } from './operations.js';
export { MissingTerminology } from './errors.js';
export type { CodeCheck, CodeToCheck, ValidateCode } from './types.js';
