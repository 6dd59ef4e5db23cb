/**
 * The subscription examples of docs/integrators.md ("Subscriptions") and of the README, run as
 * written with bash and curl against a real server (only the host and the endpoint changed), and
 * the websocket snippet's steps with the `ws` client; then checked by their effect: a
 * notification at the endpoint, a bound websocket.
 */
import type { Subscription } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCurl, runShell, shellBlocks } from '../../support/docs.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { fhirClient, observation, Receiver, SocketClient, statusOf, statusOfBundle, type FhirClient } from './support.js';

const DOCUMENTED_HOOK = 'https://hooks.example.org/bedside';

let server: TestServer;
let token: string;
let client: FhirClient;

beforeAll(async () => {
  if (!hasCurl) return;
  server = await startTestServer({ allowPrivateNetworkFetch: true });
  token = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
  client = fhirClient(server.fhirUrl, token);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** Runs a documented rest-hook example with the endpoint at `receiver`; checks the notification it leads to. */
async function restHookExample(script: string, prelude = ''): Promise<void> {
  expect(script).toContain(DOCUMENTED_HOOK);
  const receiver = await new Receiver().start();
  const out = await runShell(script.replace(DOCUMENTED_HOOK, receiver.url), { baseUrl: server.baseUrl, token, prelude });
  const created = JSON.parse(out.trim().split('\n')[0]!) as Subscription;
  expect(created).toMatchObject({ resourceType: 'Subscription', status: 'requested', criteria: 'Observation?code=http://loinc.org|2345-7' });
  await statusOf(client, created.id!, 'active');
  const written = await client.post('Observation', observation('patient-001', '2345-7'));
  await client.post('Observation', observation('patient-001', '8867-4'));
  const [request] = await receiver.waitFor(1);
  expect(request).toMatchObject({ method: 'PUT', url: `/hook/Observation/${(written.body as { id: string }).id}` });
  expect(request!.headers.authorization).toBe('Bearer receiver-secret');
  await new Promise((r) => setTimeout(r, 500));
  expect(receiver.requests).toHaveLength(1);
  await receiver.close();
}

describe.skipIf(!hasCurl)('documented subscription examples', () => {
  it('docs/integrators.md: a rest-hook subscription with curl, then a websocket bound with a token', async () => {
    const blocks = shellBlocks('docs/integrators.md', '## Subscriptions');
    expect(blocks).toHaveLength(2);
    await restHookExample(blocks[0]!);

    // The second block creates a websocket subscription and gets its binding token.
    const out = await runShell(blocks[1]!, { baseUrl: server.baseUrl, token, prelude: `FHIR=${server.fhirUrl}; H="Authorization: Bearer $TOKEN"` });
    const parameters = JSON.parse(out.trim()) as { parameter: Array<{ name: string; valueString?: string; valueUrl?: string }> };
    const value = (name: string) => parameters.parameter.find((p) => p.name === name)!;
    const id = value('subscription').valueString!;
    expect(value('websocket-url').valueUrl).toBe(`${server.fhirUrl.replace('http:', 'ws:')}/websocket`);
    await statusOf(client, id, 'active');

    // The JavaScript snippet's steps.
    const socket = await SocketClient.connect(value('websocket-url').valueUrl!);
    socket.send(`bind-with-token: ${value('token').valueString}`);
    const [handshake] = await socket.waitFor(1);
    expect(statusOfBundle(handshake!).type).toBe('handshake');
    await client.post('Observation', observation('patient-001', '2345-7'));
    const [, notification] = await socket.waitFor(2);
    expect(statusOfBundle(notification!).type).toBe('event-notification');
    socket.close();
  });

  it('README: the rest-hook subscription', async () => {
    const blocks = shellBlocks('README.md', '### Subscriptions');
    expect(blocks).toHaveLength(1);
    await restHookExample(blocks[0]!, `FHIR=${server.fhirUrl}; H="Authorization: Bearer $TOKEN"`);
  });
});
