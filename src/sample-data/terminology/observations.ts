/**
 * Observation codes (LOINC) and units (UCUM). Vital signs follow the FHIR vital signs profile
 * (https://hl7.org/fhir/R4/observation-vitalsigns.html); labs carry reference ranges.
 */
import { US_CORE, type UsCoreProfile } from '../us-core.js';
import { SYSTEM, loinc, snomed, type Code } from './systems.js';

export interface Range {
  readonly low?: number;
  readonly high?: number;
}

export interface QuantityObservationDef {
  /** The first code is the primary one; extra codes refine it (as US Core does for pulse oximetry). */
  readonly codes: readonly Code[];
  readonly text: string;
  /** UCUM code. */
  readonly unit: string;
  /** Human-readable unit (Quantity.unit). */
  readonly unitText: string;
  readonly decimals: number;
  readonly category: 'vital-signs' | 'laboratory';
  readonly range?: { readonly female: Range; readonly male: Range };
  /** The US Core profile the Observation claims. */
  readonly profile: UsCoreProfile;
}

const sameForBoth = (range: Range) => ({ female: range, male: range });

export const VITAL_SIGNS = {
  heartRate: {
    codes: [loinc('8867-4', 'Heart rate')],
    text: 'Heart rate',
    unit: '/min',
    unitText: 'beats/minute',
    decimals: 0,
    category: 'vital-signs',
    profile: US_CORE.heartRate,
  },
  respiratoryRate: {
    codes: [loinc('9279-1', 'Respiratory rate')],
    text: 'Respiratory rate',
    unit: '/min',
    unitText: 'breaths/minute',
    decimals: 0,
    category: 'vital-signs',
    profile: US_CORE.respiratoryRate,
  },
  bodyTemperature: {
    codes: [loinc('8310-5', 'Body temperature')],
    text: 'Body temperature',
    unit: 'Cel',
    unitText: '°C',
    decimals: 1,
    category: 'vital-signs',
    profile: US_CORE.bodyTemperature,
  },
  bodyWeight: {
    codes: [loinc('29463-7', 'Body weight')],
    text: 'Body weight',
    unit: 'kg',
    unitText: 'kg',
    decimals: 1,
    category: 'vital-signs',
    profile: US_CORE.bodyWeight,
  },
  bodyHeight: {
    codes: [loinc('8302-2', 'Body height')],
    text: 'Body height',
    unit: 'cm',
    unitText: 'cm',
    decimals: 1,
    category: 'vital-signs',
    profile: US_CORE.bodyHeight,
  },
  bmi: {
    codes: [loinc('39156-5', 'Body mass index (BMI) [Ratio]')],
    text: 'BMI',
    unit: 'kg/m2',
    unitText: 'kg/m2',
    decimals: 1,
    category: 'vital-signs',
    profile: US_CORE.bmi,
  },
  oxygenSaturation: {
    codes: [loinc('2708-6', 'Oxygen saturation in Arterial blood'), loinc('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry')],
    text: 'Oxygen saturation',
    unit: '%',
    unitText: '%',
    decimals: 0,
    category: 'vital-signs',
    profile: US_CORE.pulseOximetry,
  },
  headCircumference: {
    codes: [loinc('9843-4', 'Head Occipital-frontal circumference')],
    text: 'Head circumference',
    unit: 'cm',
    unitText: 'cm',
    decimals: 1,
    category: 'vital-signs',
    profile: US_CORE.headCircumference,
  },
} as const satisfies Record<string, QuantityObservationDef>;

export type VitalSignKey = keyof typeof VITAL_SIGNS;

export const BLOOD_PRESSURE = {
  panel: loinc('85354-9', 'Blood pressure panel with all children optional'),
  text: 'Blood pressure',
  systolic: loinc('8480-6', 'Systolic blood pressure'),
  diastolic: loinc('8462-4', 'Diastolic blood pressure'),
  unit: 'mm[Hg]',
  unitText: 'mmHg',
} as const;

const lab = (code: Code, text: string, unit: string, decimals: number, range: { female: Range; male: Range }, unitText = unit): QuantityObservationDef => ({
  codes: [code],
  text,
  unit,
  unitText,
  decimals,
  category: 'laboratory',
  range,
  profile: US_CORE.labResult,
});

export const LABS = {
  glucose: lab(loinc('2339-0', 'Glucose [Mass/volume] in Blood'), 'Glucose', 'mg/dL', 0, sameForBoth({ low: 70, high: 99 })),
  hba1c: lab(loinc('4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood'), 'Hemoglobin A1c', '%', 1, sameForBoth({ low: 4, high: 5.6 })),
  cholesterolTotal: lab(loinc('2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma'), 'Total cholesterol', 'mg/dL', 0, sameForBoth({ high: 200 })),
  triglycerides: lab(loinc('2571-8', 'Triglyceride [Mass/volume] in Serum or Plasma'), 'Triglycerides', 'mg/dL', 0, sameForBoth({ high: 150 })),
  hdl: lab(loinc('2085-9', 'Cholesterol in HDL [Mass/volume] in Serum or Plasma'), 'HDL cholesterol', 'mg/dL', 0, { female: { low: 50 }, male: { low: 40 } }),
  ldl: lab(loinc('18262-6', 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay'), 'LDL cholesterol', 'mg/dL', 0, sameForBoth({ high: 100 })),
  ureaNitrogen: lab(loinc('6299-2', 'Urea nitrogen [Mass/volume] in Blood'), 'Urea nitrogen (BUN)', 'mg/dL', 0, sameForBoth({ low: 7, high: 20 })),
  creatinine: lab(loinc('2160-0', 'Creatinine [Mass/volume] in Serum or Plasma'), 'Creatinine', 'mg/dL', 2, {
    female: { low: 0.59, high: 1.04 },
    male: { low: 0.74, high: 1.35 },
  }),
  sodium: lab(loinc('2951-2', 'Sodium [Moles/volume] in Serum or Plasma'), 'Sodium', 'mmol/L', 0, sameForBoth({ low: 136, high: 145 })),
  potassium: lab(loinc('2823-3', 'Potassium [Moles/volume] in Serum or Plasma'), 'Potassium', 'mmol/L', 1, sameForBoth({ low: 3.5, high: 5.1 })),
  chloride: lab(loinc('2075-0', 'Chloride [Moles/volume] in Serum or Plasma'), 'Chloride', 'mmol/L', 0, sameForBoth({ low: 98, high: 107 })),
  leukocytes: lab(loinc('6690-2', 'Leukocytes [#/volume] in Blood by Automated count'), 'White blood cells', '10*3/uL', 1, sameForBoth({ low: 4.5, high: 11 })),
  erythrocytes: lab(loinc('789-8', 'Erythrocytes [#/volume] in Blood by Automated count'), 'Red blood cells', '10*6/uL', 2, {
    female: { low: 4.2, high: 5.4 },
    male: { low: 4.7, high: 6.1 },
  }),
  hemoglobin: lab(loinc('718-7', 'Hemoglobin [Mass/volume] in Blood'), 'Hemoglobin', 'g/dL', 1, {
    female: { low: 12, high: 15.5 },
    male: { low: 13.5, high: 17.5 },
  }),
  hematocrit: lab(loinc('4544-3', 'Hematocrit [Volume Fraction] of Blood by Automated count'), 'Hematocrit', '%', 1, {
    female: { low: 36, high: 46 },
    male: { low: 41, high: 53 },
  }),
  platelets: lab(loinc('777-3', 'Platelets [#/volume] in Blood by Automated count'), 'Platelets', '10*3/uL', 0, sameForBoth({ low: 150, high: 400 })),
} as const satisfies Record<string, QuantityObservationDef>;

export type LabKey = keyof typeof LABS;

export interface LabPanelDef {
  readonly code: Code;
  readonly text: string;
  readonly members: readonly LabKey[];
}

export const LAB_PANELS = {
  lipid: {
    code: loinc('57698-3', 'Lipid panel with direct LDL - Serum or Plasma'),
    text: 'Lipid panel',
    members: ['cholesterolTotal', 'triglycerides', 'hdl', 'ldl'],
  },
  bmp: {
    code: loinc('51990-0', 'Basic metabolic panel - Blood'),
    text: 'Basic metabolic panel',
    members: ['glucose', 'ureaNitrogen', 'creatinine', 'sodium', 'potassium', 'chloride'],
  },
  cbc: {
    code: loinc('58410-2', 'CBC panel - Blood by Automated count'),
    text: 'Complete blood count',
    members: ['leukocytes', 'erythrocytes', 'hemoglobin', 'hematocrit', 'platelets'],
  },
  hba1c: { code: loinc('4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood'), text: 'Hemoglobin A1c', members: ['hba1c'] },
} as const satisfies Record<string, LabPanelDef>;

export type LabPanelKey = keyof typeof LAB_PANELS;

export const SMOKING_STATUS = {
  code: loinc('72166-2', 'Tobacco smoking status'),
  text: 'Tobacco smoking status',
  values: {
    never: snomed('266919005', 'Never smoked tobacco'),
    former: snomed('8517006', 'Ex-smoker'),
    daily: snomed('449868002', 'Smokes tobacco daily'),
    occasional: snomed('428041000124106', 'Occasional tobacco smoker'),
  },
} as const;

export type SmokingKey = keyof typeof SMOKING_STATUS.values;

export const INTERPRETATION = {
  low: { system: SYSTEM.interpretation, code: 'L', display: 'Low' },
  normal: { system: SYSTEM.interpretation, code: 'N', display: 'Normal' },
  high: { system: SYSTEM.interpretation, code: 'H', display: 'High' },
} as const satisfies Record<string, Code>;

export const OBSERVATION_CATEGORY = {
  'vital-signs': { system: SYSTEM.observationCategory, code: 'vital-signs', display: 'Vital Signs' },
  laboratory: { system: SYSTEM.observationCategory, code: 'laboratory', display: 'Laboratory' },
  'social-history': { system: SYSTEM.observationCategory, code: 'social-history', display: 'Social History' },
} as const satisfies Record<string, Code>;
