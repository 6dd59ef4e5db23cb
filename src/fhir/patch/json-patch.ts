/**
 * JSON Patch (RFC 6902) on a resource, with fast-json-patch. https://hl7.org/fhir/R4/http.html#patch
 */
import type { Resource } from 'fhir/r4';
import fastJsonPatch from 'fast-json-patch';
import { badRequest } from '../errors.js';

/** A patched copy of `resource`; 400 for a document that is not a valid JSON Patch or does not apply. */
export function applyJsonPatch(resource: Resource, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('A JSON Patch document is a JSON array of operations (RFC 6902)');
  const error = fastJsonPatch.validate(operations as fastJsonPatch.Operation[], resource);
  if (error) throw badRequest(`Invalid JSON Patch: ${error.message.split('\n')[0]} (operation ${Number(error.index) + 1})`);
  try {
    return fastJsonPatch.applyPatch(structuredClone(resource), operations as fastJsonPatch.Operation[], true, false).newDocument;
  } catch (caught) {
    const e = caught as { message?: string };
    throw badRequest(`JSON Patch could not be applied: ${String(e.message ?? caught).split('\n')[0]}`);
  }
}

/** In a Bundle, a JSON Patch travels as a Binary resource with base64 data (R4 http.html#patch); a bare array is taken too. */
export function jsonPatchFromBundle(body: unknown): unknown {
  if (Array.isArray(body)) return body;
  const binary = body as { data?: string };
  try {
    return JSON.parse(Buffer.from(binary.data ?? '', 'base64').toString('utf8')) as unknown;
  } catch {
    throw badRequest('The Binary in this PATCH entry does not hold a JSON Patch document');
  }
}
