/**
 * Validation against profiles (https://hl7.org/fhir/R4/validation.html#profile): a resource
 * checked against StructureDefinitions that constrain its type (US Core, IPS, ...), from their
 * snapshots, on top of the base R4 validation (../index.ts).
 *
 * Checked: cardinality; the types a choice may take; type profiles (an extension against its
 * definition, a datatype against its profile); the resource types a Reference may point to
 * (literal and contained references; a `urn:uuid:` cannot be resolved alone); fixed[x] and
 * pattern[x]; maxLength; slicing with the discriminator types R4 defines (value, pattern,
 * exists, type, profile), closed, ordered and openAtEnd rules and each slice's cardinality;
 * required and extensible bindings through the terminology service (a value set it cannot
 * evaluate is a warning naming the missing code system, never an error); every extension by
 * its definition and context, wherever it is; the profile's own invariants, with FHIRPath.js.
 * mustSupport is not a validation rule (it is about what systems must handle).
 *
 * Not checked: `resolve()` in discriminators (the referenced resource is not at hand), whether
 * a referenced resource conforms to a target profile (only its type is checked), and bindings
 * of an element identical to the base definition's (the base validator checks the required ones
 * it can; R4 core's extensible ones are not repeated for every profile).
 */
export {
  ProfileValidator,
  type CodeCheck,
  type CodeToCheck,
  type ProfileValidation,
  type ProfileValidatorOptions,
  type StructureDefinitionLookup,
  type ValidateCode,
} from './validator.js';
export { baseTypeOf, coreStructureDefinition, unversioned } from './core.js';
