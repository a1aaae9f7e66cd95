/**
 * Queue (Dask's `distributed.Queue`): a cluster-wide FIFO held by the scheduler. Items may hold
 * Futures: their data stays while they are in the queue and belongs to whoever gets them.
 *
 * @module
 */

import { SharedObject, type SharedStateOptions } from "./context.ts";

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
 * ```
 */
export class Queue<T = unknown> extends SharedObject {
  /** The queue named `name` (default: a new unique name). */
  constructor(name?: string, options: SharedStateOptions = {}) {
    super("queue", name, options);
  }

  /** Adds an item (Futures inside it are kept alive while it waits in the queue). */
  async put(item: T): Promise<void> {
    await this.sendValue("queue-put", item, "an item");
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
