/**
 * R4 Subscriptions, put together: being told when data changes instead of polling.
 *
 * | piece | what |
 * | --- | --- |
 * | write-rule.ts | Subscription writes through the FHIR API: checked, criteria run as the writer could, owner recorded |
 * | dispatcher.ts | rest-hooks: one node at a time follows the change feed, matches, delivers in order, at least once |
 * | websocket.ts  | websockets on every node: `bind-with-token`, notifications, heartbeats |
 * | binding.ts    | `Subscription/{id}/$get-ws-binding-token` |
 *
 * Everything about a notification is decided with the policy of the subscription's owner, as
 * recorded when it was written (live.ts): what matches, what may be sent, and whether it still
 * may. Bedside itself reads and updates Subscriptions through a store bound to its own
 * `system/Subscription.rus` policy.
 *
 * https://hl7.org/fhir/R4/subscription.html
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/
 */
import type { Resource } from 'fhir/r4';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ChangeFeed, StandingSearch } from '../access/change-feed.js';
import type { GuardedStore } from '../access/guarded-store.js';
import type { AccessPolicy, Principal } from '../access/policy.js';
import type { ResourceAccess } from '../access/resource-access.js';
import type { Config } from '../config.js';
import type { Operation } from '../fhir/api.js';
import type { WriteRule } from '../fhir/context.js';
import { parseSearch } from '../search/parse.js';
import type { Logger } from '../log.js';
import { createOutboundFetch } from '../security/outbound-fetch.js';
import type { DocumentStore } from '../storage/document-store.js';
import type { IndexEntry } from '../storage/search-index.js';
import type { SearchRegistry } from '../search/registry.js';
import type { RevocationNotices } from '../security/revocation-notices.js';
import { BindingTokens, getWsBindingToken } from './binding.js';
import { RestHookDispatcher } from './dispatcher.js';
import { createLoader, OwnerValidity, type OwnerCheck } from './live.js';
import { OwnerRecords } from './owners.js';
import { RestHookSender } from './rest-hook.js';
import { StatusWriter } from './status.js';
import { WebSocketHub } from './websocket.js';
import { subscriptionWriteRule } from './write-rule.js';

/** Tuning that is not configuration: sensible for every deployment, changed here if ever. */
const TUNING = {
  /** How often the feed is read for writes of other nodes (and a standby looks for the lease). */
  pollMs: 250,
  /** This node's writes are read 5 ms after their commit, together. */
  commitDelayMs: 5,
  /** How long the rest-hook lease holds without renewal: a dead leader's successor waits this long. */
  leaseMs: 5000,
  /** How often the leader writes its watermark (when it moved). */
  flushMs: 200,
  pageSize: 500,
  /** Retries after 0.5 s, 1 s, 2 s ... up to once a minute. */
  retryBaseMs: 500,
  retryMaxMs: 60_000,
  errorAfterFailures: 3,
  maxBacklog: 10_000,
  eventsPerBundle: 100,
  /** How often every subscription's owner is checked without a notification to send. */
  sweepMs: 2000,
  bindTimeoutMs: 10_000,
  pingMs: 30_000,
};

export interface SubscriptionsDependencies {
  config: Config;
  documents: DocumentStore;
  logger: Logger;
  access: ResourceAccess;
  changes: ChangeFeed;
  /** Subscriptions as Bedside's own `system/Subscription.rus` policy sees them. */
  subscriptions: GuardedStore;
  /** The policy of a subscription's owner as it is now. */
  resume(owner: Principal): AccessPolicy;
  /** Why an owner's authorization has ended (grant or token revoked, client removed ...), or undefined. */
  ownerRevoked: OwnerCheck;
  /** This node's revocations: the subscriptions they cover are checked again at once. */
  revocations?: RevocationNotices;
  indexer: (resource: Resource) => IndexEntry[];
  /** The search parameters in force (R4 plus installed packages'), for criteria. */
  searchRegistry: () => SearchRegistry;
  /** The websocket endpoint's path on this server, e.g. `/fhir/websocket`. */
  websocketPath: string;
}

/** What the CapabilityStatement says about Subscription. */
export const SUBSCRIPTION_DOCUMENTATION =
  'R4 criteria-based subscriptions: channel.type rest-hook or websocket; channel.payload absent (notification only) or application/fhir+json ' +
  '(rest-hook: the resource is PUT to [endpoint]/[type]/[id]); the Subscriptions Backport payload-content extension (empty, id-only, full-resource) ' +
  'for notification Bundles; channel.header sent on rest-hooks; criteria must be a search the creating token may run, and notifications carry ' +
  'only what that token may read. Websockets bind with Subscription/[id]/$get-ws-binding-token and "bind-with-token: <token>".';

export interface Subscriptions {
  operations: Operation[];
  /** The websocket URL (for the CapabilityStatement). */
  websocketUrl: string;
  writeRules: Record<string, WriteRule>;
  /** Takes a websocket upgrade request for the websocket path; false for any other. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Starts delivering on this node (the server does; tools do not). */
  start(): void;
  /** Stops delivering and closes the websockets; safe to call more than once. */
  close(): Promise<void>;
}

export function createSubscriptions(deps: SubscriptionsDependencies): Subscriptions {
  const { config, documents, logger, access, changes, subscriptions } = deps;
  const read = { baseUrl: config.fhirBaseUrl, allowPrivateNetwork: config.allowPrivateNetworkFetch, registry: deps.searchRegistry };
  const owners = new OwnerRecords(documents);
  const tokens = new BindingTokens(documents);
  const load = createLoader({ owners, access, resume: deps.resume, read });
  const validity = new OwnerValidity(deps.ownerRevoked, config.revocationCheckMs);
  const subscriptionChanges: StandingSearch = { policy: subscriptions.policy, resourceType: 'Subscription', where: { op: 'true' } };
  const running = parseSearch('Subscription', new URLSearchParams({ status: 'requested,active,error' }), {
    baseUrl: config.fhirBaseUrl,
    strict: true,
    maxCount: 1,
    defaultCount: 1,
  }).where;
  const outbound = createOutboundFetch({ allowPrivateNetwork: config.allowPrivateNetworkFetch });
  const websocketUrl = `${config.fhirBaseUrl.replace(/^http/, 'ws')}/websocket`;
  let closing: Promise<void> | undefined;

  const dispatcher = new RestHookDispatcher({
    feed: changes,
    documents,
    subscriptions,
    subscriptionChanges,
    running,
    load,
    owners,
    validity,
    statuses: new StatusWriter(subscriptions, deps.indexer),
    sender: new RestHookSender(outbound, config.fhirBaseUrl),
    logger,
    // A match stands as long as the API reuses its other access decisions (REVOCATION_CHECK_MS).
    tuning: { ...TUNING, matchFreshMs: config.revocationCheckMs },
  });
  const hub = new WebSocketHub({
    feed: changes,
    tokens,
    subscriptions,
    subscriptionChanges,
    load,
    validity,
    logger,
    baseUrl: config.fhirBaseUrl,
    path: deps.websocketPath,
    tuning: TUNING,
  });
  // A revocation on this node: what it covers stops now, not at the next check.
  const stopListening = deps.revocations?.subscribe(() => {
    validity.forget();
    dispatcher.sweepNow();
    void hub.sweep().catch((err: unknown) => logger.error({ err }, 'websocket sweep failed'));
  });
  return {
    operations: [
      {
        name: 'get-ws-binding-token',
        definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-get-ws-binding-token',
        levels: ['instance'],
        types: ['Subscription'],
        methods: ['GET', 'POST'],
        handler: getWsBindingToken({ tokens, owners, websocketUrl }),
      },
    ],
    websocketUrl,
    writeRules: { Subscription: subscriptionWriteRule(owners, read) },
    upgrade: (req, socket, head) => hub.upgrade(req, socket, head),
    start() {
      dispatcher.start();
      hub.start();
    },
    close() {
      closing ??= (async () => {
        stopListening?.();
        await hub.close();
        await dispatcher.close();
        await outbound.close();
      })();
      return closing;
    },
  };
}
