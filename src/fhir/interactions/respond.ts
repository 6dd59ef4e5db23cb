/**
 * Building interaction responses: version headers (ETag, Last-Modified, Location) and the
 * `Prefer: return=` choice. https://hl7.org/fhir/R4/http.html#ops
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import type { StoredVersion } from '../../storage/resource-store.js';
import { versionJson } from '../../storage/stored-version.js';
import { badRequest, informational } from '../../r4/errors.js';
import type { FhirContext } from '../context.js';
import { preferences, type FhirRequest, type FhirResponse } from '../request.js';

export function etag(versionId: string): string {
  return `W/"${versionId}"`;
}

/** Parses `W/"3"`, `"3"` or `3` into the version id. */
export function parseETag(value: string): string {
  const match = /^(?:W\/)?"?([^"]+)"?$/.exec(value.trim());
  if (!match) throw badRequest(`Invalid ETag "${value.slice(0, 40)}": expected W/"<versionId>"`);
  return match[1]!;
}

export function versionUrl(context: FhirContext, version: StoredVersion): string {
  return `${context.services.config.fhirBaseUrl}/${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

export function versionHeaders(version: StoredVersion): Record<string, string> {
  return {
    etag: etag(version.versionId),
    'last-modified': new Date(version.lastUpdated).toUTCString(),
  };
}

/** A read's response: the stored JSON text as is (no parse or re-serialization). */
export function resourceResponse(version: StoredVersion, status = 200, extraHeaders: Record<string, string> = {}): FhirResponse {
  return { status, headers: { ...versionHeaders(version), ...extraHeaders }, body: { json: versionJson(version)! } };
}

/**
 * A write's response (create, update, patch): status, Location for creates, and the body the
 * client asked for with `Prefer: return=minimal | representation | OperationOutcome`. Warnings
 * about the resource (profile validation) go into that OperationOutcome, and into the response's
 * `outcome` for a Bundle entry.
 */
export function writeResponse(
  context: FhirContext,
  request: FhirRequest,
  version: StoredVersion,
  status: 200 | 201,
  message: string,
  warnings: readonly OperationOutcomeIssue[] = [],
): FhirResponse {
  const headers: Record<string, string> = versionHeaders(version);
  if (status === 201) headers.location = versionUrl(context, version);
  else headers['content-location'] = versionUrl(context, version);
  const wanted = preferences(request).return;
  const outcome = withWarnings(informational(message), warnings);
  const extra = warnings.length > 0 ? { outcome } : {};
  if (wanted === 'minimal') return { status, headers, ...extra };
  if (wanted === 'operationoutcome') return { status, headers, body: outcome };
  return { status, headers, body: { json: versionJson(version)! }, ...extra };
}

/** An OperationOutcome with warnings added after its own issues. */
export function withWarnings(outcome: OperationOutcome, warnings: readonly OperationOutcomeIssue[]): OperationOutcome {
  return warnings.length === 0 ? outcome : { ...outcome, issue: [...outcome.issue, ...warnings] };
}
