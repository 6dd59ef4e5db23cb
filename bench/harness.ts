/**
 * Benchmark plumbing: child-process servers (never in the load generator's process), autocannon
 * runs, and result tables. Scenarios live in bench/scenarios/ and are listed in bench/run.ts.
 */
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_DIR = path.join(ROOT, '.bench');

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export interface ScenarioResult {
  name: string;
  /** Main figure (requests/s, resources/s or ms) and its unit. */
  value: number;
  unit: string;
  /** Ratio to the bare node:http server measured in the same run, where meaningful. */
  ratioToBare?: number;
  detail?: string;
}

export interface BenchContext {
  duration: number;
  connections: number;
  /** Requests/s of the bare server in this run (set by the first scenario). */
  bare?: number;
  /** Starts a Bedside process on a fresh data folder (or the given one). */
  startBedside(env?: Record<string, string>): Promise<ServerProcess>;
  /** Starts the bare node:http baseline server. */
  startBare(): Promise<ServerProcess>;
  load(options: autocannon.Options): Promise<LoadResult>;
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Spawns `node --import tsx <script>` and waits until `url/health` (or `ready`) answers. */
export async function startProcess(script: string, env: Record<string, string>, readyPath = '/health'): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const { BASE_URL: _vite, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...inherited, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited during start-up`);
    try {
      const res = await fetch(url + readyPath);
      if (res.ok || readyPath === '/') break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${script} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function runAutocannon(options: autocannon.Options): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => {
      if (error) return reject(error);
      resolve({
        requestsPerSecond: Math.round(result.requests.average),
        p50: result.latency.p50,
        p99: result.latency.p99,
        errors: result.errors + result.timeouts,
        non2xx: result.non2xx,
      });
    });
  });
}

export interface PacedRequest {
  path: string;
  method: 'GET' | 'POST' | 'PUT';
  headers: Record<string, string>;
  body?: () => string;
}

export interface PacedResult {
  sent: number;
  non2xx: number;
  errors: number;
  /** Latency of each request from the moment it was due (so a stalled server's queue counts), ms. */
  latencies: number[];
}

/**
 * An open-loop load at a steady rate: request i is due at start + i/rate and is sent then, from a
 * pool of `connections` keep-alive connections, whatever the answers to earlier ones. autocannon's
 * own rate limit (`overallRate`) is not steady: each connection sends its whole share of a second
 * back to back when the second starts, then waits, so "500 requests/s" arrives as bursts near the
 * server's capacity.
 */
export async function pacedLoad(url: string, request: PacedRequest, rate: number, seconds: number, connections: number): Promise<PacedResult> {
  const pool = new Pool(url, { connections, pipelining: 1 });
  const result: PacedResult = { sent: 0, non2xx: 0, errors: 0, latencies: [] };
  const total = Math.round(rate * seconds);
  const answers: Array<Promise<void>> = [];
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (result.sent < total && start + (result.sent * 1000) / rate <= now) {
        const due = start + (result.sent * 1000) / rate;
        result.sent++;
        answers.push(
          pool
            .request({ path: request.path, method: request.method, headers: request.headers, ...(request.body ? { body: request.body() } : {}) })
            .then(async (response) => {
              await response.body.dump();
              if (response.statusCode < 200 || response.statusCode >= 300) result.non2xx++;
              result.latencies.push(performance.now() - due);
            })
            .catch(() => void result.errors++),
        );
      }
      if (result.sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(answers);
  await pool.close();
  return result;
}

export function benchDataDir(name: string): string {
  const dir = path.join(BENCH_DIR, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Percentile of a list of numbers (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the command name; in clock ticks (100/s).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Runs a load and reports the server's CPU per request next to the throughput. */
export type LoadWithCpu = LoadResult & { cpuMicrosPerRequest: number };

export async function loadWithCpu(ctx: BenchContext, server: ServerProcess, options: autocannon.Options): Promise<LoadWithCpu> {
  const before = processCpuMs(server.child.pid!);
  const result = await ctx.load(options);
  const after = processCpuMs(server.child.pid!);
  const requests = result.requestsPerSecond * ctx.duration;
  return { ...result, cpuMicrosPerRequest: requests ? ((after - before) * 1000) / requests : NaN };
}
