/**
 * FHIR errors in the protocol's vocabulary: an HTTP status plus OperationOutcome issues.
 * Thrown where a problem is detected and rendered once, at the edge (see http/fhir-adapter.ts).
 * This module imports nothing of Bedside, so every layer that speaks FHIR (search/, access/,
 * fhir/ and the features) may throw these; a store's own refusals (storage/errors.ts) are
 * translated by fhir/storage-errors.ts.
 *
 * Issue codes: https://hl7.org/fhir/R4/valueset-issue-type.html
 * Status codes: https://hl7.org/fhir/R4/http.html
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

export type IssueCode = OperationOutcomeIssue['code'];

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

// Factories named for what went wrong, with the status FHIR gives it.
export const badRequest = (msg: string, expression?: string[]) => new FhirError(400, 'invalid', msg, expression ? { expression } : {});
export const invalidResource = (msg: string, issues: OperationOutcomeIssue[] = []) => new FhirError(400, 'structure', msg, { issues });
export const unprocessable = (msg: string, issues: OperationOutcomeIssue[] = []) => new FhirError(422, 'processing', msg, { issues });
export const notFound = (msg: string) => new FhirError(404, 'not-found', msg);
export const gone = (msg: string) => new FhirError(410, 'deleted', msg);
export const methodNotAllowed = (msg: string) => new FhirError(405, 'not-supported', msg);
export const notSupported = (msg: string) => new FhirError(400, 'not-supported', msg);
export const tooLarge = (msg: string) => new FhirError(413, 'too-costly', msg);
export const tooCostly = (msg: string) => new FhirError(400, 'too-costly', msg);
export const unsupportedMediaType = (msg: string) => new FhirError(415, 'not-supported', msg);
export const notAcceptable = (msg: string) => new FhirError(406, 'not-supported', msg);
export const multipleMatches = (msg: string) => new FhirError(412, 'multiple-matches', msg);
export const forbidden = (msg: string, headers?: Record<string, string>) => new FhirError(403, 'forbidden', msg, headers ? { headers } : {});

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
