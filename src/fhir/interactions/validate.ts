/**
 * `$validate` at type level (`POST [type]/$validate`) and instance level (`GET|POST
 * [type]/[id]/$validate`): the resource (the body, a Parameters' `resource`, or the stored one)
 * checked against R4 and against profiles, answered with an OperationOutcome whose issues carry
 * FHIRPath element paths. The answer is 200 whatever the outcome; a request that gives nothing
 * to validate is a 400. https://hl7.org/fhir/R4/resource-operation-validate.html
 *
 * Profiles: the `profile` parameter, and the profiles the resource claims (meta.profile), except
 * in `mode=profile`, which checks against the `profile` parameter only. `mode=create` and
 * `mode=update` check what that write would check (update: the id must match); `mode=delete`
 * checks that the resource exists and the caller may delete it (Bedside keeps no referential
 * integrity rules that could forbid it).
 *
 * Access: checking a resource in the body reads no data, so any authorized caller may. The
 * instance level reads the stored resource, and profiles beyond the installed packages are read,
 * through the request's policy-bound store.
 */
import type { OperationOutcome, OperationOutcomeIssue, Parameters, Resource } from 'fhir/r4';
import { badRequest, gone, notFound } from '../../r4/errors.js';
import type { FhirContext } from '../context.js';
import type { FhirRequest, FhirResponse } from '../request.js';
import { assertValidId, profileValidatorFor, toOutcomeIssue } from '../validation.js';
import { validateR4 } from '../validator/index.js';
import { ProfileValidator } from '../validator/profiles/index.js';
import { mergedParams } from './search.js';

/** ResourceValidationMode: https://hl7.org/fhir/R4/valueset-resource-validation-mode.html */
const MODES = ['create', 'update', 'delete', 'profile'] as const;
type Mode = (typeof MODES)[number];

interface ValidateInput {
  resource?: unknown;
  mode?: Mode;
  profile?: string;
}

export async function validateOperation(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  const id = request.params.id;
  if (id !== undefined) assertValidId(id);
  const input = parseInput(request);
  if (input.mode === 'delete') return outcomeResponse(await deleteIssues(context, type, id));
  if (input.mode === 'profile' && input.profile === undefined) throw badRequest('$validate with mode=profile needs a profile parameter');
  const resource = input.resource ?? (id !== undefined ? await storedResource(context, type, id) : undefined);
  if (resource === undefined) throw badRequest(`Nothing to validate: POST the ${type} (or a Parameters with a resource parameter) to ${type}/$validate`);
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) throw badRequest('The resource to validate must be a JSON object');
  const resourceType = (resource as { resourceType?: unknown }).resourceType;
  if (resourceType !== type)
    throw badRequest(`The resource to validate is ${typeof resourceType === 'string' ? `a ${resourceType.slice(0, 64)}` : 'not a resource'}, not a ${type}`);

  const issues: OperationOutcomeIssue[] = validateR4(resource, { expectedType: type }).issues.map(toOutcomeIssue);
  if (input.mode === 'update') issues.push(...updateIssues(type, id, resource as Resource));
  const declared = input.mode === 'profile' ? [] : ProfileValidator.declaredProfiles(resource);
  const profiles = [...new Set([...declared, ...(input.profile === undefined ? [] : [input.profile])])];
  if (profiles.length > 0) issues.push(...(await (await profileValidatorFor(context, profiles)).validate(resource, profiles)).issues.map(toOutcomeIssue));
  return outcomeResponse(issues, profiles);
}

/** Query parameters and, for POST, a Parameters body or the resource itself. */
function parseInput(request: FhirRequest): ValidateInput {
  const input: ValidateInput = {};
  const query = mergedParams(request);
  for (const name of query.keys()) {
    if (!['mode', 'profile', '_format', '_pretty'].includes(name))
      throw badRequest(`Unknown parameter "${name.slice(0, 60)}" for $validate (supported: mode, profile, and resource in the body)`);
  }
  setMode(input, query.getAll('mode'));
  setProfile(input, query.getAll('profile'));
  const body = request.body as (Parameters & { resourceType?: string }) | undefined;
  if (body === undefined || body === null) return input;
  if (typeof body === 'object' && !Array.isArray(body) && body.resourceType === 'Parameters' && request.params.type !== 'Parameters') {
    const resources: unknown[] = [];
    const modes: string[] = [];
    const profiles: string[] = [];
    for (const p of body.parameter ?? []) {
      if (p.name === 'resource') resources.push(p.resource);
      else if (p.name === 'mode') modes.push(String(p.valueCode ?? p.valueString ?? ''));
      else if (p.name === 'profile') profiles.push(String(p.valueUri ?? p.valueCanonical ?? p.valueString ?? ''));
      else throw badRequest(`Unknown parameter "${String(p.name).slice(0, 60)}" for $validate (supported: resource, mode, profile)`);
    }
    if (resources.length > 1) throw badRequest('$validate takes one resource parameter');
    if (resources.length === 1) input.resource = resources[0];
    if (modes.length) setMode(input, [...query.getAll('mode'), ...modes]);
    if (profiles.length) setProfile(input, [...query.getAll('profile'), ...profiles]);
    return input;
  }
  input.resource = body;
  return input;
}

function setMode(input: ValidateInput, values: string[]): void {
  if (values.length === 0) return;
  if (values.length > 1) throw badRequest('$validate takes one mode');
  const mode = values[0]!;
  if (!(MODES as readonly string[]).includes(mode)) throw badRequest(`Unknown $validate mode "${mode.slice(0, 40)}" (one of ${MODES.join(', ')})`);
  input.mode = mode as Mode;
}

function setProfile(input: ValidateInput, values: string[]): void {
  if (values.length === 0) return;
  if (values.length > 1) throw badRequest('$validate takes one profile');
  const profile = values[0]!;
  if (!/^\S+$/.test(profile)) throw badRequest(`The profile parameter must be a canonical URL (got "${profile.slice(0, 80)}")`);
  input.profile = profile;
}

/** The stored resource, read through the request's policy-bound store. */
async function storedResource(context: FhirContext, type: string, id: string): Promise<Resource> {
  context.policy.assertAllowed(type, 'read');
  const version = await context.store.read(type, id);
  if (!version) throw notFound(`${type}/${id} is not known`);
  if (version.deleted || !version.resource) throw gone(`${type}/${id} was deleted`);
  return version.resource;
}

/** mode=update: an update of this id would need the body's id to be it. */
function updateIssues(type: string, id: string | undefined, resource: Resource): OperationOutcomeIssue[] {
  const expression = [`${type}.id`];
  if (resource.id === undefined) return [{ severity: 'error', code: 'required', diagnostics: `An update needs the ${type}'s id`, expression }];
  if (id !== undefined && resource.id !== id)
    return [{ severity: 'error', code: 'value', diagnostics: `The id "${resource.id}" does not match the URL ("${id}")`, expression }];
  return [];
}

/** mode=delete: the resource exists and the caller may delete it. */
async function deleteIssues(context: FhirContext, type: string, id: string | undefined): Promise<OperationOutcomeIssue[]> {
  if (id === undefined) throw badRequest('$validate with mode=delete checks a stored resource: use [type]/[id]/$validate');
  context.policy.assertAllowed(type, 'delete');
  const current = await storedResource(context, type, id);
  if (!(await context.policy.allowsResource(current, 'delete'))) {
    return [{ severity: 'error', code: 'forbidden', diagnostics: `This token may not delete ${type}/${id}` }];
  }
  return [];
}

function outcomeResponse(issues: OperationOutcomeIssue[], profiles: readonly string[] = []): FhirResponse {
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: issues.length
      ? issues
      : [
          {
            severity: 'information',
            code: 'informational',
            diagnostics: profiles.length ? `No issues found (checked against R4 and ${profiles.join(', ')})` : 'No issues found',
          },
        ],
  };
  return { status: 200, headers: {}, body: outcome };
}
