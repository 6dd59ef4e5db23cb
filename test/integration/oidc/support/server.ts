/**
 * A Bedside for the OpenID Connect tests: like the auth tests' server (real sample accounts and
 * clients, the auth fixture's patients) plus staff with identifiers for the fhirUser mapping, on
 * a port chosen beforehand so an upstream identity provider can be told Bedside's callback URL.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBedside } from '../../../../src/bedside.js';
import { loadConfig, testConfig, type Config } from '../../../../src/config.js';
import { createLogger } from '../../../../src/log.js';
import { freePort, type TestServer } from '../../auth/support/server.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../../..');

export { freePort };

/**
 * Starts Bedside on `port` (a free one when absent). `env` is read like the environment (the
 * settings this issue added are JSON there: FEDERATION_PROVIDERS, CLAIM_MAPPINGS ...), so the
 * tests exercise the same parsing an operator's configuration goes through.
 */
/** Both test server shapes (the auth helpers' and test/support's), so every helper takes it. */
export type OidcTestServer = TestServer & { config: Config; fhirUrl: string };

export async function startOidcServer(options: { port?: number; env?: Record<string, string>; config?: Partial<Config> } = {}): Promise<OidcTestServer> {
  const port = options.port ?? (await freePort());
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bedside-oidc-'));
  const seedDir = mkdtempSync(path.join(tmpdir(), 'bedside-oidc-seed-'));
  cpSync(path.join(REPO, 'fhir-data/accounts.json'), path.join(seedDir, 'accounts.json'));
  cpSync(path.join(REPO, 'fhir-data/clients.json'), path.join(seedDir, 'clients.json'));
  cpSync(path.join(REPO, 'test/integration/auth/fixtures/clinical.json'), path.join(seedDir, 'clinical.json'));
  cpSync(path.join(HERE, '../fixtures/staff.json'), path.join(seedDir, 'staff.json'));
  const baseUrl = `http://127.0.0.1:${port}`;
  const fromEnv = loadConfig({ BASE_URL: baseUrl, BEDSIDE_SEED: 'false', LOG_LEVEL: 'silent', ...options.env });
  const config = testConfig({
    port,
    host: '127.0.0.1',
    baseUrl,
    fhirBaseUrl: `${baseUrl}/fhir`,
    storage: { kind: 'embedded', dataDir },
    seed: true,
    seedDir,
    localLogin: fromEnv.localLogin,
    federation: fromEnv.federation,
    claimMappings: fromEnv.claimMappings,
    resourceServers: fromEnv.resourceServers,
    ...options.config,
  });
  const bedside = await startBedside(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'));
  return {
    bedside,
    config,
    baseUrl,
    fhirBase: config.fhirBaseUrl,
    fhirUrl: config.fhirBaseUrl,
    issuer: `${baseUrl}/oauth`,
    dataDir,
    async stop() {
      await bedside.stop(1000);
      rmSync(seedDir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
