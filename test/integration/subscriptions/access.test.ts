/**
 * Subscriptions obey the token that created them, exactly as reads do: a subscriber whose token
 * has a patient context never hears about another patient (not through a notification, a
 * heartbeat, an event count or an error), whatever its criteria say; and when the authorization
 * behind a subscription ends (grant revoked, client deleted) the subscription stops.
 */
import type { Subscription } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_APP } from '../auth/support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken, type TokenResponse } from '../../support/user-tokens.js';
import { fhirClient, observation, Receiver, SocketClient, statusOf, statusOfBundle, subscribe, type FhirClient } from './support.js';

const PAYLOAD_CONTENT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';
const HEARTBEAT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period';
/** A practitioner's app launched for one patient: Observations of that patient only, its own Subscriptions. */
const PATIENT_SCOPE = 'openid fhirUser launch/patient patient/Observation.rs user/Subscription.cruds offline_access';

let server: TestServer;
let writer: FhirClient;

beforeAll(async () => {
  server = await startTestServer({ seed: true, allowPrivateNetworkFetch: true });
  writer = fhirClient(server.fhirUrl, await (await backendClient(server.baseUrl, 'system/*.cruds')).token());
}, 180_000);
afterAll(async () => {
  await server?.stop();
});

async function launched(patient: string, scope = PATIENT_SCOPE, user = PRACTITIONER): Promise<{ token: TokenResponse; client: FhirClient }> {
  const token = await userToken(server, { ...user, scope, patient });
  expect(token.patient).toBe(patient);
  return { token, client: fhirClient(server.fhirUrl, token.access_token) };
}

async function write(resource: Record<string, unknown>): Promise<string> {
  const res = await writer.post('Observation', resource);
  expect(res.status).toBe(201);
  return (res.body as { id: string }).id;
}

describe('a subscriber with a patient context', () => {
  it('hears only about its patient, whatever its criteria, through every channel', async () => {
    const { client } = await launched('patient-001');
    const all = await new Receiver().start();
    const foreign = await new Receiver().start();
    const full = { payload: 'application/fhir+json', _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: 'full-resource' }] } };
    const hooks = [
      await subscribe(client, { criteria: 'Observation', channel: { type: 'rest-hook', endpoint: all.url, ...full } as Subscription['channel'] }),
      // A search it may run, for another patient's data: it runs, and finds nothing.
      await subscribe(client, {
        criteria: 'Observation?subject=Patient/patient-002',
        channel: { type: 'rest-hook', endpoint: foreign.url, ...full } as Subscription['channel'],
      }),
    ];
    const socketSubscription = await subscribe(client, {
      criteria: 'Observation',
      channel: { type: 'websocket', ...full, extension: [{ url: HEARTBEAT, valueUnsignedInt: 1 }] } as Subscription['channel'],
    });
    for (const s of [...hooks, socketSubscription]) await statusOf(client, s.id!, 'active');
    const binding = (await client.get(`Subscription/${socketSubscription.id}/$get-ws-binding-token`)).body as {
      parameter: Array<{ name: string; valueString?: string; valueUrl?: string }>;
    };
    const socket = await SocketClient.connect(binding.parameter.find((p) => p.name === 'websocket-url')!.valueUrl!);
    socket.send(`bind-with-token: ${binding.parameter.find((p) => p.name === 'token')!.valueString}`);
    await socket.waitFor(1);

    const own: string[] = [];
    const others: string[] = [];
    for (let i = 0; i < 4; i++) {
      own.push(await write(observation('patient-001', '1234-5', { valueString: `own ${i}` })));
      others.push(await write(observation('patient-002', '1234-5', { valueString: `other ${i}` })));
    }
    // Moved out of the patient's record: the new version is not theirs to hear about.
    await writer.put(`Observation/${own[0]}`, { ...observation('patient-002', '1234-5'), id: own[0], valueString: 'moved away' });
    // Moved into it: now it is.
    await writer.put(`Observation/${others[0]}`, { ...observation('patient-001', '1234-5'), id: others[0], valueString: 'moved in' });

    await all.waitFor(5);
    await socket.waitFor(1 + 5);
    await new Promise((r) => setTimeout(r, 2500));
    const bodies = all.requests.map((r) => JSON.parse(r.body) as { entry: Array<{ resource: { subject: { reference: string }; valueString: string } }> });
    expect(bodies.map((b) => b.entry[1]!.resource.valueString)).toEqual(['own 0', 'own 1', 'own 2', 'own 3', 'moved in']);
    for (const b of bodies) expect(b.entry[1]!.resource.subject.reference).toBe('Patient/patient-001');
    expect(foreign.requests).toEqual([]);

    const events = socket.messages.filter((m) => statusOfBundle(m).type === 'event-notification');
    expect(events.map((m) => (m.entry as Array<{ resource: { valueString: string } }>)[1]!.resource.valueString)).toEqual([
      'own 0',
      'own 1',
      'own 2',
      'own 3',
      'moved in',
    ]);
    // Heartbeats count this subscriber's events only.
    const heartbeats = socket.messages.filter((m) => statusOfBundle(m).type === 'heartbeat');
    expect(heartbeats.length).toBeGreaterThan(0);
    expect(statusOfBundle(heartbeats[heartbeats.length - 1]!)['events-since-subscription-start']).toBe('5');
    // Nothing anywhere names another patient's resources.
    const everything = JSON.stringify([all.requests, socket.messages]);
    for (const id of others.slice(1)) expect(everything).not.toContain(id);
    expect(everything).not.toContain('patient-002');
    expect(everything).not.toContain('moved away');

    // A failing endpoint's error names the endpoint's answer, never a resource.
    all.status = 500;
    await write(observation('patient-001', '1234-5'));
    await write(observation('patient-002', '1234-5'));
    const failing = await statusOf(client, hooks[0]!.id!, 'error', 20_000);
    expect(failing.error).toBe(`The POST to ${all.url} was answered 500`);
    socket.close();
    await all.close();
    await foreign.close();
  }, 90_000);
});

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const REST_HOOK = { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook' } as Subscription['channel'];
type Outcome = { issue: Array<{ code: string; diagnostics: string }> };

describe('what a subscriber may ask for', () => {
  it('refuses criteria that reach types the token cannot search exactly as the search is refused', async () => {
    const { client } = await launched('patient-001');
    const cases = [
      'Condition?code=1234-5',
      // _has into a type the token has no scope for
      'Observation?_has:DiagnosticReport:result:status=final',
      // a chain into one
      'Observation?subject:Patient.name=shaw',
      // nested: a chain whose hop has a _has into one
      'Observation?subject:Patient._has:Condition:patient:code=1234-5',
    ];
    for (const criteria of cases) {
      const search = await client.get(criteria);
      expect(search.status, criteria).toBe(403);
      const created = await client.post('Subscription', { resourceType: 'Subscription', status: 'requested', reason: 'test', criteria, channel: REST_HOOK });
      expect(created.status, criteria).toBe(403);
      expect(created.headers.get('www-authenticate'), criteria).toBe(search.headers.get('www-authenticate'));
      expect((created.body as Outcome).issue, criteria).toEqual((search.body as Outcome).issue);
    }
  });

  it('limits criteria under a granular scope as the search is limited', async () => {
    const scope = `openid fhirUser launch/patient patient/Observation.rs?category=${CATEGORY}|laboratory user/Subscription.cruds`;
    const { client } = await launched('patient-001', scope);
    const receiver = await new Receiver().start();
    const vitalsReceiver = await new Receiver().start();
    const hook = await subscribe(client, { criteria: 'Observation', channel: { type: 'rest-hook', endpoint: receiver.url, payload: 'application/fhir+json' } });
    // A search the token may run (it finds nothing): allowed, and it hears nothing.
    const vitals = await subscribe(client, {
      criteria: `Observation?category=${CATEGORY}|vital-signs`,
      channel: { type: 'rest-hook', endpoint: vitalsReceiver.url, payload: 'application/fhir+json' },
    });
    await statusOf(client, hook.id!, 'active');
    await statusOf(client, vitals.id!, 'active');
    const category = (code: string) => ({ category: [{ coding: [{ system: CATEGORY, code }] }] });
    const written = [
      await write(observation('patient-001', '1234-5', { ...category('laboratory'), valueString: 'lab, own patient' })),
      await write(observation('patient-001', '1234-5', { ...category('vital-signs'), valueString: 'vitals, own patient' })),
      await write(observation('patient-002', '1234-5', { ...category('laboratory'), valueString: 'lab, other patient' })),
      await write(observation('patient-001', '1234-5', { ...category('laboratory'), valueString: 'lab, own patient, again' })),
    ];
    await receiver.waitFor(2);
    await new Promise((r) => setTimeout(r, 1500));
    // Exactly what the same token's search finds among them.
    const found = ((await client.get(`Observation?_id=${written.join(',')}`)).body as { entry?: Array<{ resource: { id: string } }> }).entry ?? [];
    expect(found.map((e) => e.resource.id).sort()).toEqual([written[0], written[3]].sort());
    expect(receiver.requests.map((r) => (JSON.parse(r.body) as { id: string }).id)).toEqual([written[0], written[3]]);
    expect(vitalsReceiver.requests).toEqual([]);
    await receiver.close();
    await vitalsReceiver.close();
  }, 60_000);
});

describe('a subscription as other tokens see it', () => {
  it('is read, changed or bound only by tokens whose policy allows it', async () => {
    const { client } = await launched('patient-001');
    const created = await subscribe(client, { criteria: 'Observation', channel: { type: 'websocket' } });
    const subscription = await statusOf(client, created.id!, 'active');
    const path = `Subscription/${subscription.id}`;

    // No Subscription scope: refused outright.
    const noScope = fhirClient(server.fhirUrl, await (await backendClient(server.baseUrl, 'system/Observation.rs')).token());
    for (const res of [
      await noScope.get(path),
      await noScope.put(path, subscription),
      await noScope.get(`${path}/$get-ws-binding-token`),
      await noScope.get('Subscription'),
    ]) {
      expect(res.status).toBe(403);
    }
    // A patient's own app (patient/ scopes on Subscription reach only what the patient's records reference: none).
    const { client: portal } = await launched('patient-001', 'openid fhirUser launch/patient patient/Observation.rs patient/Subscription.cruds', PATIENT_USER);
    expect((await portal.get(path)).status).toBe(404);
    expect((await portal.get(`${path}/$get-ws-binding-token`)).status).toBe(404);
    expect((await portal.get(`Subscription?_id=${subscription.id}`)).body).toMatchObject({ total: 0 });
    expect((await portal.put(path, { ...subscription, status: 'off' })).status).toBe(403);
    // A delete of what it cannot see is answered as for a resource that is not there (and deletes nothing).
    const deleted = await portal.delete(path);
    expect(deleted.status).toBe(200);
    expect((deleted.body as Outcome).issue[0]!.diagnostics).toBe(`${path} did not exist or was already deleted`);
    // The same user and app launched for another patient may read it (user/Subscription.rs), but not bind to it.
    const { client: elsewhere } = await launched('patient-002');
    expect((await elsewhere.get(path)).status).toBe(200);
    const refused = await elsewhere.get(`${path}/$get-ws-binding-token`);
    expect(refused.status).toBe(403);
    expect((refused.body as Outcome).issue[0]!.diagnostics).toBe(
      `Only the client and user that created ${path}, with the same patient context, may bind to it`,
    );
    // Nothing changed on the way.
    const after = (await client.get(path)).body as unknown as Subscription;
    expect(after.meta!.versionId).toBe(subscription.meta!.versionId);
    expect((await client.get(`${path}/$get-ws-binding-token`)).status).toBe(200);
  }, 60_000);
});

describe('when the authorization behind a subscription ends', () => {
  it('a revoked grant turns its subscriptions off and closes their sockets; nothing more is sent', async () => {
    const { token, client } = await launched('patient-001');
    const receiver = await new Receiver().start();
    const hook = await subscribe(client, { criteria: 'Observation', channel: { type: 'rest-hook', endpoint: receiver.url } });
    const ws = await subscribe(client, { criteria: 'Observation', channel: { type: 'websocket' } });
    await statusOf(client, hook.id!, 'active');
    await statusOf(client, ws.id!, 'active');
    const binding = (await client.get(`Subscription/${ws.id}/$get-ws-binding-token`)).body as {
      parameter: Array<{ name: string; valueString?: string; valueUrl?: string }>;
    };
    const socket = await SocketClient.connect(binding.parameter.find((p) => p.name === 'websocket-url')!.valueUrl!);
    socket.send(`bind-with-token: ${binding.parameter.find((p) => p.name === 'token')!.valueString}`);
    await socket.waitFor(1);
    await write(observation('patient-001', '1234-5'));
    await receiver.waitFor(1);
    await socket.waitFor(2);

    const revoked = await fetch(`${server.issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: token.refresh_token!, client_id: SAMPLE_APP }),
    });
    expect(revoked.status).toBe(200);
    const started = Date.now();
    const off = await statusOf(writer, hook.id!, 'off', 15_000);
    console.log(`a revoked grant turned its rest-hook subscription off after ${Date.now() - started} ms`);
    expect(off.error).toBe('The authorization this subscription was created with has ended (grant revoked or expired)');
    await write(observation('patient-001', '1234-5'));
    expect(await socket.closed).toMatchObject({ code: 1000 });
    expect((await statusOf(writer, ws.id!, 'off', 15_000)).error).toBe(off.error);
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.requests).toHaveLength(1);
    expect(socket.messages.filter((m) => statusOfBundle(m).type === 'event-notification')).toHaveLength(1);
    await receiver.close();
  }, 60_000);

  it("a deleted client's subscriptions are turned off", async () => {
    const backend = await backendClient(server.baseUrl, 'system/Subscription.cruds system/Observation.rs');
    const client = fhirClient(server.fhirUrl, await backend.token());
    const receiver = await new Receiver().start();
    const hook = await subscribe(client, { criteria: 'Observation', channel: { type: 'rest-hook', endpoint: receiver.url } });
    await statusOf(client, hook.id!, 'active');
    const deleted = await fetch(backend.registration.uri, { method: 'DELETE', headers: { authorization: `Bearer ${backend.registration.accessToken}` } });
    expect(deleted.status).toBe(204);
    const off = await statusOf(writer, hook.id!, 'off', 15_000);
    expect(off.error).toBe('The authorization this subscription was created with has ended (client removed)');
    await write(observation('patient-001', '1234-5'));
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.requests).toHaveLength(0);
    await receiver.close();
  }, 60_000);
});
