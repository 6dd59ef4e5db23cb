/**
 * The foundation's scenarios: the bare node:http baseline, read by id, create, and bundle ingest.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { httpSink, load } from '../../src/ingest/loader.js';
import { ROOT, type BenchContext, type ScenarioResult } from '../harness.js';

export async function bare(ctx: BenchContext): Promise<ScenarioResult[]> {
  const server = await ctx.startBare();
  try {
    const result = await ctx.load({ url: `${server.url}/` });
    ctx.bare = result.requestsPerSecond;
    return [{ name: 'bare node:http (baseline)', value: result.requestsPerSecond, unit: 'req/s', ratioToBare: 1, detail: `p99 ${result.p99} ms` }];
  } finally {
    await server.stop();
  }
}

export async function readAndCreate(ctx: BenchContext): Promise<ScenarioResult[]> {
  const server = await ctx.startBedside({ BEDSIDE_SEED: 'true', BEDSIDE_UNSAFE_DISABLE_AUTH: 'true' });
  try {
    const fhir = `${server.url}/fhir`;
    const patient = { resourceType: 'Patient', id: 'bench-read', name: [{ family: 'Carter', given: ['Alice'] }], gender: 'female', birthDate: '1970-01-01' };
    await fetch(`${fhir}/Patient/bench-read`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(patient) });
    const read = await ctx.load({ url: `${fhir}/Patient/bench-read` });
    const observation = JSON.stringify({
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject: { reference: 'Patient/patient-001' },
      effectiveDateTime: '2026-01-01T10:00:00Z',
      valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    const create = await ctx.load({
      url: `${fhir}/Observation`,
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
      body: observation,
    });
    const ratio = (v: number) => (ctx.bare ? v / ctx.bare : undefined);
    return [
      {
        name: 'read by id (GET Patient/id) [enforcement off]',
        value: read.requestsPerSecond,
        unit: 'req/s',
        ratioToBare: ratio(read.requestsPerSecond),
        detail: `p99 ${read.p99} ms, non-2xx ${read.non2xx}`,
      },
      {
        name: 'create (POST Observation) [enforcement off]',
        value: create.requestsPerSecond,
        unit: 'req/s',
        ratioToBare: ratio(create.requestsPerSecond),
        detail: `p99 ${create.p99} ms, non-2xx ${create.non2xx}`,
      },
    ];
  } finally {
    await server.stop();
  }
}

/** Loads the Synthea and Inferno bundles (or our generated data when ../shared is absent) over HTTP. */
export async function ingest(ctx: BenchContext): Promise<ScenarioResult[]> {
  const shared = path.resolve(ROOT, '../shared/fhir-samples');
  const paths = existsSync(path.join(shared, 'synthea')) ? [path.join(shared, 'synthea'), path.join(shared, 'inferno-uscore')] : [path.join(ROOT, 'fhir-data')];
  const server = await ctx.startBedside({ BEDSIDE_SEED: 'false', BEDSIDE_UNSAFE_DISABLE_AUTH: 'true' });
  try {
    const summary = await load({ sink: httpSink(`${server.url}/fhir`), paths, lenient: true, concurrency: 2 });
    const total = Object.values(summary.written).reduce((a, b) => a + b, 0);
    return [
      {
        name: `bundle ingest over HTTP [enforcement off] (${paths.map((p) => path.basename(p)).join(' + ')})`,
        value: summary.resourcesPerSecond,
        unit: 'resources/s',
        detail: `${total} resources in ${(summary.elapsedMs / 1000).toFixed(1)} s, ${summary.failures.length} failed bundles`,
      },
    ];
  } finally {
    await server.stop();
  }
}
