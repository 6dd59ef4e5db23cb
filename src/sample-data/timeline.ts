/**
 * Plans a patient's care over the record window: which visits happen when, with whom, and what is
 * done at each (diagnoses, prescriptions, labs, procedures, vaccines). The plan is data; the
 * builders turn it into FHIR resources.
 */
import type { PatientProfile } from './profile.js';
import type { LocationKey, StaffKey } from './people/staff.js';
import type { Rng } from './random.js';
import {
  ACUTE_CONDITIONS,
  CHRONIC_CONDITIONS,
  type AcuteConditionDef,
  type AcuteConditionKey,
  type ChronicConditionDef,
  type ChronicConditionKey,
} from './terminology/conditions.js';
import type { EncounterClassKey, EncounterTypeKey, ProcedureKey } from './terminology/encounters.js';
import type { MedicationKey } from './terminology/medications.js';
import type { LabPanelKey } from './terminology/observations.js';
import { CHILDHOOD_SCHEDULE, WELL_CHILD_AGES_MONTHS, type VaccineKey } from './terminology/vaccines.js';
import { DAY_MS, YEAR_MS, ageAt, startOfDay, yearOf } from './time.js';

export type VisitKind = 'wellness' | 'followUp' | 'diagnosis' | 'acute' | 'emergency' | 'inpatient';

/** Which vital signs are taken: all of them, a focused set, or the set for an acute illness. */
export type VitalSet = 'full' | 'focused' | 'acute';

export interface Prescription {
  readonly medication: MedicationKey;
  /** The chronic problem treated, or 'acute' for the visit's acute problem. */
  readonly reason: ChronicConditionKey | 'acute';
}

export interface PlannedVaccine {
  readonly vaccine: VaccineKey;
  readonly doseNumber?: number;
}

export interface PlannedVisit {
  start: number;
  end: number;
  readonly kind: VisitKind;
  readonly encounterClass: EncounterClassKey;
  readonly type: EncounterTypeKey;
  readonly practitioner: StaffKey;
  readonly location: LocationKey;
  /** Set on well-child visits: the scheduled age, to match the vaccine schedule. */
  readonly wellChildAgeMonths?: number;
  /** Chronic problems put on the problem list at this visit. */
  readonly newProblems: ChronicConditionKey[];
  /** Chronic problems this visit follows up. */
  readonly reviewed: ChronicConditionKey[];
  readonly acute?: AcuteConditionKey;
  readonly prescriptions: Prescription[];
  readonly labs: LabPanelKey[];
  readonly procedures: ProcedureKey[];
  readonly vaccines: PlannedVaccine[];
  readonly vitals: VitalSet;
  readonly smokingStatus: boolean;
}

/** A vaccine given elsewhere (pharmacy, mass vaccination site) and recorded from the patient's card. */
export interface ExternalImmunization extends PlannedVaccine {
  readonly date: number;
}

export interface VisitPlan {
  readonly visits: readonly PlannedVisit[];
  readonly external: readonly ExternalImmunization[];
}

/** Plans the whole record: each step adds one kind of event to the visits planned so far. */
export function planVisits(profile: PatientProfile, rng: Rng): VisitPlan {
  const visits: PlannedVisit[] = [];
  addWellnessVisits(visits, profile, rng);
  addDiagnosisVisits(visits, profile, rng);
  addFollowUpVisits(visits, profile, rng);
  addAcuteVisits(visits, profile, rng);
  addPlannedAdmissions(visits, profile, rng);
  keepBeforeToday(visits, profile);
  orderVisits(visits);
  recordPreexistingProblems(visits, profile);
  addPrescriptions(visits, profile, rng);
  addLabs(visits, profile, rng);
  addProcedures(visits, profile, rng);
  const external = addImmunizations(visits, profile, rng);
  return { visits, external };
}

// ---------------------------------------------------------------------------------------------
// Visits

const isChildAt = (profile: PatientProfile, t: number): boolean => ageAt(profile.birthDate, t) < 18;

/** Children see the pediatrician; a pediatric patient who has grown up moves to general practice. */
function primaryClinician(profile: PatientProfile, t: number): StaffKey {
  if (isChildAt(profile, t)) return 'pediatrics';
  return profile.gp === 'pediatrics' ? 'generalPractice' : profile.gp;
}

/** Office hours 08:00-16:00 US Eastern (13:00-21:00 UTC), on a 15-minute grid. */
function officeTime(rng: Rng, day: number): number {
  return startOfDay(day) + (13 * 60 + 15 * rng.int(0, 31)) * 60_000;
}

function anyTime(rng: Rng, day: number): number {
  return startOfDay(day) + rng.int(0, 24 * 4 - 1) * 15 * 60_000;
}

/** How each kind of visit is run: encounter class and type, who sees the patient, how long it takes. */
interface VisitStyle {
  readonly encounterClass: EncounterClassKey;
  readonly type: EncounterTypeKey;
  readonly practitioner: StaffKey;
  readonly location: LocationKey;
  readonly vitals: VitalSet;
  readonly start: number;
  readonly minutes: number;
}

function visitStyle(profile: PatientProfile, rng: Rng, kind: VisitKind, day: number): VisitStyle {
  const child = isChildAt(profile, day);
  const primary = primaryClinician(profile, day);
  const clinic: LocationKey = child ? 'pediatrics' : 'clinic';
  switch (kind) {
    case 'wellness':
      return {
        encounterClass: 'ambulatory',
        type: child ? 'wellChild' : 'checkUp',
        practitioner: primary,
        location: clinic,
        vitals: 'full',
        start: officeTime(rng, day),
        minutes: rng.int(30, 45),
      };
    case 'followUp':
      return {
        encounterClass: 'ambulatory',
        type: 'followUp',
        practitioner: primary,
        location: clinic,
        vitals: 'focused',
        start: officeTime(rng, day),
        minutes: rng.int(20, 30),
      };
    case 'diagnosis':
      return {
        encounterClass: 'ambulatory',
        type: 'problem',
        practitioner: primary,
        location: clinic,
        vitals: 'focused',
        start: officeTime(rng, day),
        minutes: rng.int(20, 30),
      };
    case 'acute':
      return {
        encounterClass: 'ambulatory',
        type: 'symptom',
        practitioner: primary,
        location: clinic,
        vitals: 'acute',
        start: officeTime(rng, day),
        minutes: rng.int(15, 30),
      };
    case 'emergency':
      return {
        encounterClass: 'emergency',
        type: 'emergencyRoom',
        practitioner: 'emergency',
        location: 'emergency',
        vitals: 'acute',
        start: anyTime(rng, day),
        minutes: rng.int(120, 360),
      };
    case 'inpatient':
      return {
        encounterClass: 'inpatient',
        type: 'emergencyAdmission',
        practitioner: 'hospitalist',
        location: 'ward',
        vitals: 'full',
        start: anyTime(rng, day),
        minutes: rng.int(2, 5) * 24 * 60 + rng.int(0, 300),
      };
  }
}

function createVisit(
  profile: PatientProfile,
  rng: Rng,
  kind: VisitKind,
  day: number,
  extra: Partial<Pick<PlannedVisit, 'type' | 'practitioner' | 'acute' | 'wellChildAgeMonths'>> = {},
): PlannedVisit {
  const style = visitStyle(profile, rng, kind, day);
  return {
    start: style.start,
    end: style.start + style.minutes * 60_000,
    kind,
    encounterClass: style.encounterClass,
    type: extra.type ?? style.type,
    practitioner: extra.practitioner ?? style.practitioner,
    location: style.location,
    ...(extra.wellChildAgeMonths === undefined ? {} : { wellChildAgeMonths: extra.wellChildAgeMonths }),
    newProblems: [],
    reviewed: [],
    ...(extra.acute === undefined ? {} : { acute: extra.acute }),
    prescriptions: [],
    labs: [],
    procedures: [],
    vaccines: [],
    vitals: style.vitals,
    smokingStatus: kind === 'wellness' && ageAt(profile.birthDate, day) >= 12,
  };
}

/** Within the record window and before "today". */
function inWindow(profile: PatientProfile, t: number): boolean {
  return t >= profile.historyStart && t < profile.today;
}

function addWellnessVisits(visits: PlannedVisit[], profile: PatientProfile, rng: Rng): void {
  for (const ageMonths of WELL_CHILD_AGES_MONTHS) {
    const jitterDays = ageMonths === 0 ? rng.int(3, 5) : rng.int(0, 10);
    const day = startOfDay(profile.birthDate + ageMonths * (YEAR_MS / 12) + jitterDays * DAY_MS);
    if (inWindow(profile, day) && isChildAt(profile, day)) {
      visits.push(createVisit(profile, rng, 'wellness', day, { wellChildAgeMonths: ageMonths }));
    }
  }
  const dayOfYear = rng.int(0, 364);
  for (let year = yearOf(profile.historyStart); year <= yearOf(profile.today); year++) {
    const day = startOfDay(Date.UTC(year, 0, 1) + (dayOfYear + rng.int(-15, 15)) * DAY_MS);
    // Some adults skip a year; the hand-written cast never does, so their charts stay regular.
    const skipped = profile.index > 12 && rng.chance(0.12);
    if (inWindow(profile, day) && !isChildAt(profile, day) && !skipped) {
      visits.push(createVisit(profile, rng, 'wellness', day));
    }
  }
}

/** A problem that begins inside the window is diagnosed at a visit on its onset day. */
function addDiagnosisVisits(visits: PlannedVisit[], profile: PatientProfile, rng: Rng): void {
  for (const problem of profile.chronic) {
    if (!inWindow(profile, problem.onset)) continue;
    const sameDay = visits.find((v) => v.kind === 'wellness' && Math.abs(v.start - problem.onset) < 10 * DAY_MS);
    const visit = sameDay ?? createVisit(profile, rng, 'diagnosis', problem.onset);
    visit.newProblems.push(problem.key);
    if (!sameDay) visits.push(visit);
  }
}

function followUpOwner(profile: PatientProfile, def: ChronicConditionDef, t: number): StaffKey {
  return def.specialist ?? primaryClinician(profile, t);
}

/** Chronic problems with a follow-up cadence get visits, merged when due within six weeks. */
function addFollowUpVisits(visits: PlannedVisit[], profile: PatientProfile, rng: Rng): void {
  const due: { day: number; key: ChronicConditionKey; owner: StaffKey }[] = [];
  for (const problem of profile.chronic) {
    const def: ChronicConditionDef = CHRONIC_CONDITIONS[problem.key];
    if (!def.followUpMonths) continue;
    const interval = def.followUpMonths * (YEAR_MS / 12);
    for (let t = Math.max(problem.onset, profile.historyStart) + interval; t < profile.today; t += interval) {
      const day = startOfDay(t + rng.int(-20, 20) * DAY_MS);
      if (inWindow(profile, day)) due.push({ day, key: problem.key, owner: followUpOwner(profile, def, day) });
    }
  }
  due.sort((a, b) => a.day - b.day);
  for (const { day, key, owner } of due) {
    const near = visits.find(
      (v) => (v.kind === 'followUp' || v.kind === 'wellness' || v.kind === 'diagnosis') && v.practitioner === owner && Math.abs(v.start - day) < 45 * DAY_MS,
    );
    const visit = near ?? createVisit(profile, rng, 'followUp', day, { practitioner: owner });
    if (!visit.reviewed.includes(key)) visit.reviewed.push(key);
    if (!near) visits.push(visit);
  }
}

function acuteRatePerYear(profile: PatientProfile, age: number): number {
  const base = age < 2 ? 1.3 : age < 6 ? 1 : age < 12 ? 0.6 : age < 18 ? 0.4 : age < 65 ? 0.4 : 0.55;
  const lungs = profile.chronic.some((p) => p.key === 'asthma' || p.key === 'copd') ? 0.2 : 0;
  return base + lungs;
}

function pickAcuteCondition(rng: Rng, age: number): AcuteConditionKey | undefined {
  const options = (Object.keys(ACUTE_CONDITIONS) as AcuteConditionKey[])
    .map((key) => {
      const def: AcuteConditionDef = ACUTE_CONDITIONS[key];
      const eligible = age >= def.minAge && age < def.maxAge;
      return [key, eligible ? (age < 18 ? def.weightChild : def.weightAdult) : 0] as const;
    })
    .filter(([, w]) => w > 0);
  return options.length > 0 ? rng.weighted(options) : undefined;
}

/** Colds, ear infections, sprains and pneumonias, at a rate that depends on age. */
function addAcuteVisits(visits: PlannedVisit[], profile: PatientProfile, rng: Rng): void {
  const quarter = YEAR_MS / 4;
  for (let t = profile.historyStart; t < profile.today; t += quarter) {
    const age = ageAt(profile.birthDate, t);
    if (age < 0.5 || !rng.chance(acuteRatePerYear(profile, age) / 4)) continue;
    const day = startOfDay(t + rng.float(0, quarter));
    const key = pickAcuteCondition(rng, ageAt(profile.birthDate, day));
    // Someone seen in the last week is treated at that visit, not booked again.
    const seenThatWeek = visits.some((v) => Math.abs(v.start - day) < 7 * DAY_MS);
    if (!key || !inWindow(profile, day) || seenThatWeek) continue;
    const def: AcuteConditionDef = ACUTE_CONDITIONS[key];
    const elderlyAndSevere = def.severe && age >= 70 ? 3 : 1;
    const [office, emergency, admission] = def.setting;
    const kind = rng.weighted([
      ['acute', office],
      ['emergency', emergency],
      ['inpatient', admission * elderlyAndSevere],
    ] as const);
    visits.push(createVisit(profile, rng, kind, day, { acute: key }));
  }
}

/** Elective admissions: knee replacement for knee osteoarthritis, stenting for coronary disease. */
function addPlannedAdmissions(visits: PlannedVisit[], profile: PatientProfile, rng: Rng): void {
  const admit = (key: ChronicConditionKey, chance: number, afterOnsetDays: number, build: (day: number) => PlannedVisit): void => {
    const problem = profile.chronic.find((p) => p.key === key);
    if (!problem || !rng.chance(chance)) return;
    const from = Math.max(problem.onset + afterOnsetDays * DAY_MS, profile.historyStart);
    const to = profile.today - 45 * DAY_MS;
    if (from < to) visits.push(build(startOfDay(rng.float(from, to))));
  };
  if (ageAt(profile.birthDate, profile.today) >= 55) {
    admit('osteoarthritisKnee', 0.35, 365, (day) => {
      const visit = createVisit(profile, rng, 'inpatient', day, { type: 'orthopedicAdmission', practitioner: 'orthopedics' });
      visit.procedures.push('kneeReplacement');
      visit.reviewed.push('osteoarthritisKnee');
      return visit;
    });
  }
  admit('coronaryDisease', 0.35, 14, (day) => {
    const visit = createVisit(profile, rng, 'inpatient', day, { type: 'cardiologyAdmission', practitioner: 'cardiology' });
    visit.end = visit.start + rng.int(1, 2) * DAY_MS;
    visit.procedures.push('coronaryIntervention');
    visit.reviewed.push('coronaryDisease');
    return visit;
  });
}

/** Moves visits that would still be going on "today" (and their lab results) into the past. */
function keepBeforeToday(visits: PlannedVisit[], profile: PatientProfile): void {
  const margin = 6 * 60 * 60_000;
  for (const visit of visits) {
    const overrun = visit.end + margin - profile.today;
    if (overrun > 0) {
      visit.start -= overrun;
      visit.end -= overrun;
    }
  }
}

/** Sorts by start and makes start times unique, so encounter ids read chronologically. */
function orderVisits(visits: PlannedVisit[]): void {
  visits.sort((a, b) => a.start - b.start);
  for (let i = 1; i < visits.length; i++) {
    const previous = visits[i - 1] as PlannedVisit;
    const visit = visits[i] as PlannedVisit;
    if (visit.start <= previous.start) {
      // Same slot as the previous visit: take the one before it rather than drift towards "today".
      const shift = visit.start - (previous.start - 60 * 60_000);
      visit.start -= shift;
      visit.end -= shift;
      visits.sort((a, b) => a.start - b.start);
      i = 0;
    }
  }
}

/** Problems older than the record are put on the problem list at the first regular visit. */
function recordPreexistingProblems(visits: PlannedVisit[], profile: PatientProfile): void {
  const regular = visits.find((v) => v.kind === 'wellness' || v.kind === 'followUp' || v.kind === 'diagnosis');
  const first = regular ?? visits[0];
  if (!first) return;
  for (const problem of profile.chronic) {
    if (problem.onset < profile.historyStart && !first.newProblems.includes(problem.key)) first.newProblems.push(problem.key);
  }
}

// ---------------------------------------------------------------------------------------------
// What happens at each visit

const activeAt = (profile: PatientProfile, key: ChronicConditionKey, t: number): boolean => profile.chronic.some((p) => p.key === key && p.onset <= t);

function hasPenicillinAllergy(profile: PatientProfile): boolean {
  return Array.isArray(profile.allergies) && profile.allergies.some((a) => a.key === 'penicillin');
}

function addPrescriptions(visits: PlannedVisit[], profile: PatientProfile, rng: Rng): void {
  for (const visit of visits) {
    for (const key of visit.newProblems) {
      const def: ChronicConditionDef = CHRONIC_CONDITIONS[key];
      for (const medication of def.medications) visit.prescriptions.push({ medication, reason: key });
    }
    if (visit.acute && rng.chance(0.85)) {
      const def: AcuteConditionDef = ACUTE_CONDITIONS[visit.acute];
      const medication = hasPenicillinAllergy(profile) ? (def.penicillinFreeMedication ?? def.medication) : def.medication;
      if (medication) visit.prescriptions.push({ medication, reason: 'acute' });
    }
  }
  // Blood pressure often needs a second drug after some months on the first.
  const hypertension = profile.chronic.find((p) => p.key === 'hypertension');
  if (hypertension && rng.chance(0.4)) {
    const started = visits.find((v) => v.newProblems.includes('hypertension'));
    const later = started && visits.find((v) => v.reviewed.includes('hypertension') && v.start > started.start + 150 * DAY_MS);
    later?.prescriptions.push({ medication: 'amlodipine', reason: 'hypertension' });
  }
}

function addLabs(visits: PlannedVisit[], profile: PatientProfile, rng: Rng): void {
  for (const visit of visits) {
    const labs = new Set<LabPanelKey>();
    const active = (key: ChronicConditionKey): boolean => activeAt(profile, key, visit.start);
    const adult = !isChildAt(profile, visit.start);
    if (visit.kind === 'wellness' && adult) {
      const age = ageAt(profile.birthDate, visit.start);
      if (active('hyperlipidemia') || active('diabetes') || active('coronaryDisease') || rng.chance(0.3)) labs.add('lipid');
      if (active('hypertension') || active('diabetes') || active('ckd') || rng.chance(0.3)) labs.add('bmp');
      if (rng.chance(age >= 65 ? 0.5 : 0.2)) labs.add('cbc');
      if (active('diabetes') || active('prediabetes') || (active('obesity') && rng.chance(0.3))) labs.add('hba1c');
    }
    for (const key of visit.newProblems) for (const lab of DIAGNOSTIC_LABS[key] ?? []) labs.add(lab);
    for (const key of visit.reviewed) {
      const def: ChronicConditionDef = CHRONIC_CONDITIONS[key];
      for (const lab of def.monitoringLabs ?? []) labs.add(lab);
    }
    if (visit.acute && ACUTE_CONDITIONS[visit.acute].severe) labs.add('cbc');
    if (visit.kind === 'emergency' && adult && rng.chance(0.6)) {
      labs.add('cbc');
      labs.add('bmp');
    }
    if (visit.kind === 'inpatient') {
      labs.add('cbc');
      // Our lab values are adult ones; a metabolic panel on a child would show adult creatinine.
      if (adult) labs.add('bmp');
    }
    visit.labs.push(...labs);
  }
}

/** Labs that confirm or stage a new problem. */
const DIAGNOSTIC_LABS: Partial<Record<ChronicConditionKey, readonly LabPanelKey[]>> = {
  hypertension: ['bmp'],
  diabetes: ['hba1c', 'bmp', 'lipid'],
  prediabetes: ['hba1c'],
  hyperlipidemia: ['lipid'],
  ckd: ['bmp', 'cbc'],
  heartFailure: ['bmp', 'cbc'],
};

function addProcedures(visits: PlannedVisit[], profile: PatientProfile, rng: Rng): void {
  for (const visit of visits) {
    const procedures = new Set<ProcedureKey>(visit.procedures);
    const onTreatment = profile.chronic.some((p) => p.onset <= visit.start && CHRONIC_CONDITIONS[p.key].medications.length > 0);
    if (visit.kind === 'wellness' && ageAt(profile.birthDate, visit.start) >= 12 && rng.chance(0.6)) {
      procedures.add('depressionScreening');
    }
    if ((visit.kind === 'wellness' || visit.kind === 'inpatient') && onTreatment) procedures.add('medicationReconciliation');
    for (const key of visit.newProblems) {
      const def: ChronicConditionDef = CHRONIC_CONDITIONS[key];
      const diagnosedHere = profile.chronic.some((p) => p.key === key && p.onset >= profile.historyStart);
      if (def.procedureAtDiagnosis && diagnosedHere) procedures.add(def.procedureAtDiagnosis);
    }
    if (visit.reviewed.includes('atrialFibrillation') && rng.chance(0.5)) procedures.add('ecg');
    const acuteProcedure = visit.acute ? (ACUTE_CONDITIONS[visit.acute] as AcuteConditionDef).procedure : undefined;
    if (acuteProcedure) procedures.add(acuteProcedure);
    visit.procedures.splice(0, visit.procedures.length, ...procedures);
  }
}

// ---------------------------------------------------------------------------------------------
// Immunizations

const COVID_START = Date.UTC(2021, 2, 1);

function addImmunizations(visits: PlannedVisit[], profile: PatientProfile, rng: Rng): ExternalImmunization[] {
  const external: ExternalImmunization[] = [];
  const recordExternal = (vaccine: VaccineKey, date: number, doseNumber?: number): void => {
    if (inWindow(profile, date)) external.push({ vaccine, date, ...(doseNumber ? { doseNumber } : {}) });
  };
  const age = (t: number): number => ageAt(profile.birthDate, t);
  const wellness = visits.filter((v) => v.kind === 'wellness');

  for (const dose of CHILDHOOD_SCHEDULE) {
    const visit = wellness.find((v) => v.wellChildAgeMonths === dose.ageMonths);
    visit?.vaccines.push({ vaccine: dose.vaccine, doseNumber: dose.doseNumber });
  }

  for (let year = yearOf(profile.historyStart); year <= yearOf(profile.today); year++) {
    const seasonStart = Date.UTC(year, 8, 1);
    const seasonEnd = Date.UTC(year, 11, 15);
    if (age(seasonStart) < 0.5) continue;
    const chronic = profile.chronic.some((p) => p.onset < seasonStart);
    const p = age(seasonStart) < 18 ? 0.6 : age(seasonStart) < 65 ? (chronic ? 0.65 : 0.4) : 0.75;
    if (!rng.chance(p)) continue;
    const vaccine: VaccineKey = age(seasonStart) >= 65 ? 'influenzaHighDose' : rng.chance(0.8) ? 'influenza' : 'influenzaMultiDose';
    const visit = visits.find((v) => v.encounterClass === 'ambulatory' && v.start >= seasonStart && v.start < seasonEnd);
    if (visit) visit.vaccines.push({ vaccine });
    else recordExternal(vaccine, startOfDay(Date.UTC(year, 9, 1) + rng.int(0, 40) * DAY_MS));
  }

  if (age(COVID_START) >= 12 && rng.chance(age(COVID_START) >= 18 ? 0.75 : 0.5)) {
    const pfizer = age(COVID_START) < 18 || rng.chance(0.6);
    const vaccine: VaccineKey = pfizer ? 'covidPfizer' : 'covidModerna';
    const first = COVID_START + rng.int(age(COVID_START) >= 65 ? 0 : 40, 120) * DAY_MS;
    recordExternal(vaccine, first, 1);
    recordExternal(vaccine, first + (pfizer ? 21 : 28) * DAY_MS, 2);
    if (age(COVID_START) >= 18 && rng.chance(0.6)) recordExternal(vaccine, first + rng.int(190, 300) * DAY_MS, 3);
  }

  const adultCheckUps = wellness.filter((v) => age(v.start) >= 19);
  const hasTetanusBooster = wellness.some((v) => v.vaccines.some((d) => d.vaccine === 'tdap'));
  if (!hasTetanusBooster && adultCheckUps.length > 0 && rng.chance(0.2)) rng.pick(adultCheckUps).vaccines.push({ vaccine: 'tdap' });

  const zosterVisit = adultCheckUps.find((v) => age(v.start) >= 50);
  if (zosterVisit && rng.chance(0.35)) {
    zosterVisit.vaccines.push({ vaccine: 'zoster', doseNumber: 1 });
    const secondDay = startOfDay(zosterVisit.start + rng.int(60, 180) * DAY_MS);
    const next = visits.find((v) => v.encounterClass === 'ambulatory' && v.start >= secondDay && v.start < secondDay + 120 * DAY_MS);
    if (next) next.vaccines.push({ vaccine: 'zoster', doseNumber: 2 });
    else recordExternal('zoster', secondDay, 2);
  }

  const pneumococcalVisit = adultCheckUps.find((v) => age(v.start) >= 65);
  if (pneumococcalVisit && rng.chance(0.5)) pneumococcalVisit.vaccines.push({ vaccine: 'pneumococcal23' });

  return external.sort((a, b) => a.date - b.date);
}
