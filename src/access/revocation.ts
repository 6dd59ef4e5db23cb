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
  const windowMs = options.windowMs;
  const maxDecisions = options.maxDecisions ?? 10_000;
  const decisions = new Map<string, Decision>();
  /** Checks under way, so that concurrent requests with one token share one store read. */
  const pending = new Map<string, Promise<string | undefined>>();
  /** Bumped by every notice: a check that started before one is not remembered. */
  let epoch = 0;

  // The token id itself (no string built per request); a grant-only principal under a prefix no jti has.
  const keyOf = (principal: Principal): string | undefined => principal.tokenId ?? (principal.grantId ? `\u0000grant ${principal.grantId}` : undefined);

  const ask = (principal: Principal): Promise<string | undefined> =>
    rules.whyRevoked({
      client_id: principal.clientId ?? '',
      sub: principal.subject ?? '',
      ...(principal.tokenId ? { jti: principal.tokenId } : {}),
      ...(principal.grantId ? { grant_id: principal.grantId } : {}),
      ...(principal.fhirUser ? { fhirUser: principal.fhirUser } : {}),
    });

  const remember = (key: string, principal: Principal, askedAt: number): void => {
    if (decisions.size >= maxDecisions) {
      const now = Date.now();
      for (const [k, d] of decisions) if (d.until <= now) decisions.delete(k);
      if (decisions.size >= maxDecisions) decisions.delete(decisions.keys().next().value as string);
    }
    decisions.set(key, {
      until: askedAt + windowMs,
      ...(principal.grantId ? { grantId: principal.grantId } : {}),
      ...(principal.clientId ? { clientId: principal.clientId } : {}),
      ...(principal.subject ? { subject: principal.subject } : {}),
    });
  };

  const NOT_REVOKED = Promise.resolve(undefined);
  const check: RevocationCheck = {
    whyRevoked(principal) {
      const key = keyOf(principal);
      if (!key) return NOT_REVOKED;
      if (windowMs <= 0) return ask(principal);
      const known = decisions.get(key);
      if (known) {
        if (known.until > Date.now()) return NOT_REVOKED;
        decisions.delete(key);
      }
      let asked = pending.get(key);
      if (!asked) {
        const startedIn = epoch;
        const askedAt = Date.now();
        const settle = () => {
          if (pending.get(key) === asked) pending.delete(key);
        };
        asked = ask(principal).then(
          (why) => {
            settle();
            if (why === undefined && startedIn === epoch) remember(key, principal, askedAt);
            return why;
          },
          (error: unknown) => {
            settle();
            throw error;
          },
        );
        pending.set(key, asked);
      }
      return asked;
    },

    async isRevoked(principal) {
      return (await check.whyRevoked(principal)) !== undefined;
    },

    forget(notice) {
      epoch++;
      // A request arriving from now on must not join a check that may predate the revocation.
      pending.clear();
      if ('tokenId' in notice) {
        decisions.delete(notice.tokenId);
        return;
      }
      const covers: (d: Decision) => boolean =
        'grantId' in notice ? (d) => d.grantId === notice.grantId : 'clientId' in notice ? (d) => d.clientId === notice.clientId : (d) => d.subject === notice.subject;
      for (const [key, decision] of decisions) if (covers(decision)) decisions.delete(key);
    },
  };
  options.notices?.subscribe((notice) => check.forget(notice));
  return check;
}
