/**
 * Whether a principal's authority has been revoked: one decision per token id, kept for at most
 * the revocation window (REVOCATION_CHECK_MS) and dropped at once when this node revokes
 * something it covers. The bearer authenticator asks it on every request; other features ask it
 * about a principal they recorded earlier (an export job's owner) with the same rules.
 *
 * What counts as revocation is the rule in token-verification.ts (`revocationRules`, reading the
 * authorization server's records through the IssuerRecords port): the token's grant is gone
 * (revocation endpoint, grants or connected-apps page, logout ending `online_access`,
 * refresh-token reuse), its `jti` was revoked (tokens without a grant), its client was deleted or
 * disabled, or its user's account is gone, locked, or linked to another fhirUser. This module decides how long an answer
 * may be reused:
 * - "revoked" is never remembered (it is final, and rare);
 * - "not revoked" is remembered per token id for the window, counted from when the store was
 *   asked, never longer, and never per spelling of the Authorization header;
 * - a revocation made on this node (security/revocation-notices.ts) drops the decisions it
 *   covers before the revoking request is answered, so this node's next request is refused; a
 *   check that was under way when the notice came is not remembered, since it may have read the
 *   store before the revocation. Other nodes see the revocation when their decision expires.
 *
 * https://www.rfc-editor.org/rfc/rfc7009#section-2
 * https://www.rfc-editor.org/rfc/rfc7662#section-4 (a resource server caching token state trades
 * how soon it sees a revocation for speed)
 */
import { LRUCache } from 'lru-cache';
import type { RevocationNotice, RevocationNotices } from '../security/revocation-notices.js';
import type { Principal } from './policy.js';

/**
 * The authorization server's rule, read from the shared store on every call
 * (token-verification.ts `revocationRules`): why the facts no longer stand, or undefined.
 */
export interface RevocationRules {
  whyRevoked(facts: { client_id: string; sub: string; jti?: string; grant_id?: string; fhirUser?: string }): Promise<string | undefined>;
}

export interface RevocationCheck {
  /**
   * Why `principal` (a token's, or one recorded from a token: an export job's owner) no longer
   * stands (`grant revoked or expired`, `token revoked`, `client removed`, `account locked`,
   * `account removed`, `fhirUser changed`), or undefined while it does. A principal with neither
   * a token id nor a grant id was not made from a token (Bedside's own service principals) and
   * has nothing to revoke.
   */
  whyRevoked(principal: Principal): Promise<string | undefined>;
  /** `whyRevoked` as a yes/no answer. */
  isRevoked(principal: Principal): Promise<boolean>;
  /** Drops the decisions a revocation made on this node covers (what notices trigger). */
  forget(notice: RevocationNotice): void;
}

export interface RevocationCheckOptions {
  /** How long a "not revoked" decision is kept (REVOCATION_CHECK_MS; 0 = asked every time). */
  windowMs: number;
  /** This node's revocations; each one calls `forget`. */
  notices?: RevocationNotices;
  /** Decisions kept at once (about one per live token). */
  maxDecisions?: number;
}

interface Decision {
  /** Epoch ms until which "not revoked" stands. */
  until: number;
  grantId?: string;
  clientId?: string;
  subject?: string;
}

export function createRevocationCheck(rules: RevocationRules, options: RevocationCheckOptions): RevocationCheck {
  const check = new WindowedRevocationCheck(rules, options.windowMs, options.maxDecisions ?? 10_000);
  options.notices?.subscribe((notice) => check.forget(notice));
  return check;
}

const NOT_REVOKED = Promise.resolve(undefined);

class WindowedRevocationCheck implements RevocationCheck {
  /** "Not revoked" decisions per token id: least recently used dropped first when full; `until` bounds each one's life exactly. */
  readonly #decisions: LRUCache<string, Decision>;
  /** Checks under way, so that concurrent requests with one token share one store read. */
  readonly #pending = new Map<string, Promise<string | undefined>>();
  /** Bumped by every notice: a check that started before one is not remembered. */
  #epoch = 0;

  constructor(
    private readonly rules: RevocationRules,
    private readonly windowMs: number,
    maxDecisions: number,
  ) {
    this.#decisions = new LRUCache({ max: maxDecisions });
  }

  whyRevoked(principal: Principal): Promise<string | undefined> {
    const key = decisionKey(principal);
    if (!key) return NOT_REVOKED;
    if (this.windowMs <= 0) return this.rules.whyRevoked(factsOf(principal));
    const known = this.#decisions.get(key);
    if (known) {
      if (known.until > Date.now()) return NOT_REVOKED;
      this.#decisions.delete(key);
    }
    return this.#pending.get(key) ?? this.#ask(key, principal);
  }

  async isRevoked(principal: Principal): Promise<boolean> {
    return (await this.whyRevoked(principal)) !== undefined;
  }

  forget(notice: RevocationNotice): void {
    this.#epoch++;
    // A request arriving from now on must not join a check that may predate the revocation.
    this.#pending.clear();
    if ('tokenId' in notice) {
      this.#decisions.delete(notice.tokenId);
      return;
    }
    const covered = covers(notice);
    for (const [key, decision] of [...this.#decisions.entries()]) if (covered(decision)) this.#decisions.delete(key);
  }

  /** Reads the rule once for `key`, shared by the requests that arrive meanwhile; remembers "not revoked" unless a notice came. */
  #ask(key: string, principal: Principal): Promise<string | undefined> {
    const startedIn = this.#epoch;
    const askedAt = Date.now();
    const settle = () => {
      if (this.#pending.get(key) === asked) this.#pending.delete(key);
    };
    const asked = this.rules.whyRevoked(factsOf(principal)).then(
      (why) => {
        settle();
        if (why === undefined && startedIn === this.#epoch) this.#decisions.set(key, decisionFor(principal, askedAt + this.windowMs));
        return why;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );
    this.#pending.set(key, asked);
    return asked;
  }
}

/** The token id itself (no string built per request); a grant-only principal under a prefix no jti has. */
function decisionKey(principal: Principal): string | undefined {
  return principal.tokenId ?? (principal.grantId ? `\u0000grant ${principal.grantId}` : undefined);
}

/** What the rule is asked about a principal. */
function factsOf(principal: Principal): Parameters<RevocationRules['whyRevoked']>[0] {
  return {
    client_id: principal.clientId ?? '',
    sub: principal.subject ?? '',
    ...(principal.tokenId ? { jti: principal.tokenId } : {}),
    ...(principal.grantId ? { grant_id: principal.grantId } : {}),
    ...(principal.fhirUser ? { fhirUser: principal.fhirUser } : {}),
  };
}

/** A "not revoked" decision, with what a notice may name it by. */
function decisionFor(principal: Principal, until: number): Decision {
  return {
    until,
    ...(principal.grantId ? { grantId: principal.grantId } : {}),
    ...(principal.clientId ? { clientId: principal.clientId } : {}),
    ...(principal.subject ? { subject: principal.subject } : {}),
  };
}

/** Whether a decision falls under a notice about a grant, a client or an account. */
function covers(notice: Exclude<RevocationNotice, { tokenId: string }>): (decision: Decision) => boolean {
  if ('grantId' in notice) return (d) => d.grantId === notice.grantId;
  if ('clientId' in notice) return (d) => d.clientId === notice.clientId;
  return (d) => d.subject === notice.subject;
}
