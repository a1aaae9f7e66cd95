/**
 * `asCompleted`: futures in the order they finish, as `dask.distributed.as_completed`.
 *
 * The iterator is written by hand, not as an async generator: `yield` inside an async generator
 * awaits thenables, which would turn each Future into its value.
 *
 * @module
 */

import type { Future } from "./future.ts";
import { TimeoutError } from "./future_state.ts";

/**
 * What the iterator hands out: the Future, or `[future, value]` with `withResults`. With
 * `raiseErrors: false` a future that erred or was cancelled comes as `[future, error]`: check
 * `future.status` (or `instanceof Error`) before using the second element as a value.
 */
export type Completed<T, R extends boolean> = R extends true ? [Future<T>, T] : Future<T>;

/** Options of {@link asCompleted}. */
export interface AsCompletedOptions<R extends boolean> {
  /** Hand out `[future, value]` pairs (the value is fetched first). */
  withResults?: R;
  /**
   * With `withResults`: throw the error of a future that erred or was cancelled (true, the
   * default), or hand out `[future, error]` (false), as Dask's `raise_errors`.
   */
  raiseErrors?: boolean;
  /**
   * Seconds from now within which every future must have finished; past it, waiting for the
   * next one throws `TimeoutError`.
   */
  timeout?: number;
}

/** An async iterator over futures in completion order; more can be added while iterating. */
export class AsCompleted<T = unknown, R extends boolean = false>
  implements AsyncIterableIterator<Completed<T, R>> {
  readonly #withResults: boolean;
  readonly #raiseErrors: boolean;
  /** When waiting stops with TimeoutError (ms since the epoch), or Infinity. */
  readonly #deadline: number;
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
    this.#raiseErrors = options.raiseErrors !== false;
    const timeout = options.timeout;
    if (timeout !== undefined && !(typeof timeout === "number" && timeout >= 0)) {
      throw new TypeError(`asCompleted(): timeout must be seconds ≥ 0, got ${timeout}.`);
    }
    this.#deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
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

  /**
   * The next future to finish (or `done` when none is left).
   *
   * @throws {TimeoutError} when the `timeout` passed with futures still pending.
   */
  async next(): Promise<IteratorResult<Completed<T, R>>> {
    const next = await this.#nextFinished();
    if (next === undefined) return { value: undefined, done: true };
    const future = next.future;
    // never through an await: a Future is thenable and would turn into its value
    if (!this.#withResults) return { value: future as Completed<T, R>, done: false };
    return { value: await this.#pair(future) as Completed<T, R>, done: false };
  }

  /**
   * Every future that has finished now, handed out at once. Without `block` (or with `false`)
   * it does not wait and may be empty; with `block: true` it waits for at least one (an empty
   * array when none is left).
   */
  nextBatch(): Future<T>[];
  /** With `block: true`: waits for at least one finished future. */
  nextBatch(options: { block: true }): Promise<Future<T>[]>;
  /** With `block: false`: what has finished now, possibly nothing. */
  nextBatch(options: { block: false }): Future<T>[];
  nextBatch(options: { block?: boolean } = {}): Future<T>[] | Promise<Future<T>[]> {
    if (options.block === true) {
      return this.#nextFinished().then((first) =>
        first === undefined ? [] : [first.future, ...this.#takeAll()]
      );
    }
    return this.#takeAll();
  }

  /**
   * Batches of what finished together, each handed out as {@link next} would (pairs with
   * `withResults`), until none is left.
   *
   * ```ts
   * for await (const batch of asCompleted(futures).batches()) console.log(batch.length);
   * ```
   */
  async *batches(): AsyncGenerator<Completed<T, R>[], void, undefined> {
    for (;;) {
      const first = await this.#nextFinished();
      if (first === undefined) return;
      const batch: Completed<T, R>[] = [];
      for (const future of [first.future, ...this.#takeAll()]) {
        batch.push((this.#withResults ? await this.#pair(future) : future) as Completed<T, R>);
      }
      // an array, not a Future, so the generator's own await does not unwrap anything
      yield batch;
    }
  }

  /** Stops watching every future: nothing is left to hand out (more may be added after). */
  clear(): void {
    this.#generation++;
    this.#finished = [];
    this.#head = 0;
    this.#pending = 0;
    this.#wakeAll();
  }

  /** Stops handing out futures. */
  return(): Promise<IteratorResult<Completed<T, R>>> {
    this.clear();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** `for await (const future of asCompleted(futures))`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Completed<T, R>> {
    return this;
  }

  /**
   * The next finished future, taken in the same step it is seen (concurrent callers each get
   * their own), or undefined when none is left. Wrapped: a promise of a Future itself would
   * resolve to the Future's value.
   */
  async #nextFinished(): Promise<{ future: Future<T> } | undefined> {
    while (this.#head === this.#finished.length) {
      if (this.#pending === 0) return undefined;
      const left = this.#deadline - Date.now();
      if (left <= 0) {
        throw new TimeoutError(
          `asCompleted: ${this.#pending} futures did not finish within the timeout.`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        if (this.#deadline !== Infinity) timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return { future: this.#take() };
  }

  /** `[future, value]` of a finished future (`[future, error]` when errors are not raised). */
  async #pair(future: Future<T>): Promise<[Future<T>, unknown]> {
    if (future.status !== "finished" && !this.#raiseErrors) {
      return [future, await future.exception()];
    }
    return [future, await future.result()];
  }

  #takeAll(): Future<T>[] {
    const batch = this.#finished.slice(this.#head);
    this.#finished = [];
    this.#head = 0;
    return batch;
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
