/**
 * Authorization scenarios: the token endpoint (SMART Backend Services tokens per second), and
 * the cost of enforcement on the FHIR hot path (an authorized read against the same read with
 * enforcement switched off, both measured in this run).
 */
import path from 'node:path';
import { backendClient } from '../../test/support/tokens.js';
import { PRACTITIONER, userToken } from '../../test/support/user-tokens.js';
import type { TestServer } from '../../test/support/server.js';
import { ROOT, benchDataDir, loadWithCpu, startProcess, type BenchContext, type ScenarioResult } from '../harness.js';
import { tokenEndpointScenario } from './token-endpoint.js';

export async function tokenEndpoint(ctx: BenchContext): Promise<ScenarioResult[]> {
  const server = await ctx.startBedside({ BEDSIDE_SEED: 'false' });
  try {
    const result = await tokenEndpointScenario({ baseUrl: server.url.replace('127.0.0.1', 'localhost'), concurrency: 20, durationSeconds: ctx.duration, alg: 'ES384' });
    return [{ name: 'token endpoint (client_credentials + private_key_jwt ES384)', value: result.requestsPerSecond, unit: 'tokens/s', detail: `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ${result.errors} errors` }];
  } finally {
    await server.stop();
  }
}

export async function enforcementCost(ctx: BenchContext): Promise<ScenarioResult[]> {
  const dataDir = benchDataDir(`enforcement-${process.pid}`);
  const seeded = await startProcess(path.join(ROOT, 'src/main.ts'), { DATA_DIR: dataDir, BEDSIDE_SEED: 'true', BASE_URL: '' }, '/health');
  const baseUrl = seeded.url.replace('127.0.0.1', 'localhost');
  let system: string;
  let patient: string;
  let observationId: string;
  try {
    system = await (await backendClient(baseUrl, 'system/*.rs')).token();
    const asServer = { baseUrl, issuer: `${baseUrl}/oauth`, fhirBase: `${baseUrl}/fhir`, fhirUrl: `${baseUrl}/fhir` } as unknown as TestServer;
    patient = (await userToken(asServer, { ...PRACTITIONER, scope: 'launch/patient patient/*.rs', patient: 'patient-001' })).access_token;
    const page = (await (await fetch(`${baseUrl}/fhir/Observation?patient=patient-001&_count=1`, { headers: { authorization: `Bearer ${system}` } })).json()) as { entry: Array<{ resource: { id: string } }> };
    observationId = page.entry[0]!.resource.id;
    const runs = [
      { name: 'read Observation, system/*.rs token', token: system, path: `Observation/${observationId}` },
      { name: 'read Observation, patient/*.rs token (compartment check)', token: patient, path: `Observation/${observationId}` },
    ];
    // Both servers start on the same, settled data (the seeding process has checkpointed and exited).
    await seeded.stop();
    const port = seeded.url.split(':').pop()!;
    const guarded = await startProcess(path.join(ROOT, 'src/main.ts'), { DATA_DIR: dataDir, BEDSIDE_SEED: 'false', PORT: port }, '/health');
    const enforced: Array<{ name: string; rps: number; p99: number; cpu: number }> = [];
    try {
      for (const run of runs) {
        const result = await loadWithCpu(ctx, guarded, { url: `${guarded.url}/fhir/${run.path}`, headers: { authorization: `Bearer ${run.token}` } });
        enforced.push({ name: run.name, rps: result.requestsPerSecond, p99: result.p99, cpu: result.cpuMicrosPerRequest });
      }
    } finally {
      await guarded.stop();
    }
    // The same data, the same read, enforcement switched off (test-only switch).
    const open = await startProcess(path.join(ROOT, 'src/main.ts'), { DATA_DIR: dataDir, BEDSIDE_SEED: 'false', BEDSIDE_UNSAFE_DISABLE_AUTH: 'true', PORT: port }, '/health');
    try {
      // The same request, Authorization header included (ignored here), so only enforcement differs.
      const baseline = await loadWithCpu(ctx, open, { url: `${open.url}/fhir/Observation/${observationId}`, headers: { authorization: `Bearer ${system}` } });
      // Throughput ratios are noisy when other work shares the machine; server CPU per request is steadier.
      return [
        { name: 'read Observation, enforcement off (baseline)', value: baseline.requestsPerSecond, unit: 'req/s', ratioToBare: ctx.bare ? baseline.requestsPerSecond / ctx.bare : undefined, detail: `p99 ${baseline.p99} ms, server CPU ${baseline.cpuMicrosPerRequest.toFixed(0)} µs/request` },
        ...enforced.map((e) => ({
          name: e.name,
          value: e.rps,
          unit: 'req/s',
          ratioToBare: ctx.bare ? e.rps / ctx.bare : undefined,
          detail: `${((e.rps / baseline.requestsPerSecond) * 100).toFixed(0)}% of the unenforced throughput, ${((baseline.cpuMicrosPerRequest / e.cpu) * 100).toFixed(0)}% by server CPU (${e.cpu.toFixed(0)} µs/request) (target 85%), p99 ${e.p99} ms`,
        })),
      ];
    } finally {
      await open.stop();
    }
  } finally {
    await seeded.stop();
  }
}
