/**
 * Subscriptions under write load, on the embedded store with enforcement on (a backend-services
 * token writes and owns the subscriptions): 100 active rest-hook subscriptions, one per patient
 * (`Observation?subject=Patient/bench-N`), each write an Observation of one of the 100 patients,
 * so each write is notified to exactly one subscription. The receiver is a node:http server in
 * a process of its own (bench/subscription-receiver.ts); with a payload, R4 PUTs the resource,
 * whose meta.lastUpdated (stamped by the server as it commits) gives the latency from commit
 * to delivery.
 *
 * Reports:
 * - notification latency p50/p95/p99 at a steady 500 writes/s (one write every 2 ms, harness.ts
 *   `pacedLoad`), sent from 10 connections and from the throughput runs' 50 (and whether every
 *   write was notified); then the same 500 writes/s as autocannon paces a rate, each second's
 *   share sent at once from 50 connections, i.e. bursts near the server's capacity;
 * - write throughput at full load with the 100 subscriptions against the same load without them,
 *   on a store warmed up with tens of thousands of writes first: the median of 3 rounds, each a
 *   run without (subscriptions off), one with every write notified and one with writes spread
 *   over 1,000 patients so that one in ten is; and the server's CPU per write for each.
 */
import type autocannon from 'autocannon';
import path from 'node:path';
import { backendClient } from '../../test/support/tokens.js';
import {
  loadWithCpu,
  pacedLoad,
  type LoadWithCpu,
  percentile,
  ROOT,
  startProcess,
  type BenchContext,
  type PacedResult,
  type ScenarioResult,
} from '../harness.js';

const SUBSCRIPTIONS = 100;
const RATE = 500;
const FHIR_JSON = 'application/fhir+json';

/** The receiver process (bench/subscription-receiver.ts). */
async function startReceiver(): Promise<{
  url: string;
  stats(): Promise<{ received: number; latencies: number[] }>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}> {
  const process = await startProcess(path.join(ROOT, 'bench/subscription-receiver.ts'), {}, '/stats');
  return {
    url: `${process.url}/hook`,
    stats: async () => (await (await fetch(`${process.url}/stats`)).json()) as { received: number; latencies: number[] },
    reset: async () => void (await fetch(`${process.url}/reset`, { method: 'POST' })),
    stop: () => process.stop(),
  };
}

/** The body of the n-th write: an Observation of one of `patients` patients in turn (the first 100 have a subscription each). */
function observationBody(n: number, patients: number): string {
  return JSON.stringify({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/bench-${n % patients}` },
    valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  });
}

const writeHeaders = (token: string) => ({ 'content-type': FHIR_JSON, authorization: `Bearer ${token}`, prefer: 'return=minimal' });

/** The writes for autocannon. */
function writes(fhir: string, token: string, patients = SUBSCRIPTIONS): autocannon.Options {
  let n = 0;
  return {
    url: `${fhir}/Observation`,
    method: 'POST' as const,
    headers: writeHeaders(token),
    requests: [{ setupRequest: (request) => ({ ...request, body: observationBody(n++, patients) }) }],
  };
}

/** The same writes for pacedLoad. */
function pacedWrite(token: string) {
  let n = 0;
  return { path: '/fhir/Observation', method: 'POST' as const, headers: writeHeaders(token), body: () => observationBody(n++, SUBSCRIPTIONS) };
}

async function waitFor(probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - started;
}

export async function subscriptionsUnderLoad(ctx: BenchContext): Promise<ScenarioResult[]> {
  const server = await ctx.startBedside({ BEDSIDE_SEED: 'false', BASE_URL: '', ALLOW_PRIVATE_NETWORK_FETCH: 'true' });
  const receiver = await startReceiver();
  try {
    const baseUrl = server.url.replace('127.0.0.1', 'localhost');
    const fhir = `${baseUrl}/fhir`;
    const token = await (await backendClient(baseUrl, 'system/*.cruds')).token();
    const headers = { 'content-type': FHIR_JSON, authorization: `Bearer ${token}` };
    const load = writes(fhir, token);

    // Warm-up: the store's first tens of thousands of writes are faster than the later ones (an
    // empty database, no WAL checkpoint yet), which would favour whichever run comes first.
    await ctx.load({ ...load, duration: Math.max(10, ctx.duration) });

    const ids: string[] = [];
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const res = await fetch(`${fhir}/Subscription`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          resourceType: 'Subscription',
          status: 'requested',
          reason: 'bench',
          criteria: `Observation?subject=Patient/bench-${i}`,
          channel: { type: 'rest-hook', endpoint: receiver.url, payload: FHIR_JSON },
        }),
      });
      if (res.status !== 201) throw new Error(`subscription: ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const activeCount = async () => ((await (await fetch(`${fhir}/Subscription?status=active&_summary=count`, { headers })).json()) as { total: number }).total;
    /** Turns every subscription off, or on again (`requested`, then the server makes it `active`). */
    const turn = async (status: 'off' | 'requested') => {
      for (const id of ids) {
        const current = (await (await fetch(`${fhir}/Subscription/${id}`, { headers })).json()) as Record<string, unknown>;
        const res = await fetch(`${fhir}/Subscription/${id}`, { method: 'PUT', headers, body: JSON.stringify({ ...current, status }) });
        if (res.status !== 200) throw new Error(`subscription ${status}: ${res.status} ${await res.text()}`);
      }
      await waitFor(async () => (await activeCount()) === (status === 'off' ? 0 : SUBSCRIPTIONS), 30_000);
    };
    await waitFor(async () => (await activeCount()) === SUBSCRIPTIONS, 30_000);

    // Latency at a steady rate: from 10 connections (an interface engine's few), then from as many
    // as the throughput runs use; then in autocannon's bursts.
    const expectNotifications = async (expected: number) => {
      await waitFor(async () => (await receiver.stats()).received >= expected * 0.99, 30_000).catch(() => undefined);
      return receiver.stats();
    };
    const steady = async (connections: number) => {
      await receiver.reset();
      const run = await pacedLoad(server.url, pacedWrite(token), RATE, ctx.duration, connections);
      return { run, ...(await expectNotifications(run.sent)) };
    };
    const few = await steady(10);
    const many = await steady(ctx.connections);
    await receiver.reset();
    const burstRun = await ctx.load({ ...load, overallRate: RATE });
    const burst = { run: burstRun, ...(await expectNotifications(burstRun.requestsPerSecond * ctx.duration)) };

    // Throughput in 3 rounds, each: without (subscriptions off), with every write notified, with
    // one in ten (writes spread over 1,000 patients). Each ratio is the median of the rounds' ratios
    // to their own run without, so both sides share the data's growth and one slow run (a WAL
    // checkpoint, the machine) does not decide it.
    const rounds: Array<{ without: LoadWithCpu; every: LoadWithCpu; tenth: LoadWithCpu; catchUp: number }> = [];
    for (let round = 0; round < 3; round++) {
      await turn('off');
      const without = await loadWithCpu(ctx, server, load);
      await turn('requested');
      await receiver.reset();
      const every = await loadWithCpu(ctx, server, load);
      const written = every.requestsPerSecond * ctx.duration;
      const catchUp = await waitFor(async () => (await receiver.stats()).received >= written * 0.99, 120_000).catch(() => NaN);
      const tenth = await loadWithCpu(ctx, server, writes(fhir, token, 10 * SUBSCRIPTIONS));
      rounds.push({ without, every, tenth, catchUp });
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const throughput = (pick: 'every' | 'tenth') => {
      const ratio = median(rounds.map((r) => r[pick].requestsPerSecond / r.without.requestsPerSecond));
      const cpu = median(rounds.map((r) => r.without.cpuMicrosPerRequest / r[pick].cpuMicrosPerRequest));
      const runs = rounds.map((r) => `${r[pick].requestsPerSecond}/${r.without.requestsPerSecond}`).join(', ');
      const micros = rounds.map((r) => `${r[pick].cpuMicrosPerRequest.toFixed(0)}/${r.without.cpuMicrosPerRequest.toFixed(0)}`).join(', ');
      return {
        value: Number(ratio.toFixed(2)),
        detail: `creates/s with/without per round ${runs}; server CPU µs per write ${micros} (median ratio ${cpu.toFixed(2)})`,
      };
    };
    const catchUps = rounds.map((r) => (Number.isNaN(r.catchUp) ? 'not within 120 s' : `${(r.catchUp / 1000).toFixed(1)} s`)).join(', ');
    const notifications = (r: { received: number; latencies: number[] }) => {
      const p = (q: number) => percentile(r.latencies, q);
      return `p50 ${p(50)} ms, p95 ${p(95)} ms, p99 ${p(99)} ms, max ${r.latencies.reduce((a, b) => Math.max(a, b), 0)} ms; ${r.received} notifications`;
    };
    const describeSteady = (r: { run: PacedResult; received: number; latencies: number[] }) => {
      const p = (q: number) => percentile(r.run.latencies, q).toFixed(1);
      return `${notifications(r)} for ${r.run.sent} writes (non-2xx ${r.run.non2xx}, errors ${r.run.errors}, write latency p50 ${p(50)} ms, p99 ${p(99)} ms)`;
    };
    return [
      {
        name: `notification latency p95, commit → delivery (steady ${RATE} writes/s from 10 connections, ${SUBSCRIPTIONS} subscriptions)`,
        value: percentile(few.latencies, 95),
        unit: 'ms',
        detail: describeSteady(few),
      },
      {
        name: `notification latency p95, the same from ${ctx.connections} connections`,
        value: percentile(many.latencies, 95),
        unit: 'ms',
        detail: describeSteady(many),
      },
      {
        name: `notification latency p95, ${RATE} writes/s in autocannon's bursts (each second's writes at once, ${ctx.connections} connections)`,
        value: percentile(burst.latencies, 95),
        unit: 'ms',
        detail: `${notifications(burst)} for ~${Math.round(burstRun.requestsPerSecond * ctx.duration)} writes (non-2xx ${burstRun.non2xx}, write latency p50 ${burstRun.p50} ms, p99 ${burstRun.p99} ms)`,
      },
      {
        name: `write throughput with ${SUBSCRIPTIONS} subscriptions, 1 write in 10 notified / without (median of 3 rounds)`,
        unit: 'ratio',
        ...throughput('tenth'),
      },
      {
        name: `write throughput with ${SUBSCRIPTIONS} subscriptions, every write notified / without (median of 3 rounds)`,
        unit: 'ratio',
        value: throughput('every').value,
        detail: `${throughput('every').detail}; notifications caught up ${catchUps} after the load`,
      },
    ];
  } finally {
    await receiver.stop();
    await server.stop();
  }
}
