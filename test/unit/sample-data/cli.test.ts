/** `npm run generate`: argument handling and the summary it prints. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function generate(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/tools/generate.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('generate CLI', () => {
  it('writes the requested set and prints counts, files, time and rate', () => {
    const out = tempDir('cli');
    const run = generate('--patients', '4', '--seed', 'cli', '--format', 'ndjson', '--today', '2025-06-30', '--out', out);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Generated 4 patients (seed "cli", today 2025-06-30) as ndjson into ${out}`);
    expect(run.stdout).toMatch(/^ {2}Patient +4$/m);
    expect(run.stdout).toMatch(/^ {2}total +[\d,]+ resources$/m);
    expect(run.stdout).toMatch(/files, [\d.]+ MB, [\d.]+ s, [\d,]+ resources\/s/);
    expect(readdirSync(out)).toContain('Patient.ndjson');
  });

  it.each([
    [['--format', 'xml'], /--format must be bundles or ndjson/],
    [['--patients', 'ten'], /--patients must be a whole number/],
    [['--patients', '0'], /patients must be an integer from 1/],
    [['--today', '2026-13-01'], /Not a calendar date/],
    [['--colour'], /Unknown option/],
  ])('rejects %j with a usage message and exit code 2', (args, message) => {
    const run = generate(...args, '--out', tempDir('cli-bad'));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('Usage: npm run generate');
  });

  it('prints help', () => {
    const run = generate('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--format F');
  });
});
