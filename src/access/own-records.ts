/**
 * What a token bound to patients (a patient launch, a patient user, a linked practitioner)
 * reaches of a compartment type: the resources whose compartment parameters name those patients
 * and no other patient. A resource that also names another patient (a cohort Group, an
 * Appointment of two patients, an Observation with another patient as performer) tells about
 * that patient, so it is out of reach, and a write may not make one either (the same condition
 * decides writes). Of the Patient type: the patients' own records only, not the records linked
 * to them through Patient.link; and a write may not link them to a patient outside the set
 * (`link` is Patient's compartment parameter: the record would join that patient's compartment).
 * Reads keep an existing link, so a patient whose record was merged still reads it.
 *
 * The R4 Patient CompartmentDefinition says which parameters put a resource in a compartment:
 * https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
import { patientCompartmentParams } from '../search/compartments.js';
import type { Condition, FieldPredicate } from '../storage/search-index.js';

const FALSE: Condition = { op: 'false' };

/** Resources of `type` that belong to the patients of `patientIds` alone, to read or to write. */
export function ownRecordsCondition(type: string, patientIds: readonly string[], use: 'read' | 'write' = 'read'): Condition {
  if (patientIds.length === 0) return FALSE;
  const params = patientCompartmentParams().get(type) ?? [];
  const references = patientIds.map((id) => `Patient/${id}`);
  const some = (where: FieldPredicate[]): Condition[] => params.map((param) => ({ op: 'row', table: 'reference', param, where }));
  const any = (of: Condition[]): Condition => (of.length === 1 ? of[0]! : { op: 'or', of });
  // "Names another patient": a row of a compartment parameter pointing at a Patient not in the set.
  const other: FieldPredicate[] = [
    { field: 'targetType', cmp: 'eq', value: 'Patient' },
    ...references.map((value): FieldPredicate => ({ field: 'value', cmp: 'ne', value })),
  ];
  if (type === 'Patient') {
    const own: Condition = { op: 'id', ids: [...patientIds] };
    return use === 'write' && params.length ? { op: 'and', of: [own, { op: 'not', of: any(some(other)) }] } : own;
  }
  if (params.length === 0) return FALSE;
  const named: FieldPredicate[] =
    references.length === 1 ? [{ field: 'value', cmp: 'eq', value: references[0]! }] : [{ field: 'value', cmp: 'in', value: references }];
  return { op: 'and', of: [any(some(named)), { op: 'not', of: any(some(other)) }] };
}

/**
 * The patients a resource names through its compartment parameters (its own id for a Patient),
 * from its reference index rows: whose record it is.
 */
export function patientsNamedBy(
  type: string,
  id: string,
  rows: ReadonlyArray<{ param: string; targetType?: string | null; targetId?: string | null }>,
): Set<string> {
  if (type === 'Patient') return new Set([id]);
  const params = new Set(patientCompartmentParams().get(type) ?? []);
  return new Set(rows.filter((r) => params.has(r.param) && r.targetType === 'Patient' && r.targetId).map((r) => r.targetId!));
}
