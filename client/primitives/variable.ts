/**
 * Variable (Dask's `distributed.Variable`): a cluster-wide named value. Futures in it are kept
 * alive while the variable holds them.
 *
 * @module
 */

import { SharedObject, type SharedStateOptions } from "./context.ts";

/**
 * A named value shared by every client of the scheduler.
 *
 * @example
 * ```ts
 * import { Client, Variable } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const stop = new Variable<boolean>("stop", { client });
 * await stop.set(false);
 * console.log(await stop.get({ timeout: 5 })); // false
 * ```
 */
export class Variable<T = unknown> extends SharedObject {
  /** The variable named `name` (default: a new unique name). */
  constructor(name?: string, options: SharedStateOptions = {}) {
    super("variable", name, options);
  }

  /** Sets the value (Futures inside it are kept alive while it is set). */
  async set(value: T): Promise<void> {
    await this.sendValue("variable-set", value, "the value");
  }

  /**
   * The value, waiting for one to be set (at most `timeout` seconds).
   *
   * @throws {TimeoutError} when none was set within `timeout`.
   */
  async get(options: { timeout?: number } = {}): Promise<T> {
    const found = await this.waitFor<{ value: unknown }>("variable-get", options);
    return this.unshare(found.value) as T;
  }

  /** Removes the value; Futures it held may be freed. */
  async delete(): Promise<void> {
    await this.request("variable-delete");
  }
}
