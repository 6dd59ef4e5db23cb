/**
 * The prescribable drugs the generator uses: RxNorm semantic clinical drugs (SCD) with the dosage
 * a clinician would write for them. Codes were checked against RxNorm-derived sources (VSAC
 * value sets, NDC crosswalks, Synthea); see fhir-data/README.md.
 */
import { rxnorm, type Code } from './systems.js';

export interface MedicationDef {
  readonly code: Code;
  /** Short human name, used as `medicationCodeableConcept.text`. */
  readonly text: string;
  /** The sig, as printed on the label. */
  readonly sig: string;
  /** Doses per `period` `periodUnit`. */
  readonly frequency: number;
  readonly period: number;
  readonly periodMax?: number;
  readonly periodUnit: 'h' | 'd';
  /** FHIR event timing (https://hl7.org/fhir/R4/valueset-event-timing.html), e.g. HS = bedtime. */
  readonly when?: string;
  readonly asNeeded: boolean;
  readonly dose: number;
  /** UCUM unit of one dose ({tbl} is UCUM's annotation syntax for "tablet"). */
  readonly doseUnit: '{tbl}' | '{capsule}' | '{puff}';
  readonly oral: boolean;
  readonly course: 'continuous' | 'acute';
  /** Days one dispense lasts. */
  readonly supplyDays: number;
  readonly quantity: number;
  readonly quantityUnit: string;
}

const daily = { frequency: 1, period: 1, periodUnit: 'd', asNeeded: false } as const;
const twiceDaily = { frequency: 2, period: 1, periodUnit: 'd', asNeeded: false } as const;
const tablet = { dose: 1, doseUnit: '{tbl}', oral: true, quantityUnit: 'tablet' } as const;
const capsule = { dose: 1, doseUnit: '{capsule}', oral: true, quantityUnit: 'capsule' } as const;
const longTerm = { course: 'continuous', supplyDays: 90, quantity: 90 } as const;

export const MEDICATIONS = {
  lisinopril: {
    code: rxnorm('314076', 'lisinopril 10 MG Oral Tablet'),
    text: 'Lisinopril 10 mg tablet',
    sig: 'Take 1 tablet (10 mg) by mouth once daily.',
    ...daily,
    ...tablet,
    ...longTerm,
  },
  amlodipine: {
    code: rxnorm('197361', 'amlodipine 5 MG Oral Tablet'),
    text: 'Amlodipine 5 mg tablet',
    sig: 'Take 1 tablet (5 mg) by mouth once daily.',
    ...daily,
    ...tablet,
    ...longTerm,
  },
  metformin: {
    code: rxnorm('860975', '24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet'),
    text: 'Metformin ER 500 mg tablet',
    sig: 'Take 1 tablet (500 mg) by mouth once daily with the evening meal.',
    ...daily,
    when: 'CV',
    ...tablet,
    ...longTerm,
  },
  atorvastatin: {
    code: rxnorm('617310', 'atorvastatin 20 MG Oral Tablet'),
    text: 'Atorvastatin 20 mg tablet',
    sig: 'Take 1 tablet (20 mg) by mouth once daily at bedtime.',
    ...daily,
    when: 'HS',
    ...tablet,
    ...longTerm,
  },
  simvastatin: {
    code: rxnorm('312961', 'simvastatin 20 MG Oral Tablet'),
    text: 'Simvastatin 20 mg tablet',
    sig: 'Take 1 tablet (20 mg) by mouth once daily in the evening.',
    ...daily,
    when: 'EVE',
    ...tablet,
    ...longTerm,
  },
  albuterol: {
    code: rxnorm('745679', '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler'),
    text: 'Albuterol HFA inhaler 90 mcg/actuation',
    sig: 'Inhale 2 puffs every 4 to 6 hours as needed for wheezing or shortness of breath.',
    frequency: 1,
    period: 4,
    periodMax: 6,
    periodUnit: 'h',
    asNeeded: true,
    dose: 2,
    doseUnit: '{puff}',
    oral: false,
    course: 'continuous',
    supplyDays: 30,
    quantity: 1,
    quantityUnit: 'inhaler',
  },
  fluticasone: {
    code: rxnorm('895994', '120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler'),
    text: 'Fluticasone 44 mcg inhaler',
    sig: 'Inhale 2 puffs twice daily. Rinse mouth after each use.',
    ...twiceDaily,
    dose: 2,
    doseUnit: '{puff}',
    oral: false,
    course: 'continuous',
    supplyDays: 30,
    quantity: 1,
    quantityUnit: 'inhaler',
  },
  omeprazole: {
    code: rxnorm('198051', 'omeprazole 20 MG Delayed Release Oral Capsule'),
    text: 'Omeprazole 20 mg capsule',
    sig: 'Take 1 capsule (20 mg) by mouth once daily before breakfast.',
    ...daily,
    when: 'ACM',
    ...capsule,
    ...longTerm,
  },
  sertraline: {
    code: rxnorm('312941', 'sertraline 50 MG Oral Tablet'),
    text: 'Sertraline 50 mg tablet',
    sig: 'Take 1 tablet (50 mg) by mouth once daily.',
    ...daily,
    ...tablet,
    ...longTerm,
  },
  escitalopram: {
    code: rxnorm('349332', 'escitalopram 10 MG Oral Tablet'),
    text: 'Escitalopram 10 mg tablet',
    sig: 'Take 1 tablet (10 mg) by mouth once daily.',
    ...daily,
    ...tablet,
    ...longTerm,
  },
  naproxen: {
    code: rxnorm('849574', 'naproxen sodium 220 MG Oral Tablet'),
    text: 'Naproxen sodium 220 mg tablet',
    sig: 'Take 1 tablet (220 mg) by mouth every 12 hours as needed for joint pain. Take with food.',
    frequency: 1,
    period: 12,
    periodUnit: 'h',
    asNeeded: true,
    ...tablet,
    course: 'continuous',
    supplyDays: 30,
    quantity: 60,
  },
  ibuprofen: {
    code: rxnorm('310965', 'ibuprofen 200 MG Oral Tablet'),
    text: 'Ibuprofen 200 mg tablet',
    sig: 'Take 2 tablets (400 mg) by mouth every 6 hours as needed for pain or headache.',
    frequency: 1,
    period: 6,
    periodUnit: 'h',
    asNeeded: true,
    dose: 2,
    doseUnit: '{tbl}',
    oral: true,
    course: 'continuous',
    supplyDays: 30,
    quantity: 60,
    quantityUnit: 'tablet',
  },
  acetaminophen: {
    code: rxnorm('313782', 'acetaminophen 325 MG Oral Tablet'),
    text: 'Acetaminophen 325 mg tablet',
    sig: 'Take 2 tablets (650 mg) by mouth every 6 hours as needed for fever or pain.',
    frequency: 1,
    period: 6,
    periodUnit: 'h',
    asNeeded: true,
    dose: 2,
    doseUnit: '{tbl}',
    oral: true,
    course: 'acute',
    supplyDays: 7,
    quantity: 40,
    quantityUnit: 'tablet',
  },
  amoxicillin: {
    code: rxnorm('308182', 'amoxicillin 250 MG Oral Capsule'),
    text: 'Amoxicillin 250 mg capsule',
    sig: 'Take 1 capsule (250 mg) by mouth 3 times daily for 10 days.',
    frequency: 3,
    period: 1,
    periodUnit: 'd',
    asNeeded: false,
    ...capsule,
    course: 'acute',
    supplyDays: 10,
    quantity: 30,
  },
  penicillinV: {
    code: rxnorm('834061', 'penicillin V potassium 250 MG Oral Tablet'),
    text: 'Penicillin V potassium 250 mg tablet',
    sig: 'Take 1 tablet (250 mg) by mouth twice daily for 10 days.',
    ...twiceDaily,
    ...tablet,
    course: 'acute',
    supplyDays: 10,
    quantity: 20,
  },
  amoxicillinClavulanate: {
    code: rxnorm('562251', 'amoxicillin 250 MG / clavulanate 125 MG Oral Tablet'),
    text: 'Amoxicillin-clavulanate 250-125 mg tablet',
    sig: 'Take 1 tablet by mouth every 8 hours for 7 days.',
    frequency: 3,
    period: 1,
    periodUnit: 'd',
    asNeeded: false,
    ...tablet,
    course: 'acute',
    supplyDays: 7,
    quantity: 21,
  },
  cefuroxime: {
    code: rxnorm('309097', 'cefuroxime 250 MG Oral Tablet'),
    text: 'Cefuroxime 250 mg tablet',
    sig: 'Take 1 tablet (250 mg) by mouth twice daily for 10 days.',
    ...twiceDaily,
    ...tablet,
    course: 'acute',
    supplyDays: 10,
    quantity: 20,
  },
  cetirizine: {
    code: rxnorm('1014676', 'cetirizine hydrochloride 5 MG Oral Tablet'),
    text: 'Cetirizine 5 mg tablet',
    sig: 'Take 1 tablet (5 mg) by mouth once daily during allergy season.',
    ...daily,
    ...tablet,
    course: 'continuous',
    supplyDays: 30,
    quantity: 30,
  },
  alendronate: {
    code: rxnorm('904419', 'alendronic acid 10 MG Oral Tablet'),
    text: 'Alendronate 10 mg tablet',
    sig: 'Take 1 tablet (10 mg) by mouth once daily in the morning with a full glass of water, 30 minutes before food. Stay upright for 30 minutes.',
    ...daily,
    when: 'ACM',
    ...tablet,
    ...longTerm,
  },
  apixaban: {
    code: rxnorm('1364445', 'apixaban 5 MG Oral Tablet'),
    text: 'Apixaban 5 mg tablet',
    sig: 'Take 1 tablet (5 mg) by mouth twice daily.',
    ...twiceDaily,
    ...tablet,
    course: 'continuous',
    supplyDays: 90,
    quantity: 180,
  },
  clopidogrel: {
    code: rxnorm('309362', 'clopidogrel 75 MG Oral Tablet'),
    text: 'Clopidogrel 75 mg tablet',
    sig: 'Take 1 tablet (75 mg) by mouth once daily.',
    ...daily,
    ...tablet,
    ...longTerm,
  },
  aspirin: {
    code: rxnorm('243670', 'aspirin 81 MG Oral Tablet'),
    text: 'Aspirin 81 mg tablet',
    sig: 'Take 1 tablet (81 mg) by mouth once daily.',
    ...daily,
    ...tablet,
    ...longTerm,
  },
  furosemide: {
    code: rxnorm('313988', 'furosemide 40 MG Oral Tablet'),
    text: 'Furosemide 40 mg tablet',
    sig: 'Take 1 tablet (40 mg) by mouth once daily in the morning.',
    ...daily,
    when: 'MORN',
    ...tablet,
    ...longTerm,
  },
} as const satisfies Record<string, MedicationDef>;

export type MedicationKey = keyof typeof MEDICATIONS;
