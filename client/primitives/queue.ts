/**
 * Queue (Dask's `distributed.Queue`): a cluster-wide FIFO held by the scheduler. Items may hold
 * Futures: their data stays while they are in the queue and belongs to whoever gets them.
 *
 * @module
 */

import { SharedObject, type SharedStateOptions } from "./context.ts";

/** Options of a {@link Queue}. */
export interface QueueOptions extends SharedStateOptions {
  /**
   * The most items the queue holds; `put` then waits for room. 0 (the default): unbounded. The
   * first client to make the queue with a bound sets it, as in Dask.
   */
  maxsize?: number;
}

/**
 * A FIFO queue shared by every client of the scheduler under one name.
 *
 * @example
 * ```ts
 * import { Client, Queue } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const jobs = new Queue<number>("jobs", { client });
 * await jobs.put(1);
 * await jobs.put(2);
 * console.log(await jobs.qsize()); // 2
 * console.log(await jobs.get({ timeout: 5 })); // 1
 * console.log(await jobs.get({ batch: true })); // [2]
 *
 * const bounded = new Queue<string>("bounded", { client, maxsize: 1 });
 * await bounded.put("a");
 * await bounded.put("b", { timeout: 0.1 }).catch((e: Error) => console.log(e.name)); // "TimeoutError"
 * ```
 */
export class Queue<T = unknown> extends SharedObject {
  /** The bound this object asked for (0: none); the scheduler keeps the first one declared. */
  readonly maxsize: number;
  /**
   * The bound's declaration until the scheduler has taken it (then null: puts go at once, in
   * the order they are made, instead of a microtask late); failed, it stays and rejects puts.
   */
  #declaring: Promise<unknown> | null = null;

  /** The queue named `name` (default: a new unique name). */
  constructor(name?: string, options: QueueOptions = {}) {
    super("queue", name, options);
    const maxsize = options.maxsize ?? 0;
    if (!Number.isInteger(maxsize) || maxsize < 0) {
      throw new TypeError(
        `A queue's maxsize must be an integer ≥ 0 (0: unbounded), got ${JSON.stringify(maxsize)}.`,
      );
    }
    this.maxsize = maxsize;
    if (maxsize > 0) {
      const declaring = this.#declaring = this.request("queue-declare", { maxsize });
      declaring.then(() => this.#declaring = null, () => {}); // a failure: reported by puts
    }
  }

  /**
   * Adds an item (Futures inside it are kept alive while it waits in the queue). In a full
   * bounded queue it waits for room, at most `timeout` seconds. Resolves once the scheduler holds
   * the item, as Dask's `put` returns: whatever happens after it, by any route, sees the item.
   * One client's calls reach the scheduler in the order they are made, so a put and a get that
   * need no wait between them can be made together (`Promise.all`): one round trip.
   *
   * @throws {TimeoutError} when the queue stayed full for `timeout` seconds.
   */
  async put(item: T, options: { timeout?: number } = {}): Promise<void> {
    if (this.#declaring !== null) await this.#declaring; // a failed declaration rejects here
    await this.sendValue("queue-put", item, "an item", options);
  }

  /**
   * The oldest item, waiting for one (at most `timeout` seconds). With `batch: true` every item
   * there now, with `batch: n` up to `n` of them, without waiting (possibly none).
   *
   * @throws {TimeoutError} when no item came within `timeout`.
   */
  get(options?: { timeout?: number }): Promise<T>;
  /** Every item there now (`batch: true`) or up to `n` (`batch: n`), without waiting. */
  get(options: { batch: true | number }): Promise<T[]>;
  async get(options: { timeout?: number; batch?: true | number } = {}): Promise<T | T[]> {
    const batch = options.batch === true ? 0 : options.batch;
    const items = await this.waitFor<{ value: unknown }[]>("queue-get", { ...options, batch });
    const values = items.map((item) => this.unshare(item.value) as T);
    return options.batch !== undefined ? values : values[0];
  }

  /** How many items wait in the queue. */
  async qsize(): Promise<number> {
    return await this.request<number>("queue-size");
  }
}
