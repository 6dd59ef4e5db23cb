/**
 * Problems the sample patients have: chronic conditions (on the problem list, treated and
 * followed up) and acute episodes (an encounter diagnosis that resolves). SNOMED CT codes with
 * their preferred terms.
 */
import type { StaffKey } from '../people/staff.js';
import type { MedicationKey } from './medications.js';
import type { ProcedureKey } from './encounters.js';
import { snomed, type Code } from './systems.js';
import type { LabPanelKey } from './observations.js';

export interface ChronicConditionDef {
  readonly code: Code;
  readonly text: string;
  /** Started when the condition is diagnosed (or first seen, when it predates our records). */
  readonly medications: readonly MedicationKey[];
  /** A dedicated follow-up visit this often, in months; absent when the yearly check-up suffices. */
  readonly followUpMonths?: number;
  /** Labs drawn at each follow-up visit. */
  readonly monitoringLabs?: readonly LabPanelKey[];
  /** Who sees the patient for follow-ups when not their own GP. */
  readonly specialist?: StaffKey;
  readonly procedureAtDiagnosis?: ProcedureKey;
}

export const CHRONIC_CONDITIONS = {
  hypertension: {
    code: snomed('38341003', 'Hypertensive disorder, systemic arterial'),
    text: 'Hypertension',
    medications: ['lisinopril'],
    followUpMonths: 6,
    procedureAtDiagnosis: 'ecg',
  },
  diabetes: {
    code: snomed('44054006', 'Diabetes mellitus type 2'),
    text: 'Type 2 diabetes mellitus',
    medications: ['metformin'],
    followUpMonths: 4,
    monitoringLabs: ['hba1c'],
  },
  prediabetes: {
    code: snomed('15777000', 'Prediabetes'),
    text: 'Prediabetes',
    medications: [],
  },
  hyperlipidemia: {
    code: snomed('55822004', 'Hyperlipidemia'),
    text: 'Hyperlipidemia',
    medications: ['atorvastatin'],
  },
  obesity: {
    code: snomed('414916001', 'Obesity'),
    text: 'Obesity',
    medications: [],
  },
  asthma: {
    code: snomed('195967001', 'Asthma'),
    text: 'Asthma',
    medications: ['albuterol', 'fluticasone'],
    followUpMonths: 12,
    procedureAtDiagnosis: 'spirometry',
  },
  copd: {
    code: snomed('13645005', 'Chronic obstructive lung disease'),
    text: 'COPD',
    medications: ['albuterol', 'fluticasone'],
    followUpMonths: 6,
    procedureAtDiagnosis: 'spirometry',
  },
  osteoarthritisKnee: {
    code: snomed('239873007', 'Osteoarthritis of knee'),
    text: 'Osteoarthritis of knee',
    medications: ['naproxen'],
  },
  gerd: {
    code: snomed('235595009', 'Gastroesophageal reflux disease'),
    text: 'GERD',
    medications: ['omeprazole'],
  },
  depression: {
    code: snomed('35489007', 'Depressive disorder'),
    text: 'Depression',
    medications: ['sertraline'],
    followUpMonths: 6,
  },
  anxiety: {
    code: snomed('197480006', 'Anxiety disorder'),
    text: 'Anxiety disorder',
    medications: ['escitalopram'],
  },
  migraine: {
    code: snomed('37796009', 'Migraine'),
    text: 'Migraine',
    medications: ['ibuprofen'],
  },
  atrialFibrillation: {
    code: snomed('49436004', 'Atrial fibrillation'),
    text: 'Atrial fibrillation',
    medications: ['apixaban'],
    followUpMonths: 6,
    specialist: 'cardiology',
    procedureAtDiagnosis: 'ecg',
  },
  coronaryDisease: {
    code: snomed('53741008', 'Coronary arteriosclerosis'),
    text: 'Coronary artery disease',
    medications: ['aspirin', 'clopidogrel'],
    followUpMonths: 12,
    specialist: 'cardiology',
    procedureAtDiagnosis: 'echocardiography',
  },
  ckd: {
    code: snomed('433144002', 'Chronic kidney disease stage 3'),
    text: 'Chronic kidney disease, stage 3',
    medications: [],
    followUpMonths: 6,
    monitoringLabs: ['bmp'],
  },
  heartFailure: {
    code: snomed('88805009', 'Chronic congestive heart failure'),
    text: 'Chronic heart failure',
    medications: ['furosemide'],
    followUpMonths: 4,
    specialist: 'cardiology',
    procedureAtDiagnosis: 'echocardiography',
  },
  osteoporosis: {
    code: snomed('64859006', 'Osteoporosis'),
    text: 'Osteoporosis',
    medications: ['alendronate'],
  },
  sleepApnea: {
    code: snomed('73430006', 'Sleep apnea'),
    text: 'Sleep apnea',
    medications: [],
  },
  atopicDermatitis: {
    code: snomed('24079001', 'Atopic dermatitis'),
    text: 'Eczema (atopic dermatitis)',
    medications: [],
  },
  allergicRhinitis: {
    code: snomed('446096008', 'Perennial allergic rhinitis'),
    text: 'Allergic rhinitis',
    medications: ['cetirizine'],
  },
} as const satisfies Record<string, ChronicConditionDef>;

export type ChronicConditionKey = keyof typeof CHRONIC_CONDITIONS;

export interface AcuteConditionDef {
  readonly code: Code;
  readonly text: string;
  readonly minAge: number;
  readonly maxAge: number;
  /** Relative frequency among acute visits, for children and for adults. */
  readonly weightChild: number;
  readonly weightAdult: number;
  /** Where it is seen: relative weights of an office visit, the ED, and an admission. */
  readonly setting: readonly [ambulatory: number, emergency: number, inpatient: number];
  readonly fever: boolean;
  /** Raises the white cell count and lowers oxygen saturation, for the labs and vitals drawn. */
  readonly severe: boolean;
  readonly medication?: MedicationKey;
  /** Given instead of `medication` when the patient is allergic to penicillin. */
  readonly penicillinFreeMedication?: MedicationKey;
  readonly procedure?: ProcedureKey;
  readonly durationDays: readonly [number, number];
}

export const ACUTE_CONDITIONS = {
  acuteBronchitis: {
    code: snomed('10509002', 'Acute bronchitis'),
    text: 'Acute bronchitis',
    minAge: 2,
    maxAge: 120,
    weightChild: 2,
    weightAdult: 3,
    setting: [9, 1, 0],
    fever: true,
    severe: false,
    medication: 'acetaminophen',
    durationDays: [10, 21],
  },
  viralSinusitis: {
    code: snomed('444814009', 'Viral sinusitis'),
    text: 'Viral sinusitis',
    minAge: 2,
    maxAge: 120,
    weightChild: 2,
    weightAdult: 4,
    setting: [1, 0, 0],
    fever: false,
    severe: false,
    durationDays: [7, 14],
  },
  viralPharyngitis: {
    code: snomed('195662009', 'Acute viral pharyngitis'),
    text: 'Sore throat (viral pharyngitis)',
    minAge: 1,
    maxAge: 120,
    weightChild: 3,
    weightAdult: 3,
    setting: [1, 0, 0],
    fever: true,
    severe: false,
    procedure: 'throatCulture',
    durationDays: [5, 10],
  },
  strepThroat: {
    code: snomed('43878008', 'Streptococcal sore throat'),
    text: 'Strep throat',
    minAge: 3,
    maxAge: 60,
    weightChild: 3,
    weightAdult: 1,
    setting: [1, 0, 0],
    fever: true,
    severe: false,
    medication: 'penicillinV',
    penicillinFreeMedication: 'cefuroxime',
    procedure: 'throatCulture',
    durationDays: [7, 10],
  },
  otitisMedia: {
    code: snomed('65363002', 'Otitis media'),
    text: 'Ear infection (otitis media)',
    minAge: 0.5,
    maxAge: 12,
    weightChild: 5,
    weightAdult: 0,
    setting: [1, 0, 0],
    fever: true,
    severe: false,
    medication: 'amoxicillin',
    penicillinFreeMedication: 'cefuroxime',
    durationDays: [7, 14],
  },
  gastroenteritis: {
    code: snomed('25374005', 'Gastroenteritis'),
    text: 'Gastroenteritis',
    minAge: 0.5,
    maxAge: 120,
    weightChild: 2,
    weightAdult: 1,
    setting: [3, 1, 0],
    fever: true,
    severe: false,
    durationDays: [3, 7],
  },
  ankleSprain: {
    code: snomed('44465007', 'Sprain of ankle'),
    text: 'Sprained ankle',
    minAge: 6,
    maxAge: 80,
    weightChild: 1,
    weightAdult: 1,
    setting: [1, 2, 0],
    fever: false,
    severe: false,
    medication: 'ibuprofen',
    durationDays: [14, 42],
  },
  urinaryTractInfection: {
    code: snomed('68566005', 'Urinary tract infectious disease'),
    text: 'Urinary tract infection',
    minAge: 16,
    maxAge: 120,
    weightChild: 0,
    weightAdult: 2,
    setting: [4, 1, 0],
    fever: false,
    severe: false,
    medication: 'cefuroxime',
    durationDays: [5, 10],
  },
  pneumonia: {
    code: snomed('385093006', 'Community acquired pneumonia'),
    text: 'Pneumonia',
    minAge: 1,
    maxAge: 120,
    weightChild: 0.5,
    weightAdult: 0.7,
    setting: [2, 2, 1],
    fever: true,
    severe: true,
    medication: 'amoxicillinClavulanate',
    penicillinFreeMedication: 'cefuroxime',
    procedure: 'chestXray',
    durationDays: [14, 28],
  },
} as const satisfies Record<string, AcuteConditionDef>;

export type AcuteConditionKey = keyof typeof ACUTE_CONDITIONS;
