/** The token-endpoint benchmark scenario runs end to end (briefly) against a real server. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tokenEndpointScenario } from '../../../bench/scenarios/token-endpoint.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

it('measures client_credentials + private_key_jwt tokens per second without errors', async () => {
  const result = await tokenEndpointScenario({ baseUrl: server.baseUrl, concurrency: 4, durationSeconds: 1, preparedAssertions: 50 });
  expect(result.errors).toBe(0);
  expect(result.requests).toBeGreaterThan(0);
  expect(result.requestsPerSecond).toBeGreaterThan(0);
  expect(result.p99).toBeGreaterThanOrEqual(result.p50);
});
