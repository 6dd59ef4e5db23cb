/**
 * The soak: Bedside in its own process under a realistic mix (reads, searches, writes, token
 * requests) at 80% of its measured capacity, for a bounded time, on loopback only. Reports 5xx
 * count, throughput, p99 per window (it must stay stable) and the server's memory at start and
 * end (growth must stay under 10%).
 *
 * `npm run soak` runs 5 minutes; the test suite runs it for 30 seconds
 * (test/integration/reliability/soak.test.ts).
 */
import autocannon from 'autocannon';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { spawnBedside } from '../test/support/process.js';
import { freePort, tempDir } from '../test/support/server.js';

export interface SoakOptions {
  seconds: number;
  windows?: number;
  connections?: number;
  /** Share of the measured capacity to run at. */
  load?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  capacity: number;
  targetRate: number;
  requests: number;
  throughput: number;
  errors5xx: number;
  otherErrors: number;
  p99ByWindow: number[];
  rssStartMb: number;
  rssEndMb: number;
  memoryGrowth: number;
  /** Which windows (0-based) the start and end memory figures come from: never overlapping. */
  memoryWindows: { start: number[]; end: number[] };
}

/**
 * The server's anonymous memory (heap, buffers, SQLite's page cache): what a leak would grow.
 * File-backed pages (SQLite's memory map of the database file, which grows with the data) are
 * left out: the kernel reclaims them at will.
 */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

export async function soak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const dataDir = tempDir('bedside-soak-');
  const port = await freePort();
  // A small write cache, so its filling up (bounded, by design) does not hide a real growth.
  const server = await spawnBedside({ PORT: String(port), DATA_DIR: dataDir, BEDSIDE_SEED: 'true', SQLITE_CACHE_MB: '32' });
  try {
    const base = server.baseUrl;
    // A backend client: its key signs a fresh assertion for every token request of the mix.
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const kid = 'soak';
    const registration = (await (
      await fetch(`${base}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'ES384',
          grant_types: ['client_credentials'],
          response_types: [],
          jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384' }] },
          scope: 'system/*.cruds',
        }),
      })
    ).json()) as { client_id: string };
    const assertion = () => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: registration.client_id,
        sub: registration.client_id,
        aud: `${base}/oauth/token`,
        jti: randomBytes(12).toString('hex'),
        iat: now,
        exp: now + 240,
      })
        .setProtectedHeader({ alg: 'ES384', kid })
        .sign(privateKey);
    };
    const tokenBody = async () =>
      new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'system/*.cruds',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(),
      }).toString();
    const token = (
      (await (
        await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: await tokenBody() })
      ).json()) as { access_token: string }
    ).access_token;
    // Token requests need a fresh assertion each: sign a pool ahead, reuse none.
    const assertions: string[] = [];
    const refill = async (n: number) => {
      for (let i = 0; i < n; i++) assertions.push(await tokenBody());
    };
    await refill(200);
    const auth = { authorization: `Bearer ${token}` };
    const observation = JSON.stringify({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: 'Patient/patient-001' },
      valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    // The mix, per 20 requests: 10 reads, 5 searches, 3 writes, 1 history, 1 token request.
    const mix: autocannon.Request[] = [
      ...[
        'Patient/patient-001',
        'Patient/patient-002',
        'Practitioner/practitioner-001',
        'Patient/patient-003',
        'Organization/bedside-general',
        'Patient/patient-004',
        'Patient/patient-005',
        'Group/all-patients',
        'Patient/patient-006',
        'Patient/patient-007',
      ].map((path) => ({ method: 'GET' as const, path: `/fhir/${path}`, headers: auth })),
      ...[
        'Observation?patient=patient-001&code=http://loinc.org|8867-4&_count=20',
        'Observation?patient=patient-002&date=ge2020&_sort=-date&_count=20',
        'Patient?name=sh',
        'Condition?patient=patient-003',
        'Encounter?patient=patient-004&_count=10',
      ].map((path) => ({ method: 'GET' as const, path: `/fhir/${path}`, headers: auth })),
      ...[1, 2, 3].map(() => ({
        method: 'POST' as const,
        path: '/fhir/Observation',
        headers: { ...auth, 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
        body: observation,
      })),
      { method: 'GET' as const, path: '/fhir/Patient/patient-001/_history', headers: auth },
      {
        method: 'POST' as const,
        path: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: (request: autocannon.Request) => {
          const body = assertions.shift();
          if (assertions.length < 100) void refill(100);
          return { ...request, body: body ?? '' };
        },
      },
    ];
    const connections = options.connections ?? 20;
    log('measuring capacity (5 s at full speed) ...');
    const burst = await run({ url: base, connections, duration: 5, requests: mix });
    const capacity = burst.requests.average;
    const targetRate = Math.max(1, Math.floor(capacity * (options.load ?? 0.8)));
    log(`capacity ${capacity.toFixed(0)} req/s; soaking at ${targetRate} req/s for ${options.seconds} s`);
    await refill(Math.min(20_000, Math.ceil((targetRate / 20) * options.seconds * 1.2)));
    const windows = options.windows ?? Math.max(4, Math.round(options.seconds / 15));
    if (windows < 2) throw new Error('a soak needs at least two windows to compare memory at its start and end');
    const windowSeconds = options.seconds / windows;
    const p99ByWindow: number[] = [];
    let requests = 0;
    let errors5xx = 0;
    let otherErrors = 0;
    let throughputSum = 0;
    // Memory is sampled every second; each window's floor (its lowest sample, after the garbage
    // collector ran) is compared, since single samples land anywhere on the GC sawtooth.
    const floors: number[] = [];
    for (let w = 0; w < windows; w++) {
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(rssMb(server.child.pid!)), 1000);
      const result = await run({ url: base, connections, duration: windowSeconds, overallRate: targetRate, requests: mix });
      clearInterval(sampler);
      floors.push(samples.length ? Math.min(...samples) : rssMb(server.child.pid!));
      p99ByWindow.push(result.latency.p99);
      requests += result.requests.total;
      throughputSum += result.requests.average;
      errors5xx += result['5xx'];
      otherErrors += result.errors + result.timeouts;
      log(
        `window ${w + 1}/${windows}: ${result.requests.average.toFixed(0)} req/s, p99 ${result.latency.p99} ms, 5xx ${result['5xx']}, anonymous memory floor ${floors[w]!.toFixed(0)} MB`,
      );
    }
    // Start and end: the median floor of the first and of the last windows (up to three each, and
    // never the same window on both sides, or the comparison could not fail), so one window's
    // heap expansion (V8 grows the heap in steps) is not taken for a trend.
    const side = memorySide(windows);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const rssStartMb = median(floors.slice(0, side));
    const rssEndMb = median(floors.slice(windows - side));
    return {
      capacity: Math.round(capacity),
      targetRate,
      requests,
      throughput: Math.round(throughputSum / windows),
      errors5xx,
      otherErrors,
      p99ByWindow,
      rssStartMb: Math.round(rssStartMb),
      rssEndMb: Math.round(rssEndMb),
      memoryGrowth: (rssEndMb - rssStartMb) / rssStartMb,
      memoryWindows: { start: range(0, side), end: range(windows - side, windows) },
    };
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.argv[2] ?? process.env.SOAK_SECONDS ?? 300);
  soak({ seconds, log: (line) => process.stderr.write(`${line}\n`) }).then(
    (report) => {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      process.exit(report.errors5xx === 0 && report.memoryGrowth < 0.1 ? 0 : 1);
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
}

/** How many windows at each end the memory figures take: up to three, at most half of them. */
export function memorySide(windows: number): number {
  return Math.max(1, Math.min(3, Math.floor(windows / 2)));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
