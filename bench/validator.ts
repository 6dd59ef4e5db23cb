/**
 * Micro-benchmark of write validation: Bedside's compiled R4 validator against @medplum/core's
 * validateResource, in µs per resource, over every Synthea resource and for one small vital-sign
 * Observation. Also the one-off costs: definitions, bindings, compiling every type, extra heap.
 *
 *   npx tsx --expose-gc bench/validator.ts [rounds]
 *
 * The machine is shared: run it a few times and read the best round.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validateWithMedplum } from '../src/fhir/validation.js';
import { bindingReport } from '../src/fhir/validator/bindings.js';
import { r4Definitions } from '../src/fhir/validator/definitions.js';
import { R4Validator } from '../src/fhir/validator/index.js';
import { hasSharedSamples, sharedPath } from '../test/support/shared-samples.js';

const VITAL_SIGN = {
  resourceType: 'Observation',
  id: 'heart-rate',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
  subject: { reference: 'Patient/example' },
  effectiveDateTime: '2024-05-01T09:30:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
};

function syntheaResources(): unknown[] {
  if (!hasSharedSamples) return [];
  const dir = sharedPath('synthea');
  const out: unknown[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const bundle = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { entry?: Array<{ resource: unknown }> };
    for (const entry of bundle.entry ?? []) out.push(entry.resource);
  }
  return out;
}

/** Best average over `rounds` of validating every resource once, in µs per resource. */
function measure(resources: readonly unknown[], validate: (r: unknown) => unknown, rounds: number, minMs = 300): number {
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    let count = 0;
    const start = process.hrtime.bigint();
    do {
      for (const r of resources) validate(r);
      count += resources.length;
    } while (Number(process.hrtime.bigint() - start) / 1e6 < minMs);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e3 / count);
  }
  return best;
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
};

const rounds = Number(process.argv[2] ?? 5);
const synthea = syntheaResources();
const heap0 = heapMb();

let t = performance.now();
r4Definitions();
const defsMs = performance.now() - t;
t = performance.now();
bindingReport();
const bindingsMs = performance.now() - t;
const heap1 = heapMb();

const ours = new R4Validator();
t = performance.now();
const shapes = ours.compileAll();
const compileMs = performance.now() - t;
const heap2 = heapMb();

const validateOurs = (r: unknown) => ours.validate(r);
const validateTheirs = (r: unknown) => validateWithMedplum(r as never);
for (const r of synthea) {
  validateOurs(r);
  validateTheirs(r);
}
const heap3 = heapMb();

console.log(
  `one-off: definitions ${defsMs.toFixed(0)} ms, bindings ${bindingsMs.toFixed(0)} ms, compiling all ${r4Definitions().resourceTypes.size} resource types (${shapes} shapes, every invariant) ${compileMs.toFixed(0)} ms`,
);
console.log(
  `heap: definitions+bindings +${(heap1 - heap0).toFixed(1)} MB, compiled shapes +${(heap2 - heap1).toFixed(1)} MB, after validating Synthea (both validators warm) ${heap3.toFixed(0)} MB${gc ? '' : ' (run with --expose-gc for exact numbers)'}`,
);
if (synthea.length) {
  const a = measure(synthea, validateOurs, rounds);
  const b = measure(synthea, validateTheirs, Math.max(1, Math.ceil(rounds / 2)));
  console.log(`Synthea (${synthea.length} resources): bedside ${a.toFixed(1)} µs/resource, medplum ${b.toFixed(1)} µs/resource (${(b / a).toFixed(1)}x)`);
}
const vital = [VITAL_SIGN];
const a = measure(vital, validateOurs, rounds);
const b = measure(vital, validateTheirs, rounds);
console.log(`vital-sign Observation: bedside ${a.toFixed(1)} µs, medplum ${b.toFixed(1)} µs (${(b / a).toFixed(1)}x)`);
