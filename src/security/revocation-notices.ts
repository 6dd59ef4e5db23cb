/**
 * In-process notices of revocations this node has just made, so that caches of "this token is
 * still valid" drop what they knew at once instead of at their expiry. The authorization server
 * announces (revocation endpoint, grants and connected-apps pages, logout, refresh-token reuse,
 * an operator locking an account or disabling a client); the FHIR API's access layer listens.
 * Neither side imports the other: both know only this module.
 *
 * A notice only speeds things up on the node that made the revocation. The revocation itself is
 * in the shared store, which every node reads when its cached answer expires
 * (REVOCATION_CHECK_MS), so the other nodes, and operator commands run as separate processes,
 * still take effect within that window.
 */

/** What was just revoked: everything issued from a grant, one token, a client, or an account. */
export type RevocationNotice = { grantId: string } | { tokenId: string } | { clientId: string } | { subject: string };

export type RevocationListener = (notice: RevocationNotice) => void;

export class RevocationNotices {
  readonly #listeners = new Set<RevocationListener>();

  /** Calls `listener` synchronously for every notice from now on; returns the unsubscribe function. */
  subscribe(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Tells every listener, before returning. Call it after the revocation is in the store, so that
   * a listener re-checking at once sees it.
   */
  announce(notice: RevocationNotice): void {
    for (const listener of this.#listeners) listener(notice);
  }
}
