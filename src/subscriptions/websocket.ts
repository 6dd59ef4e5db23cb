/**
 * Websocket notifications, as the Subscriptions Backport IG (and R5) bind them: the client gets a
 * token from `Subscription/{id}/$get-ws-binding-token` (binding.ts), connects to the
 * `websocket-url` it names (`[base]/websocket`, on the same HTTP server as the FHIR API) and
 * sends `bind-with-token: <token>`. The server answers with a handshake Bundle, then sends a
 * notification Bundle (notification.ts) for each matching change, with the content the
 * subscription asks for, and a heartbeat Bundle every `backport-heartbeat-period` seconds
 * (60 by default). One connection may bind several subscriptions; binding again after a
 * reconnect works with the same token until it expires, or with a new one.
 *
 * Each node notifies the sockets bound on it, from its own reading of the change feed (woken by
 * its own writes, polling for other nodes'), with the same checks as rest-hooks: the owner's
 * policy matches and must still read the resource, and the owner's authorization must stand.
 * When it ends (or the subscription is turned off or deleted) the sockets bound to it are closed.
 * Event numbers count the events this node has sent for the subscription since it was first
 * bound here: the count is per node and starts again after a restart, so a client uses it to
 * notice gaps on one connection, and the rest-hook channel where every notification matters.
 * A socket that binds nothing within BIND_TIMEOUT_MS, sends anything else, or stops answering
 * pings is closed.
 *
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/channels.html#websockets
 */
import type { Subscription } from 'fhir/r4';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Change, ChangeFeed, StandingSearch } from '../access/change-feed.js';
import type { GuardedStore } from '../access/guarded-store.js';
import type { Logger } from '../log.js';
import { SerialPass } from '../serial-pass.js';
import { holds, type BindingTokens } from './binding.js';
import { sameActor } from './owners.js';
import { readableVersion, type LiveSubscription, type OwnerValidity } from './live.js';
import { notificationBundle, type NotificationType } from './notification.js';

export interface WebSocketTuning {
  pollMs: number;
  /** A connection must bind within this long. */
  bindTimeoutMs: number;
  /** Protocol pings; a socket that did not answer the previous one is closed. */
  pingMs: number;
  pageSize: number;
}

export interface WebSocketHubDependencies {
  feed: ChangeFeed;
  tokens: BindingTokens;
  subscriptions: GuardedStore;
  subscriptionChanges: StandingSearch;
  load(resource: Subscription): Promise<LiveSubscription | { problem: string }>;
  validity: OwnerValidity;
  logger: Logger;
  /** The FHIR base URL, for the Bundles. */
  baseUrl: string;
  /** The path the upgrade requests come to, e.g. `/fhir/websocket`. */
  path: string;
  tuning: WebSocketTuning;
}

/** One subscription bound on this node, with its sockets. */
interface Binding {
  live: LiveSubscription;
  sockets: Set<WebSocket>;
  heartbeat: NodeJS.Timeout;
}

const MAX_MESSAGE_BYTES = 4096;
const BIND = /^bind-with-token:?\s+(\S+)\s*$/;

export class WebSocketHub {
  readonly #deps: WebSocketHubDependencies;
  readonly #server = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  readonly #bindings = new Map<string, Binding>();
  /** Events sent per subscription since it was first bound on this node. */
  readonly #events = new Map<string, number>();
  readonly #alive = new WeakSet<WebSocket>();
  readonly #timers: NodeJS.Timeout[] = [];
  #stopListening: (() => void) | undefined;
  #cursor: string | undefined;
  readonly #reads = new SerialPass({
    pass: () => this.#read(),
    onError: (err) => this.#deps.logger.error({ err }, 'websocket notifications failed'),
    rerun: () => setImmediate(() => this.wake()),
  });
  #closed = false;

  constructor(deps: WebSocketHubDependencies) {
    this.#deps = deps;
  }

  start(): void {
    this.#timers.push(setInterval(() => this.wake(), this.#deps.tuning.pollMs).unref());
    this.#timers.push(setInterval(() => this.#ping(), this.#deps.tuning.pingMs).unref());
    this.#stopListening = this.#deps.feed.onCommit(() => this.wake());
  }

  /** Takes an HTTP upgrade request for the websocket path; false for any other path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (req.url ?? '').split('?')[0];
    if (path !== this.#deps.path || this.#closed) return false;
    this.#server.handleUpgrade(req, socket, head, (ws) => this.#connected(ws));
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopListening?.();
    for (const timer of this.#timers) clearInterval(timer);
    for (const binding of this.#bindings.values()) clearInterval(binding.heartbeat);
    for (const ws of this.#server.clients) ws.close(1001, 'server shutting down');
    this.#bindings.clear();
    await this.#reads.current;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Reads the feed now, when something is bound here. */
  wake(): void {
    if (this.#closed || this.#bindings.size === 0) return;
    this.#reads.run();
  }

  // ---- connections ----------------------------------------------------------------------------

  #connected(ws: WebSocket): void {
    this.#alive.add(ws);
    const bound = new Set<string>();
    const timeout = setTimeout(() => {
      if (bound.size === 0) ws.close(1008, 'no bind-with-token message in time');
    }, this.#deps.tuning.bindTimeoutMs);
    ws.on('pong', () => this.#alive.add(ws));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const text = isBinary ? '' : data.toString();
      const token = BIND.exec(text)?.[1];
      if (!token) {
        ws.close(1008, 'the only message accepted is bind-with-token: <token>');
        return;
      }
      void this.#bind(ws, token)
        .then((id) => {
          if (id) bound.add(id);
          else ws.close(1008, 'invalid or expired binding token');
        })
        .catch((err: unknown) => {
          this.#deps.logger.error({ err }, 'websocket bind failed');
          ws.close(1011, 'the server could not bind the subscription');
        });
    });
    ws.on('close', () => {
      clearTimeout(timeout);
      for (const id of bound) this.#unbind(id, ws);
    });
    ws.on('error', () => ws.terminate());
  }

  /** Binds `ws` to the token's subscription; resolves to its id, or undefined when the token does not bind. */
  async #bind(ws: WebSocket, token: string): Promise<string | undefined> {
    const issued = await this.#deps.tokens.lookup(token);
    if (!issued) return undefined;
    const id = issued.subscription;
    let binding = this.#bindings.get(id);
    if (!binding) {
      const live = await this.#loadById(id);
      if (live?.spec.channel.type !== 'websocket' || !holds(issued.holder, live.owner.principal) || (await this.#deps.validity.ended(live))) return undefined;
      if (this.#bindings.size === 0) await this.#startReading();
      binding = this.#bindings.get(id);
      if (!binding) {
        const created: Binding = {
          live,
          sockets: new Set(),
          heartbeat: setInterval(() => void this.#heartbeat(id), live.spec.channel.heartbeatSeconds * 1000),
        };
        created.heartbeat.unref();
        this.#bindings.set(id, created);
        binding = created;
      }
    }
    // Someone else changed the subscription since the token was issued: it is not the holder's.
    if (ws.readyState !== WebSocket.OPEN || !holds(issued.holder, binding.live.owner.principal)) return undefined;
    binding.sockets.add(ws);
    this.#send(ws, binding, 'handshake');
    return id;
  }

  #unbind(id: string, ws: WebSocket): void {
    const binding = this.#bindings.get(id);
    if (!binding) return;
    binding.sockets.delete(ws);
    if (binding.sockets.size === 0) {
      clearInterval(binding.heartbeat);
      this.#bindings.delete(id);
    }
  }

  /** Closes every socket bound to `id` (its subscription stopped). */
  #end(id: string, reason: string): void {
    const binding = this.#bindings.get(id);
    if (!binding) return;
    clearInterval(binding.heartbeat);
    this.#bindings.delete(id);
    for (const ws of binding.sockets) ws.close(1000, reason.slice(0, 120));
  }

  async #loadById(id: string): Promise<LiveSubscription | undefined> {
    const current = await this.#deps.subscriptions.read('Subscription', id);
    if (!current || current.deleted) return undefined;
    const subscription = current.resource as Subscription;
    if (subscription.status === 'off') return undefined;
    const live = await this.#deps.load(subscription);
    return 'problem' in live ? undefined : live;
  }

  #ping(): void {
    for (const ws of this.#server.clients) {
      if (!this.#alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.#alive.delete(ws);
      ws.ping();
    }
  }

  /** Closes the sockets of every subscription bound here whose owner's authorization has ended. */
  async sweep(): Promise<void> {
    for (const [id, binding] of [...this.#bindings]) {
      if (await this.#deps.validity.ended(binding.live)) this.#end(id, 'the subscription has stopped');
    }
  }

  async #heartbeat(id: string): Promise<void> {
    const binding = this.#bindings.get(id);
    if (!binding) return;
    const ended = await this.#deps.validity.ended(binding.live);
    if (ended) return this.#end(id, 'the subscription has stopped');
    for (const ws of binding.sockets) this.#send(ws, binding, 'heartbeat');
  }

  #send(ws: WebSocket, binding: Binding, type: NotificationType, events: Parameters<typeof notificationBundle>[1] = []): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    const { spec } = binding.live;
    const bundle = notificationBundle(
      {
        baseUrl: this.#deps.baseUrl,
        subscription: spec.id,
        status: 'active',
        type,
        eventsSinceStart: this.#events.get(spec.id) ?? 0,
        content: spec.channel.content,
      },
      events,
    );
    ws.send(JSON.stringify(bundle));
  }

  // ---- the feed -------------------------------------------------------------------------------

  /** Starts reading the feed at its current end (when the first subscription is bound here). */
  async #startReading(): Promise<void> {
    this.#cursor = (await this.#deps.feed.read({ limit: 1 })).cursor;
  }

  async #read(): Promise<void> {
    const { feed, tuning } = this.#deps;
    while (this.#bindings.size > 0 && !this.#closed) {
      const page = await feed.read({ ...(this.#cursor !== undefined ? { after: this.#cursor } : {}), limit: tuning.pageSize });
      for (const change of page.changes) await this.#handle(change);
      this.#cursor = page.cursor;
      if (page.changes.length < tuning.pageSize) return;
    }
  }

  async #handle(change: Change): Promise<void> {
    if (change.resourceType === 'Subscription' && this.#bindings.has(change.id)) await this.#subscriptionChanged(change);
    if (change.deleted) return;
    const at = Date.parse(change.lastUpdated);
    for (const [id, binding] of [...this.#bindings]) {
      const { live } = binding;
      if (live.spec.criteria.resourceType !== change.resourceType || at < live.owner.since) continue;
      const [matched] = await this.#deps.feed.match(change, [live.search]);
      if (!matched || this.#bindings.get(id) !== binding) continue;
      const ended = await this.#deps.validity.ended(live);
      if (ended) {
        this.#end(id, 'the subscription has stopped');
        continue;
      }
      const version = await readableVersion(live, change);
      if (!version) continue;
      const number = (this.#events.get(id) ?? 0) + 1;
      this.#events.set(id, number);
      for (const ws of binding.sockets) this.#send(ws, binding, 'event-notification', [{ number, version }]);
    }
  }

  async #subscriptionChanged(change: Change): Promise<void> {
    const binding = this.#bindings.get(change.id)!;
    const [version] = change.deleted ? [undefined] : await this.#deps.feed.match(change, [this.#deps.subscriptionChanges]);
    const subscription = version?.resource as Subscription | undefined;
    if (!subscription || subscription.status === 'off') return this.#end(change.id, 'the subscription is off or deleted');
    const live = await this.#deps.load(subscription);
    if ('problem' in live || live.spec.channel.type !== 'websocket') return this.#end(change.id, 'the subscription has stopped');
    // Changed by someone else: it now notifies what they may read, which is not for these sockets.
    if (!sameActor(live.owner.principal, binding.live.owner.principal)) {
      // Nor is the count of what the previous owner heard.
      this.#events.delete(change.id);
      return this.#end(change.id, 'the subscription was changed by another client or user; bind again');
    }
    if (binding.live.spec.channel.heartbeatSeconds !== live.spec.channel.heartbeatSeconds) {
      clearInterval(binding.heartbeat);
      binding.heartbeat = setInterval(() => void this.#heartbeat(change.id), live.spec.channel.heartbeatSeconds * 1000);
      binding.heartbeat.unref();
    }
    binding.live = live;
  }
}
