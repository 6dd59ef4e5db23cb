/**
 * What a Subscription resource reads as (src/subscriptions/spec.ts): the channel, payload and
 * header rules as a table of accepted and refused resources, with the status and message each
 * refusal gets.
 */
import type { Subscription } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../../src/r4/errors.js';
import { BACKPORT_HEARTBEAT_PERIOD, BACKPORT_PAYLOAD_CONTENT, readSubscription } from '../../../src/subscriptions/spec.js';

const BASE = { baseUrl: 'https://bedside.example/fhir', allowPrivateNetwork: false };
const subscription = (channel: Record<string, unknown>, extra: Record<string, unknown> = {}): Subscription =>
  ({
    resourceType: 'Subscription',
    id: 's',
    status: 'requested',
    reason: 'r',
    criteria: 'Observation?code=1234-5',
    channel: { type: 'rest-hook', endpoint: 'https://hooks.example/in', ...channel },
    ...extra,
  }) as Subscription;
const content = (code: string) => ({ _payload: { extension: [{ url: BACKPORT_PAYLOAD_CONTENT, valueCode: code }] } });

describe('reading a Subscription', () => {
  it.each([
    ['no payload: an R4 notification without content', {}, { style: 'r4', content: 'empty' }],
    ['a payload: R4, the resource PUT', { payload: 'application/fhir+json' }, { style: 'r4', content: 'full-resource' }],
    ['id-only: a Backport Bundle', { payload: 'application/fhir+json', ...content('id-only') }, { style: 'bundle', content: 'id-only' }],
    ['empty declared: a Backport Bundle without focus', content('empty'), { style: 'bundle', content: 'empty' }],
    [
      'headers, trimmed',
      { header: ['Authorization:  Bearer x ', 'X-A: 1'] },
      {
        headers: [
          ['Authorization', 'Bearer x'],
          ['X-A', '1'],
        ],
      },
    ],
    ['a heartbeat period', { extension: [{ url: BACKPORT_HEARTBEAT_PERIOD, valueUnsignedInt: 5 }] }, { heartbeatSeconds: 5 }],
  ])('%s', (_what, channel, expected) => {
    expect(readSubscription(subscription(channel), BASE).channel).toMatchObject(expected);
  });

  it('reads criteria, end and the owner record', () => {
    const spec = readSubscription(
      subscription(
        {},
        {
          criteria: 'Observation?patient=p1&code=1234-5',
          end: '2030-01-01T00:00:00Z',
          extension: [{ url: 'https://bedside.dev/fhir/StructureDefinition/subscription-owner', valueString: 'rec' }],
        },
      ),
      BASE,
    );
    expect(spec.criteria).toMatchObject({ resourceType: 'Observation', text: 'Observation?patient=p1&code=1234-5', where: { op: 'and' } });
    expect(spec.end).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(spec.ownerRecord).toBe('rec');
    expect(spec.channel.endpoint).toBe('https://hooks.example/in');
  });

  it.each([
    ['plain http without the private-network setting', { endpoint: 'http://hooks.example/in' }, 422, /must be https/],
    ['a loopback endpoint', { endpoint: 'https://127.0.0.1/in' }, 422, /not a public address \(loopback\).*ALLOW_PRIVATE_NETWORK_FETCH/],
    ['a localhost endpoint', { endpoint: 'https://localhost/in' }, 422, /not a public address/],
    ['a fragment', { endpoint: 'https://hooks.example/in#x' }, 400, /fragment/],
    ['an unknown payload content', { payload: 'application/fhir+json', ...content('everything') }, 400, /empty, id-only or full-resource/],
    ['id-only without a payload', content('id-only'), 400, /needs Subscription.channel.payload/],
    ['a heartbeat of 0', { extension: [{ url: BACKPORT_HEARTBEAT_PERIOD, valueUnsignedInt: 0 }] }, 400, /1 to 3600/],
    ['a header with CR LF', { header: ['X-A: 1\r\nX-B: 2'] }, 400, /"Name: value"/],
    ['Content-Length', { header: ['Content-Length: 5'] }, 400, /may not set Content-Length/],
    ['21 headers', { header: Array.from({ length: 21 }, (_, i) => `X-${i}: v`) }, 400, /at most 20/],
    ['sms', { type: 'sms', endpoint: 'tel:+1555' }, 422, /sms is not supported/],
  ])('refuses %s', (_what, channel, status, message) => {
    let error: unknown;
    try {
      readSubscription(subscription(channel), BASE);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBe(status);
    expect((error as FhirError).message).toMatch(message);
  });

  it('accepts loopback and plain http with the private-network setting (closed networks, tests)', () => {
    expect(readSubscription(subscription({ endpoint: 'http://127.0.0.1:9000/in/' }), { ...BASE, allowPrivateNetwork: true }).channel.endpoint).toBe(
      'http://127.0.0.1:9000/in',
    );
  });

  it('refuses criteria that are not a search on one type', () => {
    for (const criteria of ['/Observation', 'Observation?_include=Observation:subject', '?code=x', 'observation', 'Observation?date=notadate']) {
      expect(() => readSubscription(subscription({}, { criteria }), BASE), criteria).toThrow(FhirError);
    }
  });
});
