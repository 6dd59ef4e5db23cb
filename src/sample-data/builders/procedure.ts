/** Procedure (US Core): SNOMED-coded, performed during an encounter. */
import type { Procedure, Reference } from 'fhir/r4';
import type { Code } from '../terminology/systems.js';
import { formatDateTime } from '../time.js';
import { US_CORE, claims } from '../us-core.js';
import { concept } from './common.js';

export interface ProcedureContext {
  readonly patient: Reference;
  readonly encounter: Reference;
  readonly performer: Reference;
  readonly location: Reference;
  readonly reason: Reference | undefined;
  readonly start: number;
  readonly end: number;
}

/** A completed procedure, with the Condition it was done for when there is one. */
export function buildProcedure(id: string, code: Code, ctx: ProcedureContext): Procedure {
  return {
    resourceType: 'Procedure',
    id,
    meta: claims(US_CORE.procedure),
    status: 'completed',
    code: concept(code),
    subject: ctx.patient,
    encounter: ctx.encounter,
    performedPeriod: { start: formatDateTime(ctx.start), end: formatDateTime(ctx.end) },
    performer: [{ actor: ctx.performer }],
    location: ctx.location,
    ...(ctx.reason ? { reasonReference: [ctx.reason] } : {}),
  };
}
