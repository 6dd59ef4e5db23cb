/** MedicationRequest (US Core): an RxNorm-coded order with a sig, linked to the condition it treats. */
import type { MedicationRequest, Reference } from 'fhir/r4';
import type { MedicationDef } from '../terminology/medications.js';
import { SYSTEM, snomed, type Code } from '../terminology/systems.js';
import { DAY_MS, formatDate, formatDateTime } from '../time.js';
import { US_CORE, claims } from '../us-core.js';
import { concept, quantity } from './common.js';

const OUTPATIENT: Code = { system: SYSTEM.medicationRequestCategory, code: 'outpatient', display: 'Outpatient' };
const COURSE: Record<MedicationDef['course'], Code> = {
  continuous: { system: SYSTEM.courseOfTherapy, code: 'continuous', display: 'Continuous long term therapy' },
  acute: { system: SYSTEM.courseOfTherapy, code: 'acute', display: 'Short course (acute) therapy' },
};
const ORAL_ROUTE = snomed('26643006', 'Oral route');

export interface PrescriptionContext {
  readonly patient: Reference;
  readonly encounter: Reference;
  readonly requester: Reference;
  readonly reason: Reference | undefined;
  readonly authored: number;
  readonly today: number;
}

/** An order for `med`; short courses are `completed` once their supply has run out. */
export function buildMedicationRequest(id: string, med: MedicationDef, ctx: PrescriptionContext): MedicationRequest {
  const courseEnd = ctx.authored + med.supplyDays * DAY_MS;
  // A short course is over once its supply has run out; long-term therapy stays active.
  const status = med.course === 'acute' && courseEnd < ctx.today ? 'completed' : 'active';
  const repeats = med.course === 'continuous' ? 3 : 0;
  return {
    resourceType: 'MedicationRequest',
    id,
    meta: claims(US_CORE.medicationRequest),
    status,
    intent: 'order',
    category: [concept(OUTPATIENT)],
    medicationCodeableConcept: concept(med.code, med.text),
    subject: ctx.patient,
    encounter: ctx.encounter,
    authoredOn: formatDateTime(ctx.authored),
    requester: ctx.requester,
    ...(ctx.reason ? { reasonReference: [ctx.reason] } : {}),
    courseOfTherapyType: concept(COURSE[med.course]),
    dosageInstruction: [
      {
        sequence: 1,
        text: med.sig,
        timing: {
          repeat: {
            ...(med.course === 'acute' ? { boundsPeriod: { start: formatDate(ctx.authored), end: formatDate(courseEnd) } } : {}),
            frequency: med.frequency,
            period: med.period,
            ...(med.periodMax !== undefined ? { periodMax: med.periodMax } : {}),
            periodUnit: med.periodUnit,
            ...(med.when ? { when: [med.when] } : {}),
          },
        },
        asNeededBoolean: med.asNeeded,
        ...(med.oral ? { route: concept(ORAL_ROUTE) } : {}),
        doseAndRate: [{ doseQuantity: quantity(med.dose, med.doseUnit, med.doseUnit.slice(1, -1)) }],
      },
    ],
    dispenseRequest: {
      validityPeriod: { start: formatDate(ctx.authored), end: formatDate(ctx.authored + 365 * DAY_MS) },
      numberOfRepeatsAllowed: repeats,
      quantity: { value: med.quantity, unit: med.quantityUnit },
      expectedSupplyDuration: quantity(med.supplyDays, 'd', 'days'),
    },
  };
}
