/**
 * read and vread. https://hl7.org/fhir/R4/http.html#read
 */
import { gone, notFound } from '../../r4/errors.js';
import type { FhirContext } from '../context.js';
import type { FhirRequest, FhirResponse } from '../request.js';
import { assertValidId } from '../validation.js';
import { etag, resourceResponse, versionHeaders } from './respond.js';

export async function read(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  const id = request.params.id!;
  context.policy.assertAllowed(type, 'read');
  assertValidId(id);
  const version = await context.store.read(type, id);
  if (!version) throw notFound(`${type}/${id} is not known`);
  if (version.deleted) {
    const error = gone(`${type}/${id} was deleted (version ${version.versionId})`);
    Object.assign(error.headers, versionHeaders(version));
    throw error;
  }
  // Conditional read: https://hl7.org/fhir/R4/http.html#cread
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag(version.versionId) || tag.trim() === `"${version.versionId}"`)) {
    return { status: 304, headers: versionHeaders(version) };
  }
  const ifModifiedSince = request.headers['if-modified-since'];
  if (ifModifiedSince) {
    const since = Date.parse(ifModifiedSince);
    if (!Number.isNaN(since) && Math.floor(Date.parse(version.lastUpdated) / 1000) * 1000 <= since) {
      return { status: 304, headers: versionHeaders(version) };
    }
  }
  return resourceResponse(version);
}

export async function vread(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  const id = request.params.id!;
  const versionId = request.params.vid!;
  context.policy.assertAllowed(type, 'read');
  assertValidId(id);
  const version = await context.store.vread(type, id, versionId);
  if (!version) throw notFound(`${type}/${id} has no version ${versionId.slice(0, 20)}`);
  if (version.deleted) {
    const error = gone(`Version ${versionId} of ${type}/${id} is a deletion`);
    Object.assign(error.headers, versionHeaders(version));
    throw error;
  }
  return resourceResponse(version);
}
