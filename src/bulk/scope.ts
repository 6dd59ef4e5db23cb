/**
 * Which resources of one type an export asks for, as a storage Condition (plus, for large patient
 * sets, an in-memory check): `_typeFilter`, and for Patient- and Group-level exports the patient
 * compartments of the R4 CompartmentDefinition. The owner's access policy is not here: the export
 * reads through the store bound to it, which ANDs it in (access/guarded-store.ts).
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html#endpoint---all-patients
 */
import type { Resource } from 'fhir/r4';
import { patientCompartmentParams } from '../search/compartments.js';
import { badRequest } from '../r4/errors.js';
import { parseSearch, type SearchRegistry } from '../search/index.js';
import { parseQuery } from '../text-decoding.js';
import { extractIndex } from '../search/index.js';
import { parseRelativeReference } from '../r4/ids.js';
import type { StoredVersion } from '../storage/resource-store.js';
import type { Condition, ReferenceEntry } from '../storage/search-index.js';
import type { TypePlan } from './job.js';

/**
 * Patient sets up to this size become an IN list in the query; larger ones are checked in memory
 * after a query for "in some patient's compartment" (SQLite binds at most 32,766 values).
 */
export const MAX_INLINE_PATIENTS = 500;

/** The patients an export is limited to (Patient/Group level), or undefined for every patient. */
export type PatientSet = ReadonlySet<string> | undefined;

export interface TypeScope {
  where: Condition | undefined;
  /** A further check on each scanned resource, when `where` cannot say it all. */
  accept?: (version: StoredVersion) => boolean;
}

/** What of `plan.type` to export. `compartment` false: system level (no compartment limit). */
export function typeScope(plan: TypePlan, compartment: boolean, patients: PatientSet, baseUrl: string, registry?: SearchRegistry): TypeScope {
  const parts: Condition[] = [];
  if (plan.filters?.length) {
    const filters = plan.filters.map((query) => typeFilterCondition(plan.type, query, baseUrl, registry));
    parts.push(filters.length === 1 ? filters[0]! : { op: 'or', of: filters });
  }
  let accept: TypeScope['accept'];
  if (compartment) {
    const inline = patients && patients.size <= MAX_INLINE_PATIENTS ? [...patients] : undefined;
    parts.push(compartmentCondition(plan.type, inline));
    if (patients && !inline) accept = memberCheck(plan.type, patients, baseUrl);
  }
  const where = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { op: 'and' as const, of: parts };
  return { where, ...(accept ? { accept } : {}) };
}

/** One `_typeFilter` query (`code=...&status=...`) of `type` as a storage Condition. */
export function typeFilterCondition(type: string, query: string, baseUrl: string, registry?: SearchRegistry): Condition {
  return parseSearch(type, parseQuery(query, badRequest, `_typeFilter ${type}?…`), {
    baseUrl,
    strict: true,
    maxCount: 1,
    defaultCount: 1,
    ...(registry ? { registry } : {}),
  }).where;
}

/**
 * Resources of `type` in the compartment of one of `patients` (ids), or of any patient when
 * undefined. The Patient resource is in its own compartment.
 */
export function compartmentCondition(type: string, patients: string[] | undefined): Condition {
  if (type === 'Patient') return patients ? { op: 'id', ids: patients } : { op: 'true' };
  const params = patientCompartmentParams().get(type) ?? [];
  const rows: Condition[] = params.map((param) => ({
    op: 'row',
    table: 'reference',
    param,
    where: patients ? [{ field: 'value', cmp: 'in', value: patients.map((id) => `Patient/${id}`) }] : [{ field: 'targetType', cmp: 'eq', value: 'Patient' }],
  }));
  if (rows.length === 0) return { op: 'false' };
  return rows.length === 1 ? rows[0]! : { op: 'or', of: rows };
}

/** In-memory membership: one of the resource's compartment references is to a patient of the set. */
function memberCheck(type: string, patients: ReadonlySet<string>, baseUrl: string): (version: StoredVersion) => boolean {
  if (type === 'Patient') return (version) => patients.has(version.id);
  const params = new Set(patientCompartmentParams().get(type) ?? []);
  return (version) => {
    const rows = extractIndex(version.resource as Resource, { baseUrl, params });
    return rows.some((row) => {
      const ref = row as ReferenceEntry;
      return row.table === 'reference' && ref.targetType === 'Patient' && ref.targetId != null && patients.has(ref.targetId);
    });
  };
}

/**
 * The Patient ids among a Group's active members (`member.entity` references to Patient, relative
 * or absolute on this server). Members of other types are not patients and add nothing.
 */
export function groupPatients(group: { member?: Array<{ entity?: { reference?: string }; inactive?: boolean }> }, baseUrl: string): string[] {
  const ids = new Set<string>();
  for (const member of group.member ?? []) {
    if (member.inactive) continue;
    let reference = member.entity?.reference ?? '';
    if (reference.startsWith(`${baseUrl}/`)) reference = reference.slice(baseUrl.length + 1);
    const target = parseRelativeReference(reference);
    if (target?.type === 'Patient') ids.add(target.id);
  }
  return [...ids];
}
