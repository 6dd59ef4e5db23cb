/**
 * Graceful shutdown (docs/contract.md): on SIGTERM Bedside stops accepting connections, finishes
 * the requests in flight, closes the store and exits 0; what it acknowledged is there after a
 * restart. Also: /health answers within 10 s of start.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnBedside } from '../../support/process.js';
import { freePort, tempDir } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

const dataDir = tempDir('bedside-shutdown-');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('graceful shutdown', () => {
  it('finishes in-flight requests on SIGTERM, then exits 0', async () => {
    const port = await freePort();
    const env = { PORT: String(port), DATA_DIR: dataDir, BEDSIDE_SEED: 'true' };
    const started = Date.now();
    const node = await spawnBedside(env);
    const startupMs = Date.now() - started;
    console.log(`start to /health (seeding the sample data): ${startupMs} ms`);
    expect(startupMs).toBeLessThan(10_000);
    const token = await (await backendClient(node.baseUrl)).token();
    // A large transaction is in flight when the signal arrives.
    const entries = Array.from({ length: 2000 }, (_, i) => ({
      resource: {
        resourceType: 'Observation',
        id: `inflight-${i}`,
        status: 'final',
        code: { text: 'in flight' },
        subject: { reference: 'Patient/patient-001' },
      },
      request: { method: 'PUT', url: `Observation/inflight-${i}` },
    }));
    const inFlight = fetch(`${node.baseUrl}/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }),
    });
    await new Promise((r) => setTimeout(r, 50));
    node.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await node.exited).toBe(0);
    // New connections are refused once it is gone.
    await expect(fetch(`${node.baseUrl}/health`)).rejects.toThrow();

    const again = await spawnBedside({ ...env, BEDSIDE_SEED: 'false' });
    try {
      const count = await fetch(`${again.baseUrl}/fhir/Observation?code:text=in%20flight&_summary=count`, {
        headers: { authorization: `Bearer ${await (await backendClient(again.baseUrl)).token()}` },
      });
      expect(((await count.json()) as { total: number }).total).toBe(2000);
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    }
  }, 120_000);
});
