/**
 * Condition: chronic problems on the problem list, and acute encounter diagnoses that resolve
 * (US Core Condition Problems and Health Concerns / Encounter Diagnosis).
 */
import type { Condition, Reference } from 'fhir/r4';
import { SYSTEM, type Code } from '../terminology/systems.js';
import { formatDate, formatDateTime } from '../time.js';
import { US_CORE, claims } from '../us-core.js';
import { concept } from './common.js';

const CATEGORY = {
  problem: { system: SYSTEM.conditionCategory, code: 'problem-list-item', display: 'Problem List Item' },
  diagnosis: { system: SYSTEM.conditionCategory, code: 'encounter-diagnosis', display: 'Encounter Diagnosis' },
} as const satisfies Record<string, Code>;

const clinical = (code: 'active' | 'resolved'): Code => ({
  system: SYSTEM.conditionClinical,
  code,
  display: code === 'active' ? 'Active' : 'Resolved',
});
const CONFIRMED: Code = { system: SYSTEM.conditionVerification, code: 'confirmed', display: 'Confirmed' };

export interface ConditionContext {
  readonly patient: Reference;
  readonly encounter: Reference;
  readonly recorder: Reference;
  /** When it was written down (the visit). */
  readonly recorded: number;
}

/**
 * A problem-list entry. `onset` is a date when the problem predates the record (the patient told
 * us the year), a date-time when it was diagnosed at the recording visit.
 */
export function buildChronicCondition(id: string, code: Code, text: string, onset: number, diagnosedAtVisit: boolean, ctx: ConditionContext): Condition {
  return {
    resourceType: 'Condition',
    id,
    meta: claims(US_CORE.problem),
    clinicalStatus: concept(clinical('active')),
    verificationStatus: concept(CONFIRMED),
    category: [concept(CATEGORY.problem)],
    code: concept(code, text),
    subject: ctx.patient,
    encounter: ctx.encounter,
    onsetDateTime: diagnosedAtVisit ? formatDateTime(ctx.recorded) : formatDate(onset),
    recordedDate: formatDateTime(ctx.recorded),
    recorder: ctx.recorder,
  };
}

/** An encounter diagnosis; resolved with an abatement date once `resolved` is in the past. */
export function buildAcuteCondition(id: string, code: Code, text: string, resolved: number, today: number, ctx: ConditionContext): Condition {
  const over = resolved < today;
  return {
    resourceType: 'Condition',
    id,
    meta: claims(US_CORE.encounterDiagnosis),
    clinicalStatus: concept(clinical(over ? 'resolved' : 'active')),
    verificationStatus: concept(CONFIRMED),
    category: [concept(CATEGORY.diagnosis)],
    code: concept(code, text),
    subject: ctx.patient,
    encounter: ctx.encounter,
    onsetDateTime: formatDateTime(ctx.recorded),
    ...(over ? { abatementDateTime: formatDate(resolved) } : {}),
    recordedDate: formatDateTime(ctx.recorded),
    recorder: ctx.recorder,
  };
}
