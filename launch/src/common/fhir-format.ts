/** Small formatting helpers for FHIR data shown to people (banner, lists, pickers). */
import type { CodeableConcept, HumanName } from 'fhir/r4';

export function humanName(names: HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === 'official') ?? names?.[0];
  if (!name) return 'Unnamed';
  return name.text ?? [...(name.prefix ?? []), ...(name.given ?? []), name.family].filter(Boolean).join(' ');
}

/** Age in whole years on `today`. */
export function ageOn(birthDate: string | undefined, today = new Date()): number | undefined {
  if (!birthDate || !/^\d{4}-\d{2}-\d{2}/.test(birthDate)) return undefined;
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  let age = today.getUTCFullYear() - y;
  if (today.getUTCMonth() + 1 < m || (today.getUTCMonth() + 1 === m && today.getUTCDate() < d)) age--;
  return age;
}

export function conceptText(concept: CodeableConcept | undefined): string {
  return concept?.text ?? concept?.coding?.find((c) => c.display)?.display ?? concept?.coding?.[0]?.code ?? 'Unknown';
}

/** 2024-03-05 from a FHIR date or dateTime. */
export function day(value: string | undefined): string {
  return value ? value.slice(0, 10) : '';
}

export function capitalize(text: string | undefined): string {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : '';
}
