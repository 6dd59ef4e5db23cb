/**
 * Rest-hook subscriptions end to end: a real Bedside, a backend-services token, a loopback HTTP
 * receiver. The subscription's life (requested → active → error → active → off), what each
 * payload setting sends, in order, retried, and what a Subscription write is refused for.
 */
import type { Bundle, Parameters, Subscription } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { startTestServer, tempDir, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { fhirClient, observation, Receiver, statusOf, subscribe, type FhirClient } from './support.js';

const PAYLOAD_CONTENT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';
const OWNER = 'https://bedside.dev/fhir/StructureDefinition/subscription-owner';

let server: TestServer;
let client: FhirClient;

beforeAll(async () => {
  server = await startTestServer({ allowPrivateNetworkFetch: true });
  client = fhirClient(server.fhirUrl, await (await backendClient(server.baseUrl, 'system/*.cruds')).token());
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** A receiver and an active subscription notifying it. */
async function hook(
  channel: Partial<Subscription['channel']>,
  criteria = 'Observation?code=http://loinc.org|1234-5',
): Promise<{ receiver: Receiver; subscription: Subscription }> {
  const receiver = await new Receiver().start();
  const created = await subscribe(client, { criteria, channel: { type: 'rest-hook', endpoint: receiver.url, ...channel } });
  const subscription = await statusOf(client, created.id!, 'active');
  return { receiver, subscription };
}

const create = async (resource: Record<string, unknown>) => {
  const res = await client.post(String(resource.resourceType), resource);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; meta: { versionId: string; lastUpdated: string } };
};

/** The events of notification Bundles, in the order received: [event number, focus URL]. */
function eventsOf(requests: Array<{ body: string }>): Array<[string, string]> {
  return requests.flatMap((r) => {
    const bundle = JSON.parse(r.body) as Bundle;
    return (bundle.entry![0]!.resource as Parameters)
      .parameter!.filter((p) => p.name === 'notification-event')
      .map((p): [string, string] => [
        p.part!.find((q) => q.name === 'event-number')!.valueString!,
        p.part!.find((q) => q.name === 'focus')!.valueReference!.reference!,
      ]);
  });
}

describe('rest-hook subscriptions', () => {
  it('go from requested to active and POST an empty notification per matching create or update, with the channel headers', async () => {
    const receiver = await new Receiver().start();
    const created = await subscribe(client, {
      criteria: 'Observation?code=http://loinc.org|1234-5',
      channel: { type: 'rest-hook', endpoint: receiver.url, header: ['Authorization: Bearer receiver-secret', 'X-Tenant: ward-7'] },
    });
    expect(created.status).toBe('requested');
    // The server records who created it, and says so in its own extension.
    expect(created.extension).toEqual([{ url: OWNER, valueString: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/) }]);
    const active = await statusOf(client, created.id!, 'active');
    expect(active.extension).toEqual(created.extension);

    const matching = await create(observation('patient-001', '1234-5'));
    await create(observation('patient-001', '9999-9'));
    await client.put(`Observation/${matching.id}`, { ...observation('patient-001', '1234-5'), id: matching.id, status: 'amended' });
    await client.delete(`Observation/${matching.id}`);
    await create(observation('patient-002', '1234-5'));
    const received = await receiver.waitFor(3);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toHaveLength(3);
    for (const request of received) {
      expect(request).toMatchObject({ method: 'POST', url: '/hook', body: '' });
      expect(request.headers.authorization).toBe('Bearer receiver-secret');
      expect(request.headers['x-tenant']).toBe('ward-7');
      expect(request.headers['content-type']).toBeUndefined();
    }
    await receiver.close();
  });

  it('PUT the resource to [endpoint]/[type]/[id] when there is a payload (R4)', async () => {
    const { receiver } = await hook({ payload: 'application/fhir+json' });
    const written = await create(observation('patient-001', '1234-5'));
    const [request] = await receiver.waitFor(1);
    expect(request).toMatchObject({ method: 'PUT', url: `/hook/Observation/${written.id}` });
    expect(request!.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    const body = JSON.parse(request!.body);
    expect(body).toMatchObject({ resourceType: 'Observation', id: written.id, meta: { versionId: '1' }, code: { coding: [{ code: '1234-5' }] } });
    await receiver.close();
  });

  it.each(['id-only', 'full-resource', 'empty'])('POST a Backport notification Bundle with %s content', async (content) => {
    const { receiver, subscription } = await hook({
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: content }] },
    } as Partial<Subscription['channel']>);
    const written = [await create(observation('patient-001', '1234-5')), await create(observation('patient-003', '1234-5'))];
    // One Bundle per write, or one for both when the second was written before the first went out.
    const eventsIn = (request: { body: string }) =>
      ((JSON.parse(request.body) as Bundle).entry![0]!.resource as Parameters).parameter!.filter((p) => p.name === 'notification-event');
    const deadline = Date.now() + 15_000;
    while (receiver.requests.flatMap(eventsIn).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.flatMap(eventsIn)).toHaveLength(2);
    let n = 0;
    for (const request of receiver.requests) {
      expect(request).toMatchObject({ method: 'POST', url: '/hook' });
      const bundle = JSON.parse(request.body) as Bundle;
      expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'history' });
      const status = bundle.entry![0]!.resource as Parameters;
      expect(status.meta?.profile).toEqual(['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4']);
      const parameter = (name: string) => status.parameter!.find((p) => p.name === name);
      expect(parameter('subscription')!.valueReference!.reference).toBe(`${server.fhirUrl}/Subscription/${subscription.id}`);
      expect(parameter('status')!.valueCode).toBe('active');
      expect(parameter('type')!.valueCode).toBe('event-notification');
      const events = eventsIn(request);
      expect(parameter('events-since-subscription-start')!.valueString).toBe(String(n + events.length));
      expect(bundle.entry).toHaveLength(content === 'empty' ? 1 : 1 + events.length);
      events.forEach((e, k) => {
        const resource = written[n]!;
        n++;
        const event = e.part!;
        expect(event.find((p) => p.name === 'event-number')!.valueString).toBe(String(n));
        expect(event.find((p) => p.name === 'timestamp')!.valueInstant).toBe(resource.meta.lastUpdated);
        const url = `${server.fhirUrl}/Observation/${resource.id}`;
        if (content === 'empty') {
          expect(event.find((p) => p.name === 'focus')).toBeUndefined();
          return;
        }
        expect(event.find((p) => p.name === 'focus')!.valueReference!.reference).toBe(url);
        const entry = bundle.entry![1 + k]!;
        expect(entry).toMatchObject({ fullUrl: url, request: { method: 'POST', url: 'Observation' }, response: { status: '201' } });
        if (content === 'id-only') expect(entry.resource).toBeUndefined();
        else expect(entry.resource).toMatchObject({ resourceType: 'Observation', id: resource.id, meta: { versionId: '1' } });
      });
    }
    await receiver.close();
  });

  it('retry with backoff in order, show error with the reason, and recover', async () => {
    const { receiver, subscription } = await hook({ payload: 'application/fhir+json' });
    receiver.status = 503;
    for (let i = 0; i < 3; i++) await create(observation('patient-001', '1234-5', { valueString: `n${i}` }));
    // 0.5 s, 1 s, 2 s: the third failure makes it error.
    const failing = await statusOf(client, subscription.id!, 'error', 20_000);
    expect(failing.error).toBe(`The PUT of the resource to ${receiver.url}/… was answered 503`);
    receiver.status = 200;
    const failed = receiver.requests.length;
    expect(failed).toBeGreaterThanOrEqual(3);
    await receiver.waitFor(failed + 3, 20_000);
    const recovered = await statusOf(client, subscription.id!, 'active');
    expect(recovered.error).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    const values = receiver.requests.map((r) => (JSON.parse(r.body) as { valueString: string }).valueString);
    // Every failed attempt was the first notification again; then all three, in order, once.
    expect(values).toEqual([...Array.from({ length: failed }, () => 'n0'), 'n0', 'n1', 'n2']);
    await receiver.close();
  }, 60_000);

  it('read what waited for a retry again before sending it: a resource deleted meanwhile is not sent', async () => {
    const { receiver } = await hook({ payload: 'application/fhir+json' });
    receiver.status = 503;
    const kept = await create(observation('patient-001', '1234-5', { valueString: 'kept' }));
    const gone = await create(observation('patient-001', '1234-5', { valueString: 'gone' }));
    await receiver.waitFor(1);
    expect([200, 204]).toContain((await client.delete(`Observation/${gone.id}`)).status);
    receiver.status = 200;
    const failed = receiver.requests.length;
    await receiver.waitFor(failed + 1, 20_000);
    // Time for a second notification, were one coming.
    await new Promise((r) => setTimeout(r, 1500));
    const sent = receiver.requests.slice(failed).map((r) => (JSON.parse(r.body) as { id: string }).id);
    expect(sent).toEqual([kept.id]);
    await receiver.close();
  }, 60_000);

  it('send what waited for a failing endpoint in one notification Bundle, in order', async () => {
    const { receiver } = await hook({ payload: 'application/fhir+json', _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: 'id-only' }] } } as Partial<
      Subscription['channel']
    >);
    receiver.status = 503;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create(observation('patient-001', '1234-5'))).id);
    await receiver.waitFor(2);
    receiver.status = 200;
    const failed = receiver.requests.length;
    const [bundle] = (await receiver.waitFor(failed + 1)).slice(failed);
    expect(eventsOf([bundle!])).toEqual(ids.map((id, i) => [String(i + 1), `${server.fhirUrl}/Observation/${id}`]));
    const status = (JSON.parse(bundle!.body) as Bundle).entry![0]!.resource as Parameters;
    expect(status.parameter!.find((p) => p.name === 'events-since-subscription-start')!.valueString).toBe('3');
    expect((JSON.parse(bundle!.body) as Bundle).entry!.slice(1).map((e) => e.fullUrl)).toEqual(ids.map((id) => `${server.fhirUrl}/Observation/${id}`));
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests.length).toBe(failed + 1);
    await receiver.close();
  });

  it('stop when the client sets status off, and start again when it asks', async () => {
    const { receiver, subscription } = await hook({});
    const off = await client.put(`Subscription/${subscription.id}`, { ...subscription, status: 'off' });
    expect(off.status).toBe(200);
    await create(observation('patient-001', '1234-5'));
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.requests).toHaveLength(0);
    const again = await client.put(`Subscription/${subscription.id}`, { ...subscription, status: 'requested' });
    expect(again.status).toBe(200);
    await statusOf(client, subscription.id!, 'active');
    await create(observation('patient-001', '1234-5'));
    await receiver.waitFor(1);
    await receiver.close();
  });

  it('refuse what a subscription cannot be, with the status and element named', async () => {
    const base = {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'test',
      criteria: 'Observation?code=1234-5',
      channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook' },
    };
    const cases: Array<[string, Record<string, unknown>, number, RegExp]> = [
      ['no criteria', { criteria: undefined }, 400, /Subscription\.criteria: required element is missing/],
      ['a URL as criteria', { criteria: 'http://other/fhir/Observation?code=x' }, 400, /relative to the FHIR base/],
      ['an unknown parameter', { criteria: 'Observation?nope=1' }, 400, /nope/],
      ['a result parameter', { criteria: 'Observation?code=x&_sort=date' }, 400, /_sort shapes a search's answer/],
      ['an unsupported channel', { channel: { type: 'email', endpoint: 'mailto:a@b.c' } }, 422, /email is not supported/],
      ['a rest-hook without endpoint', { channel: { type: 'rest-hook' } }, 400, /needs Subscription.channel.endpoint/],
      ['a non-http endpoint', { channel: { type: 'rest-hook', endpoint: 'ftp://example.org/x' } }, 400, /absolute http or https URL/],
      ['credentials in the endpoint', { channel: { type: 'rest-hook', endpoint: 'https://u:p@example.org/x' } }, 400, /must not hold credentials/],
      [
        'an XML payload',
        { channel: { type: 'rest-hook', endpoint: 'https://example.org/x', payload: 'application/fhir+xml' } },
        422,
        /application\/fhir\+xml is not supported/,
      ],
      ['a reserved header', { channel: { type: 'rest-hook', endpoint: 'https://example.org/x', header: ['Host: evil'] } }, 400, /may not set Host/],
      ['a malformed header', { channel: { type: 'rest-hook', endpoint: 'https://example.org/x', header: ['no colon'] } }, 400, /"Name: value"/],
      ['status active from a client', { status: 'active' }, 422, /may be set to requested or off/],
      ['status error from a client', { status: 'error' }, 422, /may be set to requested or off/],
    ];
    for (const [what, change, status, message] of cases) {
      const res = await client.post('Subscription', { ...base, ...change });
      expect(res.status, what).toBe(status);
      expect((res.body as { issue: Array<{ diagnostics: string }> }).issue[0]!.diagnostics, what).toMatch(message);
    }
  });

  it('match full-text, distance and _filter criteria as the search does', async () => {
    const cases: Array<[criteria: string, matching: Record<string, unknown>, other: Record<string, unknown>]> = [
      [
        'Observation?_content=sodium',
        observation('patient-001', '2951-2', { code: { text: 'Sodium in serum' } }),
        observation('patient-001', '2823-3', { code: { text: 'Potassium' } }),
      ],
      ['Observation?_filter=code eq 2951-2', observation('patient-001', '2951-2'), observation('patient-001', '2823-3')],
      [
        'Location?near=42.3626|-71.0691|2|km',
        { resourceType: 'Location', name: 'near the hospital', position: { latitude: 42.365, longitude: -71.07 } },
        { resourceType: 'Location', name: 'across the country', position: { latitude: 37.77, longitude: -122.42 } },
      ],
    ];
    for (const [criteria, matching, other] of cases) {
      const { receiver } = await hook({ payload: 'application/fhir+json' }, criteria);
      const written = await create(matching);
      const missed = await create(other);
      await receiver.waitFor(1);
      await new Promise((r) => setTimeout(r, 500));
      expect(
        receiver.requests.map((r) => r.url),
        criteria,
      ).toEqual([`/hook/${matching.resourceType}/${written.id}`]);
      // The same criteria as a search, among the two.
      const [type, query] = criteria.split('?') as [string, string];
      const found = (await client.get(`${type}?${query.replace(/ /g, '%20').replace(/\|/g, '%7C')}&_id=${written.id},${missed.id}`)).body as {
        entry?: Array<{ resource: { id: string } }>;
      };
      expect(
        found.entry?.map((e) => e.resource.id),
        criteria,
      ).toEqual([written.id]);
      await receiver.close();
    }
  });

  it('refuse criteria the writer could not run, as the search would be refused', async () => {
    const narrow = fhirClient(server.fhirUrl, await (await backendClient(server.baseUrl, 'system/Subscription.cruds system/Observation.rs')).token());
    const base = { resourceType: 'Subscription', status: 'requested', reason: 'test', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook' } };
    const forbidden = await narrow.post('Subscription', { ...base, criteria: 'Condition?code=x' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toContain('insufficient_scope');
    const hop = await narrow.post('Subscription', { ...base, criteria: 'Observation?subject:Patient.name=shaw' });
    expect(hop.status).toBe(403);
    // _list steps into the List: one the token may not search is refused as the search is.
    const list = await narrow.post('Subscription', { ...base, criteria: 'Observation?_list=some-list' });
    expect(list.status).toBe(403);
    expect((list.body as { issue: unknown[] }).issue).toEqual(((await narrow.get('Observation?_list=some-list')).body as { issue: unknown[] }).issue);
    expect(await narrow.post('Subscription', { ...base, criteria: 'Observation?code=x' })).toMatchObject({ status: 201 });
  });
});

describe('a failing rest-hook across a restart', () => {
  it('keeps its undelivered notifications in the store and delivers them in order, with their event numbers, once the endpoint answers', async () => {
    const dataDir = tempDir();
    const receiver = await new Receiver().start();
    receiver.status = 503;
    let node = await startTestServer({ dataDir, allowPrivateNetworkFetch: true });
    const port = node.config.port;
    const backend = await backendClient(node.baseUrl, 'system/*.cruds');
    try {
      let fhir = fhirClient(node.fhirUrl, await backend.token());
      const created = await subscribe(fhir, {
        criteria: 'Observation?code=http://loinc.org|1234-5',
        channel: {
          type: 'rest-hook',
          endpoint: receiver.url,
          payload: 'application/fhir+json',
          _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: 'id-only' }] },
        } as Subscription['channel'],
      });
      await statusOf(fhir, created.id!, 'active');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(((await fhir.post('Observation', observation('patient-001', '1234-5'))).body as { id: string }).id);
      await statusOf(fhir, created.id!, 'error', 20_000);
      await node.stop();

      receiver.status = 200;
      const failed = receiver.requests.length;
      node = await startTestServer({ dataDir, port, allowPrivateNetworkFetch: true });
      fhir = fhirClient(node.fhirUrl, await backend.token());
      // What waited goes out again (in one Bundle or more), in order.
      const deadline = Date.now() + 30_000;
      while (eventsOf(receiver.requests.slice(failed)).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await statusOf(fhir, created.id!, 'active');
      ids.push(((await fhir.post('Observation', observation('patient-001', '1234-5'))).body as { id: string }).id);
      while (eventsOf(receiver.requests.slice(failed)).length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      expect(eventsOf(receiver.requests.slice(failed))).toEqual(ids.map((id, i) => [String(i + 1), `${node.fhirUrl}/Observation/${id}`]));
    } finally {
      await node.stop();
      await receiver.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
