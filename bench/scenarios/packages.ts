/**
 * FHIR packages and terminology (issue 16):
 * - installing US Core 6.1.0 at start-up (fresh store), and finding it installed on a restart,
 *   measured in-process around `Packages.install`, the step FHIR_PACKAGES adds to start-up;
 * - process start-up to /health without packages and with US Core installed;
 * - `ValueSet/$expand` of an enumerated value set of 1,000 codes, latency over HTTP (one client).
 * The US Core part needs ../shared/fhir-packages and is left out without it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import { Packages } from '../../src/packages/service.js';
import { openStorage } from '../../src/storage/open.js';
import { benchDataDir, percentile, ROOT, type BenchContext, type ScenarioResult } from '../harness.js';

const US_CORE = path.resolve(ROOT, '../shared/fhir-packages/hl7.fhir.us.core-6.1.0.tgz');
const RUNS = 3;

const median = (values: number[]) => percentile(values, 50);

/** Installs US Core into fresh stores: the first install, then the same again (a restart). */
async function installTimes(): Promise<{ first: number[]; again: number[] }> {
  const first: number[] = [];
  const again: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bedside-bench-packages-'));
    const storage = await openStorage({ kind: 'embedded', dataDir });
    try {
      const open = () =>
        new Packages({ resources: storage.resources, documents: storage.documents, fhirBaseUrl: 'http://localhost:8080/fhir', logger: createLogger('silent') });
      let started = performance.now();
      const packages = open();
      await packages.install([US_CORE]);
      first.push(performance.now() - started);
      await packages.close();
      started = performance.now();
      const restarted = open();
      await restarted.install([US_CORE]);
      again.push(performance.now() - started);
      await restarted.close();
    } finally {
      await storage.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return { first, again };
}

/** Spawn to /health, `RUNS` times on one data folder (the first start is left out: it creates keys). */
async function startupTimes(ctx: BenchContext, env: Record<string, string>): Promise<number[]> {
  const dataDir = benchDataDir(`startup-${Object.keys(env).join('-') || 'plain'}-${process.pid}`);
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const started = performance.now();
    const server = await ctx.startBedside({ BEDSIDE_SEED: 'false', DATA_DIR: dataDir, ...env });
    if (i > 0) times.push(performance.now() - started);
    await server.stop();
  }
  return times;
}

/** 1,000 enumerated codes (no code system needed: the value set lists them). */
function enumeratedValueSet(): object {
  return {
    resourceType: 'ValueSet',
    id: 'bench-1000',
    url: 'http://bench.example/ValueSet/1000',
    status: 'active',
    compose: {
      include: [{ system: 'http://bench.example/codes', concept: Array.from({ length: 1000 }, (_, i) => ({ code: `c${i}`, display: `Code number ${i}` })) }],
    },
  };
}

export async function packagesAndTerminology(ctx: BenchContext): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  if (existsSync(US_CORE)) {
    const { first, again } = await installTimes();
    results.push({
      name: 'US Core 6.1.0 install at start-up (fresh store, median)',
      value: Math.round(median(first)),
      unit: 'ms',
      detail: `runs ${first.map(Math.round).join(', ')} ms; target ≤ 2000 ms`,
    });
    results.push({
      name: 'US Core 6.1.0 already installed (restart, median)',
      value: Math.round(median(again)),
      unit: 'ms',
      detail: `runs ${again.map(Math.round).join(', ')} ms`,
    });
    const plain = await startupTimes(ctx, {});
    const withUsCore = await startupTimes(ctx, { FHIR_PACKAGES: US_CORE });
    results.push({
      name: 'process start-up to /health, no packages (median)',
      value: Math.round(median(plain)),
      unit: 'ms',
      detail: `runs ${plain.map(Math.round).join(', ')} ms`,
    });
    results.push({
      name: 'process start-up to /health, US Core installed (median)',
      value: Math.round(median(withUsCore)),
      unit: 'ms',
      detail: `runs ${withUsCore.map(Math.round).join(', ')} ms`,
    });
  }

  const server = await ctx.startBedside({ BEDSIDE_SEED: 'false', BEDSIDE_UNSAFE_DISABLE_AUTH: 'true' });
  try {
    const fhir = `${server.url}/fhir`;
    const put = await fetch(`${fhir}/ValueSet/bench-1000`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(enumeratedValueSet()),
    });
    if (!put.ok) throw new Error(`could not store the value set: ${put.status} ${await put.text()}`);
    const url = `${fhir}/ValueSet/$expand?url=${encodeURIComponent('http://bench.example/ValueSet/1000')}`;
    const latencies: number[] = [];
    for (let i = 0; i < 520; i++) {
      const started = performance.now();
      const response = await fetch(url);
      const body = (await response.json()) as { expansion?: { total?: number } };
      if (body.expansion?.total !== 1000) throw new Error(`unexpected expansion: ${JSON.stringify(body).slice(0, 200)}`);
      if (i >= 20) latencies.push(performance.now() - started);
    }
    results.push({
      name: 'ValueSet/$expand, 1,000 enumerated codes (p95, one client)',
      value: Number(percentile(latencies, 95).toFixed(2)),
      unit: 'ms',
      detail: `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms over ${latencies.length} requests; target ≤ 10 ms`,
    });
  } finally {
    await server.stop();
  }
  return results;
}
