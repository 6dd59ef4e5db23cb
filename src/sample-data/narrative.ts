/**
 * Generated narratives (Resource.text, status `generated`): a short XHTML summary of each
 * resource made from its own elements, as a record system shows it to a reader: what it is, its
 * status, when, and its value. Deterministic (only the resource goes in), so the same options
 * still give byte-identical data.
 *
 * https://hl7.org/fhir/R4/narrative.html
 */
import type { CodeableConcept, HumanName, Narrative, Period, Quantity, Resource } from 'fhir/r4';

type Json = Record<string, unknown>;

const text = (concept: unknown): string | undefined => {
  const c = concept as CodeableConcept | undefined;
  return c?.text ?? c?.coding?.[0]?.display;
};
const quantity = (q: unknown): string | undefined => {
  const v = q as Quantity | undefined;
  return v?.value === undefined ? undefined : `${v.value}${v.unit ? ` ${v.unit}` : ''}`;
};
const name = (names: unknown): string | undefined => {
  const n = (names as HumanName[] | undefined)?.[0];
  return n?.text ?? [n?.given?.join(' '), n?.family].filter(Boolean).join(' ');
};
const period = (p: unknown): string | undefined => {
  const v = p as Period | undefined;
  return v?.start ? (v.end ? `${v.start} to ${v.end}` : `from ${v.start}`) : undefined;
};
const value = (r: Json): string | undefined => quantity(r.valueQuantity) ?? text(r.valueCodeableConcept) ?? (r.valueString as string | undefined);
const components = (r: Json): string[] =>
  ((r.component as Json[] | undefined) ?? []).map((c) => `${text(c.code) ?? ''} ${value(c) ?? ''}`.trim()).filter(Boolean);

/** Per type: the heading, then the facts (absent ones left out). */
const SUMMARIES: Readonly<Record<string, (r: Json) => [string | undefined, ...Array<string | undefined>]>> = {
  Patient: (r) => {
    const address = (r.address as Json[] | undefined)?.[0];
    return [
      name(r.name),
      r.gender as string,
      r.birthDate ? `born ${r.birthDate as string}` : undefined,
      address ? [address.city, address.state].filter(Boolean).join(', ') : undefined,
    ];
  },
  Practitioner: (r) => [name(r.name), text((r.qualification as Json[] | undefined)?.[0]?.code)],
  PractitionerRole: (r) => [text((r.code as unknown[] | undefined)?.[0]), text((r.specialty as unknown[] | undefined)?.[0])],
  Organization: (r) => [r.name as string, (r.address as Json[] | undefined)?.[0]?.city as string],
  Location: (r) => [r.name as string, r.description as string, (r.address as Json | undefined)?.city as string],
  Group: (r) => [r.name as string, `${r.quantity as number} members`],
  Condition: (r) => [text(r.code), text(r.clinicalStatus), r.onsetDateTime ? `onset ${r.onsetDateTime as string}` : undefined],
  AllergyIntolerance: (r) => [
    text(r.code),
    text(r.clinicalStatus),
    (r.reaction as Json[] | undefined)?.flatMap((reaction) => (reaction.manifestation as unknown[]).map(text)).join(', '),
  ],
  MedicationRequest: (r) => [
    text(r.medicationCodeableConcept),
    r.status as string,
    (r.dosageInstruction as Json[] | undefined)?.[0]?.text as string,
    r.authoredOn as string,
  ],
  Encounter: (r) => [text((r.type as unknown[] | undefined)?.[0]), (r.class as Json | undefined)?.display as string, r.status as string, period(r.period)],
  Observation: (r) => [text(r.code), value(r), ...components(r), r.status as string, r.effectiveDateTime as string],
  DiagnosticReport: (r) => [text(r.code), r.status as string, r.effectiveDateTime as string, `${(r.result as unknown[] | undefined)?.length ?? 0} results`],
  Procedure: (r) => [text(r.code), r.status as string, period(r.performedPeriod) ?? (r.performedDateTime as string | undefined)],
  Immunization: (r) => [text(r.vaccineCode), r.status as string, r.occurrenceDateTime as string, text(r.site)],
};

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The narrative of `resource`, or undefined for types without a summary. */
export function narrativeOf(resource: Resource): Narrative | undefined {
  const summary = SUMMARIES[resource.resourceType];
  if (!summary) return undefined;
  const [heading, ...facts] = summary(resource as unknown as Json);
  const kept = facts.filter((f): f is string => typeof f === 'string' && f !== '');
  if (!heading && kept.length === 0) return undefined;
  const body = [heading ? `<p><b>${escape(heading)}</b></p>` : '', kept.length ? `<p>${kept.map(escape).join('; ')}</p>` : ''].join('');
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${body}</div>` };
}

/** `resource` with its generated narrative, placed after `id` and `meta` as R4 orders them. */
export function withNarrative<T extends Resource>(resource: T): T {
  const narrative = narrativeOf(resource);
  if (!narrative) return resource;
  const { resourceType, id, meta, ...rest } = resource as T & { meta?: unknown };
  return { resourceType, id, ...(meta ? { meta } : {}), text: narrative, ...rest } as unknown as T;
}
