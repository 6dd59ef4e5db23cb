/**
 * The patient's body over time: growth, weight drift, blood pressure and glucose that rise before
 * a diagnosis and come down once treated, lipids that fall on a statin. Each patient gets fixed
 * baselines; each measurement adds visit-to-visit noise. Only + - * / are used (see random.ts).
 */
import type { PatientProfile } from './profile.js';
import type { Rng } from './random.js';
import type { ChronicConditionKey } from './terminology/conditions.js';
import type { LabKey, LabPanelKey } from './terminology/observations.js';
import { YEAR_MS, ageAt } from './time.js';

/** What the current visit is for, as far as vital signs and labs care. */
export interface ClinicalState {
  readonly fever: boolean;
  readonly severe: boolean;
}

type GrowthTable = readonly (readonly [age: number, value: number])[];

// CDC/WHO 50th percentiles by age in years (length below 2 years, standing height above).
const HEIGHT_CM: Record<'female' | 'male', GrowthTable> = {
  male: [
    [0, 49.9],
    [0.25, 61.4],
    [0.5, 67.6],
    [0.75, 72],
    [1, 75.7],
    [1.5, 82.3],
    [2, 87.1],
    [3, 96.1],
    [4, 103.3],
    [5, 110],
    [6, 116],
    [7, 121.7],
    [8, 127.3],
    [9, 132.6],
    [10, 137.8],
    [11, 143.1],
    [12, 149.1],
    [13, 156],
    [14, 163.2],
    [15, 169],
    [16, 172.9],
    [17, 175.2],
    [18, 176.1],
  ],
  female: [
    [0, 49.1],
    [0.25, 59.8],
    [0.5, 65.7],
    [0.75, 70.1],
    [1, 74],
    [1.5, 80.7],
    [2, 85.7],
    [3, 95.1],
    [4, 102.7],
    [5, 109.4],
    [6, 115.1],
    [7, 120.8],
    [8, 126.6],
    [9, 132.5],
    [10, 138.6],
    [11, 144.8],
    [12, 151.2],
    [13, 156.4],
    [14, 159.8],
    [15, 161.7],
    [16, 162.5],
    [17, 162.9],
    [18, 163.1],
  ],
};
const WEIGHT_KG: Record<'female' | 'male', GrowthTable> = {
  male: [
    [0, 3.3],
    [0.25, 6.4],
    [0.5, 7.9],
    [0.75, 8.9],
    [1, 9.6],
    [1.5, 10.9],
    [2, 12.2],
    [3, 14.3],
    [4, 16.3],
    [5, 18.4],
    [6, 20.7],
    [7, 23.1],
    [8, 25.6],
    [9, 28.6],
    [10, 31.9],
    [11, 35.6],
    [12, 40],
    [13, 45.3],
    [14, 50.8],
    [15, 56],
    [16, 60.8],
    [17, 64.6],
    [18, 67.2],
  ],
  female: [
    [0, 3.2],
    [0.25, 5.8],
    [0.5, 7.3],
    [0.75, 8.2],
    [1, 8.9],
    [1.5, 10.2],
    [2, 11.5],
    [3, 13.9],
    [4, 16.1],
    [5, 18.2],
    [6, 20.2],
    [7, 22.4],
    [8, 25],
    [9, 28.2],
    [10, 31.9],
    [11, 36],
    [12, 40.5],
    [13, 44.6],
    [14, 48],
    [15, 50.5],
    [16, 52.4],
    [17, 53.7],
    [18, 54.7],
  ],
};
const HEAD_CM: Record<'female' | 'male', GrowthTable> = {
  male: [
    [0, 34.5],
    [0.25, 40.5],
    [0.5, 43.3],
    [0.75, 44.9],
    [1, 46.1],
    [1.5, 47.4],
    [2, 48.3],
    [3, 49.5],
  ],
  female: [
    [0, 33.9],
    [0.25, 39.5],
    [0.5, 42.2],
    [0.75, 43.8],
    [1, 44.9],
    [1.5, 46.2],
    [2, 47.2],
    [3, 48.5],
  ],
};

/** Linear interpolation in a table sorted by age, flat beyond either end. */
function interpolate(table: GrowthTable, age: number): number {
  const first = table[0] as readonly [number, number];
  if (age <= first[0]) return first[1];
  for (let i = 1; i < table.length; i++) {
    const [a1, v1] = table[i] as readonly [number, number];
    if (age <= a1) {
      const [a0, v0] = table[i - 1] as readonly [number, number];
      return v0 + ((v1 - v0) * (age - a0)) / (a1 - a0);
    }
  }
  return (table[table.length - 1] as readonly [number, number])[1];
}

/** 0 before `from`, 1 after `to`, linear in between. */
function ramp(t: number, from: number, to: number): number {
  if (t <= from) return 0;
  if (t >= to) return 1;
  return (t - from) / (to - from);
}

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));

export class Physiology {
  private readonly sex: 'female' | 'male';
  private readonly growthFactor: number;
  private readonly weightFactor: number;
  private readonly bmiDriftPerYear: number;
  private readonly heartRateBase: number;
  private readonly systolicBase: number;
  private readonly hypertensionPeak: number;
  private readonly hypertensionTarget: number;
  private readonly a1cBase: number;
  private readonly a1cPeak: number;
  private readonly a1cTarget: number;
  private readonly glucoseBase: number;
  private readonly ldlBase: number;
  private readonly ldlUntreated: number;
  private readonly hdlBase: number;
  private readonly triglycerideBase: number;
  private readonly hemoglobinBase: number;
  private readonly wbcBase: number;
  private readonly plateletBase: number;
  private readonly creatinineBase: number;
  private readonly bunBase: number;
  private readonly sodiumBase: number;
  private readonly potassiumBase: number;
  private readonly chlorideBase: number;

  constructor(
    private readonly profile: PatientProfile,
    baseline: Rng,
  ) {
    const female = profile.gender === 'female';
    this.sex = profile.gender;
    this.growthFactor = 1 + 0.037 * profile.sizeZ;
    this.weightFactor = 1 + 0.09 * profile.sizeZ + baseline.normal(0, 0.05);
    this.bmiDriftPerYear = baseline.normal(0.2, 0.3);
    this.heartRateBase = baseline.normal(72, 5);
    this.systolicBase = baseline.normal(female ? 111 : 116, 6);
    this.hypertensionPeak = baseline.normal(152, 6);
    this.hypertensionTarget = baseline.normal(131, 4);
    this.a1cBase = baseline.normal(5.3, 0.12);
    this.a1cPeak = baseline.normal(8.8, 0.5);
    this.a1cTarget = baseline.normal(7, 0.25);
    this.glucoseBase = baseline.normal(88, 4);
    this.ldlBase = baseline.normal(110, 15);
    this.ldlUntreated = baseline.normal(168, 12);
    this.hdlBase = baseline.normal(female ? 58 : 47, 6);
    this.triglycerideBase = baseline.normal(115, 25);
    this.hemoglobinBase = baseline.normal(female ? 13.6 : 15, 0.6);
    this.wbcBase = baseline.normal(6.6, 1);
    this.plateletBase = baseline.normal(255, 35);
    this.creatinineBase = baseline.normal(female ? 0.78 : 0.98, 0.07);
    this.bunBase = baseline.normal(14, 2.5);
    this.sodiumBase = baseline.normal(140, 1.2);
    this.potassiumBase = baseline.normal(4.2, 0.2);
    this.chlorideBase = baseline.normal(103, 1.2);
  }

  private age(t: number): number {
    return ageAt(this.profile.birthDate, t);
  }

  private onset(key: ChronicConditionKey): number | undefined {
    return this.profile.chronic.find((p) => p.key === key)?.onset;
  }

  private active(key: ChronicConditionKey, t: number): boolean {
    const onset = this.onset(key);
    return onset !== undefined && onset <= t;
  }

  heightCm(t: number): number {
    const age = this.age(t);
    const shrinking = age > 65 ? 0.12 * (age - 65) : 0;
    return interpolate(HEIGHT_CM[this.sex], age) * this.growthFactor - shrinking;
  }

  private adultBmi(t: number): number {
    const years = (t - this.profile.historyStart) / YEAR_MS;
    const diabetes = this.onset('diabetes');
    // Most people lose some weight after a diabetes diagnosis (diet advice, metformin).
    const loss = diabetes === undefined ? 0 : 1.3 * ramp(t, diabetes, diabetes + YEAR_MS);
    return clamp(this.profile.bmi + this.bmiDriftPerYear * years - loss, 16, 50);
  }

  /** Body weight; children follow the growth chart, adults their BMI, teenagers a blend of both. */
  weightKg(t: number, rng: Rng): number {
    const age = this.age(t);
    const height = this.heightCm(t) / 100;
    const adult = this.adultBmi(t) * height * height;
    const child = interpolate(WEIGHT_KG[this.sex], age) * this.weightFactor;
    const blend = ramp(age, 15, 20);
    const noise = age < 2 ? 0 : rng.normal(0, age < 18 ? 0.2 : 0.4);
    return child * (1 - blend) + adult * blend + noise;
  }

  headCircumferenceCm(t: number): number {
    return interpolate(HEAD_CM[this.sex], this.age(t)) * (1 + 0.03 * this.profile.sizeZ);
  }

  heartRate(t: number, state: ClinicalState, rng: Rng): number {
    const age = this.age(t);
    const base = age < 1 ? 128 : age < 3 ? 112 : age < 6 ? 100 : age < 12 ? 88 : age < 18 ? 78 : this.heartRateBase;
    const afib = this.active('atrialFibrillation', t) ? 14 : 0;
    return base + afib + (state.fever ? 12 : 0) + (state.severe ? 8 : 0) + rng.normal(0, 4);
  }

  respiratoryRate(t: number, state: ClinicalState, rng: Rng): number {
    const age = this.age(t);
    const base = age < 1 ? 34 : age < 3 ? 26 : age < 6 ? 22 : age < 12 ? 20 : age < 18 ? 17 : 15;
    const lungs = this.active('copd', t) ? 2 : 0;
    return base + lungs + (state.severe ? 7 : state.fever ? 2 : 0) + rng.normal(0, 1.2);
  }

  temperatureC(state: ClinicalState, rng: Rng): number {
    return state.fever ? rng.normal(38.4, 0.3) : rng.normal(36.8, 0.15);
  }

  oxygenSaturation(t: number, state: ClinicalState, rng: Rng): number {
    const mean = state.severe ? 91.5 : this.active('copd', t) ? 93.5 : 97.8;
    return Math.min(100, rng.normal(mean, state.severe ? 1.2 : 0.7));
  }

  /** Blood pressure climbs in the three years before a hypertension diagnosis and settles once treated. */
  bloodPressure(t: number, rng: Rng): { systolic: number; diastolic: number } {
    const age = this.age(t);
    if (age < 18) {
      const systolic = 92 + 1.5 * age + rng.normal(0, 4);
      return { systolic, diastolic: 55 + age + rng.normal(0, 3) };
    }
    const usual = this.systolicBase + 0.4 * Math.max(0, age - 30);
    let systolic = usual;
    const onset = this.onset('hypertension');
    if (onset !== undefined) {
      const peak = Math.max(usual + 18, this.hypertensionPeak);
      systolic =
        t < onset
          ? usual + (peak - usual) * ramp(t, onset - 3 * YEAR_MS, onset)
          : peak + (this.hypertensionTarget - peak) * ramp(t, onset, onset + 0.5 * YEAR_MS);
    }
    systolic += rng.normal(0, 5);
    return { systolic, diastolic: 0.55 * systolic + 12 + rng.normal(0, 3) };
  }

  /** HbA1c rises for 15 months before a diabetes diagnosis and falls to target within nine months. */
  private hba1c(t: number, rng: Rng): number {
    const diabetes = this.onset('diabetes');
    const prediabetes = this.onset('prediabetes');
    let value = this.a1cBase;
    if (diabetes !== undefined) {
      value =
        t < diabetes
          ? this.a1cBase + (this.a1cPeak - this.a1cBase) * ramp(t, diabetes - 1.25 * YEAR_MS, diabetes)
          : this.a1cTarget + (this.a1cPeak - this.a1cTarget) * (1 - ramp(t, diabetes, diabetes + 0.75 * YEAR_MS));
    } else if (prediabetes !== undefined) {
      value = 5.7 + 0.5 * ramp(t, prediabetes - 2 * YEAR_MS, prediabetes + 2 * YEAR_MS);
    }
    return value + rng.normal(0, 0.12);
  }

  /** Fasting glucose tracks HbA1c: about 32 mg/dL per HbA1c point above the patient's usual level. */
  private glucose(a1c: number, rng: Rng): number {
    return this.glucoseBase + 32 * Math.max(0, a1c - this.a1cBase) + rng.normal(0, a1c > 6.5 ? 10 : 5);
  }

  /** LDL climbs before a hyperlipidemia diagnosis and drops by about 40% on a statin. */
  private ldl(t: number, rng: Rng): number {
    const onset = this.onset('hyperlipidemia');
    let value = this.ldlBase;
    if (onset !== undefined) {
      value =
        t < onset
          ? this.ldlBase + (this.ldlUntreated - this.ldlBase) * ramp(t, onset - 3 * YEAR_MS, onset)
          : this.ldlUntreated * (1 - 0.4 * ramp(t, onset, onset + 0.3 * YEAR_MS));
    }
    return value + rng.normal(0, 7);
  }

  private kidneyYears(t: number): number | undefined {
    const onset = this.onset('ckd');
    return onset !== undefined && onset <= t ? (t - onset) / YEAR_MS : undefined;
  }

  /** All results of one lab panel drawn at `t`, consistent with each other. */
  labPanel(panel: LabPanelKey, t: number, state: ClinicalState, rng: Rng): Partial<Record<LabKey, number>> {
    switch (panel) {
      case 'hba1c':
        return { hba1c: this.hba1c(t, rng) };
      case 'lipid': {
        const diabetes = this.active('diabetes', t);
        const ldl = this.ldl(t, rng);
        const hdl = this.hdlBase - (diabetes ? 5 : 0) + rng.normal(0, 3);
        const obese = this.active('obesity', t) ? 30 : 0;
        const triglycerides = this.triglycerideBase + (diabetes ? 45 : 0) + obese + rng.normal(0, 15);
        // Friedewald: total = LDL + HDL + TG/5, so the four numbers agree.
        return { cholesterolTotal: ldl + hdl + triglycerides / 5, triglycerides, hdl, ldl };
      }
      case 'bmp': {
        const kidney = this.kidneyYears(t);
        return {
          glucose: this.glucose(this.hba1c(t, rng), rng),
          ureaNitrogen: this.bunBase + (kidney === undefined ? 0 : 13 + 2 * kidney) + rng.normal(0, 2),
          creatinine: this.creatinineBase + (kidney === undefined ? 0 : 0.55 + 0.08 * kidney) + rng.normal(0, 0.05),
          sodium: this.sodiumBase + rng.normal(0, 1.3),
          potassium: this.potassiumBase + (kidney === undefined ? 0 : 0.3) + rng.normal(0, 0.18),
          chloride: this.chlorideBase + rng.normal(0, 1.3),
        };
      }
      case 'cbc': {
        const kidney = this.kidneyYears(t);
        const hemoglobin = this.hemoglobinBase - (kidney === undefined ? 0 : 1.3) + rng.normal(0, 0.35);
        const hematocrit = hemoglobin * 2.96 + rng.normal(0, 0.6);
        return {
          leukocytes: this.wbcBase + (state.severe ? 6 : state.fever ? 2.5 : 0) + rng.normal(0, 0.6),
          erythrocytes: hematocrit / rng.normal(9, 0.2),
          hemoglobin,
          hematocrit,
          platelets: this.plateletBase + rng.normal(0, 15),
        };
      }
    }
  }
}
