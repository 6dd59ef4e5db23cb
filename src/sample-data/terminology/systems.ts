/**
 * Code system and identifier system URIs used by the sample data, in one place so that a typo
 * cannot split one system into two. See https://terminology.hl7.org for the HL7 ones.
 */
export const SYSTEM = {
  snomed: 'http://snomed.info/sct',
  loinc: 'http://loinc.org',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  cvx: 'http://hl7.org/fhir/sid/cvx',
  ucum: 'http://unitsofmeasure.org',
  npi: 'http://hl7.org/fhir/sid/us-npi',
  nucc: 'http://nucc.org/provider-taxonomy',
  /** Bedside General Hospital's medical record numbers (an example OID from HL7's own docs). */
  mrn: 'urn:oid:2.16.840.1.113883.19.5',
  language: 'urn:ietf:bcp:47',
  ombRaceEthnicity: 'urn:oid:2.16.840.1.113883.6.238',
  identifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  degreeLicense: 'http://terminology.hl7.org/CodeSystem/v2-0360',
  diagnosticService: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  contactRole: 'http://terminology.hl7.org/CodeSystem/v2-0131',
  immunizationFunction: 'http://terminology.hl7.org/CodeSystem/v2-0443',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  roleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  interpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  maritalStatus: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus',
  actSite: 'http://terminology.hl7.org/CodeSystem/v3-ActSite',
  route: 'http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  allergyClinical: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
  allergyVerification: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
  medicationRequestCategory: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category',
  courseOfTherapy: 'http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy',
  immunizationOrigin: 'http://terminology.hl7.org/CodeSystem/immunization-origin',
  organizationType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  locationPhysicalType: 'http://terminology.hl7.org/CodeSystem/location-physical-type',
  practitionerRole: 'http://terminology.hl7.org/CodeSystem/practitioner-role',
  admitSource: 'http://terminology.hl7.org/CodeSystem/admit-source',
  dischargeDisposition: 'http://terminology.hl7.org/CodeSystem/discharge-disposition',
  usCoreRace: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
  usCoreEthnicity: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity',
  usCoreBirthSex: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex',
} as const;

/** A code with its system and display, the shape every table in this folder uses. */
export interface Code {
  readonly system: string;
  readonly code: string;
  readonly display: string;
}

export const snomed = (code: string, display: string): Code => ({ system: SYSTEM.snomed, code, display });
export const loinc = (code: string, display: string): Code => ({ system: SYSTEM.loinc, code, display });
export const rxnorm = (code: string, display: string): Code => ({ system: SYSTEM.rxnorm, code, display });
export const cvx = (code: string, display: string): Code => ({ system: SYSTEM.cvx, code, display });
