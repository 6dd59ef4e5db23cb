/**
 * Bedside as a separate process (`npm start`'s entry point), for tests that kill it or run
 * several nodes: durability after kill -9, graceful shutdown, scale-out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface BedsideProcess {
  child: ChildProcess;
  baseUrl: string;
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

export async function spawnBedside(env: Record<string, string>, readyTimeoutMs = 30_000): Promise<BedsideProcess> {
  // Vitest puts Vite's BASE_URL=/ (and MODE, DEV, PROD, SSR) into process.env: not ours.
  const { BASE_URL: _vite, MODE: _mode, DEV: _dev, PROD: _prod, SSR: _ssr, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: { ...inherited, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const baseUrl = env.BASE_URL ?? `http://localhost:${env.PORT}`;
  // Readiness is asked of this process's own port (BASE_URL may name another node).
  const listenUrl = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Bedside exited during start-up:\n${output}`);
    try {
      const res = await fetch(`${listenUrl}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Bedside did not become ready in ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, baseUrl, output: () => output, exited };
}
