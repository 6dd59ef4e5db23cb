/**
 * Websocket subscriptions end to end with the `ws` client: `$get-ws-binding-token`,
 * `bind-with-token`, the handshake, notifications, heartbeats, reconnecting, and what is refused.
 */
import type { Parameters, Subscription } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { fhirClient, observation, SocketClient, statusOf, statusOfBundle, subscribe, type FhirClient } from './support.js';

const HEARTBEAT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period';
const PAYLOAD_CONTENT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';

let server: TestServer;
let client: FhirClient;

beforeAll(async () => {
  server = await startTestServer({ allowPrivateNetworkFetch: true });
  client = fhirClient(server.fhirUrl, await (await backendClient(server.baseUrl, 'system/*.cruds')).token());
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

async function websocketSubscription(channel: Record<string, unknown> = {}): Promise<Subscription> {
  const created = await subscribe(client, { criteria: 'Observation?code=http://loinc.org|1234-5', channel: { type: 'websocket', ...channel } });
  return statusOf(client, created.id!, 'active');
}

async function bindingToken(id: string, as = client): Promise<{ token: string; url: string; expiration: string }> {
  const res = await as.get(`Subscription/${id}/$get-ws-binding-token`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const parameters = res.body as unknown as Parameters;
  const value = (name: string) => parameters.parameter!.find((p) => p.name === name)!;
  expect(value('subscription').valueString).toBe(id);
  return { token: value('token').valueString!, url: value('websocket-url').valueUrl!, expiration: value('expiration').valueDateTime! };
}

const types = (messages: Array<Record<string, unknown>>) => messages.map((m) => statusOfBundle(m).type);

describe('websocket subscriptions', () => {
  it('bind with a token, get a handshake, a notification per match and heartbeats', async () => {
    const subscription = await websocketSubscription({
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: 'full-resource' }] },
      extension: [{ url: HEARTBEAT, valueUnsignedInt: 1 }],
    });
    const binding = await bindingToken(subscription.id!);
    expect(binding.url).toBe(`${server.fhirUrl.replace('http:', 'ws:')}/websocket`);
    const expiresIn = Date.parse(binding.expiration) - Date.now();
    expect(expiresIn).toBeGreaterThan(4 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(5 * 60_000);

    const socket = await SocketClient.connect(binding.url);
    socket.send(`bind-with-token: ${binding.token}`);
    const [handshake] = await socket.waitFor(1);
    expect(statusOfBundle(handshake!)).toMatchObject({
      type: 'handshake',
      status: 'active',
      'events-since-subscription-start': '0',
      subscription: { reference: `${server.fhirUrl}/Subscription/${subscription.id}` },
    });

    const written = await client.post('Observation', observation('patient-001', '1234-5'));
    await client.post('Observation', observation('patient-001', '0000-0'));
    const messages = await socket.waitFor(2);
    const notification = messages.find((m) => statusOfBundle(m).type === 'event-notification')!;
    expect(statusOfBundle(notification)['events-since-subscription-start']).toBe('1');
    const entries = notification.entry as Array<{ fullUrl: string; resource?: { id: string } }>;
    expect(entries[1]).toMatchObject({
      fullUrl: `${server.fhirUrl}/Observation/${(written.body as { id: string }).id}`,
      resource: { id: (written.body as { id: string }).id },
    });

    // Heartbeats every second: the status alone, no event, no resource.
    await socket.waitFor(messages.length + 2, 5000);
    const heartbeats = socket.messages.filter((m) => statusOfBundle(m).type === 'heartbeat');
    expect(heartbeats.length).toBeGreaterThanOrEqual(1);
    for (const heartbeat of heartbeats) {
      expect((heartbeat.entry as unknown[]).length).toBe(1);
      expect(statusOfBundle(heartbeat)['notification-event']).toBeUndefined();
      expect(statusOfBundle(heartbeat)['events-since-subscription-start']).toBe('1');
    }
    expect(types(socket.messages).filter((t) => t === 'event-notification')).toHaveLength(1);
    socket.close();
  });

  it('reconnect and bind again with the same token; the count goes on', async () => {
    const subscription = await websocketSubscription();
    const binding = await bindingToken(subscription.id!);
    const first = await SocketClient.connect(binding.url);
    first.send(`bind-with-token: ${binding.token}`);
    await first.waitFor(1);
    await client.post('Observation', observation('patient-001', '1234-5'));
    await first.waitFor(2);
    first.close();
    expect((await first.closed).code).toBe(1005);

    await client.post('Observation', observation('patient-001', '1234-5'));
    const second = await SocketClient.connect(binding.url);
    second.send(`bind-with-token: ${binding.token}`);
    const [handshake] = await second.waitFor(1);
    expect(statusOfBundle(handshake!)).toMatchObject({ type: 'handshake', 'events-since-subscription-start': '1' });
    await client.post('Observation', observation('patient-001', '1234-5'));
    const [, notification] = await second.waitFor(2);
    // Empty content: the status says which event, nothing says which resource.
    expect(statusOfBundle(notification!)).toMatchObject({ type: 'event-notification', 'events-since-subscription-start': '2' });
    expect((notification!.entry as unknown[]).length).toBe(1);
    second.close();
  });

  it('close the sockets when the subscription is turned off', async () => {
    const subscription = await websocketSubscription();
    const binding = await bindingToken(subscription.id!);
    const socket = await SocketClient.connect(binding.url);
    socket.send(`bind-with-token: ${binding.token}`);
    await socket.waitFor(1);
    expect((await client.put(`Subscription/${subscription.id}`, { ...subscription, status: 'off' })).status).toBe(200);
    expect(await socket.closed).toEqual({ code: 1000, reason: 'the subscription is off or deleted' });
  });

  it('close the sockets when another client changes the subscription; the tokens issued before no longer bind', async () => {
    const subscription = await websocketSubscription();
    const binding = await bindingToken(subscription.id!);
    const socket = await SocketClient.connect(binding.url);
    socket.send(`bind-with-token: ${binding.token}`);
    await socket.waitFor(1);
    await client.post('Observation', observation('patient-001', '1234-5'));
    await socket.waitFor(2);

    // The other client becomes the owner: what it may read is not for the first client's socket.
    const other = fhirClient(server.fhirUrl, await (await backendClient(server.baseUrl, 'system/*.cruds')).token());
    expect((await other.put(`Subscription/${subscription.id}`, subscription)).status).toBe(200);
    expect(await socket.closed).toEqual({ code: 1000, reason: 'the subscription was changed by another client or user; bind again' });
    const again = await SocketClient.connect(binding.url);
    again.send(`bind-with-token: ${binding.token}`);
    expect(await again.closed).toEqual({ code: 1008, reason: 'invalid or expired binding token' });
    expect(again.messages).toEqual([]);
    expect((await client.get(`Subscription/${subscription.id}/$get-ws-binding-token`)).status).toBe(403);

    // The new owner binds, and its count starts afresh: nothing tells it what the first one heard.
    const theirs = await bindingToken(subscription.id!, other);
    const socketOfOther = await SocketClient.connect(theirs.url);
    socketOfOther.send(`bind-with-token: ${theirs.token}`);
    const [handshake] = await socketOfOther.waitFor(1);
    expect(statusOfBundle(handshake!)).toMatchObject({ type: 'handshake', 'events-since-subscription-start': '0' });
    socketOfOther.close();
  });

  it('close a socket with an unknown token or any other message, saying nothing about subscriptions', async () => {
    const url = `${server.fhirUrl.replace('http:', 'ws:')}/websocket`;
    for (const message of [`bind-with-token: ${'x'.repeat(43)}`, 'bind-with-token: short', 'bind Subscription/1', '{"hello":1}']) {
      const socket = await SocketClient.connect(url);
      socket.send(message);
      const closed = await socket.closed;
      expect(closed.code, message).toBe(1008);
      expect(closed.reason, message).toMatch(
        message.startsWith('bind-with-token') ? /^invalid or expired binding token$/ : /^the only message accepted is bind-with-token: <token>$/,
      );
      expect(socket.messages).toEqual([]);
    }
  });

  it('give binding tokens only to the owner, only for websocket subscriptions that are on', async () => {
    const subscription = await websocketSubscription();
    const other = fhirClient(server.fhirUrl, await (await backendClient(server.baseUrl, 'system/*.cruds')).token());
    const refused = await other.get(`Subscription/${subscription.id}/$get-ws-binding-token`);
    expect(refused.status).toBe(403);
    expect((refused.body as { issue: Array<{ diagnostics: string }> }).issue[0]!.diagnostics).toBe(
      `Only the client and user that created Subscription/${subscription.id}, with the same patient context, may bind to it`,
    );
    expect((await client.get('Subscription/not-there/$get-ws-binding-token')).status).toBe(404);
    const hook = await subscribe(client, { criteria: 'Observation', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook' } });
    expect((await client.get(`Subscription/${hook.id}/$get-ws-binding-token`)).status).toBe(422);
    await client.put(`Subscription/${subscription.id}`, { ...subscription, status: 'off' });
    expect((await client.get(`Subscription/${subscription.id}/$get-ws-binding-token`)).status).toBe(422);
  });

  it('are described in the CapabilityStatement: the websocket URL, the binding operation, the channels', async () => {
    const metadata = (await (await fetch(`${server.fhirUrl}/metadata`)).json()) as {
      rest: Array<{
        extension?: Array<{ url: string; valueUri: string }>;
        resource: Array<{ type: string; documentation?: string; operation?: Array<{ name: string; definition: string }> }>;
      }>;
    };
    expect(metadata.rest[0]!.extension).toEqual([
      { url: 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket', valueUri: `${server.fhirUrl.replace('http:', 'ws:')}/websocket` },
    ]);
    const subscription = metadata.rest[0]!.resource.find((r) => r.type === 'Subscription')!;
    expect(subscription.operation).toContainEqual({
      name: 'get-ws-binding-token',
      definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-get-ws-binding-token',
    });
    expect(subscription.documentation).toMatch(/rest-hook or websocket/);
  });
});
