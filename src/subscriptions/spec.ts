/**
 * What a Subscription resource asks for, read and checked once: the criteria as a search, the
 * channel, the payload, the status. Pure: the write rule (write-rule.ts) refuses what does not
 * read here with a 400 or 422, and the dispatcher reads stored subscriptions with it.
 *
 * Supported (R4 criteria-based subscriptions, https://hl7.org/fhir/R4/subscription.html):
 * - `channel.type` `rest-hook` and `websocket` (email, sms and message are refused with 422);
 * - `channel.payload` left out (notification only) or `application/fhir+json`;
 * - the Subscriptions Backport IG's `backport-payload-content` extension on `channel.payload`
 *   (`empty`, `id-only`, `full-resource`): rest-hooks then POST notification Bundles, as
 *   websockets always send them;
 * - the Backport IG's `backport-heartbeat-period` extension on `channel` (websocket heartbeats);
 * - `channel.header` as `Name: value` lines, sent with every rest-hook request;
 * - `end`: the subscription is turned off when it has passed.
 *
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/channels.html
 */
import type { Extension, Subscription } from 'fhir/r4';
import { badRequest, unprocessable } from '../r4/errors.js';
import { parseSearch } from '../search/parse.js';
import type { SearchRegistry } from '../search/registry.js';
import { RESULT_PARAMETERS } from '../search/result-params.js';
import { fetchRefusal } from '../security/network-addresses.js';
import type { Condition } from '../storage/search-index.js';

export type SubscriptionStatus = 'requested' | 'active' | 'error' | 'off';
/** What a notification carries (the Backport IG's payload content codes). */
export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

export const BACKPORT_PAYLOAD_CONTENT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';
export const BACKPORT_HEARTBEAT_PERIOD = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period';
/**
 * Bedside's own extension: which record of the subscription's owner (the principal that created
 * or last changed it) this version belongs to. The server sets it on every write through the
 * FHIR API; what a client sends in its place is replaced.
 */
export const OWNER_EXTENSION = 'https://bedside.dev/fhir/StructureDefinition/subscription-owner';

export interface SubscriptionSpec {
  id: string;
  versionId?: string;
  status: SubscriptionStatus;
  criteria: { text: string; resourceType: string; where: Condition };
  channel: {
    type: 'rest-hook' | 'websocket';
    /** rest-hook only: the absolute http(s) URL notified. */
    endpoint?: string;
    headers: Array<[name: string, value: string]>;
    /**
     * How a rest-hook notifies: `r4` as R4 defines it (a POST without body, or the resource PUT
     * to `[endpoint]/[type]/[id]` when there is a payload); `bundle` as the Backport IG does (a
     * notification Bundle POSTed to the endpoint).
     */
    style: 'r4' | 'bundle';
    content: PayloadContent;
    /** Seconds between websocket heartbeats. */
    heartbeatSeconds: number;
  };
  /** Epoch ms after which the subscription is turned off. */
  end?: number;
  /** The owner record this version belongs to ({@link OWNER_EXTENSION}). */
  ownerRecord?: string;
}

export interface ReadOptions {
  baseUrl: string;
  /** The search parameters in force (R4 plus installed packages'); R4's when absent. */
  registry?: () => SearchRegistry;
  /** ALLOW_PRIVATE_NETWORK_FETCH: rest-hook endpoints may be private addresses and plain http. */
  allowPrivateNetwork: boolean;
}

export const DEFAULT_HEARTBEAT_SECONDS = 60;
const MAX_HEADERS = 20;
const MAX_HEADER_LENGTH = 4096;
/** Result parameters, and the wire-format ones, shape a search's answer, which a subscription does not have. */
const NOT_IN_CRITERIA = new Set([...RESULT_PARAMETERS, '_format', '_pretty']);
/** Headers the HTTP client sets itself, or that change how the connection behaves. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const STATUSES = new Set<SubscriptionStatus>(['requested', 'active', 'error', 'off']);

/** Reads `resource`, throwing a 400 (malformed) or 422 (not supported) FhirError naming the element. */
export function readSubscription(resource: Subscription, options: ReadOptions): SubscriptionSpec {
  if (!STATUSES.has(resource.status as SubscriptionStatus))
    throw badRequest(`Subscription.status must be requested, active, error or off`, ['Subscription.status']);
  const channel = readChannel(resource, options);
  const spec: SubscriptionSpec = {
    id: resource.id ?? '',
    status: resource.status as SubscriptionStatus,
    criteria: readCriteria(resource.criteria, options),
    channel,
  };
  if (resource.meta?.versionId) spec.versionId = resource.meta.versionId;
  if (resource.end !== undefined) {
    const end = Date.parse(resource.end);
    if (Number.isNaN(end)) throw badRequest('Subscription.end is not a valid instant', ['Subscription.end']);
    spec.end = end;
  }
  const owner = resource.extension?.find((e) => e.url === OWNER_EXTENSION)?.valueString;
  if (owner) spec.ownerRecord = owner;
  return spec;
}

/** `Type?search`: a search on one type, without the base and without result parameters. */
function readCriteria(text: string | undefined, options: ReadOptions): SubscriptionSpec['criteria'] {
  const where = ['Subscription.criteria'];
  if (!text) throw badRequest('Subscription.criteria is required: a search such as Observation?patient=Patient/123', where);
  if (/^(\/|[a-z][a-z0-9+.-]*:)/i.test(text))
    throw badRequest('Subscription.criteria is a search relative to the FHIR base, such as Observation?code=1234-5, not a URL', where);
  const q = text.indexOf('?');
  const resourceType = q < 0 ? text : text.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : text.slice(q + 1));
  if (!/^[A-Z][A-Za-z]+$/.test(resourceType))
    throw badRequest(`Subscription.criteria must start with a resource type (got "${resourceType.slice(0, 60)}")`, where);
  for (const name of params.keys()) {
    const base = name.split(':')[0]!;
    if (NOT_IN_CRITERIA.has(base)) throw badRequest(`Subscription.criteria: ${base} shapes a search's answer and has no meaning for a subscription`, where);
  }
  try {
    const registry = options.registry?.();
    return {
      text,
      resourceType,
      where: parseSearch(resourceType, params, { baseUrl: options.baseUrl, strict: true, maxCount: 1, defaultCount: 1, ...(registry ? { registry } : {}) })
        .where,
    };
  } catch (error) {
    if (error instanceof Error && 'issues' in error) (error as { issues: Array<{ expression?: string[] }> }).issues[0]!.expression = where;
    throw error;
  }
}

function readChannel(resource: Subscription, options: ReadOptions): SubscriptionSpec['channel'] {
  const channel = resource.channel;
  if (!channel?.type) throw badRequest('Subscription.channel.type is required', ['Subscription.channel.type']);
  if (channel.type !== 'rest-hook' && channel.type !== 'websocket') {
    throw unprocessable(`Subscription.channel.type ${channel.type} is not supported: Bedside notifies over rest-hook and websocket`);
  }
  const payload = channel.payload;
  if (payload !== undefined && payload !== 'application/fhir+json' && payload !== 'application/json') {
    throw unprocessable(
      `Subscription.channel.payload ${String(payload).slice(0, 60)} is not supported: use application/fhir+json, or leave it out for notifications without content`,
    );
  }
  const declared = extensionOf((channel as { _payload?: { extension?: Extension[] } })._payload?.extension, BACKPORT_PAYLOAD_CONTENT)?.valueCode;
  if (declared !== undefined && declared !== 'empty' && declared !== 'id-only' && declared !== 'full-resource') {
    throw badRequest(`The backport-payload-content extension must be empty, id-only or full-resource (got ${String(declared).slice(0, 40)})`, [
      'Subscription.channel.payload',
    ]);
  }
  if (declared && declared !== 'empty' && payload === undefined) {
    throw badRequest(`A ${declared} payload needs Subscription.channel.payload application/fhir+json`, ['Subscription.channel.payload']);
  }
  const content: PayloadContent = declared ?? (payload ? 'full-resource' : 'empty');
  const heartbeat = extensionOf(channel.extension, BACKPORT_HEARTBEAT_PERIOD)?.valueUnsignedInt;
  if (heartbeat !== undefined && !(Number.isInteger(heartbeat) && heartbeat >= 1 && heartbeat <= 3600)) {
    throw badRequest('The backport-heartbeat-period extension must be a number of seconds from 1 to 3600', ['Subscription.channel']);
  }
  const spec: SubscriptionSpec['channel'] = {
    type: channel.type,
    headers: readHeaders(channel.header ?? []),
    style: declared === undefined ? 'r4' : 'bundle',
    content,
    heartbeatSeconds: heartbeat ?? DEFAULT_HEARTBEAT_SECONDS,
  };
  if (channel.type === 'rest-hook') spec.endpoint = readEndpoint(channel.endpoint, options);
  return spec;
}

function readEndpoint(endpoint: string | undefined, options: ReadOptions): string {
  const where = ['Subscription.channel.endpoint'];
  if (!endpoint) throw badRequest('A rest-hook subscription needs Subscription.channel.endpoint, the URL to notify', where);
  const url = URL.parse(endpoint);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw badRequest('Subscription.channel.endpoint must be an absolute http or https URL', where);
  if (url.protocol === 'http:' && !options.allowPrivateNetwork) {
    throw unprocessable(
      'Subscription.channel.endpoint must be https: notifications carry patient data (plain http is allowed only with ALLOW_PRIVATE_NETWORK_FETCH=true, on closed networks)',
    );
  }
  if (url.username || url.password)
    throw badRequest('Subscription.channel.endpoint must not hold credentials; send them in Subscription.channel.header', where);
  if (url.hash) throw badRequest('Subscription.channel.endpoint must not have a fragment', where);
  const refusal = fetchRefusal(url, options.allowPrivateNetwork);
  if (refusal) throw unprocessable(`Subscription.channel.endpoint is refused: ${refusal}`);
  return url.href.replace(/\/+$/, '');
}

function readHeaders(lines: string[]): Array<[string, string]> {
  const where = ['Subscription.channel.header'];
  if (lines.length > MAX_HEADERS) throw badRequest(`Subscription.channel.header may have at most ${MAX_HEADERS} lines`, where);
  return lines.map((line) => {
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    const value = colon < 0 ? '' : line.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name) || line.length > MAX_HEADER_LENGTH || /[\r\n\0]/.test(value)) {
      throw badRequest('Each Subscription.channel.header is one HTTP header line, "Name: value"', where);
    }
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw badRequest(`Subscription.channel.header may not set ${name}: the server sets it`, where);
    return [name, value];
  });
}

function extensionOf(extensions: Extension[] | undefined, url: string): Extension | undefined {
  return extensions?.find((e) => e.url === url);
}
