/**
 * A FIFO async lock: `run` waits for every earlier holder to finish. Both stores serialize
 * their own writes with it (SQLite has one writer; the MongoDB store's compensating mode needs
 * the process's writes in order).
 */
export class AsyncLock {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(work: () => Promise<T> | T): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }
}
