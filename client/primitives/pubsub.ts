/**
 * Pub/Sub (Dask's `distributed.Pub` / `distributed.Sub`): messages on a named topic from every
 * publisher to every subscriber present when they are sent (nothing is stored). Between tasks
 * they go worker to worker, peer to peer: the scheduler only tracks which workers' tasks
 * subscribe (and tells publishers when that changes); a Pub sends each message straight to
 * those workers, which hand it to their subscribed threads. Subs of plain clients get their
 * messages through the scheduler.
 *
 * @module
 */

import { currentTask, pubSubBridge } from "../../core/task_context.ts";
import { decode, encode, type Encoded } from "../../core/value_codec.ts";
import type { PubSubToClientMsg } from "../../protocol/messages.ts";
import { TimeoutError } from "../future_state.ts";
import { Client } from "../client.ts";
import { checkName, clientFor, connected, type SharedStateOptions } from "./context.ts";

/** Who a topic's messages go to, as the scheduler last said. */
interface Subscribers {
  workers: string[];
  clients: boolean;
}

/** What the Pub/Sub hub needs of its client. */
export interface PubSubHost {
  request<T>(method: string, params: Record<string, unknown>): Promise<T>;
  /** Sends a message to the subscribed tasks of a worker, peer to peer. */
  publishToWorker(worker: string, name: string, value: Encoded): Promise<void>;
}

/** A client's Pub/Sub state: its publishers' subscriber lists and its own Subs' deliveries. */
export class PubSubHub {
  readonly #host: PubSubHost;
  readonly #subscribers = new Map<string, Promise<Subscribers>>();
  readonly #deliveries = new Map<string, Set<(value: Encoded) => void>>();

  constructor(host: PubSubHost) {
    this.#host = host;
  }

  /** A message from the scheduler for this client's Pubs or Subs. */
  receive(msg: PubSubToClientMsg): void {
    if (msg.op === "pubsub-subscribers") {
      this.#subscribers.set(
        msg.name,
        Promise.resolve({ workers: msg.workers, clients: msg.clients }),
      );
      return;
    }
    for (const deliver of this.#deliveries.get(msg.name) ?? []) deliver(msg.value);
  }

  /** Sends `value` to the subscribers of `name`. */
  async publish(name: string, value: Encoded): Promise<void> {
    let known = this.#subscribers.get(name);
    if (known === undefined) {
      known = this.#host.request<Subscribers>("pubsub-publisher", { name });
      this.#subscribers.set(name, known);
      known.catch(() => this.#subscribers.delete(name));
    }
    const { workers, clients } = await known;
    // best effort, as Dask's: a subscriber's worker that just died misses the message (the
    // scheduler then drops its subscriptions and tells this client)
    const sends = workers.map((worker) =>
      this.#host.publishToWorker(worker, name, value).catch(() => {})
    );
    if (clients) sends.push(this.#host.request("pubsub-msg", { name, value }));
    await Promise.all(sends);
  }

  /** Calls `deliver` with the messages the scheduler forwards for `name`; gives a stop function. */
  listen(name: string, deliver: (value: Encoded) => void): () => void {
    let set = this.#deliveries.get(name);
    if (set === undefined) this.#deliveries.set(name, set = new Set());
    set.add(deliver);
    return () => {
      set.delete(deliver);
      if (set.size === 0) this.#deliveries.delete(name);
    };
  }
}

/**
 * Publishes messages on a topic. Inside a task it uses the task's client (`getClient()`) unless
 * `{ client }` is given.
 *
 * @example
 * ```ts
 * import { Client, Pub, Sub } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const sub = new Sub<string>("news", { client });
 * await sub.subscribed;
 * await new Pub<string>("news", { client }).put("hello");
 * console.log(await sub.get({ timeout: 5 })); // "hello"
 * sub.close();
 * ```
 */
export class Pub<T = unknown> {
  /** The topic. */
  readonly name: string;
  readonly #client: Client | (() => Promise<Client>);

  /** A publisher on topic `name`. */
  constructor(name: string, options: SharedStateOptions = {}) {
    this.name = checkName("topic", name);
    this.#client = clientFor(options);
  }

  /** Sends `message` to every subscriber of the topic now (none: it is dropped). */
  async put(message: T): Promise<void> {
    const value = encode(message, { rootName: `a message on ${this.name}` });
    await (await connected(this.#client)).pubsubHub().publish(this.name, value);
  }

  /** `Pub(name)`. */
  toString(): string {
    return `Pub(${this.name})`;
  }
}

/**
 * Receives the messages published on a topic from the moment it is subscribed
 * ({@link Sub.subscribed}). Async-iterable; `get({ timeout })` takes one message.
 *
 * @example
 * ```ts
 * import { Client, Pub, Sub } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * using sub = new Sub<number>("counts", { client });
 * await sub.subscribed;
 * const pub = new Pub<number>("counts", { client });
 * for (const n of [1, 2, 3]) await pub.put(n);
 * let total = 0;
 * for await (const n of sub) {
 *   total += n;
 *   if (n === 3) break;
 * }
 * console.log(total); // 6
 * ```
 */
export class Sub<T = unknown> implements Disposable, AsyncIterable<T> {
  /** The topic. */
  readonly name: string;
  /** Resolves once messages published from now on reach this Sub. */
  readonly subscribed: Promise<void>;
  readonly #client: Client | (() => Promise<Client>);
  readonly #messages: T[] = [];
  readonly #waiters: ((message: T) => void)[] = [];
  readonly #stopListening: () => void;
  #closed = false;

  /** A subscriber on topic `name`. */
  constructor(name: string, options: SharedStateOptions = {}) {
    this.name = checkName("topic", name);
    const client = this.#client = clientFor(options);
    const deliver = (value: Encoded) => this.#deliver(decode(value) as T);
    const task = currentTask();
    const bridge = pubSubBridge();
    // in a task the worker hands messages to this thread; elsewhere the scheduler forwards them
    const worker = task !== undefined && bridge !== null ? task.worker : null;
    let listening: Promise<() => void> | (() => void);
    if (worker !== null) listening = bridge!.subscribe(this.name, deliver);
    else if (client instanceof Client) listening = client.pubsubHub().listen(this.name, deliver);
    else {
      listening = client().then((c) => c.pubsubHub().listen(this.name, deliver));
      listening.catch(() => {}); // reported by get(), through `subscribed`
    }
    this.#stopListening = () => {
      if (typeof listening === "function") listening();
      else void listening.then((stop) => stop(), () => {});
    };
    this.subscribed = connected(client)
      .then((c) => c.sharedState().request("pubsub-subscribe", { name: this.name, worker }))
      .then(() => {});
    this.subscribed.catch(() => {}); // reported by get()
  }

  /**
   * The next message, waiting at most `timeout` seconds (default: for ever).
   *
   * @throws {TimeoutError} when none came in time.
   */
  async get(options: { timeout?: number } = {}): Promise<T> {
    await this.subscribed;
    if (this.#messages.length > 0) return this.#messages.shift()!;
    if (this.#closed) throw new Error(`${this} is closed.`);
    return await new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = (message: T) => {
        clearTimeout(timer);
        resolve(message);
      };
      this.#waiters.push(waiter);
      if (options.timeout !== undefined) {
        timer = setTimeout(() => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          reject(new TimeoutError(`No message on ${this.name} within ${options.timeout} s.`));
        }, options.timeout * 1000);
      }
    });
  }

  /** Messages as they come, for ever (break out of the loop to stop). */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) yield await this.get();
  }

  /** Stops receiving; the scheduler forgets this subscriber. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopListening();
    void connected(this.#client)
      .then((c) => c.sharedState().request("pubsub-unsubscribe", { name: this.name }))
      .catch(() => {});
  }

  /** `using sub = new Sub(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `Sub(name)`. */
  toString(): string {
    return `Sub(${this.name})`;
  }

  #deliver(message: T): void {
    if (this.#closed) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(message);
    else this.#messages.push(message);
  }
}
