/**
 * Authorization scenarios: the token endpoint (SMART Backend Services tokens per second), and
 * the cost of enforcement on the FHIR hot path (an authorized read against the same read with
 * enforcement switched off, both measured in this run).
 */
import path from 'node:path';
import { backendClient } from '../../test/support/tokens.js';
import { PRACTITIONER, userToken } from '../../test/support/user-tokens.js';
import type { TestServer } from '../../test/support/server.js';
import { ROOT, benchDataDir, loadWithCpu, startProcess, type BenchContext, type ScenarioResult, type ServerProcess } from '../harness.js';
import { tokenEndpointScenario } from './token-endpoint.js';

export async function tokenEndpoint(ctx: BenchContext): Promise<ScenarioResult[]> {
  const server = await ctx.startBedside({ BEDSIDE_SEED: 'false' });
  try {
    const result = await tokenEndpointScenario({
      baseUrl: server.url.replace('127.0.0.1', 'localhost'),
      concurrency: 20,
      durationSeconds: ctx.duration,
      alg: 'ES384',
    });
    return [
      {
        name: 'token endpoint (client_credentials + private_key_jwt ES384)',
        value: result.requestsPerSecond,
        unit: 'tokens/s',
        detail: `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ${result.errors} errors`,
      },
    ];
  } finally {
    await server.stop();
  }
}

const ROUNDS = 3;
const BASELINE = 'read Observation [enforcement off]';

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
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
    const page = (await (
      await fetch(`${baseUrl}/fhir/Observation?patient=patient-001&_count=1`, { headers: { authorization: `Bearer ${system}` } })
    ).json()) as { entry: Array<{ resource: { id: string } }> };
    observationId = page.entry[0]!.resource.id;
    const runs = [
      { name: 'read Observation, system/*.rs token', token: system },
      { name: 'read Observation, patient/*.rs token (compartment check)', token: patient },
    ];
    // Both servers run on the same, settled data (the seeding process has checkpointed and
    // exited): the guarded one on the seeding port (the tokens' audience), the unenforced one
    // (test-only switch) beside it. Loads alternate between them for ROUNDS rounds and each
    // figure is the median, so a slow moment of the machine does not land on one side only.
    await seeded.stop();
    const port = seeded.url.split(':').pop()!;
    const guarded = await startProcess(path.join(ROOT, 'src/main.ts'), { DATA_DIR: dataDir, BEDSIDE_SEED: 'false', PORT: port }, '/health');
    const open = await startProcess(
      path.join(ROOT, 'src/main.ts'),
      { DATA_DIR: dataDir, BEDSIDE_SEED: 'false', BEDSIDE_UNSAFE_DISABLE_AUTH: 'true' },
      '/health',
    );
    const duration = Math.max(3, Math.round(ctx.duration / ROUNDS));
    const samples = new Map<string, Array<{ rps: number; p99: number; cpu: number }>>();
    const sample = async (name: string, server: ServerProcess, token: string) => {
      // The same request everywhere, Authorization header included (ignored when unenforced).
      const r = await loadWithCpu({ ...ctx, duration }, server, {
        url: `${server.url}/fhir/Observation/${observationId}`,
        headers: { authorization: `Bearer ${token}` },
        duration,
      });
      samples.set(name, [...(samples.get(name) ?? []), { rps: r.requestsPerSecond, p99: r.p99, cpu: r.cpuMicrosPerRequest }]);
    };
    try {
      // Warm-up (JIT, caches) on both before anything is counted.
      for (const [server, token] of [
        [open, system],
        [guarded, system],
        [guarded, patient],
      ] as const) {
        await ctx.load({ url: `${server.url}/fhir/Observation/${observationId}`, headers: { authorization: `Bearer ${token}` }, duration: 1 });
      }
      for (let round = 0; round < ROUNDS; round++) {
        await sample(BASELINE, open, system);
        for (const run of runs) await sample(run.name, guarded, run.token);
      }
    } finally {
      await Promise.all([guarded.stop(), open.stop()]);
    }
    const median = (name: string, field: 'rps' | 'p99' | 'cpu') => medianOf(samples.get(name)!.map((s) => s[field]));
    const baseRps = median(BASELINE, 'rps');
    const baseCpu = median(BASELINE, 'cpu');
    // Throughput ratios are noisy when other work shares the machine; server CPU per request is steadier.
    return [
      {
        name: `${BASELINE} (baseline)`,
        value: baseRps,
        unit: 'req/s',
        ratioToBare: ctx.bare ? baseRps / ctx.bare : undefined,
        detail: `median of ${ROUNDS} × ${duration} s, p99 ${median(BASELINE, 'p99')} ms, server CPU ${baseCpu.toFixed(0)} µs/request`,
      },
      ...runs.map((run) => {
        const rps = median(run.name, 'rps');
        const cpu = median(run.name, 'cpu');
        const perRound = samples
          .get(run.name)!
          .map((s, i) => `${((s.rps / samples.get(BASELINE)![i]!.rps) * 100).toFixed(0)}%`)
          .join(' ');
        return {
          name: run.name,
          value: rps,
          unit: 'req/s',
          ratioToBare: ctx.bare ? rps / ctx.bare : undefined,
          detail: `${((rps / baseRps) * 100).toFixed(0)}% of the unenforced throughput (rounds: ${perRound}), ${((baseCpu / cpu) * 100).toFixed(0)}% by server CPU (${cpu.toFixed(0)} µs/request) (target 85%), p99 ${median(run.name, 'p99')} ms`,
        };
      }),
    ];
  } finally {
    await seeded.stop();
  }
}
