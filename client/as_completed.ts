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
  /** Futures that ended and were not handed out yet. */
  readonly #finished: Future<T>[] = [];
  #pending = 0;
  #wake: (() => void) | undefined;

  /** Starts watching `futures`. */
  constructor(futures: Iterable<Future<T>> = [], options: AsCompletedOptions<R> = {}) {
    this.#withResults = options.withResults === true;
    for (const future of futures) this.add(future);
  }

  /** Adds a future to watch. */
  add(future: Future<T>): void {
    this.#pending++;
    future.addDoneCallback((f) => {
      this.#pending--;
      this.#finished.push(f);
      this.#wake?.();
    });
  }

  /** Adds several futures. */
  update(futures: Iterable<Future<T>>): void {
    for (const future of futures) this.add(future);
  }

  /** Futures not yet handed out (finished or not). */
  count(): number {
    return this.#pending + this.#finished.length;
  }

  /** True when nothing is left to hand out. */
  isEmpty(): boolean {
    return this.count() === 0;
  }

  /** The next future to finish (or `done` when none is left). */
  async next(): Promise<IteratorResult<Completed<T, R>>> {
    while (this.#finished.length === 0) {
      if (this.#pending === 0) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    const future = this.#finished.shift()!;
    if (!this.#withResults) return { value: future as Completed<T, R>, done: false };
    const value = await future.result();
    return { value: [future, value] as Completed<T, R>, done: false };
  }

  /** Every future that has finished now, without waiting (handed out at once). */
  nextBatch(): Future<T>[] {
    return this.#finished.splice(0);
  }

  /** Stops handing out futures. */
  return(): Promise<IteratorResult<Completed<T, R>>> {
    this.#finished.length = 0;
    this.#pending = 0;
    this.#wake?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Completed<T, R>> {
    return this;
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
