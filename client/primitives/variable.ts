/**
 * Variable (Dask's `distributed.Variable`): a cluster-wide named value. Futures in it are kept
 * alive while the variable holds them.
 *
 * @module
 */

import { TimeoutError } from "../future_state.ts";
import { SharedObject, type SharedStateOptions } from "./context.ts";
import { withTimeoutError } from "./shared_values.ts";

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
    const shared = this.share(value, "the value");
    await this.request("variable-set", shared);
  }

  /**
   * The value, waiting for one to be set (at most `timeout` seconds).
   *
   * @throws {TimeoutError} when none was set within `timeout`.
   */
  async get(options: { timeout?: number } = {}): Promise<T> {
    const params: Record<string, unknown> = {};
    if (options.timeout !== undefined) params.timeout = options.timeout;
    const found = await withTimeoutError(
      this.request<{ value: unknown }>("variable-get", params),
      TimeoutError,
    );
    return this.unshare(found.value) as T;
  }

  /** Removes the value; Futures it held may be freed. */
  async delete(): Promise<void> {
    await this.request("variable-delete");
  }
}
