/**
 * Event (Dask's `distributed.Event`): a cluster-wide flag that clients set, clear and wait for.
 *
 * @module
 */

import { SharedObject, type SharedStateOptions } from "./context.ts";

/**
 * A flag shared by every client of the scheduler under one name.
 *
 * @example
 * ```ts
 * import { Client, Event } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const ready = new Event("inputs-ready", { client });
 * setTimeout(() => ready.set(), 100);
 * console.log(await ready.wait({ timeout: 10 })); // true
 * ```
 */
export class Event extends SharedObject {
  /** The event named `name` (default: a new unique name). */
  constructor(name?: string, options: SharedStateOptions = {}) {
    super("event", name, options);
  }

  /** Sets the flag: every waiter goes on. */
  async set(): Promise<void> {
    await this.request("event-set");
  }

  /** Clears the flag. */
  async clear(): Promise<void> {
    await this.request("event-clear");
  }

  /** True when the flag is set. */
  async isSet(): Promise<boolean> {
    return await this.request<boolean>("event-is-set");
  }

  /** Waits for the flag; resolves false when `timeout` seconds passed first. */
  async wait(options: { timeout?: number } = {}): Promise<boolean> {
    const params: Record<string, unknown> = {};
    if (options.timeout !== undefined) params.timeout = options.timeout;
    return await this.request<boolean>("event-wait", params);
  }
}
