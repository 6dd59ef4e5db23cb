/**
 * Who a patient is: demographics, lifestyle, chronic problems and allergies. A profile is cheap to
 * draw and depends only on the seed and the patient's number, so the shared Groups (cohorts) can be
 * computed without generating anyone's full record.
 */
import { CAST, type CastMember, type MaritalKey } from './people/cast.js';
import { CITIES, CULTURES, CULTURE_WEIGHTS, ETHNICITIES, LANGUAGES, STREETS, asciiSlug, type Culture, type CultureKey } from './people/names.js';
import type { StaffKey } from './people/staff.js';
import { patientId, type ResolvedOptions } from './options.js';
import { Rng } from './random.js';
import { ALLERGIES, type AllergyKey } from './terminology/allergies.js';
import type { ChronicConditionKey } from './terminology/conditions.js';
import type { SmokingKey } from './terminology/observations.js';
import type { Code } from './terminology/systems.js';
import { DAY_MS, YEAR_MS, addYears, ageAt, startOfDay } from './time.js';

export interface ChronicProblem {
  readonly key: ChronicConditionKey;
  /** When it began (UTC ms); may predate the record. */
  readonly onset: number;
}

export interface AllergyProblem {
  readonly key: AllergyKey;
  readonly onset: number;
  readonly criticality: 'low' | 'high';
}

export interface Parent {
  readonly given: string;
  readonly family: string;
  readonly relationship: 'mother' | 'father';
  readonly phone: string;
}

export interface PatientProfile {
  readonly index: number;
  readonly id: string;
  readonly mrn: string;
  readonly gender: 'female' | 'male';
  readonly birthDate: number;
  readonly given: readonly string[];
  readonly family: string;
  readonly maidenName?: string;
  readonly culture: CultureKey;
  readonly race: Code;
  readonly ethnicity: Code;
  readonly language: Code;
  readonly marital?: MaritalKey;
  readonly address: { readonly line: readonly string[]; readonly city: string; readonly postalCode: string };
  readonly phone: string;
  readonly email?: string;
  readonly parent?: Parent;
  readonly gp: StaffKey;
  readonly smoking: SmokingKey;
  /** Adult BMI at the start of the record. */
  readonly bmi: number;
  /** Growth percentile as a rough z-score: children's height and weight, and adult height. */
  readonly sizeZ: number;
  readonly chronic: readonly ChronicProblem[];
  /** 'nka': asked, none known (recorded as such); 'none': nothing recorded. */
  readonly allergies: readonly AllergyProblem[] | 'nka' | 'none';
  /** First day covered by the record (birth for young children). */
  readonly historyStart: number;
  readonly today: number;
}

/** Draws patient `index` (1-based). Patients 1 to 12 are the hand-written cast. */
export function drawProfile(options: ResolvedOptions, index: number): PatientProfile {
  const rng = new Rng(`${options.seed}/patient/${index}/profile`);
  const cast = CAST[index - 1];
  return cast ? castProfile(options, index, cast, rng) : randomProfile(options, index, rng);
}

function castProfile(options: ResolvedOptions, index: number, cast: CastMember, rng: Rng): PatientProfile {
  const today = options.todayMs;
  const birthDate = startOfDay(addYears(today, -cast.age[0]) - cast.age[1] * DAY_MS);
  const culture = CULTURES[cast.culture];
  const chronic = cast.chronic.map(([key, yearsAgo]) => ({
    key,
    onset: Math.max(birthDate + 90 * DAY_MS, startOfDay(today - yearsAgo * YEAR_MS)),
  }));
  const allergies = Array.isArray(cast.allergies) ? cast.allergies.map((key) => drawAllergy(rng, key, birthDate, today)) : (cast.allergies as 'nka' | 'none');
  return {
    ...contactDetails(rng, index, cast.given, cast.family, culture, ageAt(birthDate, today)),
    index,
    id: patientId(index, options.idWidth),
    mrn: medicalRecordNumber(index),
    gender: cast.gender,
    birthDate,
    given: cast.given,
    family: cast.family,
    culture: cast.culture,
    race: rng.weighted(culture.races),
    ethnicity: culture.hispanic ? ETHNICITIES.hispanic : ETHNICITIES.notHispanic,
    language: cast.prefersOwnLanguage && 'language' in culture ? culture.language.code : LANGUAGES.english,
    ...(cast.marital ? { marital: cast.marital } : {}),
    gp: cast.gp,
    smoking: cast.smoking,
    bmi: cast.bmi,
    sizeZ: rng.normal(0, 0.8),
    chronic,
    allergies,
    historyStart: Math.max(birthDate, addYears(today, -cast.historyYears)),
    today,
  };
}

const AGE_BUCKETS: readonly (readonly [readonly [number, number], number])[] = [
  [[0, 2], 4],
  [[2, 12], 12],
  [[12, 18], 7],
  [[18, 45], 35],
  [[45, 65], 25],
  [[65, 92], 17],
];

function randomProfile(options: ResolvedOptions, index: number, rng: Rng): PatientProfile {
  const today = options.todayMs;
  const [minAge, maxAge] = rng.weighted(AGE_BUCKETS);
  const birthDate = startOfDay(today - rng.float(minAge, maxAge) * YEAR_MS - DAY_MS);
  const age = ageAt(birthDate, today);
  const gender = rng.chance(0.5) ? 'female' : 'male';
  const cultureKey = rng.weighted(CULTURE_WEIGHTS);
  const culture: Culture = CULTURES[cultureKey];
  const given = [rng.pick(gender === 'female' ? culture.female : culture.male)];
  if (rng.chance(0.3)) given.push(rng.pick(gender === 'female' ? culture.female : culture.male));
  const family = rng.pick(culture.family);
  const marital = age >= 18 ? drawMarital(rng, age) : undefined;
  const maidenName = gender === 'female' && marital === 'married' && rng.chance(0.35) ? rng.pick(culture.family) : undefined;
  const smoking = drawSmoking(rng, age);
  const bmi = drawBmi(rng, age);
  const chronic = drawChronic(rng, { age, gender, bmi, smoking, birthDate, today });
  const allergies = drawAllergies(rng, age, birthDate, today);
  const historyYears = rng.weighted([
    [3, 30],
    [4, 30],
    [5, 25],
    [6, 15],
  ] as const);
  return {
    ...contactDetails(rng, index, given, family, culture, age),
    index,
    id: patientId(index, options.idWidth),
    mrn: medicalRecordNumber(index),
    gender,
    birthDate,
    given,
    family,
    ...(maidenName && maidenName !== family ? { maidenName } : {}),
    culture: cultureKey,
    race: rng.weighted(culture.races),
    ethnicity: culture.hispanic ? ETHNICITIES.hispanic : ETHNICITIES.notHispanic,
    language: culture.language && rng.chance(culture.language.probability) ? culture.language.code : LANGUAGES.english,
    ...(marital ? { marital } : {}),
    gp: age < 18 ? 'pediatrics' : rng.pick(['generalPractice', 'familyMedicine'] as const),
    smoking,
    bmi,
    sizeZ: rng.normal(0, 0.8),
    chronic,
    allergies,
    historyStart: Math.max(birthDate, addYears(today, -historyYears)),
    today,
  };
}

/** Unique per patient number and stable across seeds, like a real MRN. */
function medicalRecordNumber(index: number): string {
  return String(100_000_000 + index * 13);
}

function contactDetails(
  rng: Rng,
  index: number,
  given: readonly string[],
  family: string,
  culture: Culture,
  age: number,
): Pick<PatientProfile, 'address' | 'phone' | 'email' | 'parent'> {
  const place = rng.pick(CITIES);
  const line = [`${rng.int(2, 980)} ${rng.pick(STREETS)}`];
  if (rng.chance(0.3)) line.push(`Apt ${rng.int(1, 12)}${rng.pick(['A', 'B', 'C', 'D'])}`);
  // 555-0100 to 555-0199 are the numbers reserved for fiction in the North American plan.
  const phone = (): string => `(${place.areaCode}) 555-${String(rng.int(100, 199)).padStart(4, '0')}`;
  const firstGiven = given[0] ?? 'patient';
  const email = `${asciiSlug(firstGiven)}.${asciiSlug(family)}${index > CAST.length ? String(index) : ''}@example.com`;
  const details = { address: { line, city: place.city, postalCode: place.postalCode }, phone: phone() };
  if (age >= 18) return { ...details, email };
  const relationship = rng.chance(0.7) ? 'mother' : 'father';
  const parentGiven = rng.pick(relationship === 'mother' ? culture.female : culture.male);
  return { ...details, parent: { given: parentGiven, family, relationship, phone: phone() } };
}

function drawMarital(rng: Rng, age: number): MaritalKey {
  if (age < 25)
    return rng.weighted([
      ['single', 85],
      ['married', 15],
    ] as const);
  if (age >= 70)
    return rng.weighted([
      ['married', 50],
      ['widowed', 30],
      ['divorced', 10],
      ['single', 10],
    ] as const);
  return rng.weighted([
    ['married', 55],
    ['single', 28],
    ['divorced', 15],
    ['widowed', 2],
  ] as const);
}

function drawSmoking(rng: Rng, age: number): SmokingKey {
  if (age < 14) return 'never';
  if (age < 18)
    return rng.weighted([
      ['never', 92],
      ['occasional', 8],
    ] as const);
  return rng.weighted([
    ['never', 60],
    ['former', 23],
    ['daily', 12],
    ['occasional', 5],
  ] as const);
}

function drawBmi(rng: Rng, age: number): number {
  const mean = age < 18 ? 21 : age < 30 ? 25.5 : 28;
  return Math.min(45, Math.max(18.5, rng.normal(mean, 5)));
}

interface PrevalenceContext {
  readonly age: number;
  readonly gender: 'female' | 'male';
  readonly bmi: number;
  readonly smoking: SmokingKey;
  readonly birthDate: number;
  readonly today: number;
}

type Prevalence = (c: PrevalenceContext, has: (key: ChronicConditionKey) => boolean) => number;

/** Rough US prevalence by age, in dependency order (obesity before diabetes, CAD before HF). */
const PREVALENCE: readonly (readonly [ChronicConditionKey, number, Prevalence])[] = [
  ['obesity', 18, (c) => (c.bmi >= 30 ? 1 : 0)],
  [
    'hypertension',
    18,
    (c, has) =>
      byAge(c.age, [
        [40, 0.06],
        [60, 0.28],
        [200, 0.55],
      ]) + (has('obesity') ? 0.15 : 0),
  ],
  [
    'hyperlipidemia',
    18,
    (c) =>
      byAge(c.age, [
        [30, 0.02],
        [45, 0.1],
        [65, 0.3],
        [200, 0.45],
      ]),
  ],
  [
    'diabetes',
    18,
    (c, has) =>
      byAge(c.age, [
        [30, 0.01],
        [45, 0.05],
        [65, 0.14],
        [200, 0.22],
      ]) + (has('obesity') ? 0.12 : 0),
  ],
  ['prediabetes', 18, (c, has) => (has('diabetes') ? 0 : 0.12 + (has('obesity') ? 0.1 : 0) + (c.age > 45 ? 0.05 : 0))],
  ['asthma', 2, (c) => (c.age < 18 ? 0.09 : 0.07)],
  ['copd', 40, (c) => (c.smoking === 'never' ? 0.01 : c.age >= 55 ? 0.25 : 0.06)],
  [
    'osteoarthritisKnee',
    45,
    (c) =>
      byAge(c.age, [
        [65, 0.1],
        [200, 0.25],
      ]),
  ],
  ['gerd', 18, () => 0.12],
  ['depression', 12, () => 0.09],
  ['anxiety', 12, () => 0.07],
  ['migraine', 12, (c) => (c.gender === 'female' ? 0.14 : 0.05)],
  [
    'atrialFibrillation',
    50,
    (c) =>
      byAge(c.age, [
        [65, 0.02],
        [200, 0.09],
      ]),
  ],
  [
    'coronaryDisease',
    45,
    (c) =>
      byAge(c.age, [
        [65, 0.04],
        [200, c.gender === 'male' ? 0.15 : 0.1],
      ]),
  ],
  [
    'ckd',
    40,
    (c, has) =>
      byAge(c.age, [
        [65, 0.04],
        [200, 0.12],
      ]) + (has('diabetes') || has('hypertension') ? 0.08 : 0),
  ],
  [
    'heartFailure',
    55,
    (c, has) =>
      byAge(c.age, [
        [65, 0.01],
        [200, 0.04],
      ]) + (has('coronaryDisease') ? 0.1 : 0),
  ],
  [
    'osteoporosis',
    55,
    (c) =>
      c.gender === 'female'
        ? byAge(c.age, [
            [65, 0.08],
            [200, 0.22],
          ])
        : byAge(c.age, [
            [70, 0.01],
            [200, 0.05],
          ]),
  ],
  ['sleepApnea', 25, (_c, has) => (has('obesity') ? 0.2 : 0.03)],
  ['atopicDermatitis', 0.3, (c) => (c.age < 18 ? 0.1 : 0.03)],
  ['allergicRhinitis', 3, () => 0.12],
];

/** The probability of the first bracket whose upper age bound is above `age`. */
function byAge(age: number, brackets: readonly (readonly [number, number])[]): number {
  for (const [upTo, p] of brackets) if (age < upTo) return p;
  return 0;
}

function drawChronic(rng: Rng, c: PrevalenceContext): ChronicProblem[] {
  const found: ChronicProblem[] = [];
  const has = (key: ChronicConditionKey): boolean => found.some((p) => p.key === key);
  for (const [key, minAge, prevalence] of PREVALENCE) {
    if (c.age < minAge || !rng.chance(prevalence(c, has))) continue;
    // Onset within the last 25 years of life, after the earliest plausible age.
    const onsetAge = rng.float(Math.max(minAge, c.age - 25), c.age);
    const onset = startOfDay(c.birthDate + onsetAge * YEAR_MS);
    if (onset < c.today) found.push({ key, onset });
  }
  return found;
}

function drawAllergies(rng: Rng, age: number, birthDate: number, today: number): PatientProfile['allergies'] {
  const kind = rng.weighted([
    ['none', 40],
    ['nka', 30],
    ['some', 30],
  ] as const);
  if (kind !== 'some') return kind;
  const child = age < 18;
  const weights = (Object.keys(ALLERGIES) as AllergyKey[]).map((key) => [key, child ? ALLERGIES[key].weightChild : ALLERGIES[key].weightAdult] as const);
  const first = rng.weighted(weights);
  const keys = [first];
  if (rng.chance(0.2)) {
    const second = rng.weighted(weights);
    if (second !== first) keys.push(second);
  }
  return keys.map((key) => drawAllergy(rng, key, birthDate, today));
}

function drawAllergy(rng: Rng, key: AllergyKey, birthDate: number, today: number): AllergyProblem {
  const def = ALLERGIES[key];
  // Food allergies show in early childhood; the rest at any age.
  const latest = def.category === 'food' ? Math.min(today, birthDate + 6 * YEAR_MS) : today;
  const earliest = Math.min(latest, birthDate + 0.5 * YEAR_MS);
  const onset = startOfDay(rng.float(earliest, latest) - DAY_MS);
  const severe = def.reactions[0] === 'anaphylaxis';
  return { key, onset: Math.max(birthDate, onset), criticality: severe ? 'high' : rng.chance(0.15) ? 'high' : 'low' };
}
