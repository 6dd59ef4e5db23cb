/**
 * The body of a PATCH (https://hl7.org/fhir/R4/http.html#patch): a JSON Patch document
 * (`application/json-patch+json`) or a FHIRPath Patch `Parameters` resource (FHIR JSON or XML),
 * told apart by Content-Type; in a Bundle, where entries have no Content-Type, by the entry's
 * resource (a Binary holding a JSON Patch, or Parameters).
 */
import type { Resource } from 'fhir/r4';
import { badRequest, unsupportedMediaType } from '../../r4/errors.js';
import { isXmlBodyType } from '../format.js';
import { header, type FhirRequest } from '../request.js';
import { applyFhirPathPatch, isFhirPathPatch } from './fhirpath-patch.js';
import { applyJsonPatch, jsonPatchFromBundle } from './json-patch.js';

const FHIR_JSON_TYPES = new Set(['application/fhir+json', 'application/json']);

/** A patched copy of `current`, not yet validated. */
export function patchedResource(current: Resource, request: FhirRequest): unknown {
  const body = request.body;
  if (request.fromBundle) {
    if (isFhirPathPatch(body)) return applyFhirPathPatch(current, body);
    const binary = body as { resourceType?: string; data?: unknown } | undefined;
    if (Array.isArray(body) || (binary?.resourceType === 'Binary' && typeof binary.data === 'string'))
      return applyJsonPatch(current, jsonPatchFromBundle(body));
    throw unsupportedMediaType('A PATCH entry in a Bundle needs a Parameters resource (FHIRPath Patch) or a Binary resource holding a JSON Patch document');
  }
  const contentType = (header(request, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType === 'application/json-patch+json') return applyJsonPatch(current, body);
  if (FHIR_JSON_TYPES.has(contentType) || isXmlBodyType(contentType)) {
    if (!isFhirPathPatch(body)) {
      throw badRequest(`PATCH with ${contentType} takes a Parameters resource (FHIRPath Patch); send a JSON Patch document as application/json-patch+json`);
    }
    return applyFhirPathPatch(current, body);
  }
  throw unsupportedMediaType(
    'PATCH takes a JSON Patch document (application/json-patch+json) or a FHIRPath Patch Parameters resource (application/fhir+json or application/fhir+xml)',
  );
}
