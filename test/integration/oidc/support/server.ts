/**
 * A Bedside for the OpenID Connect tests: like the auth tests' server (real sample accounts and
 * clients, the auth fixture's patients) plus staff with identifiers for the fhirUser mapping, on
 * a port chosen beforehand so an upstream identity provider can be told Bedside's callback URL.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../../../src/config.js';
import { freePort, startTestServer, type TestServer } from '../../../support/server.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../../..');

export { freePort };

/** The test server (with `config` and `fhirUrl`), under the name the OIDC helpers use. */
export type OidcTestServer = TestServer;

/**
 * Starts Bedside on `port` (a free one when absent). `env` is read like the environment (the
 * settings this issue added are JSON there: FEDERATION_PROVIDERS, CLAIM_MAPPINGS ...), so the
 * tests exercise the same parsing an operator's configuration goes through.
 */
export async function startOidcServer(options: { port?: number; env?: Record<string, string>; config?: Partial<Config> } = {}): Promise<OidcTestServer> {
  const port = options.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const fromEnv = loadConfig({ BASE_URL: baseUrl, BEDSIDE_SEED: 'false', LOG_LEVEL: 'silent', ...options.env });
  return startTestServer({
    port,
    hostName: '127.0.0.1',
    seedFiles: [
      path.join(REPO, 'fhir-data/accounts.json'),
      path.join(REPO, 'fhir-data/clients.json'),
      path.join(REPO, 'test/integration/auth/fixtures/clinical.json'),
      path.join(HERE, '../fixtures/staff.json'),
    ],
    localLogin: fromEnv.localLogin,
    federation: fromEnv.federation,
    claimMappings: fromEnv.claimMappings,
    resourceServers: fromEnv.resourceServers,
    allowPrivateNetworkFetch: fromEnv.allowPrivateNetworkFetch,
    ...options.config,
  });
}
