/**
 * What a notification says, as the Subscriptions Backport IG shapes it for R4: a `history`
 * Bundle whose first entry is the subscription's status (a Parameters resource in the
 * backport-subscription-status-r4 profile), followed by the resources notified about as the
 * payload content asks: nothing (`empty`), their URL (`id-only`) or the version itself
 * (`full-resource`). Handshakes and heartbeats are the status alone.
 *
 * Bedside's subscriptions are R4 criteria-based, not topic-based, so the status has no `topic`.
 *
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/notifications.html
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/StructureDefinition-backport-subscription-status-r4.html
 */
import type { Bundle, BundleEntry, FhirResource, Parameters, ParametersParameter } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import type { StoredVersion } from '../storage/resource-store.js';
import type { PayloadContent, SubscriptionStatus } from './spec.js';

export const STATUS_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification';

export interface NotificationEvent {
  /** The event's number in this subscription (1, 2, ...). */
  number: number;
  version: StoredVersion;
}

export interface NotificationFacts {
  /** The FHIR base URL (no trailing slash). */
  baseUrl: string;
  subscription: string;
  status: SubscriptionStatus;
  type: NotificationType;
  /** Events notified since the subscription started, this one included. */
  eventsSinceStart: number;
  content: PayloadContent;
}

export function notificationBundle(facts: NotificationFacts, events: readonly NotificationEvent[] = []): Bundle {
  const { baseUrl } = facts;
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${baseUrl}/Subscription/${facts.subscription}` } },
    { name: 'status', valueCode: facts.status },
    { name: 'type', valueCode: facts.type },
    { name: 'events-since-subscription-start', valueString: String(facts.eventsSinceStart) },
    ...events.map(
      (e): ParametersParameter => ({
        name: 'notification-event',
        part: [
          { name: 'event-number', valueString: String(e.number) },
          { name: 'timestamp', valueInstant: e.version.lastUpdated },
          ...(facts.content === 'empty' ? [] : [{ name: 'focus', valueReference: { reference: urlOf(baseUrl, e.version) } }]),
        ],
      }),
    ),
  ];
  const id = randomUUID();
  const status: Parameters = { resourceType: 'Parameters', id, meta: { profile: [STATUS_PROFILE] }, parameter };
  const entries: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:${id}`,
      resource: status,
      request: { method: 'GET', url: `${baseUrl}/Subscription/${facts.subscription}/$status` },
      response: { status: '200' },
    },
  ];
  if (facts.content !== 'empty') for (const e of events) entries.push(focusEntry(baseUrl, e.version, facts.content === 'full-resource'));
  return { resourceType: 'Bundle', id: randomUUID(), type: 'history', timestamp: new Date().toISOString(), entry: entries };
}

function focusEntry(baseUrl: string, version: StoredVersion, withResource: boolean): BundleEntry {
  const created = version.method === 'POST';
  return {
    fullUrl: urlOf(baseUrl, version),
    ...(withResource && version.resource ? { resource: version.resource as FhirResource } : {}),
    request: { method: created ? 'POST' : 'PUT', url: created ? version.resourceType : `${version.resourceType}/${version.id}` },
    response: { status: created ? '201' : '200' },
  };
}

function urlOf(baseUrl: string, version: StoredVersion): string {
  return `${baseUrl}/${version.resourceType}/${version.id}`;
}
