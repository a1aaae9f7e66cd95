/**
 * `asCompleted`: futures in the order they finish, as `dask.distributed.as_completed`.
 *
 * The iterator is written by hand, not as an async generator: `yield` inside an async generator
 * awaits thenables, which would turn each Future into its value.
 *
 * @module
 */

import type { Future } from "./future.ts";

/** What the iterator hands out: the Future, or `[future, value]` with `withResults`. */
export type Completed<T, R extends boolean> = R extends true ? [Future<T>, T] : Future<T>;

/** Options of {@link asCompleted}. */
export interface AsCompletedOptions<R extends boolean> {
  /** Hand out `[future, value]` pairs (the value is fetched first). Errors are thrown. */
  withResults?: R;
}

/** An async iterator over futures in completion order; more can be added while iterating. */
export class AsCompleted<T = unknown, R extends boolean = false>
  implements AsyncIterableIterator<Completed<T, R>> {
  readonly #withResults: boolean;
  /** Futures that ended and were not handed out yet, from `#head` on. */
  #finished: Future<T>[] = [];
  #head = 0;
  #pending = 0;
  /** Bumped by `return()`: callbacks of futures added before it are ignored. */
  #generation = 0;
  /** Callers of `next()` waiting for a future to end. */
  #waiters: Array<() => void> = [];

  /** Starts watching `futures`. */
  constructor(futures: Iterable<Future<T>> = [], options: AsCompletedOptions<R> = {}) {
    this.#withResults = options.withResults === true;
    for (const future of futures) this.add(future);
  }

  /** Adds a future to watch. */
  add(future: Future<T>): void {
    this.#pending++;
    const generation = this.#generation;
    future.addDoneCallback((f) => {
      if (generation !== this.#generation) return;
      this.#pending--;
      this.#finished.push(f);
      this.#wakeAll();
    });
  }

  /** Adds several futures. */
  update(futures: Iterable<Future<T>>): void {
    for (const future of futures) this.add(future);
  }

  /** Futures not yet handed out (finished or not). */
  count(): number {
    return this.#pending + this.#finished.length - this.#head;
  }

  /** True when nothing is left to hand out. */
  isEmpty(): boolean {
    return this.count() === 0;
  }

  /** The next future to finish (or `done` when none is left). */
  async next(): Promise<IteratorResult<Completed<T, R>>> {
    while (this.#head === this.#finished.length) {
      if (this.#pending === 0) return { value: undefined, done: true };
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    const future = this.#take();
    if (!this.#withResults) return { value: future as Completed<T, R>, done: false };
    const value = await future.result();
    return { value: [future, value] as Completed<T, R>, done: false };
  }

  /** Every future that has finished now, without waiting (handed out at once). */
  nextBatch(): Future<T>[] {
    const batch = this.#finished.slice(this.#head);
    this.#finished = [];
    this.#head = 0;
    return batch;
  }

  /** Stops handing out futures. */
  return(): Promise<IteratorResult<Completed<T, R>>> {
    this.#generation++;
    this.#finished = [];
    this.#head = 0;
    this.#pending = 0;
    this.#wakeAll();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** `for await (const future of asCompleted(futures))`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Completed<T, R>> {
    return this;
  }

  #take(): Future<T> {
    const future = this.#finished[this.#head++];
    // compact now and then so a long-running loop does not keep every handed-out future
    if (this.#head === this.#finished.length) {
      this.#finished = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#finished.length) {
      this.#finished = this.#finished.slice(this.#head);
      this.#head = 0;
    }
    return future;
  }

  #wakeAll(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Iterates over futures in the order they finish.
 *
 * @example
 * ```ts
 * import { asCompleted, Client } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 2 });
 * const futures = client.map((x: number) => x * x, [1, 2, 3]);
 * for await (const future of asCompleted(futures)) {
 *   console.log(future.key, await future.result());
 * }
 * ```
 */
export function asCompleted<T, R extends boolean = false>(
  futures: Iterable<Future<T>> = [],
  options: AsCompletedOptions<R> = {},
): AsCompleted<T, R> {
  return new AsCompleted<T, R>(futures, options);
}
