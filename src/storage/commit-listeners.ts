/**
 * The in-process half of the change feed (resource-store.ts `onCommit`): listeners told after a
 * write of this store instance has committed, so a feed reader on this node wakes at once.
 */
export class CommitListeners {
  readonly #listeners = new Set<() => void>();

  add(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** `write`'s result, once the listeners have been told that it committed (not if it failed). */
  async after<T>(write: Promise<T>): Promise<T> {
    const result = await write;
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own: the write has committed and is answered as such.
      }
    }
    return result;
  }
}
