/**
 * JSON Patch (RFC 6902) on a resource, with fast-json-patch. https://hl7.org/fhir/R4/http.html#patch
 */
import type { Resource } from 'fhir/r4';
import fastJsonPatch from 'fast-json-patch';
import { badRequest } from '../../r4/errors.js';
import { parseJson } from '../json-body.js';

/** The operations of RFC 6902 §4 (fast-json-patch also knows an internal `_get`). */
const PATCH_OPERATIONS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
/** Pointer segments that reach JavaScript's prototypes rather than the resource; no FHIR element has these names. */
const PROTOTYPE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A patched copy of `resource`. Anything wrong with the patch is a 400: an operation outside
 * RFC 6902, a pointer into JavaScript's prototypes (fast-json-patch throws a TypeError for those,
 * which escaped as a 500), an operation that does not apply, and whatever else the library throws
 * on this untrusted document.
 */
export function applyJsonPatch(resource: Resource, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('A JSON Patch document is a JSON array of operations (RFC 6902)');
  operations.forEach(checkOperation);
  try {
    const error = fastJsonPatch.validate(operations as fastJsonPatch.Operation[], resource);
    if (error) throw error;
    return fastJsonPatch.applyPatch(structuredClone(resource), operations as fastJsonPatch.Operation[], true, false).newDocument;
  } catch (caught) {
    const error = caught as { message?: unknown; index?: unknown };
    const at = typeof error.index === 'number' ? ` (operation ${error.index + 1})` : '';
    throw badRequest(
      `JSON Patch could not be applied: ${String(error.message ?? caught)
        .split('\n')[0]!
        .slice(0, 200)}${at}`,
    );
  }
}

function checkOperation(operation: unknown, index: number): void {
  const where = `operation ${index + 1}`;
  if (typeof operation !== 'object' || operation === null || Array.isArray(operation)) throw badRequest(`Invalid JSON Patch: ${where} is not an object`);
  const { op, path, from } = operation as { op?: unknown; path?: unknown; from?: unknown };
  if (typeof op !== 'string' || !PATCH_OPERATIONS.has(op))
    throw badRequest(`Invalid JSON Patch: ${where} has op "${String(op).slice(0, 20)}" (expected add, remove, replace, move, copy or test)`);
  for (const [name, pointer] of [
    ['path', path],
    ['from', from],
  ] as const) {
    if (pointer === undefined && name === 'from') continue;
    if (typeof pointer !== 'string') throw badRequest(`Invalid JSON Patch: ${where} needs a "${name}" string`);
    const segment = pointer
      .split('/')
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
      .find((s) => PROTOTYPE_SEGMENTS.has(s));
    if (segment !== undefined)
      throw badRequest(`Invalid JSON Patch: ${where} ${name} "${pointer.slice(0, 80)}" names "${segment}", which is not a FHIR element`);
  }
  if ((op === 'move' || op === 'copy') && typeof from !== 'string') throw badRequest(`Invalid JSON Patch: ${where} (${op}) needs a "from" string`);
  if (op === 'move' && typeof path === 'string' && typeof from === 'string' && path.startsWith(`${from}/`)) {
    // RFC 6902 §4.4: "The 'from' location MUST NOT be a proper prefix of the 'path' location".
    throw badRequest(`Invalid JSON Patch: ${where} moves "${from.slice(0, 80)}" into itself`);
  }
}

/** In a Bundle, a JSON Patch travels as a Binary resource with base64 data (R4 http.html#patch); a bare array is taken too. */
export function jsonPatchFromBundle(body: unknown): unknown {
  if (Array.isArray(body)) return body;
  const binary = body as { data?: string };
  return parseJson(Buffer.from(binary.data ?? '', 'base64'), "The JSON Patch in this entry's Binary");
}
