/**
 * A background pass (read the change feed, drain the export queue) that runs one at a time:
 * asked for while one runs, it runs once more after that one, however often it was asked
 * meanwhile. A pass that fails is reported to `onError`, never thrown to the caller.
 */
export class SerialPass {
  #current: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly options: {
      pass: () => Promise<void>;
      onError: (err: unknown) => void;
      /** Starts the pass asked for meanwhile: the owner's `wake`, so that its own checks run again. */
      rerun: () => void;
    },
  ) {}

  /** The pass under way, if any; it resolves when the pass ends. */
  get current(): Promise<void> | undefined {
    return this.#current;
  }

  /** Starts a pass now, or once more after the one under way. */
  run(): void {
    if (this.#current) {
      this.#again = true;
      return;
    }
    this.#current = this.options
      .pass()
      .catch(this.options.onError)
      .finally(() => {
        this.#current = undefined;
        if (this.#again) {
          this.#again = false;
          this.options.rerun();
        }
      });
  }
}
