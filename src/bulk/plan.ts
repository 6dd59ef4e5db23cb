/**
 * What an export will contain, decided at kick-off: the resource types (asked for, allowed by the
 * scopes, in the compartment for Patient and Group level) and their `_typeFilter`s. What of each
 * type the owner may see is decided when the job runs, through the store bound to the owner's
 * policy (bulk/exporter.ts), so a revoked grant or changed data is never exported from a copy.
 *
 * - `system/` scopes: every resource of the types the client was granted.
 * - `patient/` scopes: the launch patient's compartment (and what it references).
 * - `user/` scopes: what the user may see.
 *
 * Who may export at which level (assertLevelAllowed): the system level is for system access,
 * i.e. a backend service's token (`system/` scopes). A token bound to a patient (a launch patient,
 * `patient/` scopes, or a patient user's `user/` scopes) exports that patient with
 * `Patient/$export`; a practitioner's `user/` token exports the patients the user may see with
 * `Patient/$export` or `Group/[id]/$export`. Both are refused at system level with a 403 that
 * says so.
 *
 * `_typeFilter` queries are searches run for the owner: a chained or `_has` hop into a type the
 * owner may not search is refused at kick-off with the 403 the search would get (access/hops.ts),
 * whatever `handling`; a hop into a type the owner may search is limited to what it may see when
 * the job runs, as in a search.
 */
import type { OperationOutcomeIssue } from 'fhir/r4';
import { hasHops, limitHops } from '../access/hops.js';
import type { AccessPolicy } from '../access/policy.js';
import type { FhirContext } from '../fhir/context.js';
import { assertValidId } from '../fhir/validation.js';
import { FhirError, badRequest, forbidden, notFound } from '../r4/errors.js';
import { patientCompartmentTypes } from '../search/compartments.js';
import { r4ResourceTypes } from '../search/index.js';
import { parseScopes } from '../smart/scopes.js';
import type { ExportLevel, TypePlan } from './job.js';
import type { ExportParameters } from './parameters.js';
import { groupPatients, typeFilterCondition } from './scope.js';

/**
 * Refuses a system-level export to a token without system access (see above), pointing to the
 * level it may use. https://hl7.org/fhir/uv/bulkdata/STU2/export.html#endpoint---system-level-export
 */
export function assertLevelAllowed(policy: AccessPolicy, level: ExportLevel, fhirBase: string): void {
  if (level !== 'system' || !policy.restricted) return;
  const { patient, fhirUser, scopes = [] } = policy.principal;
  const contexts = new Set(parseScopes(scopes.join(' ')).scopes.flatMap((s) => (s.kind === 'resource' ? [s.context] : [])));
  const patientExport = `${fhirBase}/Patient/$export`;
  const system = 'A system-level $export is for backend services with system/ scopes';
  const boundTo = patient ?? (contexts.has('user') && fhirUser?.startsWith('Patient/') ? fhirUser.slice('Patient/'.length) : undefined);
  if (boundTo !== undefined || contexts.has('patient')) {
    const whose = boundTo !== undefined ? `Patient/${boundTo}` : 'its launch patient';
    throw forbidden(`${system}. This token is bound to a patient: export the data of ${whose} with Patient/$export (${patientExport})`);
  }
  if (contexts.has('user')) {
    throw forbidden(
      `${system}. This is a user's token: export the patients its user may see with Patient/$export (${patientExport}), or a Group's with Group/[id]/$export`,
    );
  }
}

export interface ExportPlan {
  types: TypePlan[];
  /** Patient ids the export is limited to (from `patient`), those that exist. */
  patients?: string[];
  /** For the manifest's error file. */
  issues: OperationOutcomeIssue[];
  /** What `handling=lenient` dropped, for the kick-off's OperationOutcome. */
  ignored: string[];
}

export async function planExport(context: FhirContext, level: ExportLevel, params: ExportParameters, lenient: boolean, groupId?: string): Promise<ExportPlan> {
  const policy = context.policy;
  const ignored: string[] = [];
  const issues: OperationOutcomeIssue[] = [];
  const compartment = level !== 'system';
  const candidates = compartment ? [...new Set(['Patient', ...patientCompartmentTypes()])] : [...r4ResourceTypes()];

  let patients = params.patients;
  if (level === 'group') {
    assertValidId(groupId!);
    policy.assertAllowed('Group', 'read');
    const group = await context.store.read('Group', groupId!);
    if (!group || group.deleted) throw notFound(`Group/${groupId} is not known`);
    const members = new Set(groupPatients(group.resource as Parameters<typeof groupPatients>[0], context.services.config.fhirBaseUrl));
    if (patients) {
      for (const id of patients.filter((p) => !members.has(p))) issues.push(issue(`Patient/${id} is not a member of Group/${groupId}: left out`));
      patients = patients.filter((p) => members.has(p));
    }
  } else if (level === 'patient' && patients) {
    const found = await context.store.readMany(patients.map((id) => ({ resourceType: 'Patient', id })));
    const known = new Set(found.filter((v) => !v.deleted).map((v) => v.id));
    // "Not known" covers "not visible to this token": the export must not reveal which it is.
    for (const id of patients.filter((p) => !known.has(p))) issues.push(issue(`Patient/${id} is not known: left out`));
    patients = patients.filter((p) => known.has(p));
  }

  let types: string[];
  if (params.types) {
    types = [];
    for (const type of params.types) {
      if (!candidates.includes(type)) {
        if (!lenient)
          throw badRequest(
            `_type: ${type} is not in the Patient compartment, which a ${level}-level export covers (https://hl7.org/fhir/R4/compartmentdefinition-patient.html)`,
          );
        ignored.push(`_type=${type} (not in the Patient compartment)`);
        continue;
      }
      try {
        policy.assertAllowed(type, 'search');
      } catch (error) {
        if (!lenient || !(error instanceof FhirError)) throw error;
        ignored.push(`_type=${type} (the token's scopes do not allow it)`);
        continue;
      }
      types.push(type);
    }
  } else {
    policy.assertAllowed(undefined, 'search');
    const allowed = policy.allowedTypes('search');
    types = candidates.filter((type) => (!allowed || allowed.includes(type)) && isAllowed(() => policy.assertAllowed(type, 'search')));
  }

  const plans: TypePlan[] = [];
  for (const type of types) {
    // A type the policy reaches none of (a patient token without that type in its compartment).
    if ((await policy.searchFilter(type, 'search'))?.op === 'false') continue;
    const filters = params.typeFilters.filter((f) => f.type === type).map((f) => f.query);
    for (const query of filters) {
      const where = typeFilterCondition(type, query, context.services.config.fhirBaseUrl, context.services.searchRegistry());
      // Refused here exactly as the search would be; the scan limits the allowed hops again.
      if (hasHops(where)) await limitHops(where, policy);
    }
    plans.push({ type, ...(filters.length ? { filters } : {}) });
  }
  // (When lenient handling dropped every asked type, the export is empty rather than refused.)
  if (plans.length === 0 && ignored.length === 0) {
    throw new FhirError(403, 'forbidden', `The token's scopes reach none of the resource types a ${level}-level export covers`);
  }
  return { types: plans, ...(patients ? { patients } : {}), issues, ignored };
}

function isAllowed(check: () => void): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

function issue(message: string): OperationOutcomeIssue {
  return { severity: 'error', code: 'not-found', diagnostics: message };
}
