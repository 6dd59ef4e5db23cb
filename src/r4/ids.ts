/**
 * The FHIR id and the `Type/id` reference shapes, written once. Pure and import-free, so every
 * layer (storage, access, search, bulk, terminology, the loaders) can use it.
 *
 * https://hl7.org/fhir/R4/datatypes.html#id: "Any combination of upper- or lower-case ASCII
 * letters ('A'..'Z', and 'a'..'z'), numerals ('0'..'9'), '-' and '.', with a length limit of 64
 * characters." A version id (`_history/[vid]`) is an id too (Meta.versionId).
 */

/** The id rule as regular-expression source, without anchors or groups, to compose larger patterns. */
export const FHIR_ID = '[A-Za-z0-9\\-.]{1,64}';

/**
 * The shape of a resource type name in a reference, as regular-expression source (2-64 letters,
 * an upper-case first). It says nothing about whether R4 defines the type; callers that care ask
 * the registry.
 */
export const RESOURCE_TYPE_NAME = '[A-Z][A-Za-z]{1,63}';

const ID = new RegExp(`^${FHIR_ID}$`);
const RELATIVE_REFERENCE = new RegExp(`^(${RESOURCE_TYPE_NAME})\\/(${FHIR_ID})$`);
const REFERENCE_TAIL = new RegExp(`(?:^|\\/)(${RESOURCE_TYPE_NAME})\\/(${FHIR_ID})(?:\\/_history\\/(${FHIR_ID}))?$`);

/** Whether `value` is a valid FHIR id. */
export function isFhirId(value: string): boolean {
  return ID.test(value);
}

/** The target of a literal reference. */
export interface ReferenceTarget {
  readonly type: string;
  readonly id: string;
  /** The `_history/[vid]` part of a version-specific reference. */
  readonly versionId?: string;
}

/**
 * `Type/id` exactly (a relative reference, no base, no `_history`), else undefined.
 * https://hl7.org/fhir/R4/references.html#literal
 */
export function parseRelativeReference(reference: string): ReferenceTarget | undefined {
  const m = RELATIVE_REFERENCE.exec(reference);
  return m ? { type: m[1]!, id: m[2]! } : undefined;
}

/**
 * The `Type/id` or `Type/id/_history/vid` at the end of a relative or absolute literal reference
 * (`Patient/1`, `https://other.example/fhir/Patient/1/_history/2`), else undefined. The base in
 * front is not checked: this answers what the reference points at, not where.
 */
export function parseReferenceTail(reference: string): ReferenceTarget | undefined {
  const m = REFERENCE_TAIL.exec(reference);
  if (!m) return undefined;
  return m[3] === undefined ? { type: m[1]!, id: m[2]! } : { type: m[1]!, id: m[2]!, versionId: m[3] };
}
