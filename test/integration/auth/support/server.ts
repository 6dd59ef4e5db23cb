/**
 * A Bedside for the authorization tests: the real sample accounts and clients (fhir-data/)
 * plus a few FHIR resources (fixtures/clinical.json), BASE_URL on 127.0.0.1.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer as start, freePort, type TestServer, type TestServerOptions } from '../../../support/server.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../../..');

export { freePort, type TestServer };

/** Starts Bedside; `dataDir` reuses a store (restart tests). */
export function startTestServer(overrides: TestServerOptions = {}): Promise<TestServer> {
  return start({
    hostName: '127.0.0.1',
    seedFiles: [path.join(REPO, 'fhir-data/accounts.json'), path.join(REPO, 'fhir-data/clients.json'), path.join(HERE, '../fixtures/clinical.json')],
    ...overrides,
  });
}
