/** Small constructors for FHIR datatypes, shared by every builder. */
import type { CodeableConcept, Coding, Quantity, Reference } from 'fhir/r4';
import { ORGANIZATION, STAFF, staffDisplay, type StaffKey } from '../people/staff.js';
import { SYSTEM, type Code } from '../terminology/systems.js';

/** A relative reference `Type/id`, as every reference in the sample data is. */
export function reference(type: string, id: string, display?: string): Reference {
  return display === undefined ? { reference: `${type}/${id}` } : { reference: `${type}/${id}`, display };
}

export function coding(code: Code): Coding {
  return { system: code.system, code: code.code, display: code.display };
}

/** One or more codings plus the text a user would see. */
export function concept(codes: Code | readonly Code[], text?: string): CodeableConcept {
  const list = Array.isArray(codes) ? (codes as readonly Code[]) : [codes as Code];
  const first = list[0];
  return { coding: list.map(coding), text: text ?? first?.display ?? '' };
}

/** A UCUM quantity. */
export function quantity(value: number, ucum: string, unitText = ucum): Quantity {
  return { value, unit: unitText, system: SYSTEM.ucum, code: ucum };
}

/** Rounds for display; the result prints without floating-point noise (72.30000000000001). */
export function round(value: number, decimals: number): number {
  const factor = decimals === 0 ? 1 : decimals === 1 ? 10 : decimals === 2 ? 100 : 1000;
  return Math.round(value * factor) / factor;
}

export const organizationReference = (): Reference => reference('Organization', ORGANIZATION.id, ORGANIZATION.name);

export const staffReference = (key: StaffKey): Reference => reference('Practitioner', STAFF[key].id, staffDisplay(key));
