/**
 * A Bedside started in-process on loopback for the authorization tests: a free port picked
 * first (the issuer URL must name the real port), a temporary embedded store, and a seed folder
 * with the real sample accounts and clients (fhir-data/) plus a few FHIR resources.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBedside, type RunningBedside } from '../../../../src/bedside.js';
import { testConfig, type Config } from '../../../../src/config.js';
import { createLogger } from '../../../../src/log.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../../..');

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  bedside: RunningBedside;
  baseUrl: string;
  fhirBase: string;
  issuer: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts Bedside; `dataDir` reuses a store (restart tests). */
export async function startTestServer(overrides: Partial<Config> & { dataDir?: string } = {}): Promise<TestServer> {
  const { dataDir: reuse, ...configOverrides } = overrides;
  const dataDir = reuse ?? mkdtempSync(path.join(tmpdir(), 'bedside-auth-'));
  const seedDir = mkdtempSync(path.join(tmpdir(), 'bedside-seed-'));
  cpSync(path.join(REPO, 'fhir-data/accounts.json'), path.join(seedDir, 'accounts.json'));
  cpSync(path.join(REPO, 'fhir-data/clients.json'), path.join(seedDir, 'clients.json'));
  cpSync(path.join(HERE, '../fixtures/clinical.json'), path.join(seedDir, 'clinical.json'));
  const port = await freePort();
  const baseUrl = configOverrides.baseUrl ?? `http://127.0.0.1:${port}`;
  const config = testConfig({
    port,
    host: '127.0.0.1',
    baseUrl,
    fhirBaseUrl: `${baseUrl}/fhir`,
    storage: { kind: 'embedded', dataDir },
    seed: true,
    seedDir,
    ...configOverrides,
  });
  const bedside = await startBedside(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'));
  return {
    bedside,
    baseUrl,
    fhirBase: config.fhirBaseUrl,
    issuer: `${baseUrl}/oauth`,
    dataDir,
    async stop() {
      await bedside.stop(1000);
      rmSync(seedDir, { recursive: true, force: true });
      if (!reuse) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
