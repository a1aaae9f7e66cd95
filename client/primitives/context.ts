/**
 * Which client a shared-state object (Queue, Lock, Event, Semaphore, Variable) talks through:
 * the one given, or the current default client, as in Dask.
 *
 * @module
 */

import { Client } from "../client.ts";
import type { Encoded } from "../../core/value_codec.ts";
import {
  decodeShared,
  encodeShared,
  type SharedStateContext,
  withTimeoutError,
} from "./shared_values.ts";
import { TimeoutError } from "../future_state.ts";

/** Options every shared-state object takes. */
export interface SharedStateOptions {
  /** The client to reach the scheduler through. Default: `Client.current()`. */
  client?: Client;
}

/** The context of `options.client`, or of the current client. */
export function contextOf(options: SharedStateOptions): SharedStateContext {
  return (options.client ?? Client.current()).sharedState();
}

/** Checks a shared-state object's name. */
export function checkName(kind: string, name: unknown): string {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `A ${kind}'s name must be a non-empty string, got ${JSON.stringify(name)}.`,
    );
  }
  return name;
}

/**
 * What Queue, Variable and Event share: a name every client of the scheduler uses for the same
 * object, and the client their requests go through.
 *
 * @example
 * ```ts
 * import { Client, Queue, SharedObject } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const queue: SharedObject = new Queue("jobs", { client });
 * console.log(queue.name); // "jobs"
 * ```
 */
export abstract class SharedObject {
  /** The shared name. */
  readonly name: string;
  readonly #context: SharedStateContext;

  /** @internal `kind` names the class in errors and default names. */
  constructor(kind: string, name: string | undefined, options: SharedStateOptions) {
    this.name = checkName(kind, name ?? `${kind}-${crypto.randomUUID()}`);
    this.#context = contextOf(options);
  }

  /** @internal A request to the scheduler about this object (its name is added). */
  protected request<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return this.#context.request<T>(method, { ...params, name: this.name });
  }

  /** @internal `value` as request parameters (`value`, `keys`), Futures as references. */
  protected share(value: unknown, what: string): Record<string, unknown> {
    return encodeShared(this.#context, value, `${what} of ${this.name}`);
  }

  /**
   * @internal Sends `value` (`what`, for errors) with `method`; its Futures stay alive there. A
   * request that waits (a full queue) gives up after `timeout` s with {@link TimeoutError}.
   */
  protected async sendValue(
    method: string,
    value: unknown,
    what: string,
    options: { timeout?: number } = {},
  ): Promise<void> {
    const params = this.share(value, what);
    if (options.timeout !== undefined) params.timeout = options.timeout;
    await withTimeoutError(this.request(method, params), TimeoutError);
  }

  /**
   * @internal A request that may wait on the scheduler (up to `timeout` seconds, when given):
   * the scheduler's timeout comes back as this client's {@link TimeoutError}.
   */
  protected waitFor<T>(method: string, params: { timeout?: number; batch?: number }): Promise<T> {
    const sent: Record<string, unknown> = {};
    if (params.batch !== undefined) sent.batch = params.batch;
    else if (params.timeout !== undefined) sent.timeout = params.timeout;
    return withTimeoutError(this.request<T>(method, sent), TimeoutError);
  }

  /** @internal A shared value read back, with Futures of this client. */
  protected unshare(encoded: unknown): unknown {
    return decodeShared(this.#context, encoded as Encoded);
  }
}
