/**
 * Profile validation, in process (no server): one vital-sign Observation against its profile
 * (median and p95 of single validations, base R4 validation included), and whole Synthea patient
 * bundles, every resource against the US Core 6.1.0 profile of its kind, in resources/s. With
 * ../shared absent only the R4 core heartrate profile row runs. Bindings are answered by the test
 * binding checker over the package's and R4 core's value sets (answers are reused, as on a server).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { validateR4 } from '../../src/fhir/validator/index.js';
import { ProfileValidator } from '../../src/fhir/validator/profiles/index.js';
import { hasSharedPackages, lookupOf, sharedPackage, testTerminology } from '../../test/support/fhir-packages.js';
import { hasSharedSamples, sharedPath } from '../../test/support/shared-samples.js';
import type { BenchContext, ScenarioResult } from '../harness.js';

type Json = Record<string, any>;

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition';
const HEART_RATE: Json = {
  resourceType: 'Observation',
  id: 'heart-rate',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
  subject: { reference: 'Patient/example' },
  effectiveDateTime: '2024-05-01T09:30:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
};

/** The US Core 6.1.0 profile for a Synthea resource (Synthea 2019 data claims none). */
const VITAL_SIGNS: Record<string, string> = {
  '8867-4': 'us-core-heart-rate',
  '9279-1': 'us-core-respiratory-rate',
  '8310-5': 'us-core-body-temperature',
  '29463-7': 'us-core-body-weight',
  '8302-2': 'us-core-body-height',
  '39156-5': 'us-core-bmi',
  '2708-6': 'us-core-pulse-oximetry',
  '59408-5': 'us-core-pulse-oximetry',
  '85354-9': 'us-core-blood-pressure',
  '72166-2': 'us-core-smokingstatus',
  '8289-1': 'head-occipital-frontal-circumference-percentile',
};
const BY_TYPE: Record<string, string> = {
  Patient: 'us-core-patient',
  Encounter: 'us-core-encounter',
  Condition: 'us-core-condition-encounter-diagnosis',
  Procedure: 'us-core-procedure',
  Immunization: 'us-core-immunization',
  MedicationRequest: 'us-core-medicationrequest',
  CarePlan: 'us-core-careplan',
  Goal: 'us-core-goal',
  AllergyIntolerance: 'us-core-allergyintolerance',
  Organization: 'us-core-organization',
  Practitioner: 'us-core-practitioner',
  CareTeam: 'us-core-careteam',
};
function usCoreProfileOf(r: Json): string | undefined {
  if (r.resourceType === 'Observation') {
    const code = r.code?.coding?.[0]?.code as string;
    if (VITAL_SIGNS[code]) return `${US_CORE}/${VITAL_SIGNS[code]}`;
    return `${US_CORE}/${r.category?.[0]?.coding?.[0]?.code === 'laboratory' ? 'us-core-observation-lab' : 'us-core-observation-clinical-result'}`;
  }
  if (r.resourceType === 'DiagnosticReport') return `${US_CORE}/${r.category ? 'us-core-diagnosticreport-lab' : 'us-core-diagnosticreport-note'}`;
  return BY_TYPE[r.resourceType] ? `${US_CORE}/${BY_TYPE[r.resourceType]}` : undefined;
}

/** Median and p95 of single validations (base + profile), in µs, after a warm-up. */
async function singleValidation(validator: ProfileValidator, resource: Json, profile: string, rounds = 5000) {
  for (let i = 0; i < 1000; i++) {
    validateR4(resource);
    await validator.validate(resource, [profile]);
  }
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    validateR4(resource);
    await validator.validate(resource, [profile]);
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  const errors = (await validator.validate(resource, [profile])).issues.filter((i) => i.severity === 'error').length;
  return { median: times[Math.floor(rounds / 2)]!, p95: times[Math.floor(rounds * 0.95)]!, errors };
}

export async function profileValidation(_ctx: BenchContext): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  const core = await singleValidation(new ProfileValidator(), HEART_RATE, 'http://hl7.org/fhir/StructureDefinition/heartrate');
  results.push({
    name: 'profile validation: Observation vs R4 heartrate (median)',
    value: round(core.median),
    unit: 'µs',
    detail: `p95 ${round(core.p95)} µs, base R4 included, ${core.errors} errors`,
  });
  if (!hasSharedPackages) return results;

  const pkg = sharedPackage('hl7.fhir.us.core-6.1.0.tgz');
  const validator = new ProfileValidator({ structureDefinition: lookupOf(pkg), validateCode: testTerminology(pkg) });
  const usCore = await singleValidation(validator, HEART_RATE, `${US_CORE}/us-core-heart-rate`);
  results.push({
    name: 'profile validation: Observation vs US Core 6.1.0 heart rate (median)',
    value: round(usCore.median),
    unit: 'µs',
    detail: `p95 ${round(usCore.p95)} µs, base R4 included, ${usCore.errors} errors`,
  });

  if (!hasSharedSamples) return results;
  const files = readdirSync(sharedPath('synthea'))
    .filter((f) => f.endsWith('.json') && !f.includes('Information'))
    .sort()
    .slice(0, 10);
  const bundles = files.map((f) => (JSON.parse(readFileSync(sharedPath('synthea', f), 'utf8')) as Json).entry.map((e: Json) => e.resource as Json));
  const validateAll = async (resources: Json[]) => {
    let errors = 0;
    for (const r of resources) {
      errors += validateR4(r).issues.filter((i) => i.severity === 'error').length;
      const profile = usCoreProfileOf(r);
      if (profile) errors += (await validator.validate(r, [profile])).issues.filter((i) => i.severity === 'error').length;
    }
    return errors;
  };
  // A first pass compiles the profiles and fills the binding answers; the second is measured.
  for (const resources of bundles) await validateAll(resources);
  let count = 0;
  let errors = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (const resources of bundles) {
    errors += await validateAll(resources);
    count += resources.length;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpuMicros = process.cpuUsage(cpu).user / count;
  const profiled = bundles.flat().filter((r) => usCoreProfileOf(r)).length;
  results.push({
    name: 'profile validation: Synthea patient bundles vs US Core 6.1.0',
    value: Math.round(count / seconds),
    unit: 'resources/s',
    detail: `${files.length} bundles, ${count} resources (${profiled} with a US Core profile), ${round(cpuMicros)} µs CPU per resource, base R4 included, ${errors} errors found`,
  });
  return results;
}

const round = (n: number) => Math.round(n * 10) / 10;
