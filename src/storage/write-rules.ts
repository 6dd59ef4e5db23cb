/**
 * The rules every ResourceStore applies to a write, in one place so the stores cannot drift:
 * `mustBeNew`, If-Match, and the next version's number and time.
 * https://hl7.org/fhir/R4/http.html#versioning and #concurrency
 */
import { StorageError } from './errors.js';
import type { DeleteRequest, PutRequest } from './resource-store.js';

/** What a store knows of a resource's current version. */
export interface CurrentVersion {
  /** The current version number (1, 2, ...). */
  version: number;
  deleted: boolean;
  /** lastUpdated of the current version, epoch ms. */
  lastUpdated: number;
}

/** Throws the StorageError a put must fail with, before anything is written. */
export function checkPut(current: CurrentVersion | undefined, request: PutRequest): void {
  if (current && request.mustBeNew) throw new StorageError('conflict', `${request.resourceType}/${request.id} already exists`);
  if (request.ifMatch === undefined) return;
  if (!current || current.deleted) {
    throw new StorageError('precondition-failed', `If-Match: ${request.resourceType}/${request.id} has no current version to match`);
  }
  if (String(current.version) !== request.ifMatch) {
    throw new StorageError(
      'precondition-failed',
      `If-Match: version ${request.ifMatch} is not the current version (${current.version}) of ${request.resourceType}/${request.id}`,
    );
  }
}

/** Throws the StorageError a delete must fail with, before anything is written. */
export function checkDelete(current: CurrentVersion | undefined, request: DeleteRequest): void {
  if (request.ifMatch !== undefined && (!current || current.deleted || String(current.version) !== request.ifMatch)) {
    throw new StorageError('precondition-failed', `If-Match: version ${request.ifMatch} is not the current version of ${request.resourceType}/${request.id}`);
  }
}

/** The number and time of the version after `current`: lastUpdated never moves backwards. */
export function nextVersion(current: CurrentVersion | undefined, now = Date.now()): { version: number; lastUpdated: number } {
  return { version: current ? current.version + 1 : 1, lastUpdated: Math.max(now, current ? current.lastUpdated : 0) };
}

/** Why a store gives up retrying a write that others keep changing. */
export function busy(request: { resourceType: string; id: string }): StorageError {
  return new StorageError('conflict', `${request.resourceType}/${request.id} is being changed by others; try again`);
}
