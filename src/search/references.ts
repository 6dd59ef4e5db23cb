/**
 * Reference normalization shared by indexing and querying: local references become `Type/id`
 * (absolute ones to our own FHIR base included), others stay absolute URLs, canonical
 * `url|version` becomes `url`.
 *
 * https://hl7.org/fhir/R4/search.html#reference
 * https://hl7.org/fhir/R4/references.html
 */
import { FHIR_ID, RESOURCE_TYPE_NAME } from '../r4/ids.js';

/** A normalized reference target. */
export interface NormalizedReference {
  /** `Type/id` for local references, the absolute URL (or URN) otherwise. */
  value: string;
  targetType?: string;
  targetId?: string;
}

// Any `_history` segment is dropped here, valid version id or not: the target is the resource.
const LOCAL = new RegExp(`^(${RESOURCE_TYPE_NAME})\\/(${FHIR_ID})(?:\\/_history\\/[^/]+)?$`);
const TRAILING_TYPE_ID = new RegExp(`(?:^|\\/)(${RESOURCE_TYPE_NAME})\\/${FHIR_ID}(?:\\/_history\\/[^/]+)?$`);

/**
 * Normalizes a literal reference (Reference.reference, a canonical, a uri). Returns undefined for
 * empty and `#contained` references. `isResourceType` decides what counts as `Type/id`; `baseUrl`
 * (our FHIR base, no trailing slash) turns absolute references to ourselves into local ones.
 */
export function normalizeReference(reference: string, isResourceType: (type: string) => boolean, baseUrl?: string): NormalizedReference | undefined {
  const text = reference.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const relative = baseUrl && text.startsWith(`${baseUrl}/`) ? text.slice(baseUrl.length + 1) : text;
  const m = LOCAL.exec(relative);
  if (m && isResourceType(m[1]!)) return { value: `${m[1]}/${m[2]}`, targetType: m[1]!, targetId: m[2]! };
  return { value: text };
}

/** A canonical reference without its `|version`. https://hl7.org/fhir/R4/references.html#canonical */
export function stripCanonicalVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar < 0 ? canonical : canonical.slice(0, bar);
}

/**
 * The resource type a Reference points at, as `resolve() is T` would see it: from the literal
 * reference (`Type/id`, `.../Type/id`, with or without `_history`), else from Reference.type.
 */
export function referenceTargetType(reference: unknown, isResourceType: (type: string) => boolean): string | undefined {
  if (typeof reference !== 'object' || reference === null) return undefined;
  const { reference: literal, type } = reference as { reference?: unknown; type?: unknown };
  if (typeof literal === 'string') {
    const m = TRAILING_TYPE_ID.exec(literal);
    if (m && isResourceType(m[1]!)) return m[1];
  }
  return typeof type === 'string' ? type : undefined;
}
