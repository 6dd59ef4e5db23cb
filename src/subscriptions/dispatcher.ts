/**
 * Rest-hook delivery for the whole deployment, run by one node at a time: the node holding the
 * lease in the shared DocumentStore (collection `subscriptions.dispatch`), as export jobs do
 * (bulk/runner.ts). The others stand by and take over when the lease is not renewed.
 *
 * The leader follows the change feed (access/change-feed.ts) from a durable cursor, in commit
 * order: a change to a Subscription updates the running set (and turns `requested` into
 * `active`); any other change is matched against the running subscriptions of its type under
 * each owner's policy, and each match is queued for its subscription with the next event number.
 * Each subscription's queue is delivered in order, one request at a time (a notification Bundle
 * carries what is waiting, up to eventsPerBundle events; R4 one resource); a failure is
 * retried with exponential backoff, the subscription shows `error` after a few failures and
 * `active` again after the next delivery. A subscription whose owner's authorization ended, whose
 * `end` passed, or whose undelivered notifications exceed `maxBacklog` is turned `off`.
 *
 * Nothing a committed write produced is lost across a restart or `kill -9`:
 * - the feed cursor kept in the store (the watermark) only moves past a page of changes once
 *   every notification from it has been delivered or written to the subscription's backlog;
 * - a subscription's undelivered notifications are written to its backlog (collection
 *   `subscriptions.backlog`) as soon as one delivery fails, and kept there until delivered;
 * - a new leader loads the backlogs, then reads the feed again from the watermark.
 * So delivery is at least once: what was delivered after the last watermark was written is
 * delivered again by the next leader, with the same event numbers (they are kept with the
 * watermark and counted again in the same order).
 *
 * Deliveries happen on the leader only, so with several nodes on one store each notification is
 * delivered once (at least once across a failover). Changes written on another node reach the
 * leader when it next polls the feed (`pollMs`); its own wake it within `commitDelayMs`.
 */
import type { Subscription } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import type { Change, ChangeFeed, StandingSearch } from '../access/change-feed.js';
import type { GuardedStore } from '../access/guarded-store.js';
import type { Logger } from '../log.js';
import { SerialPass } from '../serial-pass.js';
import type { DocumentCollection, DocumentStore } from '../storage/document-store.js';
import { StorageError } from '../storage/errors.js';
import type { StoredVersion } from '../storage/resource-store.js';
import type { Condition } from '../storage/search-index.js';
import { readableVersion, type LiveSubscription, type OwnerValidity, type VersionRef } from './live.js';
import type { OwnerRecords } from './owners.js';
import type { NotificationEvent } from './notification.js';
import { DeliveryFailure, type RestHookSender } from './rest-hook.js';
import type { SubscriptionStatus } from './spec.js';
import type { StatusWriter } from './status.js';

export interface DispatchTuning {
  /** How often the leader reads the feed for other nodes' writes, and a standby looks for an expired lease. */
  pollMs: number;
  /**
   * How long after a commit on this node the leader reads the feed: the commits of that moment
   * are read, matched and queued together (one feed read for many writes under load).
   */
  commitDelayMs: number;
  /** How long the lease holds without renewal. */
  leaseMs: number;
  /** How often the leader writes its watermark (when it moved) and renews the lease. */
  flushMs: number;
  /** Changes per feed page. */
  pageSize: number;
  /** First retry delay; each failure doubles it, up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Consecutive failures after which the subscription shows `error`. */
  errorAfterFailures: number;
  /** Undelivered notifications after which the subscription is turned off. */
  maxBacklog: number;
  /** Most events in one notification Bundle (a subscription's backlog goes out in Bundles of this many). */
  eventsPerBundle: number;
  /** How often every subscription's owner and `end` are checked, notifications or not. */
  sweepMs: number;
  /**
   * How long the version a match read stands for the notification: one sent within this long of
   * its match goes out as matched; a later one (after a failure, from a backlog) is read again
   * through the owner's store first (live.ts `readableVersion`).
   */
  matchFreshMs: number;
}

export interface DispatcherDependencies {
  feed: ChangeFeed;
  documents: DocumentStore;
  /** Subscriptions as Bedside's own `system/Subscription.rus` policy sees them. */
  subscriptions: GuardedStore;
  /** The standing search for every Subscription change, under that policy. */
  subscriptionChanges: StandingSearch;
  /** Which Subscriptions run: `status` requested, active or error. */
  running: Condition;
  load(resource: Subscription): Promise<LiveSubscription | { problem: string }>;
  owners: OwnerRecords;
  validity: OwnerValidity;
  statuses: StatusWriter;
  sender: RestHookSender;
  logger: Logger;
  tuning: DispatchTuning;
}

interface DispatchState {
  lease?: { node: string; until: number };
  /** The watermark: every notification from changes before it is delivered or in a backlog. */
  cursor?: string;
  /** Event numbers given so far per subscription, as of the watermark. */
  events: Record<string, number>;
}

interface Backlog {
  ownerRecord: string;
  notifications: Array<VersionRef & { event: number }>;
}

/** One page of changes: its notifications not yet delivered nor in a backlog. */
interface Batch {
  cursor: string;
  pending: number;
  /** Event numbers reached in this page, per subscription. */
  events: Map<string, number>;
}

interface Queued {
  ref: VersionRef;
  event: number;
  /** The version the match read and when (kept in memory only, and only until a failure: see DispatchTuning.matchFreshMs). */
  matched?: { version: StoredVersion; at: number };
  /** The page it came from, while it is neither delivered nor in the backlog. */
  batch?: Batch;
}

/** One running rest-hook subscription and its queue. */
class Outbox {
  readonly queue: Queued[] = [];
  failures = 0;
  retryAt = 0;
  busy = false;
  closed = false;
  /** Shows `error` (set by us). */
  erroring = false;
  /** Has a backlog document; `unflushed` when queued notifications are not in it yet. */
  backlogged = false;
  unflushed = false;
  /**
   * The last event number restored from the backlog: events up to it, counted again when the feed
   * is replayed from the watermark, were delivered or are queued already.
   */
  restoredThrough = 0;
  timer: NodeJS.Timeout | undefined;

  constructor(public live: LiveSubscription) {}

  get id(): string {
    return this.live.spec.id;
  }
}

const STATE_ID = 'rest-hook';
const MAX_CAS_ATTEMPTS = 10;

export class RestHookDispatcher {
  readonly nodeId = randomUUID();
  readonly #deps: DispatcherDependencies;
  readonly #state: DocumentCollection<DispatchState>;
  readonly #backlogs: DocumentCollection<Backlog>;
  readonly #timers: NodeJS.Timeout[] = [];
  #stopListening: (() => void) | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #leading = false;
  #closed = false;
  readonly #ticks = new SerialPass({
    pass: () => this.#tick(),
    onError: (err) => this.#deps.logger.error({ err }, 'subscription dispatcher failed'),
    rerun: () => setImmediate(() => this.wake()),
  });

  // The leader's in-memory state, reset whenever leadership starts or ends.
  #readCursor: string | undefined;
  #watermark: string | undefined;
  #dirty = false;
  #batches: Batch[] = [];
  #events = new Map<string, number>();
  #safeEvents = new Map<string, number>();
  #outboxes = new Map<string, Outbox>();
  #byType = new Map<string, Set<Outbox>>();
  /** Per type, the running subscriptions and their searches, as one array kept until the set changes (the feed's matching is prepared per array). */
  #searchesByType = new Map<string, { outboxes: Outbox[]; searches: StandingSearch[] }>();
  /** Running websocket subscriptions: the leader keeps their status; each node delivers them. */
  #others = new Map<string, LiveSubscription>();
  #pruned = new Set<string>();
  #lastWrite = 0;
  #deliveries = new Set<Promise<void>>();

  constructor(deps: DispatcherDependencies) {
    this.#deps = deps;
    this.#state = deps.documents.collection<DispatchState>('subscriptions.dispatch');
    this.#backlogs = deps.documents.collection<Backlog>('subscriptions.backlog');
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    const { tuning } = this.#deps;
    this.#timers.push(setInterval(() => this.wake(), tuning.pollMs).unref());
    this.#timers.push(
      setInterval(
        () => void this.#flush().catch((err: unknown) => this.#deps.logger.error({ err }, 'subscription dispatcher flush failed')),
        tuning.flushMs,
      ).unref(),
    );
    this.#timers.push(
      setInterval(() => void this.#sweep().catch((err: unknown) => this.#deps.logger.error({ err }, 'subscription sweep failed')), tuning.sweepMs).unref(),
    );
    // This node's own writes are read within commitDelayMs; a standby does not need them to wake.
    this.#stopListening = this.#deps.feed.onCommit(() => {
      if (!this.#leading || this.#commitTimer) return;
      this.#commitTimer = setTimeout(() => {
        this.#commitTimer = undefined;
        this.wake();
      }, tuning.commitDelayMs);
    });
    this.wake();
  }

  /** Reads the feed now (or tries to take the lease, on a standby). */
  wake(): void {
    if (this.#closed) return;
    this.#ticks.run();
  }

  /** Stops: deliveries under way finish (briefly), the watermark is written and the lease handed back. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopListening?.();
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#commitTimer);
    await this.#ticks.current;
    for (const outbox of this.#outboxes.values()) clearTimeout(outbox.timer);
    await Promise.race([Promise.allSettled([...this.#deliveries]), new Promise((r) => setTimeout(r, 2000).unref())]);
    if (this.#leading) {
      await this.#spillUnflushed();
      await this.#writeState(true).catch((err: unknown) => this.#deps.logger.error({ err }, 'could not hand the subscription lease back'));
    }
    this.#leading = false;
  }

  async #tick(): Promise<void> {
    if (!this.#leading) {
      if (!(await this.#claim())) return;
      try {
        await this.#lead();
      } catch (error) {
        // Start again from the stored state at the next tick (the lease is still ours).
        this.#reset();
        throw error;
      }
    }
    if (this.#leading) await this.#drain();
  }

  // ---- leadership ---------------------------------------------------------------------------

  /** Takes the lease when it is free or has run out (compare-and-set: one node wins). */
  async #claim(): Promise<boolean> {
    const until = Date.now() + this.#deps.tuning.leaseMs;
    const stored = await this.#state.getStored(STATE_ID);
    if (!stored) return this.#state.insert(STATE_ID, { lease: { node: this.nodeId, until }, events: {} });
    const lease = stored.value.lease;
    if (lease && lease.node !== this.nodeId && lease.until > Date.now()) return false;
    return this.#state.replaceIf(STATE_ID, stored.updatedAt, { ...stored.value, lease: { node: this.nodeId, until } });
  }

  /** Starts leading: the watermark, the running subscriptions, their backlogs. */
  async #lead(): Promise<void> {
    const state = await this.#state.get(STATE_ID);
    this.#readCursor = state?.cursor;
    this.#watermark = state?.cursor;
    this.#events = new Map(Object.entries(state?.events ?? {}));
    this.#safeEvents = new Map(this.#events);
    this.#leading = true;
    this.#lastWrite = Date.now();
    let cursor: string | undefined;
    do {
      const page = await this.#deps.subscriptions.search({
        types: ['Subscription'],
        where: this.#deps.running,
        sort: [],
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      for (const version of page.resources) await this.#apply(version.resource as Subscription);
      cursor = page.next;
    } while (cursor);
    for (const stored of await this.#backlogs.list()) this.#restore(stored.id, stored.value);
    this.#deps.logger.info({ node: this.nodeId, subscriptions: this.#outboxes.size + this.#others.size }, 'subscription dispatcher leading');
    for (const outbox of this.#outboxes.values()) this.#kick(outbox);
  }

  #stepDown(): void {
    this.#deps.logger.warn({ node: this.nodeId }, 'subscription dispatcher lost its lease; another node leads');
    this.#reset();
  }

  /** Forgets the leader's in-memory state: queues, pages, the running set. */
  #reset(): void {
    this.#leading = false;
    for (const outbox of this.#outboxes.values()) {
      outbox.closed = true;
      clearTimeout(outbox.timer);
    }
    this.#outboxes.clear();
    this.#byType.clear();
    this.#searchesByType.clear();
    this.#others.clear();
    this.#batches = [];
  }

  /** Writes the watermark and renews the lease (or hands it back); steps down when another node holds it. */
  async #writeState(release = false): Promise<void> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const stored = await this.#state.getStored(STATE_ID);
      if (!stored || stored.value.lease?.node !== this.nodeId) {
        this.#stepDown();
        return;
      }
      const next: DispatchState = {
        lease: { node: this.nodeId, until: release ? 0 : Date.now() + this.#deps.tuning.leaseMs },
        ...(this.#watermark !== undefined ? { cursor: this.#watermark } : {}),
        events: Object.fromEntries(this.#safeEvents),
      };
      const dirty = this.#dirty;
      this.#dirty = false;
      if (await this.#state.replaceIf(STATE_ID, stored.updatedAt, next)) {
        this.#lastWrite = Date.now();
        return;
      }
      this.#dirty ||= dirty;
    }
  }

  /** Every flushMs: backlogs of failing subscriptions, then the watermark (when it moved) and the lease. */
  async #flush(): Promise<void> {
    if (!this.#leading || this.#closed) return;
    await this.#spillUnflushed();
    const renewDue = Date.now() - this.#lastWrite > this.#deps.tuning.leaseMs / 3;
    if (this.#dirty || renewDue) await this.#writeState();
  }

  // ---- the feed -------------------------------------------------------------------------------

  async #drain(): Promise<void> {
    const { feed, tuning } = this.#deps;
    while (this.#leading && !this.#closed) {
      let page: Awaited<ReturnType<ChangeFeed['read']>>;
      try {
        page = await feed.read({ ...(this.#readCursor !== undefined ? { after: this.#readCursor } : {}), limit: tuning.pageSize });
      } catch (error) {
        if (!(error instanceof StorageError && error.code === 'invalid-cursor')) throw error;
        // A cursor this store did not make (the store was changed under Bedside): start at its end.
        this.#deps.logger.error(
          { cursor: this.#readCursor },
          'the stored subscription cursor does not belong to this store; notifications start from the current end of its change feed',
        );
        this.#readCursor = undefined;
        this.#watermark = undefined;
        continue;
      }
      const batch: Batch = { cursor: page.cursor, pending: 0, events: new Map() };
      const touched = new Set<Outbox>();
      for (const change of page.changes) await this.#handle(change, batch, touched);
      this.#batches.push(batch);
      this.#readCursor = page.cursor;
      this.#advance();
      for (const outbox of touched) this.#kick(outbox);
      if (page.changes.length < tuning.pageSize) return;
    }
  }

  async #handle(change: Change, batch: Batch, touched: Set<Outbox>): Promise<void> {
    if (change.resourceType === 'Subscription') await this.#subscriptionChanged(change);
    const running = this.#searches(change.resourceType);
    if (!running || change.deleted) return;
    const at = Date.parse(change.lastUpdated);
    const versions = await this.#deps.feed.match(change, running.searches, (search, err) =>
      this.#deps.logger.error({ err, subscription: running.outboxes[running.searches.indexOf(search)]?.id }, 'subscription criteria could not be evaluated'),
    );
    for (const [i, outbox] of running.outboxes.entries()) {
      // Changes committed before the subscription was written are not its business.
      if (!versions[i] || outbox.closed || at < outbox.live.owner.since) continue;
      const event = (this.#events.get(outbox.id) ?? 0) + 1;
      this.#events.set(outbox.id, event);
      batch.events.set(outbox.id, event);
      if (event <= outbox.restoredThrough) continue;
      batch.pending++;
      outbox.queue.push({
        ref: { resourceType: change.resourceType, id: change.id, versionId: change.versionId },
        event,
        batch,
        // A subscription waiting for a retry reads its versions again when they go.
        ...(outbox.failures === 0 ? { matched: { version: versions[i], at: Date.now() } } : {}),
      });
      if (outbox.backlogged) outbox.unflushed = true;
      touched.add(outbox);
      if (outbox.queue.length > this.#deps.tuning.maxBacklog) {
        await this.#stop(
          outbox,
          'off',
          `More than ${this.#deps.tuning.maxBacklog} notifications could not be delivered; they were dropped and the subscription turned off`,
        );
      }
    }
  }

  #searches(type: string): { outboxes: Outbox[]; searches: StandingSearch[] } | undefined {
    let running = this.#searchesByType.get(type);
    if (!running) {
      const outboxes = [...(this.#byType.get(type) ?? [])];
      if (outboxes.length === 0) return undefined;
      this.#searchesByType.set(type, (running = { outboxes, searches: outboxes.map((o) => o.live.search) }));
    }
    return running;
  }

  /** Moves the watermark past every leading page whose notifications are all safe. */
  #advance(): void {
    let last: Batch | undefined;
    while (this.#batches.length > 0 && this.#batches[0]!.pending === 0) {
      last = this.#batches.shift()!;
      for (const [id, n] of last.events) if (this.#events.has(id)) this.#safeEvents.set(id, n);
    }
    if (last) {
      this.#watermark = last.cursor;
      this.#dirty = true;
    }
  }

  /** A queued notification is delivered, dropped or in the backlog: its page no longer waits for it. */
  #settle(queued: Queued): void {
    if (!queued.batch) return;
    queued.batch.pending--;
    queued.batch = undefined;
    this.#advance();
  }

  // ---- the running subscriptions ------------------------------------------------------------

  async #subscriptionChanged(change: Change): Promise<void> {
    if (change.deleted) {
      this.#remove(change.id);
      this.#others.delete(change.id);
      this.#events.delete(change.id);
      this.#safeEvents.delete(change.id);
      await this.#deps.owners.removeBefore(change.id, Date.parse(change.lastUpdated));
      return;
    }
    const [version] = await this.#deps.feed.match(change, [this.#deps.subscriptionChanges]);
    if (version) await this.#apply(version.resource as Subscription);
  }

  /** Takes in one version of a Subscription: runs it, updates it, or stops it. */
  async #apply(resource: Subscription): Promise<void> {
    const id = resource.id!;
    if (resource.status === 'off') {
      this.#remove(id);
      this.#others.delete(id);
      return;
    }
    const live = await this.#deps.load(resource);
    if ('problem' in live) {
      this.#remove(id);
      this.#others.delete(id);
      await this.#setStatus(id, undefined, 'off', live.problem);
      return;
    }
    const ended = await this.#deps.validity.ended(live);
    if (ended) {
      this.#remove(id);
      this.#others.delete(id);
      await this.#setStatus(id, live.ownerRecord, 'off', ended);
      return;
    }
    if (live.spec.channel.type === 'rest-hook') {
      this.#others.delete(id);
      this.#run(live);
    } else {
      this.#remove(id);
      this.#others.set(id, live);
    }
    if (!this.#pruned.has(live.ownerRecord)) {
      await this.#deps.owners.prune(id, live.ownerRecord);
      this.#pruned.add(live.ownerRecord);
    }
    if (live.spec.status === 'requested') await this.#setStatus(id, live.ownerRecord, 'active');
  }

  /** Runs (or updates) a rest-hook subscription; its queue is kept across versions. */
  #run(live: LiveSubscription): void {
    let outbox = this.#outboxes.get(live.spec.id);
    if (outbox) {
      this.#byType.get(outbox.live.spec.criteria.resourceType)?.delete(outbox);
      this.#searchesByType.delete(outbox.live.spec.criteria.resourceType);
      outbox.live = live;
      outbox.erroring = live.spec.status === 'error';
    } else {
      outbox = new Outbox(live);
      outbox.erroring = live.spec.status === 'error';
      this.#outboxes.set(live.spec.id, outbox);
    }
    const type = live.spec.criteria.resourceType;
    if (!this.#byType.has(type)) this.#byType.set(type, new Set());
    this.#byType.get(type)!.add(outbox);
    this.#searchesByType.delete(type);
  }

  /** Stops delivering to a subscription: its queue and backlog are dropped. */
  #remove(id: string): void {
    const outbox = this.#outboxes.get(id);
    if (!outbox) return;
    outbox.closed = true;
    clearTimeout(outbox.timer);
    this.#outboxes.delete(id);
    this.#byType.get(outbox.live.spec.criteria.resourceType)?.delete(outbox);
    this.#searchesByType.delete(outbox.live.spec.criteria.resourceType);
    for (const queued of outbox.queue.splice(0)) this.#settle(queued);
    if (outbox.backlogged)
      void this.#backlogs.delete(id).catch((err: unknown) => this.#deps.logger.error({ err, subscription: id }, 'could not delete a subscription backlog'));
  }

  /** Turns a subscription off (or to error) and stops delivering to it. */
  async #stop(outbox: Outbox, status: SubscriptionStatus, reason: string): Promise<void> {
    this.#remove(outbox.id);
    this.#deps.logger.info({ subscription: outbox.id, status, reason }, 'subscription stopped');
    await this.#setStatus(outbox.id, outbox.live.ownerRecord, status, reason);
  }

  async #setStatus(id: string, ownerRecord: string | undefined, status: SubscriptionStatus, error?: string): Promise<void> {
    try {
      await this.#deps.statuses.set(id, ownerRecord, status, error);
    } catch (err) {
      this.#deps.logger.error({ err, subscription: id, status }, 'could not write a subscription status');
    }
  }

  /** Checks every subscription's owner now (a revocation was just made on this node). */
  sweepNow(): void {
    void this.#sweep().catch((err: unknown) => this.#deps.logger.error({ err }, 'subscription sweep failed'));
  }

  /** Every sweepMs: subscriptions whose owner's authorization ended or whose `end` passed are turned off. */
  async #sweep(): Promise<void> {
    if (!this.#leading || this.#closed) return;
    for (const outbox of [...this.#outboxes.values()]) {
      const ended = await this.#deps.validity.ended(outbox.live);
      if (ended && !outbox.closed) await this.#stop(outbox, 'off', ended);
    }
    for (const [id, live] of [...this.#others]) {
      const ended = await this.#deps.validity.ended(live);
      if (ended && this.#others.get(id) === live) {
        this.#others.delete(id);
        await this.#setStatus(id, live.ownerRecord, 'off', ended);
      }
    }
  }

  // ---- delivery -------------------------------------------------------------------------------

  #kick(outbox: Outbox): void {
    if (outbox.busy || outbox.closed || !this.#leading) return;
    const delivery = this.#deliver(outbox);
    this.#deliveries.add(delivery);
    void delivery.finally(() => this.#deliveries.delete(delivery));
  }

  /** Delivers the queue in order until it is empty, a delivery fails (then retries later) or the subscription stops. */
  async #deliver(outbox: Outbox): Promise<void> {
    outbox.busy = true;
    try {
      while (!outbox.closed && this.#leading && !this.#closed && outbox.queue.length > 0) {
        const wait = outbox.retryAt - Date.now();
        if (wait > 0) {
          clearTimeout(outbox.timer);
          outbox.timer = setTimeout(() => this.#kick(outbox), wait);
          return;
        }
        const ended = await this.#deps.validity.ended(outbox.live);
        if (ended) {
          await this.#stop(outbox, 'off', ended);
          return;
        }
        // A notification Bundle carries what is waiting (in order); R4 one resource at a time.
        const sending = outbox.queue.slice(0, outbox.live.spec.channel.style === 'bundle' ? this.#deps.tuning.eventsPerBundle : 1);
        // Still the owner's to read? What is not is not notified (and nothing says why). A
        // notification sent right after its match stands on that match's reading.
        const events: NotificationEvent[] = [];
        const freshSince = Date.now() - this.#deps.tuning.matchFreshMs;
        for (const queued of sending) {
          const version = queued.matched && queued.matched.at > freshSince ? queued.matched.version : await readableVersion(outbox.live, queued.ref);
          if (version) events.push({ number: queued.event, version });
        }
        if (events.length > 0) {
          try {
            await this.#deps.sender.send(outbox.live, events);
          } catch (error) {
            if (!(error instanceof DeliveryFailure)) throw error;
            await this.#failed(outbox, error.message);
            continue;
          }
        }
        outbox.queue.splice(0, sending.length);
        for (const queued of sending) this.#settle(queued);
        if (outbox.failures > 0 || outbox.erroring) await this.#recovered(outbox);
      }
      if (outbox.backlogged && outbox.queue.length === 0 && !outbox.closed) {
        outbox.backlogged = false;
        await this.#backlogs.delete(outbox.id);
      }
    } catch (err) {
      this.#deps.logger.error({ err, subscription: outbox.id }, 'subscription delivery failed');
      outbox.retryAt = Date.now() + this.#deps.tuning.retryBaseMs;
      clearTimeout(outbox.timer);
      outbox.timer = setTimeout(() => this.#kick(outbox), this.#deps.tuning.retryBaseMs);
    } finally {
      outbox.busy = false;
    }
  }

  async #failed(outbox: Outbox, reason: string): Promise<void> {
    const { tuning } = this.#deps;
    outbox.failures++;
    // What waits for a retry is read again when it goes (and is not held in memory meanwhile).
    for (const queued of outbox.queue) queued.matched = undefined;
    outbox.retryAt = Date.now() + Math.min(tuning.retryMaxMs, tuning.retryBaseMs * 2 ** (outbox.failures - 1));
    if (!outbox.backlogged || outbox.unflushed) await this.#spill(outbox);
    if (outbox.failures >= tuning.errorAfterFailures && !outbox.erroring) {
      outbox.erroring = true;
      this.#deps.logger.info({ subscription: outbox.id, failures: outbox.failures, reason }, 'subscription notifications failing');
      await this.#setStatus(outbox.id, outbox.live.ownerRecord, 'error', reason);
    }
  }

  async #recovered(outbox: Outbox): Promise<void> {
    outbox.failures = 0;
    outbox.retryAt = 0;
    if (outbox.erroring) {
      outbox.erroring = false;
      await this.#setStatus(outbox.id, outbox.live.ownerRecord, 'active');
    }
  }

  // ---- backlogs -------------------------------------------------------------------------------

  /** Writes a subscription's undelivered notifications to its backlog; their pages stop waiting for them. */
  async #spill(outbox: Outbox): Promise<void> {
    const queued = [...outbox.queue];
    await this.#backlogs.put(outbox.id, {
      ownerRecord: outbox.live.ownerRecord,
      notifications: queued.map((q) => ({ ...q.ref, event: q.event })),
    });
    outbox.backlogged = true;
    outbox.unflushed = outbox.queue.length > queued.length;
    for (const q of queued) this.#settle(q);
  }

  async #spillUnflushed(): Promise<void> {
    for (const outbox of this.#outboxes.values()) {
      if (outbox.backlogged && outbox.unflushed && !outbox.closed) await this.#spill(outbox);
    }
  }

  /**
   * A backlog found when starting to lead: queued first. The feed is then replayed from the
   * watermark with the event numbers kept there, so the same events get the same numbers; those
   * up to the backlog's last were delivered or are in the backlog, and are not queued again.
   */
  #restore(id: string, backlog: Backlog): void {
    const outbox = this.#outboxes.get(id);
    if (!outbox || outbox.live.ownerRecord !== backlog.ownerRecord) {
      void this.#backlogs.delete(id);
      return;
    }
    outbox.queue.unshift(...backlog.notifications.map((n) => ({ ref: { resourceType: n.resourceType, id: n.id, versionId: n.versionId }, event: n.event })));
    outbox.backlogged = true;
    outbox.restoredThrough = backlog.notifications[backlog.notifications.length - 1]?.event ?? 0;
  }
}
