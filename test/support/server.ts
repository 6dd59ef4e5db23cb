/**
 * Starts a real Bedside for a test file: real HTTP on loopback, a fresh embedded store in a
 * temporary folder (or the store the test asks for), silent logs. A free port is picked first,
 * because BASE_URL (the issuer, the FHIR base in tokens) must name the real port.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startBedside, type RunningBedside } from '../../src/bedside.js';
import { testConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/log.js';

export interface TestServer {
  bedside: RunningBedside;
  config: Config;
  /** BASE_URL, e.g. http://localhost:41234 */
  baseUrl: string;
  /** The FHIR base, e.g. http://localhost:41234/fhir */
  fhirUrl: string;
  /** The same, under the name the auth test helpers use. */
  fhirBase: string;
  /** The authorization server's issuer, `${baseUrl}/oauth`. */
  issuer: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface TestServerOptions extends Partial<Config> {
  /** Reuse a data folder (restart tests); it is then left in place on stop. */
  dataDir?: string;
  /** Seed from a temporary folder holding copies of these files (instead of fhir-data/). */
  seedFiles?: string[];
  /** The host name in BASE_URL. */
  hostName?: 'localhost' | '127.0.0.1';
  /** Where the server logs (default: silent, or BEDSIDE_TEST_LOG's level on stdout). */
  logger?: Logger;
  /** How often running exports checkpoint (config.export.checkpointMs; 0: after every batch). */
  exportCheckpointMs?: number;
}

/** Ports freePort has handed out in this process: the OS may offer a released one again. */
const handedOut = new Set<number>();

/**
 * A free TCP port on loopback (the OS picks it; we release it and reuse the number), never one
 * this process was given before: concurrent tests each get their own, even while a server they
 * start has not bound it yet.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

export function tempDir(prefix = 'bedside-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { dataDir: reuse, seedFiles, hostName, logger, exportCheckpointMs, ...overrides } = options;
  const port = overrides.port ?? (await freePort());
  const dataDir = reuse ?? tempDir();
  let seedDir: string | undefined;
  if (seedFiles) {
    seedDir = tempDir('bedside-seed-');
    for (const file of seedFiles) cpSync(file, path.join(seedDir, path.basename(file)));
  }
  const baseUrl = overrides.baseUrl ?? `http://${hostName ?? 'localhost'}:${port}`;
  const config = testConfig({
    port,
    host: '127.0.0.1',
    baseUrl,
    fhirBaseUrl: `${baseUrl}/fhir`,
    storage: { kind: 'embedded', dataDir },
    seed: seedDir !== undefined,
    ...(seedDir ? { seedDir } : {}),
    ...overrides,
  });
  // Export files always go to this test's own folder, whatever the store.
  if (!overrides.export) config.export = { ...config.export, dir: path.join(dataDir, 'exports') };
  if (exportCheckpointMs !== undefined) config.export = { ...config.export, checkpointMs: exportCheckpointMs };
  const bedside = await startBedside(config, logger ?? createLogger(process.env.BEDSIDE_TEST_LOG ?? process.env.TEST_LOG_LEVEL ?? 'silent'));
  return {
    bedside,
    config,
    baseUrl,
    fhirUrl: config.fhirBaseUrl,
    fhirBase: config.fhirBaseUrl,
    issuer: `${baseUrl}/oauth`,
    dataDir,
    async stop() {
      await bedside.stop(1000);
      if (seedDir) rmSync(seedDir, { recursive: true, force: true });
      if (!reuse) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
