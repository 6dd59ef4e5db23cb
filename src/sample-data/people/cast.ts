/**
 * The first twelve patients are written by hand so the default set always covers a child, a
 * teenager, adults and elderly patients with different problems, languages and accented names.
 * The seed still varies their measurements, dates and visits.
 *
 * Patient 1, Amy Shaw, is the sample patient user: an adult woman with hypertension and type 2
 * diabetes (so the charts have trends) and a penicillin allergy. Other code relies on that.
 */
import type { AllergyKey } from '../terminology/allergies.js';
import type { ChronicConditionKey } from '../terminology/conditions.js';
import type { SmokingKey } from '../terminology/observations.js';
import type { CultureKey } from './names.js';
import type { StaffKey } from './staff.js';

export type MaritalKey = 'married' | 'single' | 'divorced' | 'widowed';

export interface CastMember {
  readonly given: readonly string[];
  readonly family: string;
  readonly gender: 'female' | 'male';
  /** Age at the reference "today", in whole years plus days. */
  readonly age: readonly [years: number, days: number];
  readonly culture: CultureKey;
  readonly prefersOwnLanguage: boolean;
  /** Chronic conditions and how many years before "today" each began. */
  readonly chronic: readonly (readonly [ChronicConditionKey, number])[];
  /** Allergies; 'nka' records "no known allergy"; 'none' records nothing at all. */
  readonly allergies: readonly AllergyKey[] | 'nka' | 'none';
  readonly smoking: SmokingKey;
  /** Adult BMI at the start of the record. */
  readonly bmi: number;
  readonly historyYears: number;
  readonly gp: StaffKey;
  readonly marital?: MaritalKey;
}

export const CAST: readonly CastMember[] = [
  {
    given: ['Amy', 'Elizabeth'],
    family: 'Shaw',
    gender: 'female',
    age: [52, 143],
    culture: 'american',
    prefersOwnLanguage: false,
    chronic: [
      ['obesity', 9],
      ['hypertension', 4.2],
      ['diabetes', 3.1],
      ['hyperlipidemia', 2.4],
    ],
    allergies: ['penicillin'],
    smoking: 'former',
    bmi: 33.5,
    historyYears: 6,
    gp: 'generalPractice',
    marital: 'married',
  },
  {
    given: ['José', 'Luis'],
    family: 'García',
    gender: 'male',
    age: [71, 40],
    culture: 'hispanic',
    prefersOwnLanguage: true,
    chronic: [
      ['hypertension', 12],
      ['hyperlipidemia', 9],
      ['prediabetes', 4.5],
      ['osteoarthritisKnee', 3.5],
    ],
    allergies: 'nka',
    smoking: 'former',
    bmi: 28.5,
    historyYears: 6,
    gp: 'familyMedicine',
    marital: 'married',
  },
  {
    given: ['Zoë'],
    family: 'Müller',
    gender: 'female',
    age: [7, 210],
    culture: 'german',
    prefersOwnLanguage: false,
    chronic: [
      ['atopicDermatitis', 6.5],
      ['asthma', 3.2],
    ],
    allergies: ['peanut'],
    smoking: 'never',
    bmi: 16,
    historyYears: 8,
    gp: 'pediatrics',
  },
  {
    given: ['Liam'],
    family: "O'Brien",
    gender: 'male',
    age: [34, 301],
    culture: 'irish',
    prefersOwnLanguage: false,
    chronic: [['gerd', 2.2]],
    allergies: 'none',
    smoking: 'occasional',
    bmi: 24.5,
    historyYears: 5,
    gp: 'generalPractice',
    marital: 'single',
  },
  {
    given: ['Mei'],
    family: 'Chen',
    gender: 'female',
    age: [45, 77],
    culture: 'eastAsian',
    prefersOwnLanguage: false,
    chronic: [
      ['migraine', 10],
      ['depression', 2.6],
    ],
    allergies: ['latex'],
    smoking: 'never',
    bmi: 22,
    historyYears: 6,
    gp: 'familyMedicine',
    marital: 'married',
  },
  {
    given: ['Robert', 'Earl'],
    family: 'Johnson',
    gender: 'male',
    age: [80, 15],
    culture: 'africanAmerican',
    prefersOwnLanguage: false,
    chronic: [
      ['hypertension', 20],
      ['hyperlipidemia', 15],
      ['diabetes', 11],
      ['ckd', 3.5],
      ['atrialFibrillation', 2.3],
    ],
    allergies: 'nka',
    smoking: 'former',
    bmi: 29,
    historyYears: 4,
    gp: 'generalPractice',
    marital: 'widowed',
  },
  {
    given: ['Aaliyah'],
    family: 'Washington',
    gender: 'female',
    age: [16, 88],
    culture: 'africanAmerican',
    prefersOwnLanguage: false,
    chronic: [['allergicRhinitis', 5]],
    allergies: ['dander'],
    smoking: 'never',
    bmi: 21,
    historyYears: 6,
    gp: 'pediatrics',
  },
  {
    given: ['François'],
    family: 'Lefèvre',
    gender: 'male',
    age: [60, 190],
    culture: 'french',
    prefersOwnLanguage: true,
    chronic: [
      ['obesity', 10],
      ['hyperlipidemia', 7],
      ['gerd', 4],
      ['sleepApnea', 2.5],
    ],
    allergies: ['shellfish'],
    smoking: 'daily',
    bmi: 32,
    historyYears: 6,
    gp: 'generalPractice',
    marital: 'divorced',
  },
  {
    given: ['Lan'],
    family: 'Nguyễn',
    gender: 'female',
    age: [68, 250],
    culture: 'vietnamese',
    prefersOwnLanguage: true,
    chronic: [
      ['hypertension', 8],
      ['osteoarthritisKnee', 5],
      ['osteoporosis', 1.8],
    ],
    allergies: 'nka',
    smoking: 'never',
    bmi: 23,
    historyYears: 6,
    gp: 'familyMedicine',
    marital: 'married',
  },
  {
    given: ['Noah', 'James'],
    family: 'Williams',
    gender: 'male',
    age: [1, 190],
    culture: 'american',
    prefersOwnLanguage: false,
    chronic: [],
    allergies: 'none',
    smoking: 'never',
    bmi: 17,
    historyYears: 2,
    gp: 'pediatrics',
  },
  {
    given: ['Priya'],
    family: 'Patel',
    gender: 'female',
    age: [29, 330],
    culture: 'southAsian',
    prefersOwnLanguage: false,
    chronic: [
      ['migraine', 8],
      ['anxiety', 1.4],
    ],
    allergies: 'nka',
    smoking: 'never',
    bmi: 21.5,
    historyYears: 5,
    gp: 'familyMedicine',
    marital: 'single',
  },
  {
    given: ['Björn'],
    family: 'Lindström',
    gender: 'male',
    age: [41, 12],
    culture: 'nordic',
    prefersOwnLanguage: false,
    chronic: [
      ['obesity', 6],
      ['depression', 4],
      ['prediabetes', 2],
      ['sleepApnea', 1.7],
    ],
    allergies: ['grassPollen'],
    smoking: 'former',
    bmi: 34.5,
    historyYears: 6,
    gp: 'generalPractice',
    marital: 'divorced',
  },
];
