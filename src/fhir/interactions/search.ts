/**
 * search at type and system level, `POST _search`, compartment search and `$everything`.
 * https://hl7.org/fhir/R4/http.html#search and https://hl7.org/fhir/R4/operation-patient-everything.html
 */
import { badRequest, notFound, notSupported } from '../../r4/errors.js';
import { patientCompartmentConditionForTypes, patientCompartmentTypes } from '../../search/compartments.js';
import { r4ResourceTypes } from '../../search/index.js';
import type { Condition } from '../../storage/search-index.js';
import type { FhirContext } from '../context.js';
import { preferences, type FhirRequest, type FhirResponse } from '../request.js';
import { executeSearch, parseRequestSearch, searchsetJson } from '../search-execution.js';
import { assertValidId } from '../validation.js';
import { parseInstantParam } from './params.js';

/** GET [type]?..., POST [type]/_search */
export async function searchType(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const type = request.params.type!;
  context.policy.assertAllowed(type, 'search');
  const params = mergedParams(request);
  const search = await parseRequestSearch(context, request, type, params);
  const result = await executeSearch(context, search);
  return bundleResponse(searchsetJson(context, search, result, type));
}

/** GET [base]?_type=..., POST [base]/_search */
export async function searchSystem(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const params = mergedParams(request);
  const search = await parseRequestSearch(context, request, undefined, params);
  for (const type of search.types ?? []) context.policy.assertAllowed(type, 'search');
  if (!search.types) {
    context.policy.assertAllowed(undefined, 'search');
    const allowed = context.policy.allowedTypes('search');
    if (allowed) search.types = allowed;
  }
  const result = await executeSearch(context, search);
  return bundleResponse(searchsetJson(context, search, result, ''));
}

/** GET Patient/[id]/[type] (and Patient/[id]/* ): a search within the patient's compartment. */
export async function compartmentSearch(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const { type: compartment, id, compartmentType } = request.params;
  if (compartment !== 'Patient') throw notFound(`Compartment searches are supported for Patient; ${compartment} has no compartment here`);
  assertValidId(id!);
  const types = compartmentType === '*' ? compartmentTypesAllowed(context) : [compartmentType!];
  if (compartmentType !== '*') {
    if (!r4ResourceTypes().includes(compartmentType!)) throw notFound(`Unknown resource type "${compartmentType}"`);
    if (!patientCompartmentTypes().includes(compartmentType!)) {
      throw badRequest(`${compartmentType} is not in the Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html)`);
    }
    context.policy.assertAllowed(compartmentType, 'search');
  }
  const params = mergedParams(request);
  const search = await parseRequestSearch(context, request, compartmentType === '*' ? undefined : compartmentType, params);
  search.types = types;
  const result = await executeSearch(context, search, patientCompartmentConditionForTypes(types, id!));
  return bundleResponse(searchsetJson(context, search, result, request.path));
}

/**
 * Patient/[id]/$everything: the patient, everything in their compartment, and the resources
 * those reference (practitioners, organizations, medications ...), paged; `_since`, `_type`, `_count`.
 */
export async function patientEverything(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const id = request.params.id!;
  assertValidId(id);
  context.policy.assertAllowed('Patient', 'read');
  const patient = await context.store.read('Patient', id);
  if (!patient || patient.deleted) throw notFound(`Patient/${id} is not known`);
  const params = mergedParams(request);
  for (const name of params.keys()) {
    if (!['_since', '_type', '_count', '_cursor', '_format', '_pretty', 'start', 'end'].includes(name)) {
      throw badRequest(`Unknown parameter "${name.slice(0, 60)}" for $everything (supported: _since, _type, _count)`);
    }
  }
  // start and end (care dates) are defined by the operation but not implemented: reported, not applied.
  const ignored = ['start', 'end'].filter((name) => params.has(name));
  if (ignored.length > 0 && preferences(request).handling === 'strict')
    throw notSupported(`$everything does not support ${ignored.join(' and ')} (care dates)`);
  let types = ['Patient', ...compartmentTypesAllowed(context)].filter((t) => context.policy.permits(t, 'search'));
  const typeParam = params.get('_type');
  if (typeParam) {
    const asked = typeParam.split(',').map((t) => t.trim());
    for (const t of asked) if (!r4ResourceTypes().includes(t)) throw badRequest(`_type: unknown resource type "${t.slice(0, 60)}"`);
    types = types.filter((t) => asked.includes(t));
  }
  const filters: Condition[] = [patientCompartmentConditionForTypes(types, id)];
  const since = params.get('_since');
  if (since) filters.push({ op: 'lastUpdated', where: [{ cmp: 'ge', value: parseInstantParam('_since', since).low }] });
  const searchParams = new URLSearchParams();
  for (const name of ['_count', '_cursor']) if (params.get(name)) searchParams.set(name, params.get(name)!);
  const search = await parseRequestSearch(context, request, undefined, searchParams);
  search.types = types;
  search.include = [{ sourceType: '*', param: '*', iterate: false }];
  for (const name of ignored)
    search.warnings.push({
      severity: 'warning',
      code: 'not-supported',
      diagnostics: `The parameter "${name}" of $everything (care dates) is not supported; it was ignored`,
    });
  const result = await executeSearch(context, search, { op: 'and', of: filters });
  const applied = [...params]
    .filter(([name]) => !ignored.includes(name))
    .map(([name, value]): [string, string] => [name, name === '_count' ? String(search.count) : value]);
  return bundleResponse(searchsetJson(context, search, result, request.path, new URLSearchParams(applied)));
}

/** The compartment's types the token may search (a `*` compartment search or `$everything` covers those). */
function compartmentTypesAllowed(context: FhirContext): string[] {
  return patientCompartmentTypes().filter((t) => context.policy.permits(t, 'search'));
}

function bundleResponse(json: string): FhirResponse {
  return { status: 200, headers: {}, body: { json } };
}

/** Query string and (for POST _search) the form body, as one parameter list. */
export function mergedParams(request: FhirRequest): URLSearchParams {
  if (!request.form) return request.query;
  const merged = new URLSearchParams(request.query);
  for (const [k, v] of request.form) merged.append(k, v);
  return merged;
}
