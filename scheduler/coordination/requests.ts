/**
 * The scheduler's answers to the shared-state requests of clients (docs/protocol.md,
 * "Shared state"): datasets, semaphores and locks, events, queues, variables. The records are
 * pure (./datasets.ts, ./semaphores.ts, ./events.ts, ./queues.ts, ./variables.ts); this is the
 * edge that checks parameters, holds and releases keys through the state machine (as events the
 * server feeds), times waiting requests out and drops the waits and leases of clients that left.
 *
 * @module
 */

import type { Key } from "../../core/task.ts";
import { isEncoded } from "../../protocol/message_checks.ts";
import type { ClientToSchedulerMsg, PubSubToClientMsg } from "../../protocol/messages.ts";
import type { SharedStateRecord } from "../journal_book.ts";
import { CoordinationError, type Dataset, datasetHolder, DatasetStore } from "./datasets.ts";
import { EventLog } from "./event_log.ts";
import { Events } from "./events.ts";
import { queueHolder, type QueueItem, Queues } from "./queues.ts";
import { MultiLocks } from "./multi_locks.ts";
import { PubSubBooks } from "./pubsub.ts";
import { Semaphores } from "./semaphores.ts";
import { variableHolder, Variables, type VariableValue } from "./variables.ts";

/** What the requests need of the scheduler: a way to send the state machine a client's message. */
export interface CoordinationHost {
  /** Feeds `msg` as sent by the (pseudo-)client `holder`. */
  asClient(holder: string, msg: ClientToSchedulerMsg): void;
  /** The (pseudo-)client `holder` is gone: everything it held is released. */
  forget(holder: string): void;
  /** Sends a connected client a Pub/Sub message (dropped when it is not connected). */
  toClient(client: string, msg: PubSubToClientMsg): void;
  /**
   * A queue, variable, semaphore, lock, multi-lock or Event changed: the scheduler journal (when kept) writes it
   * before the answer goes out.
   */
  journal?(record: SharedStateRecord): void;
}

/** The methods this module answers. */
export const COORDINATION_METHODS: ReadonlySet<string> = new Set([
  "publish-put",
  "publish-get",
  "publish-list",
  "publish-delete",
  "semaphore-declare",
  "semaphore-acquire",
  "semaphore-release",
  "event-set",
  "event-clear",
  "event-is-set",
  "event-wait",
  "queue-declare",
  "queue-put",
  "queue-get",
  "queue-size",
  "variable-set",
  "variable-get",
  "variable-delete",
  "log-event",
  "get-events",
  "multi-lock-acquire",
  "multi-lock-release",
  "pubsub-subscribe",
  "pubsub-unsubscribe",
  "pubsub-publisher",
  "pubsub-msg",
]);

/** A waiting request past its timeout; the client raises its own `TimeoutError`. */
class WaitTimeoutError extends Error {
  override name = "TimeoutError";
}

export class CoordinationRequests {
  readonly datasets = new DatasetStore();
  readonly semaphores = new Semaphores();
  readonly events = new Events();
  readonly queues = new Queues();
  readonly variables = new Variables();
  readonly eventLog = new EventLog();
  readonly multiLocks = new MultiLocks();
  readonly pubsub = new PubSubBooks();
  /** The waits of each client, stopped when it leaves. */
  readonly #waits = new Map<string, Set<() => void>>();

  constructor(readonly host: CoordinationHost) {}

  /** A client left: its waits end, its leases return. */
  clientGone(client: string): void {
    const waits = this.#waits.get(client);
    this.#waits.delete(client);
    if (waits !== undefined) { for (const stop of waits) stop(); }
    this.semaphores.releaseHolder(client);
    this.multiLocks.releaseHolder(client);
    for (const topic of this.pubsub.clientGone(client)) this.#subscribersChanged(topic);
  }

  /** Tells the publishers of `topic` who subscribes now. */
  #subscribersChanged(topic: string): void {
    const { workers, clients } = this.pubsub.subscribers(topic);
    for (const publisher of this.pubsub.publishers(topic)) {
      this.host.toClient(publisher, { op: "pubsub-subscribers", name: topic, workers, clients });
    }
  }

  /** Answers one of {@link COORDINATION_METHODS} for `client`. */
  answer(
    method: string,
    params: Record<string, unknown>,
    client = "",
  ): unknown | Promise<unknown> {
    switch (method) {
      case "publish-put": {
        const name = nameOf(params, method);
        const keys = params.keys;
        if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
          throw new CoordinationError(`${method} needs params {name, keys: string[], value}`);
        }
        if (!isEncoded(params.value)) {
          throw new CoordinationError(`${method} needs an encoded value`);
        }
        const dataset: Dataset = { keys: keys as Key[], value: params.value };
        const holder = datasetHolder(name);
        const old = this.datasets.put(name, dataset, params.override === true);
        // the new keys are held before the old ones go, so a key in both stays
        this.host.asClient(holder, { op: "client-desires-keys", keys: dataset.keys });
        if (old !== undefined) {
          const kept = new Set(dataset.keys);
          const gone = old.keys.filter((key) => !kept.has(key));
          if (gone.length > 0) {
            this.host.asClient(holder, { op: "client-releases-keys", keys: gone });
          }
        }
        return null;
      }
      case "publish-get":
        return this.#get(nameOf(params, method), params.timeout);
      case "publish-list":
        return this.datasets.names();
      case "publish-delete": {
        const name = nameOf(params, method);
        this.datasets.delete(name);
        this.host.forget(datasetHolder(name));
        return null;
      }
      case "semaphore-declare": {
        const maxLeases = params.maxLeases;
        if (!Number.isInteger(maxLeases) || (maxLeases as number) < 1) {
          throw new CoordinationError(`${method} needs maxLeases, an integer ≥ 1`);
        }
        const name = nameOf(params, method);
        this.semaphores.declare(name, maxLeases as number);
        this.host.journal?.({ t: "semaphore", name, maxLeases: maxLeases as number });
        return null;
      }
      case "semaphore-acquire": {
        const name = nameOf(params, method);
        const lease = stringParam(params, "lease", method);
        if (this.#acquire(name, lease, client)) return true;
        return this.#wait<boolean>(
          client,
          params.timeout,
          (done) =>
            this.semaphores.whenReleased(name, () => {
              if (!this.#acquire(name, lease, client)) return false;
              done(true);
              return true;
            }),
          () => false,
        );
      }
      case "semaphore-release": {
        const name = nameOf(params, method);
        const lease = stringParam(params, "lease", method);
        const released = this.semaphores.release(name, lease);
        if (released) this.host.journal?.({ t: "lease", name, lease, holder: null });
        return released;
      }
      case "log-event": {
        const topics = typeof params.topic === "string" ? [params.topic] : params.topic;
        if (
          !Array.isArray(topics) || topics.length === 0 ||
          !topics.every((t) => typeof t === "string" && t !== "")
        ) {
          throw new CoordinationError(
            `${method} needs params {topic: a non-empty string or a list of them, msg}`,
          );
        }
        this.eventLog.log(topics, params.msg, Date.now() / 1000);
        return null;
      }
      case "get-events":
        if (params.topic === undefined) return this.eventLog.all();
        return this.eventLog.get(stringParam(params, "topic", method));
      case "event-set": {
        const name = nameOf(params, method);
        if (!this.events.isSet(name)) this.host.journal?.({ t: "event", name, set: true });
        this.events.set(name);
        return null;
      }
      case "event-clear": {
        const name = nameOf(params, method);
        if (this.events.isSet(name)) this.host.journal?.({ t: "event", name, set: false });
        this.events.clear(name);
        return null;
      }
      case "event-is-set":
        return this.events.isSet(nameOf(params, method));
      case "event-wait": {
        const name = nameOf(params, method);
        if (this.events.isSet(name)) return true;
        return this.#wait<boolean>(
          client,
          params.timeout,
          (done) =>
            this.events.whenSet(name, () => {
              done(true);
              return true;
            }),
          () => false,
        );
      }
      case "queue-declare": {
        const maxsize = params.maxsize;
        if (!Number.isInteger(maxsize) || (maxsize as number) < 0) {
          throw new CoordinationError(`${method} needs maxsize, an integer ≥ 0 (0: unbounded)`);
        }
        const name = nameOf(params, method);
        this.queues.declare(name, maxsize as number);
        if ((maxsize as number) > 0) {
          this.host.journal?.({ t: "queue-declare", name, maxsize: maxsize as number });
        }
        return null;
      }
      case "queue-put": {
        const name = nameOf(params, method);
        const item = itemOf(params, method);
        if (!this.queues.full(name)) return this.#queuePut(name, item);
        return this.#wait<null>(
          client,
          params.timeout,
          (done) =>
            this.queues.whenRoom(name, () => {
              if (this.queues.full(name)) return false;
              done(this.#queuePut(name, item));
              return true;
            }),
          () => {
            throw new WaitTimeoutError(
              `Queue '${name}' stayed full (maxsize ${this.queues.maxsize(name)}) for ` +
                `${params.timeout} s.`,
            );
          },
        );
      }
      case "multi-lock-acquire": {
        const id = stringParam(params, "id", method);
        const names = params.names;
        if (!Array.isArray(names) || !names.every((n) => typeof n === "string" && n !== "")) {
          throw new CoordinationError(`${method} needs params {names: non-empty strings}`);
        }
        const numLocks = params.numLocks ?? names.length;
        if (this.multiLocks.request(id, names, numLocks as number, client)) {
          return this.#multiLockGranted(id, client);
        }
        return this.#wait<boolean>(
          client,
          params.timeout,
          (done) => {
            this.multiLocks.whenGranted(id, () => done(this.#multiLockGranted(id, client)));
            return () => this.multiLocks.whenGranted(id, () => {});
          },
          () => {
            // given up: its places in the locks' queues go to those behind it
            this.multiLocks.release(id);
            return false;
          },
        );
      }
      case "multi-lock-release": {
        const id = stringParam(params, "id", method);
        if (this.multiLocks.granted(id)) {
          this.host.journal?.({ t: "multi-lock", id, names: [], holder: null });
        }
        return this.multiLocks.release(id);
      }
      case "pubsub-subscribe": {
        const name = nameOf(params, method);
        const worker = params.worker ?? null;
        if (worker !== null && typeof worker !== "string") {
          throw new CoordinationError(`${method}: worker must be a worker's address`);
        }
        if (this.pubsub.subscribe(name, client, worker)) this.#subscribersChanged(name);
        return null;
      }
      case "pubsub-unsubscribe": {
        const name = nameOf(params, method);
        if (this.pubsub.unsubscribe(name, client)) this.#subscribersChanged(name);
        return null;
      }
      case "pubsub-publisher": {
        const name = nameOf(params, method);
        this.pubsub.addPublisher(name, client);
        return this.pubsub.subscribers(name);
      }
      case "pubsub-msg": {
        const name = nameOf(params, method);
        if (!isEncoded(params.value)) {
          throw new CoordinationError(`${method} needs an encoded value`);
        }
        for (const subscriber of this.pubsub.clientSubscribers(name)) {
          this.host.toClient(subscriber, { op: "pubsub-msg", name, value: params.value });
        }
        return null;
      }
      case "queue-get":
        return this.#queueGet(client, nameOf(params, method), params);
      case "queue-size":
        return this.queues.size(nameOf(params, method));
      case "variable-set": {
        const name = nameOf(params, method);
        const value: VariableValue = itemOf(params, method);
        const holder = variableHolder(name);
        this.host.asClient(holder, { op: "client-desires-keys", keys: value.keys });
        const old = this.variables.set(name, value);
        this.host.journal?.({ t: "variable", name, value });
        if (old !== undefined) this.#releaseAllBut(holder, old.keys, value.keys);
        return null;
      }
      case "variable-get": {
        const name = nameOf(params, method);
        const found = this.variables.get(name);
        if (found !== undefined) return this.#handOver(client, found);
        return this.#wait<VariableValue>(
          client,
          params.timeout,
          (done) =>
            this.variables.whenSet(name, (value) => {
              done(this.#handOver(client, value));
              return true;
            }),
          () => {
            throw new WaitTimeoutError(
              `Variable '${name}' got no value within ${params.timeout} s.`,
            );
          },
        );
      }
      case "variable-delete": {
        const name = nameOf(params, method);
        const old = this.variables.delete(name);
        if (old !== undefined) {
          this.host.journal?.({ t: "variable", name, value: null });
          this.host.forget(variableHolder(name));
        }
        return null;
      }
    }
    throw new CoordinationError(`unknown coordination request ${JSON.stringify(method)}`);
  }

  /** `n` items of a queue (`batch`), or one, waiting for it within `timeout`. */
  #queueGet(
    client: string,
    name: string,
    params: Record<string, unknown>,
  ): QueueItem[] | Promise<QueueItem[]> {
    const batch = params.batch;
    if (batch !== undefined && !(Number.isInteger(batch) && (batch as number) >= 0)) {
      throw new CoordinationError("queue-get: batch must be a count ≥ 0 (0: everything there)");
    }
    // a batch takes what is there (all of it for 0), without waiting, as Dask's get(batch=)
    if (batch !== undefined) {
      const n = batch === 0 ? Infinity : batch as number;
      return this.#takeFromQueue(client, name, n);
    }
    const now = this.#takeFromQueue(client, name, 1);
    if (now.length > 0) return now;
    return this.#wait<QueueItem[]>(
      client,
      params.timeout,
      (done) =>
        this.queues.whenPut(name, (item) => {
          this.host.asClient(client, { op: "client-desires-keys", keys: item.keys });
          done([item]);
          return true;
        }),
      () => {
        throw new WaitTimeoutError(`Queue '${name}' had no item within ${params.timeout} s.`);
      },
    );
  }

  /** Adds an item (room known); the queue holds its keys. */
  #queuePut(name: string, item: QueueItem): null {
    const { handed, newKeys } = this.queues.put(name, item);
    if (!handed) this.host.journal?.({ t: "queue-put", name, item });
    if (newKeys.length > 0) {
      this.host.asClient(queueHolder(name), { op: "client-desires-keys", keys: newKeys });
    }
    return null;
  }

  #takeFromQueue(client: string, name: string, n: number): QueueItem[] {
    const { items, freedKeys } = this.queues.take(name, n);
    if (items.length > 0) this.host.journal?.({ t: "queue-take", name, n: items.length });
    const keys = items.flatMap((item) => item.keys);
    // the getter holds the keys before the queue lets go of them
    if (keys.length > 0) this.host.asClient(client, { op: "client-desires-keys", keys });
    if (freedKeys.length > 0) {
      this.host.asClient(queueHolder(name), { op: "client-releases-keys", keys: freedKeys });
    }
    this.queues.makeRoom(name, items.length);
    return items;
  }

  /** Takes a lease for `client` when one is free (journaled). */
  #acquire(name: string, lease: string, client: string): boolean {
    if (!this.semaphores.tryAcquire(name, lease, client)) return false;
    this.host.journal?.({ t: "lease", name, lease, holder: client });
    return true;
  }

  /**
   * Brings back what the journal kept (scheduler/journal_book.ts) after a restart, before any
   * client is answered; the keys these hold come back with their holders' replayed messages.
   */
  restore(shared: {
    queues: ReadonlyMap<string, { maxsize: number; items: QueueItem[] }>;
    variables: ReadonlyMap<string, VariableValue>;
    semaphores: ReadonlyMap<string, { maxLeases: number; leases: ReadonlyMap<string, string> }>;
    events: ReadonlySet<string>;
    multiLocks: ReadonlyMap<string, { names: string[]; holder: string }>;
  }): void {
    for (const name of shared.events) this.events.set(name);
    for (const [id, { names, holder }] of shared.multiLocks) {
      this.multiLocks.request(id, names, names.length, holder);
    }
    for (const [name, { maxsize, items }] of shared.queues) {
      this.queues.declare(name, maxsize);
      for (const item of items) this.queues.put(name, item);
    }
    for (const [name, value] of shared.variables) this.variables.set(name, value);
    for (const [name, { maxLeases, leases }] of shared.semaphores) {
      this.semaphores.declare(name, maxLeases);
      for (const [lease, holder] of leases) this.semaphores.tryAcquire(name, lease, holder);
    }
  }

  /** Journals the multi-lock request `id` that `client` was granted; true (the answer). */
  #multiLockGranted(id: string, client: string): true {
    this.host.journal?.({ t: "multi-lock", id, names: this.multiLocks.held(id), holder: client });
    return true;
  }

  /** A variable's value for `client`, which holds its keys from now on. */
  #handOver(client: string, value: VariableValue): VariableValue {
    if (value.keys.length > 0) {
      this.host.asClient(client, { op: "client-desires-keys", keys: value.keys });
    }
    return value;
  }

  #releaseAllBut(holder: string, old: Key[], kept: Key[]): void {
    const keep = new Set(kept);
    const gone = old.filter((key) => !keep.has(key));
    if (gone.length > 0) this.host.asClient(holder, { op: "client-releases-keys", keys: gone });
  }

  /**
   * Waits for what `register` waits for (it calls `done` with the answer), for at most `timeout`
   * seconds (none: for ever), then answers `timedOut()`. Ends when `client` leaves.
   */
  #wait<T>(
    client: string,
    timeout: unknown,
    register: (done: (value: T) => void) => () => void,
    timedOut: () => T,
  ): Promise<T> {
    if (
      timeout !== undefined && timeout !== null && !(typeof timeout === "number" && timeout >= 0)
    ) {
      throw new CoordinationError("timeout must be a number of seconds ≥ 0");
    }
    return new Promise<T>((resolve, reject) => {
      let waits = this.#waits.get(client);
      if (waits === undefined) this.#waits.set(client, waits = new Set());
      let timer: ReturnType<typeof setTimeout> | undefined;
      const end = () => {
        clearTimeout(timer);
        stop();
        waits.delete(end);
      };
      const stop = register((value) => {
        end();
        resolve(value);
      });
      waits.add(end);
      if (typeof timeout === "number") {
        timer = setTimeout(() => {
          end();
          try {
            resolve(timedOut());
          } catch (error) {
            reject(error);
          }
        }, timeout * 1000);
      }
    });
  }

  /**
   * The dataset `name`: at once when published, else once it is (within `timeout` seconds; no
   * timeout: answers null at once, which the client turns into its "not published" error).
   */
  #get(name: string, timeout: unknown): Dataset | null | Promise<Dataset> {
    const found = this.datasets.get(name);
    if (found !== undefined) return found;
    if (timeout === undefined || timeout === null) return null;
    if (typeof timeout !== "number" || !(timeout >= 0)) {
      throw new CoordinationError("publish-get: timeout must be a number of seconds ≥ 0");
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(
          new WaitTimeoutError(
            `No dataset named '${name}' was published within ${timeout} s.`,
          ),
        );
      }, timeout * 1000);
      const stop = this.datasets.whenPublished(name, (dataset) => {
        clearTimeout(timer);
        stop();
        resolve(dataset);
      });
    });
  }
}

function stringParam(params: Record<string, unknown>, name: string, method: string): string {
  const value = params[name];
  if (typeof value !== "string" || value === "") {
    throw new CoordinationError(`${method} needs params {${name}: a non-empty string}`);
  }
  return value;
}

/** An encoded value with the keys of the Futures inside it (queue items, variable values). */
function itemOf(params: Record<string, unknown>, method: string): QueueItem {
  const keys = params.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
    throw new CoordinationError(`${method} needs params {name, value, keys: string[]}`);
  }
  if (!isEncoded(params.value)) throw new CoordinationError(`${method} needs an encoded value`);
  return { value: params.value, keys: keys as Key[] };
}

function nameOf(params: Record<string, unknown>, method: string): string {
  const name = params.name;
  if (typeof name !== "string" || name === "") {
    throw new CoordinationError(`${method} needs params {name: a non-empty string}`);
  }
  return name;
}
