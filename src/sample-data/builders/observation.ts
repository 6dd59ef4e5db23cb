/**
 * Observations: vital signs (FHIR vital signs profile), the blood pressure panel with systolic and
 * diastolic components, laboratory results with reference range and interpretation, and smoking
 * status (US Core Smoking Status).
 *
 * These run about a million times for a benchmark set, so each builds one fresh object and fills
 * it in place instead of spreading partial objects.
 */
import type { CodeableConcept, Observation, ObservationReferenceRange, Reference } from 'fhir/r4';
import {
  BLOOD_PRESSURE,
  INTERPRETATION,
  OBSERVATION_CATEGORY,
  SMOKING_STATUS,
  type QuantityObservationDef,
  type Range,
  type SmokingKey,
} from '../terminology/observations.js';
import { US_CORE, claims, type UsCoreProfile } from '../us-core.js';
import { concept, quantity, round } from './common.js';

export interface ObservationContext {
  readonly patient: Reference;
  readonly encounter: Reference;
  /** FHIR dateTime, formatted once per visit. */
  readonly effective: string;
  readonly performer: Reference;
}

function base(id: string, profile: UsCoreProfile, category: keyof typeof OBSERVATION_CATEGORY, code: CodeableConcept, ctx: ObservationContext): Observation {
  return {
    resourceType: 'Observation',
    id,
    meta: claims(profile),
    status: 'final',
    category: [concept(OBSERVATION_CATEGORY[category])],
    code,
    subject: ctx.patient,
    encounter: ctx.encounter,
    effectiveDateTime: ctx.effective,
  };
}

/** A single-valued vital sign such as heart rate or body weight. */
export function buildVitalSign(id: string, def: QuantityObservationDef, value: number, ctx: ObservationContext): Observation {
  const observation = base(id, def.profile, 'vital-signs', concept(def.codes, def.text), ctx);
  observation.performer = [ctx.performer];
  observation.valueQuantity = quantity(round(value, def.decimals), def.unit, def.unitText);
  return observation;
}

/** The blood pressure panel: no value of its own, systolic and diastolic as components. */
export function buildBloodPressure(id: string, systolic: number, diastolic: number, ctx: ObservationContext): Observation {
  const component = (code: typeof BLOOD_PRESSURE.systolic, value: number) => ({
    code: concept(code),
    valueQuantity: quantity(Math.round(value), BLOOD_PRESSURE.unit, BLOOD_PRESSURE.unitText),
  });
  const observation = base(id, US_CORE.bloodPressure, 'vital-signs', concept(BLOOD_PRESSURE.panel, BLOOD_PRESSURE.text), ctx);
  observation.performer = [ctx.performer];
  observation.component = [component(BLOOD_PRESSURE.systolic, systolic), component(BLOOD_PRESSURE.diastolic, diastolic)];
  return observation;
}

function interpretation(value: number, range: Range): CodeableConcept {
  if (range.low !== undefined && value < range.low) return concept(INTERPRETATION.low);
  if (range.high !== undefined && value > range.high) return concept(INTERPRETATION.high);
  return concept(INTERPRETATION.normal);
}

function referenceRange(def: QuantityObservationDef, range: Range): ObservationReferenceRange {
  const result: ObservationReferenceRange = {};
  if (range.low !== undefined) result.low = quantity(range.low, def.unit, def.unitText);
  if (range.high !== undefined) result.high = quantity(range.high, def.unit, def.unitText);
  return result;
}

/** A laboratory result; `issued` (a FHIR instant) is when the lab released it. */
export function buildLabResult(
  id: string,
  def: QuantityObservationDef,
  rawValue: number,
  gender: 'female' | 'male',
  issued: string,
  ctx: ObservationContext,
): Observation {
  const value = round(rawValue, def.decimals);
  const range = def.range?.[gender];
  const observation = base(id, def.profile, 'laboratory', concept(def.codes, def.text), ctx);
  observation.issued = issued;
  observation.performer = [ctx.performer];
  observation.valueQuantity = quantity(value, def.unit, def.unitText);
  if (range) {
    observation.interpretation = [interpretation(value, range)];
    observation.referenceRange = [referenceRange(def, range)];
  }
  return observation;
}

/**
 * Tobacco smoking status (LOINC 72166-2) with a SNOMED value, as US Core requires; `issued` (the
 * visit's time) too, which US Core 3.1.1 requires.
 */
export function buildSmokingStatus(id: string, status: SmokingKey, ctx: ObservationContext): Observation {
  const observation = base(id, US_CORE.smokingStatus, 'social-history', concept(SMOKING_STATUS.code, SMOKING_STATUS.text), ctx);
  observation.issued = ctx.effective;
  observation.performer = [ctx.performer];
  observation.valueCodeableConcept = concept(SMOKING_STATUS.values[status]);
  return observation;
}
