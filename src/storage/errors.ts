/**
 * What a store refuses, in the store's own words. The FHIR layer maps each code to its HTTP
 * status and OperationOutcome at the edge (fhir/storage-errors.ts `asFhirError`); the stores know no HTTP.
 *
 * A store throws a StorageError before it changes anything: a write refused with one has
 * written nothing (the embedded store's group commit relies on it, sqlite/database.ts).
 */
export type StorageErrorCode =
  /** The id is taken (`mustBeNew`), or others keep changing the resource. */
  | 'conflict'
  /** If-Match names a version that is not the current one. */
  | 'precondition-failed'
  /** A paging cursor this store did not make for this query. */
  | 'invalid-cursor'
  /** A condition or sort the store cannot run as asked. */
  | 'invalid-query'
  /** A condition would make the store do unbounded work. */
  | 'too-costly';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}
