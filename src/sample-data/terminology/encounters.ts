/** Encounter classes and types, and the procedures done during encounters (SNOMED CT). */
import { SYSTEM, snomed, type Code } from './systems.js';

/** Encounter.class values (v3 ActCode), https://hl7.org/fhir/R4/v3/ActEncounterCode/vs.html */
export const ENCOUNTER_CLASS = {
  ambulatory: { system: SYSTEM.actCode, code: 'AMB', display: 'ambulatory' },
  emergency: { system: SYSTEM.actCode, code: 'EMER', display: 'emergency' },
  inpatient: { system: SYSTEM.actCode, code: 'IMP', display: 'inpatient encounter' },
} as const satisfies Record<string, Code>;

export type EncounterClassKey = keyof typeof ENCOUNTER_CLASS;

export const ENCOUNTER_TYPES = {
  checkUp: snomed('185349003', 'Encounter for check up'),
  wellChild: snomed('410620009', 'Well child visit'),
  problem: snomed('185347001', 'Encounter for problem'),
  symptom: snomed('185345009', 'Encounter for symptom'),
  followUp: snomed('390906007', 'Follow-up encounter'),
  emergencyRoom: snomed('50849002', 'Emergency room admission'),
  emergencyAdmission: snomed('183452005', 'Emergency hospital admission'),
  orthopedicAdmission: snomed('183495009', 'Non-urgent orthopedic admission'),
  cardiologyAdmission: snomed('310361003', 'Non-urgent cardiological admission'),
} as const satisfies Record<string, Code>;

export type EncounterTypeKey = keyof typeof ENCOUNTER_TYPES;

export const PROCEDURES = {
  medicationReconciliation: snomed('430193006', 'Medication reconciliation'),
  depressionScreening: snomed('171207006', 'Depression screening'),
  throatCulture: snomed('117015009', 'Throat culture'),
  spirometry: snomed('23426006', 'Measurement of respiratory function'),
  ecg: snomed('29303009', 'Electrocardiographic procedure'),
  echocardiography: snomed('40701008', 'Echocardiography'),
  chestXray: snomed('399208008', 'Plain X-ray of chest'),
  kneeReplacement: snomed('609588000', 'Total knee replacement'),
  coronaryIntervention: snomed('415070008', 'Percutaneous coronary intervention'),
} as const satisfies Record<string, Code>;

export type ProcedureKey = keyof typeof PROCEDURES;
