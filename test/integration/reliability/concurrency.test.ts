/**
 * Concurrency at the FHIR API: optimistic locking under contention (one winner per version,
 * 412 for the rest, a contiguous history), and transactions that no reader sees half-done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

let server: TestServer;
let headers: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  headers = { authorization: `Bearer ${await (await backendClient(server.baseUrl)).token()}`, 'content-type': 'application/fhir+json' };
});
afterAll(async () => server?.stop());

describe('concurrent updates with If-Match', () => {
  it('50 concurrent updates of one version: exactly one wins, 49 get 412, history stays contiguous', async () => {
    const url = `${server.fhirUrl}/Patient/contended`;
    await fetch(url, { method: 'PUT', headers, body: JSON.stringify({ resourceType: 'Patient', id: 'contended' }) });
    const outcomes: number[] = [];
    // Round after round, 50 writers race for the current version.
    for (let round = 1; round <= 3; round++) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(url, {
            method: 'PUT',
            headers: { ...headers, 'if-match': `W/"${round}"` },
            body: JSON.stringify({ resourceType: 'Patient', id: 'contended', name: [{ family: `writer-${round}-${i}` }] }),
          }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 412)).toHaveLength(49);
      outcomes.push(...statuses);
    }
    const history = (await (await fetch(`${url}/_history?_count=100`, { headers })).json()) as {
      total: number;
      entry: Array<{ resource: { meta: { versionId: string } } }>;
    };
    expect(history.total).toBe(4);
    expect(history.entry.map((e) => e.resource.meta.versionId)).toEqual(['4', '3', '2', '1']);
    console.log(
      `If-Match contention: ${outcomes.filter((s) => s === 200).length} winners, ${outcomes.filter((s) => s === 412).length} × 412 over 3 rounds of 50`,
    );
  });

  it('concurrent updates without If-Match all succeed with distinct, contiguous versions', async () => {
    const url = `${server.fhirUrl}/Patient/last-writer`;
    await fetch(url, { method: 'PUT', headers, body: JSON.stringify({ resourceType: 'Patient', id: 'last-writer' }) });
    const versions = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(url, { method: 'PUT', headers, body: JSON.stringify({ resourceType: 'Patient', id: 'last-writer', name: [{ family: `w${i}` }] }) }).then(
          async (r) => ((await r.json()) as { meta: { versionId: string } }).meta.versionId,
        ),
      ),
    );
    expect(versions.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 2));
  });
});

describe('transaction isolation', () => {
  it('readers see all of a transaction or none of it', async () => {
    const size = 400;
    const tag = `iso-${Date.now()}`;
    const entries = Array.from({ length: size }, (_, i) => ({
      resource: { resourceType: 'Observation', status: 'final', code: { text: 'iso' }, meta: { tag: [{ system: 'urn:test', code: tag }] }, valueInteger: i },
      request: { method: 'POST', url: 'Observation' },
    }));
    const seen = new Set<number>();
    let done = false;
    const reader = (async () => {
      while (!done) {
        const body = (await (await fetch(`${server.fhirUrl}/Observation?_tag=urn:test|${tag}&_summary=count`, { headers })).json()) as { total: number };
        seen.add(body.total);
      }
    })();
    const writes = await Promise.all(
      [0, 1, 2].map(() =>
        fetch(server.fhirUrl, { method: 'POST', headers, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }) }).then(
          async (r) => {
            await r.arrayBuffer();
            return r.status;
          },
        ),
      ),
    );
    done = true;
    await reader;
    expect(writes).toEqual([200, 200, 200]);
    // Only whole transactions were ever visible: 0, 400, 800 or 1200 resources.
    for (const count of seen) expect(count % size, `saw ${count}`).toBe(0);
    const final = (await (await fetch(`${server.fhirUrl}/Observation?_tag=urn:test|${tag}&_summary=count`, { headers })).json()) as { total: number };
    expect(final.total).toBe(3 * size);
  });

  it('a failing transaction leaves nothing behind even while others commit', async () => {
    const tag = `rollback-${Date.now()}`;
    const good = (n: number) => ({
      resource: { resourceType: 'Observation', status: 'final', code: { text: 'ok' }, meta: { tag: [{ system: 'urn:test', code: tag }] }, valueInteger: n },
      request: { method: 'POST', url: 'Observation' },
    });
    const bad = { resource: { resourceType: 'Observation', status: 'final' }, request: { method: 'POST', url: 'Observation' } };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fetch(server.fhirUrl, {
          method: 'POST',
          headers,
          body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: i % 2 ? [good(i), bad] : [good(i)] }),
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(5);
    expect(results.filter((s) => s === 400)).toHaveLength(5);
    const count = (await (await fetch(`${server.fhirUrl}/Observation?_tag=urn:test|${tag}&_summary=count`, { headers })).json()) as { total: number };
    expect(count.total).toBe(5);
  });
});
