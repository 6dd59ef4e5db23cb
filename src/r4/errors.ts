/**
 * FHIR errors in the protocol's vocabulary: an HTTP status plus OperationOutcome issues.
 * Thrown where a problem is detected and rendered once, at the edge (see http/fhir-adapter.ts).
 *
 * Issue codes: https://hl7.org/fhir/R4/valueset-issue-type.html
 * Status codes: https://hl7.org/fhir/R4/http.html
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { StorageError, type StorageErrorCode } from '../storage/errors.js';

export type IssueCode = OperationOutcomeIssue['code'];
export type IssueSeverity = OperationOutcomeIssue['severity'];

export interface FhirErrorOptions {
  /** FHIRPath-ish locations of the problem (OperationOutcome.issue.expression). */
  expression?: string[];
  /** Extra headers to send (e.g. WWW-Authenticate). */
  headers?: Record<string, string>;
  /** Further issues to report beside the main one. */
  issues?: OperationOutcomeIssue[];
}

/** An error that becomes an OperationOutcome with the given HTTP status. */
export class FhirError extends Error {
  readonly headers: Record<string, string>;
  readonly issues: OperationOutcomeIssue[];

  constructor(
    readonly status: number,
    readonly code: IssueCode,
    message: string,
    options: FhirErrorOptions = {},
  ) {
    super(message);
    this.name = 'FhirError';
    this.headers = options.headers ?? {};
    const main: OperationOutcomeIssue = { severity: 'error', code, diagnostics: message };
    if (options.expression) main.expression = options.expression;
    this.issues = [main, ...(options.issues ?? [])];
  }

  toOperationOutcome(): OperationOutcome {
    return { resourceType: 'OperationOutcome', issue: this.issues };
  }
}

// Factories named for what went wrong; the status lives here and nowhere else.
export const badRequest = (msg: string, expression?: string[]) =>
  new FhirError(400, 'invalid', msg, expression ? { expression } : {});
export const invalidResource = (msg: string, issues: OperationOutcomeIssue[] = []) =>
  new FhirError(400, 'structure', msg, { issues });
export const unprocessable = (msg: string, issues: OperationOutcomeIssue[] = []) =>
  new FhirError(422, 'processing', msg, { issues });
export const notFound = (msg: string) => new FhirError(404, 'not-found', msg);
export const gone = (msg: string) => new FhirError(410, 'deleted', msg);
export const conflict = (msg: string) => new FhirError(409, 'conflict', msg);
export const preconditionFailed = (msg: string) => new FhirError(412, 'conflict', msg);
export const methodNotAllowed = (msg: string) => new FhirError(405, 'not-supported', msg);
export const notSupported = (msg: string) => new FhirError(400, 'not-supported', msg);
export const tooLarge = (msg: string) => new FhirError(413, 'too-costly', msg);
export const tooCostly = (msg: string) => new FhirError(400, 'too-costly', msg);
export const unsupportedMediaType = (msg: string) => new FhirError(415, 'not-supported', msg);
export const notAcceptable = (msg: string) => new FhirError(406, 'not-supported', msg);
export const multipleMatches = (msg: string) => new FhirError(412, 'multiple-matches', msg);
export const forbidden = (msg: string, headers?: Record<string, string>) =>
  new FhirError(403, 'forbidden', msg, headers ? { headers } : {});
export const unauthorized = (msg: string, headers: Record<string, string>) =>
  new FhirError(401, 'login', msg, { headers });

/** An informational OperationOutcome, e.g. for `Prefer: return=OperationOutcome`. */
export function informational(message: string, code: IssueCode = 'informational'): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code, diagnostics: message }] };
}

/** The generic body for unexpected errors: never echo internals. */
export function internalErrorOutcome(requestId: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'fatal',
        code: 'exception',
        diagnostics: `Internal server error (request ${requestId}). The details are in the server log.`,
      },
    ],
  };
}

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
