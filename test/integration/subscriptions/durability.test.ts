/**
 * Subscription delivery across process deaths and nodes, with Bedside as separate processes and
 * the receiver in the test process:
 * - `kill -9` during a burst of writes, then a restart on the same data: every write the server
 *   acknowledged is notified (at least once);
 * - two nodes on one store: each notification is delivered once, and when the node delivering
 *   stops, the other takes over.
 * On the embedded store and on MongoDB (CongoDB in CI). The four cases share nothing (each has
 * its own processes, ports, data and receiver) and mostly wait (on process start-up, the dead
 * node's lease), so they run concurrently.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { CONGO_URI_VARIABLE } from '../../support/global-setup.js';
import { spawnBedside, type BedsideProcess } from '../../support/process.js';
import { freePort, tempDir } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { fhirClient, observation, Receiver, statusOf, subscribe, type ReceivedRequest } from './support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = tempDir('bedside-subs-');
  dirs.push(dir);
  return dir;
}

const mongoUri = process.env.MONGODB_URI ?? process.env[CONGO_URI_VARIABLE];
let databases = 0;
/** [name, the store's environment (a fresh database each call), how long to write before the kill] */
const stores: Array<[string, () => Record<string, string>, number]> = [
  ['the embedded store', () => ({ DATA_DIR: dataDir() }), 1500],
  ...(mongoUri
    ? [
        ['MongoDB', () => ({ MONGODB_URI: mongoUri.replace(/\/(\?|$)/, `/bedside_subs_${Date.now()}_${++databases}$1`), DATA_DIR: dataDir() }), 3000] as [
          string,
          () => Record<string, string>,
          number,
        ],
      ]
    : []),
];

/** `resourceType/id/versionId` of each notification (the R4 payload: the resource PUT to [endpoint]/[type]/[id]). */
const notified = (requests: ReceivedRequest[]) =>
  requests.map((r) => {
    const body = JSON.parse(r.body) as { resourceType: string; id: string; meta: { versionId: string } };
    return `${body.resourceType}/${body.id}/${body.meta.versionId}`;
  });

async function waitUntil(probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.concurrent.each(stores)('subscriptions on %s', (_name, storeEnv, writeMs) => {
  const processes: BedsideProcess[] = [];
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
  });

  it('notify every acknowledged write after kill -9 during a burst', async () => {
    const env = { PORT: String(await freePort()), BEDSIDE_SEED: 'false', ALLOW_PRIVATE_NETWORK_FETCH: 'true', ...storeEnv() };
    const first = await spawnBedside(env);
    processes.push(first);
    const receiver = await new Receiver().start();
    const backend = await backendClient(first.baseUrl);
    const client = fhirClient(`${first.baseUrl}/fhir`, await backend.token());
    const subscription = await subscribe(
      client,
      {
        criteria: 'Patient',
        channel: { type: 'rest-hook', endpoint: receiver.url, payload: 'application/fhir+json' },
      },
      first.output,
    );
    await statusOf(client, subscription.id!, 'active');

    const acknowledged = new Set<string>();
    let sent = 0;
    let stop = false;
    const writer = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const id = `w${worker}-${i}`;
        try {
          sent++;
          const res = await client.put(`Patient/${id}`, { resourceType: 'Patient', id, name: [{ family: `K${i}` }] });
          if (res.status === 201) acknowledged.add(`Patient/${id}/1`);
        } catch {
          // the server died: not acknowledged
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, writeMs));
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    stop = true;
    await Promise.all(writers);
    const beforeRestart = receiver.requests.length;

    const second = await spawnBedside(env);
    processes.push(second);
    // The dead node's lease runs out (5 s), then the new one replays the feed from the watermark.
    await waitUntil(() => [...acknowledged].every((key) => new Set(notified(receiver.requests)).has(key)), 60_000);
    const seen = notified(receiver.requests);
    const distinct = new Set(seen);
    const missing = [...acknowledged].filter((key) => !distinct.has(key));
    console.log(
      `kill -9 with a subscription: ${sent} writes sent, ${acknowledged.size} acknowledged, ${beforeRestart} notified before the kill, ` +
        `${seen.length} notifications in all (${seen.length - distinct.size} repeated), ${missing.length} acknowledged writes never notified`,
    );
    expect(acknowledged.size).toBeGreaterThan(20);
    expect(missing).toEqual([]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await receiver.close();
  }, 180_000);

  it('deliver each notification once from two nodes, and go on when one stops', async () => {
    const store = storeEnv();
    const [portA, portB] = [await freePort(), await freePort()];
    const baseUrl = `http://localhost:${portA}`;
    const common = { BASE_URL: baseUrl, BEDSIDE_SEED: 'false', ALLOW_PRIVATE_NETWORK_FETCH: 'true', ...store };
    const [a, b] = await Promise.all([spawnBedside({ PORT: String(portA), ...common }), spawnBedside({ PORT: String(portB), ...common })]);
    processes.push(a, b);
    const receiver = await new Receiver().start();
    const token = await (await backendClient(baseUrl)).token();
    const onA = fhirClient(`${baseUrl}/fhir`, token);
    const onB = fhirClient(`http://127.0.0.1:${portB}/fhir`, token);
    const subscription = await subscribe(
      onA,
      {
        criteria: 'Observation',
        channel: { type: 'rest-hook', endpoint: receiver.url, payload: 'application/fhir+json' },
      },
      () => `${a.output()}\n--- node B ---\n${b.output()}`,
    );
    await statusOf(onB, subscription.id!, 'active');

    const written: string[] = [];
    const write = async (node: typeof onA, i: number) => {
      const res = await node.post('Observation', observation('p', '1234-5', { valueString: String(i) }));
      // On failure, what the nodes logged (a 500 names its cause only there).
      expect(res.status, `${JSON.stringify(res.body)}\n--- node A ---\n${a.output().slice(-4000)}\n--- node B ---\n${b.output().slice(-4000)}`).toBe(201);
      written.push(`Observation/${(res.body as { id: string }).id}/1`);
    };
    for (let i = 0; i < 30; i++) await write(i % 2 === 0 ? onA : onB, i);
    await receiver.waitFor(30, 30_000);
    // Long enough for the standby's polls (every 250 ms) to have sent anything twice.
    await new Promise((r) => setTimeout(r, 1000));
    expect(notified(receiver.requests).sort()).toEqual([...written].sort());

    // Node A stops (gracefully: it hands the lease back); B delivers what is written next.
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    const later: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await onB.post('Observation', observation('p', '1234-5', { valueString: `after ${i}` }));
      later.push(`Observation/${(res.body as { id: string }).id}/1`);
    }
    await receiver.waitFor(40, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    const all = notified(receiver.requests);
    const repeated = all.length - new Set(all).size;
    console.log(`two nodes: ${all.length} notifications for ${written.length + later.length} writes, ${repeated} repeated across the hand-over`);
    expect(new Set(all)).toEqual(new Set([...written, ...later]));
    // A graceful hand-over writes the watermark first: nothing is sent twice.
    expect(repeated).toBe(0);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    await receiver.close();
  }, 180_000);
});
