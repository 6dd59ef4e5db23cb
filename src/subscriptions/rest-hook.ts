/**
 * Sending one rest-hook notification, through the server's outbound-fetch policy
 * (security/outbound-fetch.ts: public addresses only unless ALLOW_PRIVATE_NETWORK_FETCH, bounded
 * time and size), with the subscription's `channel.header` lines.
 *
 * As R4 defines it (https://hl7.org/fhir/R4/subscription.html#2.46.7.1):
 * - no payload: `POST [endpoint]` without a body;
 * - a payload: the resource is PUT to `[endpoint]/[type]/[id]` (the endpoint is a FHIR base).
 * With the Backport IG's payload content extension: a notification Bundle (notification.ts) is
 * POSTed to `[endpoint]`, carrying every event waiting for the subscription (up to a limit the
 * caller sets), in order.
 *
 * Any 2xx answer is a delivery; anything else (another status, a redirect, no answer within the
 * policy's time limit) is a {@link DeliveryFailure} whose message may be shown in
 * `Subscription.error`: it names the endpoint's answer, never the resource.
 */
import type { OutboundFetch } from '../security/outbound-fetch.js';
import { versionJson } from '../storage/stored-version.js';
import type { LiveSubscription } from './live.js';
import { notificationBundle, type NotificationEvent } from './notification.js';

export class DeliveryFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryFailure';
  }
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export class RestHookSender {
  constructor(
    private readonly fetch: OutboundFetch,
    private readonly baseUrl: string,
  ) {}

  /**
   * Sends `events` (in order) as `live` asks: a notification Bundle carries them all; R4 sends
   * one, so it takes only the first. Throws a DeliveryFailure.
   */
  async send(live: LiveSubscription, events: readonly NotificationEvent[]): Promise<void> {
    const { channel } = live.spec;
    const endpoint = channel.endpoint!;
    const headers: Record<string, string> = Object.fromEntries(channel.headers);
    const first = events[0]!;
    let method: 'POST' | 'PUT' = 'POST';
    let url = endpoint;
    let body: string | undefined;
    if (channel.style === 'bundle') {
      const eventsSinceStart = events[events.length - 1]!.number;
      const bundle = notificationBundle(
        { baseUrl: this.baseUrl, subscription: live.spec.id, status: 'active', type: 'event-notification', eventsSinceStart, content: channel.content },
        events,
      );
      body = JSON.stringify(bundle);
    } else if (channel.content === 'full-resource') {
      method = 'PUT';
      url = `${endpoint}/${first.version.resourceType}/${first.version.id}`;
      // The stored JSON as it is, not parsed and serialized again.
      body = versionJson(first.version);
    }
    if (body !== undefined) headers['content-type'] = FHIR_JSON;
    const what = method === 'PUT' ? `PUT of the resource to ${endpoint}/…` : `POST to ${endpoint}`;
    let status: number;
    try {
      status = await this.fetch.send(url, { method, headers, ...(body === undefined ? {} : { body }) });
    } catch (error) {
      throw new DeliveryFailure(`The ${what} failed: ${reasonOf(error)}`);
    }
    if (status < 200 || status >= 300) throw new DeliveryFailure(`The ${what} was answered ${status}`);
  }
}

function reasonOf(error: unknown): string {
  const outer = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (outer.name === 'TimeoutError' || outer.name === 'AbortError' || outer.code?.endsWith('_TIMEOUT')) return 'no answer in time';
  const inner = outer.cause ?? outer;
  // The policy's refusal says which address and which setting; a network error's code says enough.
  if (inner.code && inner.code !== 'ERR_OUTBOUND_FETCH_REFUSED') return inner.code;
  return String(inner.message ?? error).slice(0, 200);
}
