/**
 * The container image's layout, without Docker: the TypeScript compiled as the image builds it
 * (`npm run build`'s tsconfig), run with plain node as an unprivileged user (setpriv; CI runs as
 * root) from an /app folder owned by root, with DATA_DIR and /app/data as the Dockerfile lays
 * them out. A folder the server's user cannot write ends start-up with one clear line naming the
 * folder and the user (exit 1, no stack trace); handed over, the server is healthy. The MongoDB
 * layout of docker-compose.yml (export files under /app/data) is checked the same way, on CongoDB.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONGO_URI_VARIABLE } from '../../support/global-setup.js';
import { freePort } from '../../support/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The unprivileged user (the image's `node` is uid 1000; here any user without rights will do). */
const USER = { name: 'nobody', uid: 65534, gid: 65534 };
const canDropPrivileges = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

let layout: string;
let app: string;

beforeAll(async () => {
  if (!canDropPrivileges) return;
  layout = mkdtempSync(path.join(tmpdir(), 'bedside-image-'));
  chmodSync(layout, 0o755);
  // /app as the image has it: the code owned by root, readable by everyone; dist/ compiled here.
  app = path.join(layout, 'app');
  mkdirSync(app);
  cpSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
  for (const name of ['node_modules', 'launch', 'fhir-data', 'docs']) symlinkSync(path.join(ROOT, name), path.join(app, name));
  await promisify(execFile)(
    process.execPath,
    [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(app, 'dist')],
    { cwd: ROOT },
  );
}, 300_000);
afterAll(() => {
  if (layout) rmSync(layout, { recursive: true, force: true });
});

interface Run {
  code: number | string;
  output: string;
  healthy: boolean;
}

/** Starts `node dist/main.js` as the unprivileged user; stops it once /health answers 200, or returns when it exits. */
async function runAsUser(env: Record<string, string>): Promise<Run> {
  const port = await freePort();
  const child = spawn('setpriv', [`--reuid=${USER.uid}`, `--regid=${USER.gid}`, '--clear-groups', '--', process.execPath, 'dist/main.js'], {
    cwd: app,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      BEDSIDE_SEED: 'false',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const deadline = Date.now() + 60_000;
  while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) {
        child.kill('SIGTERM');
        return { code: await exited, output, healthy: true };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  return { code: await exited, output, healthy: false };
}

/** What the server printed besides oidc-provider's own runtime notice. */
const ownLines = (output: string) => output.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('oidc-provider WARNING: Unsupported runtime'));

function expectRefusal(run: Run, line: string): void {
  expect(run.healthy).toBe(false);
  expect(run.code).toBe(1);
  expect(ownLines(run.output)).toEqual([line]);
  expect(run.output).not.toMatch(/^\s+at /m);
}

const refusal = (what: string, dir: string) =>
  `Bedside cannot write to ${what} as user ${USER.name} (uid ${USER.uid}): permission denied. Make it writable for that user (for example: chown -R ${USER.uid} ${dir}) or set ${what.startsWith('EXPORT_DIR') ? 'EXPORT_DIR' : 'DATA_DIR'} to a folder it can write.`;

describe.skipIf(!canDropPrivileges)('the container layout, run as an unprivileged user', () => {
  it('embedded store: a root-owned DATA_DIR ends start-up with one line naming it and the user; handed over, the server is healthy', async () => {
    const dataDir = path.join(layout, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    expectRefusal(await runAsUser({ DATA_DIR: dataDir }), refusal(`DATA_DIR (${dataDir})`, dataDir));
    expect(existsSync(path.join(dataDir, 'bedside.db'))).toBe(false);

    chownSync(dataDir, USER.uid, USER.gid);
    const run = await runAsUser({ DATA_DIR: dataDir });
    expect(run.healthy, run.output).toBe(true);
    expect(run.code).toBe(0);
    expect(statSync(path.join(dataDir, 'bedside.db')).uid).toBe(USER.uid);
    expect(statSync(path.join(dataDir, 'exports')).uid).toBe(USER.uid);
  }, 180_000);

  it('embedded store: a database file in DATA_DIR that the user cannot write is named too', async () => {
    const dataDir = path.join(layout, 'data-with-root-file');
    mkdirSync(dataDir, { mode: 0o755 });
    chownSync(dataDir, USER.uid, USER.gid);
    writeFileSync(path.join(dataDir, 'bedside.db'), '');
    chmodSync(path.join(dataDir, 'bedside.db'), 0o644);
    expectRefusal(await runAsUser({ DATA_DIR: dataDir }), refusal(`${path.join(dataDir, 'bedside.db')} in DATA_DIR`, dataDir));
  }, 120_000);

  const congo = process.env[CONGO_URI_VARIABLE];
  it.skipIf(!congo)(
    'MongoDB (docker-compose): export files go under /app/data, which must belong to the user as well',
    async () => {
      const uri = congo!.replace('/?', `/bedside_image_${randomBytes(4).toString('hex')}?`);
      const appData = path.join(app, 'data');
      mkdirSync(appData, { mode: 0o755 });
      const exportDir = path.join(appData, 'exports');
      expectRefusal(await runAsUser({ MONGODB_URI: uri }), refusal(`EXPORT_DIR (${exportDir})`, exportDir));

      chownSync(appData, USER.uid, USER.gid);
      const run = await runAsUser({ MONGODB_URI: uri });
      expect(run.healthy, run.output).toBe(true);
      expect(statSync(exportDir).uid).toBe(USER.uid);
    },
    180_000,
  );
});

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  it('hands /data and /app/data to the node user before declaring the volume, and runs as node', () => {
    const handOver = dockerfile.indexOf('RUN mkdir -p /data /app/data && chown node:node /data /app/data');
    expect(handOver).toBeGreaterThan(0);
    expect(handOver).toBeLessThan(dockerfile.indexOf('VOLUME ["/data"]'));
    expect(dockerfile).toMatch(/^ENV .*DATA_DIR=\/data/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('compiles the TypeScript at build time with npm run build, and runs plain node on the output', () => {
    expect(dockerfile).toContain('RUN npm run build');
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(dockerfile).not.toMatch(/^CMD .*tsx/m);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
    // A fresh clone starts without a build.
    expect(pkg.scripts.start).toBe('tsx src/main.ts');
  });
});
