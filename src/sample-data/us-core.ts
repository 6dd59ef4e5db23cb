/**
 * The US Core profiles the sample resources claim (meta.profile) and conform to: US Core 6.1.0
 * (https://hl7.org/fhir/us/core/STU6.1/profiles-and-extensions.html), and as far as the same
 * profiles exist there, 3.1.1 and 7.0.0 as well, so a Bedside running any of those versions
 * accepts its own sample data. The canonical URLs carry no version, as US Core's own examples.
 * Group has no US Core profile and claims none.
 */
import type { Meta } from 'fhir/r4';

const BASE = 'http://hl7.org/fhir/us/core/StructureDefinition';

export const US_CORE = {
  patient: `${BASE}/us-core-patient`,
  organization: `${BASE}/us-core-organization`,
  location: `${BASE}/us-core-location`,
  practitioner: `${BASE}/us-core-practitioner`,
  practitionerRole: `${BASE}/us-core-practitionerrole`,
  encounter: `${BASE}/us-core-encounter`,
  problem: `${BASE}/us-core-condition-problems-health-concerns`,
  encounterDiagnosis: `${BASE}/us-core-condition-encounter-diagnosis`,
  allergy: `${BASE}/us-core-allergyintolerance`,
  medicationRequest: `${BASE}/us-core-medicationrequest`,
  immunization: `${BASE}/us-core-immunization`,
  procedure: `${BASE}/us-core-procedure`,
  labReport: `${BASE}/us-core-diagnosticreport-lab`,
  labResult: `${BASE}/us-core-observation-lab`,
  smokingStatus: `${BASE}/us-core-smokingstatus`,
  bloodPressure: `${BASE}/us-core-blood-pressure`,
  heartRate: `${BASE}/us-core-heart-rate`,
  respiratoryRate: `${BASE}/us-core-respiratory-rate`,
  bodyTemperature: `${BASE}/us-core-body-temperature`,
  bodyWeight: `${BASE}/us-core-body-weight`,
  bodyHeight: `${BASE}/us-core-body-height`,
  bmi: `${BASE}/us-core-bmi`,
  pulseOximetry: `${BASE}/us-core-pulse-oximetry`,
  headCircumference: `${BASE}/us-core-head-circumference`,
} as const;

export type UsCoreProfile = (typeof US_CORE)[keyof typeof US_CORE];

/** `meta` claiming one profile. */
export function claims(profile: UsCoreProfile): Meta {
  return { profile: [profile] };
}
