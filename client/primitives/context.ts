/**
 * Which client a shared-state object (Queue, Lock, Event, Semaphore, Variable, Pub, Sub) talks
 * through: the one given; inside a task on a worker, the task's own client (`getClient()`,
 * connected on the object's first request, as Dask's objects made in a task use the worker
 * client); elsewhere the current default client.
 *
 * @module
 */

import { Client } from "../client.ts";
import { currentTask } from "../../core/task_context.ts";
import { getClient } from "../task_client.ts";
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
  /**
   * The client to reach the scheduler through. Default: in a task on a worker, the task's client
   * (`getClient()`, connected on first use); elsewhere `Client.current()`.
   */
  client?: Client;
}

/**
 * The client of `options`: the one given; in a task on a worker, a function giving the task's
 * client (`getClient()`: it connects on the first call, so an object that sends nothing opens no
 * connection); elsewhere the current client.
 */
export function clientFor(options: SharedStateOptions): Client | (() => Promise<Client>) {
  if (options.client !== undefined) return options.client;
  if (currentTask()?.scheduler != null) return getClient;
  return Client.current();
}

/** The client of {@link clientFor}, connected. */
export function connected(client: Client | (() => Promise<Client>)): Promise<Client> {
  return client instanceof Client ? Promise.resolve(client) : client();
}

/** The context of {@link clientFor}. */
export function contextOf(options: SharedStateOptions): SharedStateContext {
  const client = clientFor(options);
  return client instanceof Client ? client.sharedState() : contextOnFirstUse(client);
}

/**
 * A context whose first request connects the task's client. Reading Futures and actors needs
 * the client itself: {@link SharedStateContext.ready} connects it (every request waits for it
 * until it is connected).
 */
function contextOnFirstUse(client: () => Promise<Client>): SharedStateContext {
  let context: SharedStateContext | undefined;
  let connecting: Promise<SharedStateContext> | undefined;
  const connect = () => connecting ??= client().then((c) => (context = c.sharedState()));
  const settled = (): SharedStateContext => {
    if (context === undefined) {
      throw new Error(
        "internal: a task's shared-state object was used before its client connected",
      );
    }
    return context;
  };
  return {
    // (once connected, nothing to wait for: requests then go in the order they are made)
    get ready() {
      return context === undefined ? connect() : undefined;
    },
    request: <T>(method: string, params: Record<string, unknown>) =>
      context !== undefined
        ? context.request<T>(method, params)
        : connect().then((c) => c.request<T>(method, params)),
    futureKey: (future) => settled().futureKey(future),
    futureOf: (key) => settled().futureOf(key),
    get actors() {
      return settled().actors;
    },
  };
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
    // a task's client connects before its Futures are read (awaited only then, so a put is
    // sent in the order it was called, as every other request)
    const ready = this.#context.ready;
    if (ready !== undefined) await ready;
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
