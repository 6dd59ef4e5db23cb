/**
 * One patient's whole record, built from their profile: plan the visits, then turn each visit
 * into Encounter, Conditions, MedicationRequests, Observations, DiagnosticReports, Procedures and
 * Immunizations. Ids are `<patient-id>-<kind>-<counter>`, counted in chronological order.
 */
import type { Reference, Resource } from 'fhir/r4';
import { buildAllergy, buildNoKnownAllergy, type AllergyContext } from './builders/allergy.js';
import { organizationReference, reference, staffReference } from './builders/common.js';
import { buildAcuteCondition, buildChronicCondition } from './builders/condition.js';
import { buildLabReport } from './builders/diagnostic-report.js';
import { buildEncounter } from './builders/encounter.js';
import { buildImmunization } from './builders/immunization.js';
import { buildMedicationRequest } from './builders/medication-request.js';
import { buildBloodPressure, buildLabResult, buildSmokingStatus, buildVitalSign, type ObservationContext } from './builders/observation.js';
import { buildPatient } from './builders/patient.js';
import { buildProcedure } from './builders/procedure.js';
import { LOCATIONS } from './people/staff.js';
import { Physiology, type ClinicalState } from './physiology.js';
import type { PatientProfile } from './profile.js';
import { Rng } from './random.js';
import { planVisits, type PlannedVisit } from './timeline.js';
import { ACUTE_CONDITIONS, CHRONIC_CONDITIONS, type AcuteConditionDef, type ChronicConditionKey } from './terminology/conditions.js';
import { PROCEDURES, type ProcedureKey } from './terminology/encounters.js';
import { MEDICATIONS } from './terminology/medications.js';
import { LAB_PANELS, LABS, VITAL_SIGNS, type LabKey, type VitalSignKey } from './terminology/observations.js';
import { DAY_MS, ageAt, formatDateTime } from './time.js';

/** Resource types in the order they are written within a patient's bundle. */
const TYPE_ORDER = [
  'Patient',
  'AllergyIntolerance',
  'Condition',
  'MedicationRequest',
  'Encounter',
  'Observation',
  'DiagnosticReport',
  'Procedure',
  'Immunization',
] as const;
type RecordType = (typeof TYPE_ORDER)[number];

const ID_KINDS = {
  Encounter: ['enc', 2],
  Observation: ['obs', 4],
  Condition: ['cond', 2],
  MedicationRequest: ['med', 2],
  AllergyIntolerance: ['allergy', 2],
  Immunization: ['imm', 2],
  Procedure: ['proc', 2],
  DiagnosticReport: ['report', 2],
} as const satisfies Record<Exclude<RecordType, 'Patient'>, readonly [string, number]>;

/** Collects a record's resources by type and hands out readable, sequential ids. */
class RecordAssembly {
  private readonly byType = new Map<RecordType, Resource[]>(TYPE_ORDER.map((t) => [t, []]));
  private readonly counters = new Map<string, number>();

  constructor(private readonly patientId: string) {}

  nextId(type: Exclude<RecordType, 'Patient'>): string {
    const [kind, width] = ID_KINDS[type];
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    return `${this.patientId}-${kind}-${String(n).padStart(width, '0')}`;
  }

  add(resource: Resource & { resourceType: RecordType }): void {
    this.byType.get(resource.resourceType)?.push(resource);
  }

  resources(): Resource[] {
    return TYPE_ORDER.flatMap((t) => this.byType.get(t) ?? []);
  }
}

/** Everything that stays the same while one patient's visits are built. */
interface RecordState {
  readonly profile: PatientProfile;
  readonly patient: Reference;
  readonly body: Physiology;
  readonly rng: Rng;
  readonly out: RecordAssembly;
  /** The Condition id of each chronic problem once it is on the problem list. */
  readonly problems: Map<ChronicConditionKey, string>;
}

/** Builds every resource of one patient, Patient first. Deterministic for a given seed. */
export function buildPatientRecord(profile: PatientProfile, seed: string): Resource[] {
  const rng = new Rng(`${seed}/patient/${profile.index}/record`);
  const plan = planVisits(profile, rng.fork('plan'));
  const state: RecordState = {
    profile,
    patient: reference('Patient', profile.id),
    body: new Physiology(profile, rng.fork('baseline')),
    rng: rng.fork('measurements'),
    out: new RecordAssembly(profile.id),
    problems: new Map(),
  };
  state.out.add(buildPatient(profile));
  addAllergies(state, plan.visits[0]?.start ?? profile.historyStart);
  for (const visit of plan.visits) addVisit(state, visit);
  for (const shot of plan.external) {
    state.out.add(buildImmunization(state.out.nextId('Immunization'), shot.vaccine, shot.doseNumber, state.patient, shot.date, state.rng, undefined));
  }
  return state.out.resources();
}

function addAllergies(state: RecordState, recorded: number): void {
  const { profile, out } = state;
  const ctx: AllergyContext = { patient: state.patient, recorder: staffReference(profile.gp), recorded };
  if (profile.allergies === 'none') return;
  if (profile.allergies === 'nka') {
    out.add(buildNoKnownAllergy(out.nextId('AllergyIntolerance'), ctx));
    return;
  }
  for (const allergy of profile.allergies)
    out.add(buildAllergy(out.nextId('AllergyIntolerance'), allergy, { ...ctx, recorded: Math.max(recorded, allergy.onset) }));
}

/** One visit: the steps run in the order a chart would show them. */
function addVisit(state: RecordState, visit: PlannedVisit): void {
  const { out } = state;
  const encounterId = out.nextId('Encounter');
  const encounter = reference('Encounter', encounterId);
  const acuteConditionId = addConditions(state, visit, encounter);
  const reasons = encounterReasons(state, visit, acuteConditionId);
  out.add(buildEncounter(encounterId, state.patient, visit, reasons));
  addPrescriptions(state, visit, encounter, acuteConditionId);
  const clinical: ClinicalState = visit.acute
    ? { fever: ACUTE_CONDITIONS[visit.acute].fever, severe: ACUTE_CONDITIONS[visit.acute].severe }
    : { fever: false, severe: false };
  addVitalSigns(state, visit, encounter, clinical);
  addLabs(state, visit, encounter, clinical);
  addProcedures(state, visit, encounter, acuteConditionId);
  addVaccines(state, visit, encounter);
}

/** Puts new problems on the problem list and records the acute diagnosis; returns the latter's id. */
function addConditions(state: RecordState, visit: PlannedVisit, encounter: Reference): string | undefined {
  const { profile, out } = state;
  const ctx = { patient: state.patient, encounter, recorder: staffReference(visit.practitioner), recorded: visit.start };
  for (const key of visit.newProblems) {
    const problem = profile.chronic.find((p) => p.key === key);
    if (!problem || state.problems.has(key)) continue;
    const id = out.nextId('Condition');
    const def = CHRONIC_CONDITIONS[key];
    out.add(buildChronicCondition(id, def.code, def.text, problem.onset, problem.onset >= profile.historyStart, ctx));
    state.problems.set(key, id);
  }
  if (!visit.acute) return undefined;
  const def: AcuteConditionDef = ACUTE_CONDITIONS[visit.acute];
  const id = out.nextId('Condition');
  const resolved = visit.start + state.rng.int(def.durationDays[0], def.durationDays[1]) * DAY_MS;
  out.add(buildAcuteCondition(id, def.code, def.text, resolved, profile.today, ctx));
  return id;
}

function conditionReference(state: RecordState, key: ChronicConditionKey): Reference | undefined {
  const id = state.problems.get(key);
  return id === undefined ? undefined : reference('Condition', id);
}

function encounterReasons(state: RecordState, visit: PlannedVisit, acuteConditionId: string | undefined): Reference[] {
  if (acuteConditionId) return [reference('Condition', acuteConditionId)];
  if (visit.kind === 'wellness') return [];
  const keys = visit.kind === 'diagnosis' ? visit.newProblems : visit.reviewed;
  return keys.map((key) => conditionReference(state, key)).filter((r): r is Reference => r !== undefined);
}

function addPrescriptions(state: RecordState, visit: PlannedVisit, encounter: Reference, acuteConditionId: string | undefined): void {
  const { out } = state;
  for (const { medication, reason } of visit.prescriptions) {
    out.add(
      buildMedicationRequest(out.nextId('MedicationRequest'), MEDICATIONS[medication], {
        patient: state.patient,
        encounter,
        requester: staffReference(visit.practitioner),
        reason:
          reason === 'acute' ? (acuteConditionId === undefined ? undefined : reference('Condition', acuteConditionId)) : conditionReference(state, reason),
        authored: visit.end - 5 * 60_000,
        today: state.profile.today,
      }),
    );
  }
}

type VitalItem = VitalSignKey | 'bloodPressure';

/** Which vital signs a visit records, by the visit's vital set and the patient's age. */
function vitalItems(visit: PlannedVisit, age: number): VitalItem[] {
  const bp: VitalItem[] = age >= 3 ? ['bloodPressure'] : [];
  switch (visit.vitals) {
    case 'full':
      return [
        'heartRate',
        'respiratoryRate',
        'bodyTemperature',
        'bodyWeight',
        'bodyHeight',
        ...(age >= 2 ? (['bmi'] as const) : []),
        'oxygenSaturation',
        ...(age < 3 ? (['headCircumference'] as const) : []),
        ...bp,
      ];
    case 'focused':
      return age >= 18 ? ['bodyWeight', 'bmi', 'heartRate', 'bloodPressure'] : ['bodyWeight', 'heartRate', 'bodyTemperature'];
    case 'acute':
      return ['heartRate', 'respiratoryRate', 'bodyTemperature', 'oxygenSaturation', ...(age >= 18 ? bp : [])];
  }
}

function addVitalSigns(state: RecordState, visit: PlannedVisit, encounter: Reference, clinical: ClinicalState): void {
  const { body, rng, out, profile } = state;
  const t = visit.start + 5 * 60_000;
  const age = ageAt(profile.birthDate, t);
  const ctx: ObservationContext = {
    patient: state.patient,
    encounter,
    effective: formatDateTime(t),
    // Nurses take vital signs at office visits; elsewhere the treating clinician's team does.
    performer: staffReference(visit.encounterClass === 'ambulatory' ? 'nurse' : visit.practitioner),
  };
  let weight: number | undefined;
  for (const item of vitalItems(visit, age)) {
    const id = out.nextId('Observation');
    if (item === 'bloodPressure') {
      const { systolic, diastolic } = body.bloodPressure(t, rng);
      out.add(buildBloodPressure(id, systolic, diastolic, ctx));
      continue;
    }
    let value: number;
    switch (item) {
      case 'heartRate':
        value = body.heartRate(t, clinical, rng);
        break;
      case 'respiratoryRate':
        value = body.respiratoryRate(t, clinical, rng);
        break;
      case 'bodyTemperature':
        value = body.temperatureC(clinical, rng);
        break;
      case 'bodyWeight':
        value = weight = body.weightKg(t, rng);
        break;
      case 'bodyHeight':
        value = body.heightCm(t);
        break;
      case 'bmi': {
        const height = body.heightCm(t) / 100;
        value = (weight ?? body.weightKg(t, rng)) / (height * height);
        break;
      }
      case 'oxygenSaturation':
        value = body.oxygenSaturation(t, clinical, rng);
        break;
      case 'headCircumference':
        value = body.headCircumferenceCm(t);
        break;
    }
    out.add(buildVitalSign(id, VITAL_SIGNS[item], value, ctx));
  }
  if (visit.smokingStatus) out.add(buildSmokingStatus(out.nextId('Observation'), profile.smoking, ctx));
}

function addLabs(state: RecordState, visit: PlannedVisit, encounter: Reference, clinical: ClinicalState): void {
  const { out, profile } = state;
  if (visit.labs.length === 0) return;
  const drawn = visit.start + 15 * 60_000;
  const issued = formatDateTime(drawn + state.rng.int(90, 300) * 60_000);
  const ctx: ObservationContext = {
    patient: state.patient,
    encounter,
    effective: formatDateTime(drawn),
    performer: organizationReference(),
  };
  for (const panelKey of visit.labs) {
    const panel = LAB_PANELS[panelKey];
    const values = state.body.labPanel(panelKey, drawn, clinical, state.rng);
    const results: Reference[] = [];
    for (const labKey of panel.members as readonly LabKey[]) {
      const value = values[labKey];
      if (value === undefined) continue;
      const id = out.nextId('Observation');
      out.add(buildLabResult(id, LABS[labKey], value, profile.gender, issued, ctx));
      results.push(reference('Observation', id));
    }
    out.add(buildLabReport(out.nextId('DiagnosticReport'), panel, results, { ...ctx, issued }));
  }
}

/** The problem a procedure is done for, when the visit has one. */
const PROCEDURE_REASONS: Partial<Record<ProcedureKey, readonly ChronicConditionKey[]>> = {
  ecg: ['atrialFibrillation', 'hypertension'],
  echocardiography: ['heartFailure', 'coronaryDisease'],
  spirometry: ['asthma', 'copd'],
  kneeReplacement: ['osteoarthritisKnee'],
  coronaryIntervention: ['coronaryDisease'],
};

function procedureReason(state: RecordState, visit: PlannedVisit, key: ProcedureKey, acuteConditionId: string | undefined): Reference | undefined {
  if ((key === 'throatCulture' || key === 'chestXray') && acuteConditionId) return reference('Condition', acuteConditionId);
  const candidates = PROCEDURE_REASONS[key] ?? [];
  const onVisit = candidates.find((c) => visit.newProblems.includes(c) || visit.reviewed.includes(c));
  return onVisit ? conditionReference(state, onVisit) : undefined;
}

function addProcedures(state: RecordState, visit: PlannedVisit, encounter: Reference, acuteConditionId: string | undefined): void {
  const { out, rng } = state;
  const location = LOCATIONS[visit.location];
  let start = visit.start + 10 * 60_000;
  for (const key of visit.procedures) {
    const major = key === 'kneeReplacement' || key === 'coronaryIntervention';
    // Major procedures happen the morning after admission; office procedures take minutes.
    if (major) start = visit.start + DAY_MS;
    const end = start + (major ? rng.int(90, 180) : rng.int(5, 20)) * 60_000;
    out.add(
      buildProcedure(out.nextId('Procedure'), PROCEDURES[key], {
        patient: state.patient,
        encounter,
        performer: staffReference(visit.practitioner),
        location: reference('Location', location.id, location.name),
        reason: procedureReason(state, visit, key, acuteConditionId),
        start,
        end,
      }),
    );
    start = end;
  }
}

function addVaccines(state: RecordState, visit: PlannedVisit, encounter: Reference): void {
  const { out, profile } = state;
  const location = LOCATIONS[visit.location];
  const given = visit.start + 12 * 60_000;
  for (const { vaccine, doseNumber } of visit.vaccines) {
    out.add(
      buildImmunization(out.nextId('Immunization'), vaccine, doseNumber, state.patient, given, state.rng, {
        encounter,
        performer: staffReference('nurse'),
        location: reference('Location', location.id, location.name),
        infant: ageAt(profile.birthDate, given) < 3,
      }),
    );
  }
}
