/**
 * Reasons to keep this process alive, counted: a client's sockets hold the process only while
 * something waits on them (a request, an awaited future), so a script that never closes its
 * client still ends after its last line, as a Python script using Dask does.
 *
 * @module
 */

/** Counts holders; tells `apply` when the process starts or stops being held. */
export class ProcessHold {
  readonly #apply: (held: boolean) => void;
  #count = 0;

  /** `apply(false)` is called at once: nothing holds the process yet. */
  constructor(apply: (held: boolean) => void) {
    this.#apply = apply;
    apply(false);
  }

  /** True while at least one holder holds. */
  get held(): boolean {
    return this.#count > 0;
  }

  /** One more holder; returns the function that lets go (once). */
  acquire(): () => void {
    if (this.#count++ === 0) this.#apply(true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#count === 0) this.#apply(false);
    };
  }
}
