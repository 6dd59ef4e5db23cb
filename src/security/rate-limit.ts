/**
 * Sign-in rate limiting: counters of failed attempts in the shared store (so every node counts
 * the same attempts), one window per key, and the client address they are counted by.
 *
 * An attempt is counted before the password is checked (`reserve`), atomically (compare-and-set),
 * so concurrent guesses cannot all pass a check made before any of them was counted; a successful
 * attempt then resets the counter (per account) or gives its place back (per address).
 *
 * Hand-written rather than express-rate-limit: the counters must live in Bedside's DocumentStore
 * port (SQLite or MongoDB) to be shared by every node, and count failures, not requests.
 *
 * https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks
 */
import { isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { DocumentCollection } from '../storage/document-store.js';

export interface FailureRule {
  /** Attempts allowed in a window; the next are refused until the window ends. */
  maxFailures: number;
  windowMs: number;
}

/** Failed sign-ins from one client address (or IPv6 /64): generous, since a hospital's whole network may share one. */
export const ADDRESS_RULE: FailureRule = { maxFailures: 100, windowMs: 15 * 60 * 1000 };

/** What the store holds per key (the shape of `auth.login-failures` since the first release). */
export interface FailureRecord {
  failures: number;
  firstAt: number;
}

export type Reservation = { allowed: true; count: number } | { allowed: false; retryAfterSeconds: number };

/** Failed attempts per key in a fixed window (one document per key, expiring with its window). */
export class FailureCounter {
  constructor(
    private readonly records: DocumentCollection<FailureRecord>,
    readonly rule: FailureRule,
  ) {}

  #retryAfter(record: FailureRecord, now: number): number {
    return Math.max(1, Math.ceil((record.firstAt + this.rule.windowMs - now) / 1000));
  }

  /** Counts one attempt for `key`, unless the window's allowance is used up. */
  async reserve(key: string, now = Date.now()): Promise<Reservation> {
    for (;;) {
      const stored = await this.records.getStored(key);
      if (!stored) {
        if (await this.records.insert(key, { failures: 1, firstAt: now }, { expiresAt: now + this.rule.windowMs })) return { allowed: true, count: 1 };
        continue;
      }
      const record = stored.value;
      if (record.failures >= this.rule.maxFailures) return { allowed: false, retryAfterSeconds: this.#retryAfter(record, now) };
      const next = { failures: record.failures + 1, firstAt: record.firstAt };
      if (await this.records.replaceIf(key, stored.updatedAt, next, { expiresAt: record.firstAt + this.rule.windowMs }))
        return { allowed: true, count: next.failures };
    }
  }

  /** Seconds until `key` may try again, when its allowance is used up (without counting). */
  async blockedFor(key: string, now = Date.now()): Promise<number | undefined> {
    const record = await this.records.get(key);
    return record && record.failures >= this.rule.maxFailures ? this.#retryAfter(record, now) : undefined;
  }

  /** Gives back a reserved attempt that turned out to succeed. */
  async refund(key: string): Promise<void> {
    for (;;) {
      const stored = await this.records.getStored(key);
      if (!stored || stored.value.failures <= 0) return;
      const next = { ...stored.value, failures: stored.value.failures - 1 };
      if (await this.records.replaceIf(key, stored.updatedAt, next, { expiresAt: stored.value.firstAt + this.rule.windowMs })) return;
    }
  }

  async reset(key: string): Promise<void> {
    await this.records.delete(key);
  }
}

/**
 * The address sign-ins are counted by: the peer's, or behind a trusted proxy (TRUST_PROXY) the
 * last `X-Forwarded-For` entry, the one the proxy itself added (earlier entries are the client's
 * to write). IPv6 addresses count by /64, the block one subscriber usually holds.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const header = trustProxy ? req.headers['x-forwarded-for'] : undefined;
  const forwarded = (Array.isArray(header) ? header.join(',') : header)
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .at(-1);
  return addressKey(forwarded ?? req.socket.remoteAddress ?? 'unknown');
}

/** The counting key of an address: IPv4 as is (IPv4-mapped IPv6 included), IPv6 by its /64 prefix. */
export function addressKey(address: string): string {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped) return mapped[1]!;
  if (!isIPv6(plain)) return plain.slice(0, 100);
  const [head = '', tail = ''] = plain.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = plain.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = plain.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
