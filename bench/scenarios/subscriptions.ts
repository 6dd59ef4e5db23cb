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
 * - notification latency p50/p95/p99 at a fixed 500 writes/s, sent from 10 connections and from
 *   the throughput runs' 50 (and whether every write was notified);
 * - write throughput at full load with the 100 subscriptions, against the same load without
 *   them (the mean of a run before they are active and one after they are turned off), and the
 *   server's CPU per write for both: with every write notified, and with writes spread over
 *   1,000 patients so that one in ten is.
 */
import type autocannon from 'autocannon';
import path from 'node:path';
import { backendClient } from '../../test/support/tokens.js';
import { loadWithCpu, percentile, ROOT, startProcess, type BenchContext, type ScenarioResult } from '../harness.js';

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

/** Observations of `patients` patients in turn (the first 100 have a subscription each). */
function writes(fhir: string, token: string, patients = SUBSCRIPTIONS): autocannon.Options {
  let n = 0;
  return {
    url: `${fhir}/Observation`,
    method: 'POST' as const,
    headers: { 'content-type': FHIR_JSON, authorization: `Bearer ${token}`, prefer: 'return=minimal' },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
            subject: { reference: `Patient/bench-${n++ % patients}` },
            valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
          }),
        }),
      },
    ],
  };
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

    // Warm-up, then throughput without subscriptions.
    await ctx.load({ ...load, duration: 2 });
    const without1 = await loadWithCpu(ctx, server, load);

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
    await waitFor(async () => {
      const page = (await (await fetch(`${fhir}/Subscription?status=active&_summary=count`, { headers })).json()) as { total: number };
      return page.total === SUBSCRIPTIONS;
    }, 30_000);

    // Latency at a fixed rate: from 10 connections (an interface engine's few), then from as many
    // as the throughput runs use (their queueing adds to every request's latency too).
    const atRate = async (connections: number) => {
      await receiver.reset();
      const run = await ctx.load({ ...load, connections, overallRate: RATE });
      const expected = run.requestsPerSecond * ctx.duration;
      await waitFor(async () => (await receiver.stats()).received >= expected * 0.99, 30_000).catch(() => undefined);
      const { received, latencies } = await receiver.stats();
      return { run, expected, received, latencies };
    };
    const few = await atRate(10);
    const many = await atRate(ctx.connections);

    // Throughput with the subscriptions, then the time the notifications take to catch up.
    await receiver.reset();
    const withSubs = await loadWithCpu(ctx, server, load);
    const writtenWith = withSubs.requestsPerSecond * ctx.duration;
    const catchUp = await waitFor(async () => (await receiver.stats()).received >= writtenWith * 0.99, 120_000).catch(() => NaN);
    // The same with writes spread over 1,000 patients: one in ten is notified.
    const tenth = await loadWithCpu(ctx, server, writes(fhir, token, 10 * SUBSCRIPTIONS));

    // Throughput without them again (turned off), so both sides of the ratio share the data's growth.
    for (const id of ids) {
      const current = (await (await fetch(`${fhir}/Subscription/${id}`, { headers })).json()) as Record<string, unknown>;
      await fetch(`${fhir}/Subscription/${id}`, { method: 'PUT', headers, body: JSON.stringify({ ...current, status: 'off' }) });
    }
    const without2 = await loadWithCpu(ctx, server, load);
    const without = (without1.requestsPerSecond + without2.requestsPerSecond) / 2;
    const cpuWithout = (without1.cpuMicrosPerRequest + without2.cpuMicrosPerRequest) / 2;
    const describe = (r: Awaited<ReturnType<typeof atRate>>) => {
      const p = (q: number) => percentile(r.latencies, q);
      return (
        `p50 ${p(50)} ms, p95 ${p(95)} ms, p99 ${p(99)} ms, max ${r.latencies.reduce((a, b) => Math.max(a, b), 0)} ms; ${r.received} notifications for ~${Math.round(r.expected)} writes ` +
        `(${r.run.requestsPerSecond} writes/s achieved, non-2xx ${r.run.non2xx}, write latency p50 ${r.run.p50} ms, p99 ${r.run.p99} ms)`
      );
    };
    return [
      {
        name: `notification latency p95, commit → delivery (${RATE} writes/s from 10 connections, ${SUBSCRIPTIONS} subscriptions)`,
        value: percentile(few.latencies, 95),
        unit: 'ms',
        detail: describe(few),
      },
      {
        name: `notification latency p95, the same from ${ctx.connections} connections`,
        value: percentile(many.latencies, 95),
        unit: 'ms',
        detail: describe(many),
      },
      {
        name: `write throughput with ${SUBSCRIPTIONS} subscriptions, 1 write in 10 notified / without`,
        value: Number((tenth.requestsPerSecond / without).toFixed(2)),
        unit: 'ratio',
        detail: `${tenth.requestsPerSecond} vs ${Math.round(without)} creates/s; server CPU ${tenth.cpuMicrosPerRequest.toFixed(0)} vs ${cpuWithout.toFixed(0)} µs per write (${(cpuWithout / tenth.cpuMicrosPerRequest).toFixed(2)})`,
      },
      {
        name: `write throughput with ${SUBSCRIPTIONS} subscriptions, every write notified / without`,
        value: Number((withSubs.requestsPerSecond / without).toFixed(2)),
        unit: 'ratio',
        detail: `${withSubs.requestsPerSecond} vs ${Math.round(without)} creates/s (${without1.requestsPerSecond} before, ${without2.requestsPerSecond} after); server CPU ${withSubs.cpuMicrosPerRequest.toFixed(0)} vs ${cpuWithout.toFixed(0)} µs per write (${(cpuWithout / withSubs.cpuMicrosPerRequest).toFixed(2)}); notifications caught up ${Number.isNaN(catchUp) ? 'not within 120 s' : `${(catchUp / 1000).toFixed(1)} s`} after the load`,
      },
    ];
  } finally {
    await receiver.stop();
    await server.stop();
  }
}
