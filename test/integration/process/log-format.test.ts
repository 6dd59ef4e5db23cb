/**
 * LOG_FORMAT: readable lines for a person at a terminal, JSON lines for everything else, either
 * forced by LOG_FORMAT=json or LOG_FORMAT=pretty. Bedside runs as `npm start` runs it, once on a
 * pipe and once on a pseudo-terminal (`script`).
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, tempDir } from '../../support/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts Bedside (on a terminal when asked), waits for "Bedside is ready", stops it; returns what it printed. */
async function startOnce(env: Record<string, string>, terminal: boolean): Promise<string> {
  const dataDir = tempDir('bedside-logs-');
  dirs.push(dataDir);
  const { BASE_URL: _vite, MODE: _mode, DEV: _dev, PROD: _prod, SSR: _ssr, LOG_FORMAT: _format, ...inherited } = process.env;
  const command = [process.execPath, '--import', 'tsx', path.join(ROOT, 'src/main.ts')];
  const child = terminal
    ? spawn('script', ['-qfec', command.map((c) => `'${c}'`).join(' '), '/dev/null'], {
        cwd: ROOT,
        env: { ...inherited, ...env, PORT: String(await freePort()), DATA_DIR: dataDir, BEDSIDE_SEED: 'false', LOG_LEVEL: 'info' },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn(command[0]!, command.slice(1), {
        cwd: ROOT,
        env: { ...inherited, ...env, PORT: String(await freePort()), DATA_DIR: dataDir, BEDSIDE_SEED: 'false', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "Bedside is ready" within 30 s:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Bedside is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', () => reject(new Error(`Bedside exited:\n${output}`)));
  });
  child.kill('SIGTERM');
  await exited;
  return output;
}

/** The log lines, without colours and oidc-provider's own console warnings. */
const logLines = (output: string) =>
  output
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !line.startsWith('oidc-provider'));

const READABLE = /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: Bedside is ready$/m;

describe('LOG_FORMAT', () => {
  it('writes JSON lines when standard output is not a terminal', async () => {
    const lines = logLines(await startOnce({}, false));
    const ready = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.msg === 'Bedside is ready');
    expect(ready).toMatchObject({ level: 30, service: 'bedside', listen: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
  }, 60_000);

  it('writes readable lines with LOG_FORMAT=pretty, even on a pipe', async () => {
    const output = logLines(await startOnce({ LOG_FORMAT: 'pretty' }, false)).join('\n');
    expect(output).toMatch(READABLE);
    expect(output).not.toContain('{"level"');
  }, 60_000);

  const hasScript = existsSync('/usr/bin/script');
  it.skipIf(!hasScript)(
    'writes readable lines on a terminal by default, and JSON there with LOG_FORMAT=json',
    async () => {
      const readable = logLines(await startOnce({}, true)).join('\n');
      expect(readable).toMatch(READABLE);
      expect(readable).not.toContain('{"level"');
      const json = logLines(await startOnce({ LOG_FORMAT: 'json' }, true));
      expect(json.some((line) => line.startsWith('{') && (JSON.parse(line) as { msg?: string }).msg === 'Bedside is ready')).toBe(true);
    },
    90_000,
  );

  it('refuses an unknown format at start-up, with the other settings checked', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, LOG_FORMAT: 'xml', PORT: 'x' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr!.on('data', (d: Buffer) => (output += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(output).toContain('LOG_FORMAT must be one of auto, json, pretty (got "xml")');
    expect(output).toContain('PORT must be an integer');
  }, 30_000);
});
