/**
 * create, update, patch and delete, with their conditional forms.
 * https://hl7.org/fhir/R4/http.html#create (and #update, #patch, #delete, #ccreate, #cond-update, #cdelete)
 */
import type { Resource } from 'fhir/r4';
import type { StoredVersion } from '../../storage/resource-store.js';
import { badRequest, gone, informational, invalidResource, methodNotAllowed, multipleMatches, notFound } from '../../r4/errors.js';
import type { FhirContext } from '../context.js';
import { patchedResource } from '../patch/index.js';
import { header, preferences, type FhirRequest, type FhirResponse } from '../request.js';
import { newResourceId } from '../resource-ids.js';
import { assertValidId, validateDeclaredProfiles, validateForWrite } from '../validation.js';
import { findMatches } from './conditional.js';
import { parseETag, versionHeaders, writeResponse } from './respond.js';

/** POST [type]: server-assigned id; If-None-Exist makes it conditional. */
export async function create(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  context.policy.assertAllowed(type, 'create');
  const resource = validateForWrite(request.body, type);
  const warnings = await validateDeclaredProfiles(context, resource);
  const ifNoneExist = header(request, 'if-none-exist');
  if (ifNoneExist !== undefined) {
    const matches = await findMatches(context, type, ifNoneExist);
    if (matches.length > 1) throw multipleMatches(`If-None-Exist "${ifNoneExist}" matches ${matches.length} ${type} resources`);
    if (matches.length === 1) return existingResponse(context, request, matches[0]!);
  }
  const id = newResourceId();
  const version = await putResource(context, { ...resource, id } as Resource, 'POST', { mustBeNew: true });
  return writeResponse(context, request, version, 201, `Created ${type}/${id}`, warnings);
}

/** PUT [type]/[id]: update, or create with the client's id (update-as-create). */
export async function update(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  const id = request.params.id!;
  assertValidId(id);
  context.policy.assertAllowed(type, 'update');
  const resource = validateForWrite(request.body, type);
  if (resource.id === undefined) throw invalidResource(`The ${type} in the body has no id; it must be "${id}" (R4 http.html#update)`);
  if (resource.id !== id) throw badRequest(`The id in the body ("${resource.id}") does not match the URL ("${id}")`);
  const warnings = await validateDeclaredProfiles(context, resource);
  const ifMatch = header(request, 'if-match');
  const options = { ...(ifMatch === undefined ? {} : { ifMatch: parseETag(ifMatch) }), ...(request.assignedId ? { mustBeNew: true } : {}) };
  const { version, created } = await putResourceWithOutcome(context, resource, 'PUT', options);
  return writeResponse(context, request, version, created ? 201 : 200, created ? `Created ${type}/${id}` : `Updated ${type}/${id}`, warnings);
}

/** PUT [type]?criteria: update the single match, create when none (R4 #cond-update). */
export async function conditionalUpdate(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  context.policy.assertAllowed(type, 'update');
  const resource = validateForWrite(request.body, type);
  const warnings = await validateDeclaredProfiles(context, resource);
  const matches = await findMatches(context, type, request.query.toString());
  if (matches.length > 1) throw multipleMatches(`The criteria match ${matches.length} ${type} resources; be more specific`);
  const match = matches[0];
  let id: string;
  let assigned = false;
  if (match) {
    if (resource.id !== undefined && resource.id !== match.id) {
      throw badRequest(`The id in the body ("${resource.id}") is not the id of the matching resource ("${match.id}")`);
    }
    id = match.id;
  } else {
    context.policy.assertAllowed(type, 'create');
    assigned = resource.id === undefined;
    id = resource.id ?? newResourceId();
  }
  const ifMatch = header(request, 'if-match');
  const options = { ...(ifMatch === undefined ? {} : { ifMatch: parseETag(ifMatch) }), ...(assigned ? { mustBeNew: true } : {}) };
  const { version, created } = await putResourceWithOutcome(context, { ...resource, id } as Resource, 'PUT', options);
  return writeResponse(context, request, version, created ? 201 : 200, created ? `Created ${type}/${id}` : `Updated ${type}/${id}`, warnings);
}

/** PATCH [type]/[id] (or ?criteria) with a JSON Patch document (RFC 6902) or a FHIRPath Patch (fhir/patch/). */
export async function patch(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  context.policy.assertAllowed(type, 'update');
  let current: StoredVersion | undefined;
  if (request.params.id !== undefined) {
    assertValidId(request.params.id);
    current = await context.store.read(type, request.params.id);
  } else {
    const matches = await findMatches(context, type, request.query.toString());
    if (matches.length > 1) throw multipleMatches(`The criteria match ${matches.length} ${type} resources; be more specific`);
    current = matches[0];
  }
  if (!current) throw notFound(`${type}/${request.params.id ?? '?'} is not known`);
  if (current.deleted) throw gone(`${type}/${current.id} was deleted`);
  const patched = patchedResource(current.resource!, request);
  const resource = validateForWrite(patched, type);
  if (resource.id !== current.id) throw badRequest('A patch must not change the resource id');
  const warnings = await validateDeclaredProfiles(context, resource);
  const ifMatch = header(request, 'if-match');
  const { version } = await putResourceWithOutcome(context, resource, 'PATCH', { ifMatch: ifMatch === undefined ? current.versionId : parseETag(ifMatch) });
  return writeResponse(context, request, version, 200, `Patched ${type}/${current.id}`, warnings);
}

/** DELETE [type]/[id]: versioned delete; deleting what is absent or already deleted is fine (R4 #delete). */
export async function remove(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  const id = request.params.id!;
  assertValidId(id);
  context.policy.assertAllowed(type, 'delete');
  const ifMatch = header(request, 'if-match');
  const deleted = await context.store.delete({ resourceType: type, id, ...(ifMatch === undefined ? {} : { ifMatch: parseETag(ifMatch) }) });
  return deleteResponse(request, deleted ? `Deleted ${type}/${id}` : `${type}/${id} did not exist or was already deleted`, deleted);
}

/** DELETE [type]?criteria: deletes the single match (multiple matches are refused: 412). */
export async function conditionalDelete(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  context.policy.assertAllowed(type, 'delete');
  if ([...request.query.keys()].filter((k) => !k.startsWith('_format')).length === 0) {
    throw methodNotAllowed('DELETE on a type needs search criteria (conditional delete); deleting every resource of a type is not supported');
  }
  const matches = await findMatches(context, type, request.query.toString());
  if (matches.length > 1) throw multipleMatches(`The criteria match ${matches.length} ${type} resources; conditional delete deletes one at most`);
  const match = matches[0];
  if (!match) return deleteResponse(request, 'No resource matched the criteria; nothing was deleted', undefined);
  const deleted = await context.store.delete({ resourceType: type, id: match.id });
  return deleteResponse(request, `Deleted ${type}/${match.id}`, deleted);
}

function deleteResponse(request: FhirRequest, message: string, deleted: StoredVersion | undefined): FhirResponse {
  const headers = deleted ? { etag: versionHeaders(deleted).etag! } : ({} as Record<string, string>);
  if (preferences(request).return === 'minimal') return { status: 204, headers };
  return { status: 200, headers, body: informational(message) };
}

/** Validated resource → index rows → guarded store. */
export async function putResource(
  context: FhirContext,
  resource: Resource,
  method: 'POST' | 'PUT' | 'PATCH',
  options: { ifMatch?: string; mustBeNew?: boolean } = {},
): Promise<StoredVersion> {
  return (await putResourceWithOutcome(context, resource, method, options)).version;
}

async function putResourceWithOutcome(
  context: FhirContext,
  resource: Resource,
  method: 'POST' | 'PUT' | 'PATCH',
  options: { ifMatch?: string; mustBeNew?: boolean },
) {
  const rule = context.services.writeRules?.[resource.resourceType];
  const stored = rule ? await rule(context, resource) : resource;
  const index = context.services.indexer(stored);
  return context.store.put({ resourceType: stored.resourceType, id: stored.id!, resource: stored, index, method, ...options });
}

/** An If-None-Exist hit: 200 with the existing resource (R4 #ccreate). */
function existingResponse(context: FhirContext, request: FhirRequest, existing: StoredVersion): FhirResponse {
  return writeResponse(context, request, existing, 200, `${existing.resourceType}/${existing.id} already exists (If-None-Exist)`);
}
