/**
 * The integrity check (`npm run check`): clean after a real load, and each kind of damage is
 * reported against the resource it hurts.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/server.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const dataDir = tempDir('bedside-integrity-');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function run(script: string, args: string[] = []): { code: number; out: string } {
  const { BASE_URL: _vite, ...env } = process.env;
  try {
    // The tools end by themselves (no process.exit): one that left something running would hang here until the timeout.
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], {
      cwd: ROOT,
      env: { ...env, DATA_DIR: dataDir, BEDSIDE_SEED: 'false', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    }).toString();
    return { code: 0, out };
  } catch (error) {
    const e = error as { status: number; stdout: Buffer };
    return { code: e.status, out: e.stdout.toString() };
  }
}

describe('integrity check', () => {
  it('finds nothing wrong after loading the sample data, and reports each kind of damage', () => {
    expect(run('src/tools/load.ts', ['--quiet', 'fhir-data']).code).toBe(0);
    const clean = run('src/tools/check.ts');
    expect(clean.out).toMatch(/2274 resources, 2274 versions, \d+ index rows .*: 0 problems/);
    expect(clean.code).toBe(0);

    const db = new Database(path.join(dataDir, 'bedside.db'));
    db.prepare("DELETE FROM idx_token WHERE rid = (SELECT rid FROM resources WHERE type = 'Patient' AND id = 'patient-001')").run();
    db.prepare("UPDATE resources SET version = version + 1 WHERE type = 'Condition' AND id = 'patient-001-cond-01'").run();
    db.prepare("UPDATE resources SET deleted = 1 WHERE type = 'Encounter' AND id = 'patient-002-enc-01'").run();
    db.close();

    const damaged = run('src/tools/check.ts');
    expect(damaged.code).toBe(1);
    expect(damaged.out).toContain('Patient/patient-001: index rows differ from the content');
    expect(damaged.out).toContain('Condition/patient-001-cond-01: history is not contiguous');
    expect(damaged.out).toContain('Encounter/patient-002-enc-01: deleted flag (1) disagrees with the history (live)');
    expect(damaged.out).toMatch(/idx_\w+\): \d+ index rows belong to deleted or unknown resources/);
  }, 120_000);
});
