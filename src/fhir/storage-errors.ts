/**
 * How a store's refusal (storage/errors.ts) reads in FHIR. The stores know no HTTP; the FHIR
 * layer translates their errors where it renders an outcome: the node:http adapter
 * (http/fhir-adapter.ts), each entry of a batch or transaction (interactions/bundle.ts), and
 * the in-process loader (ingest/in-process-sink.ts).
 */
import { FhirError, type IssueCode } from '../r4/errors.js';
import { StorageError, type StorageErrorCode } from '../storage/errors.js';

/** How a store's refusal reads in FHIR: https://hl7.org/fhir/R4/http.html (409, 412) and search (400). */
const STORAGE_ERRORS: Record<StorageErrorCode, { status: number; code: IssueCode }> = {
  conflict: { status: 409, code: 'conflict' },
  'precondition-failed': { status: 412, code: 'conflict' },
  'invalid-cursor': { status: 400, code: 'invalid' },
  'invalid-query': { status: 400, code: 'invalid' },
  'too-costly': { status: 400, code: 'too-costly' },
};

/**
 * The FhirError an error stands for: itself, or a store's refusal in FHIR's words. Undefined for
 * anything else (an unexpected error, answered 500 without its details).
 */
export function asFhirError(error: unknown): FhirError | undefined {
  if (error instanceof FhirError) return error;
  if (error instanceof StorageError) {
    const { status, code } = STORAGE_ERRORS[error.code];
    return new FhirError(status, code, error.message);
  }
  return undefined;
}
