/**
 * The Client: a connection to a cluster's scheduler, the futures it holds, and the graphs it
 * runs. It is also the `GraphExecutor` that collections' `.compute()` uses once connected.
 *
 * Reference counting: every Future of a key shares one record here and counts as one holder;
 * when the last Future of a key is released (or garbage-collected), the client tells the
 * scheduler, which frees the data once nothing else needs it. Messages of one tick are
 * batched (client/outbox.ts), and results are fetched from the workers directly, batched too
 * (client/data_fetch.ts).
 *
 * @module
 */

import {
  collectGraph,
  type Collection,
  collectionSymbol,
  isCollection,
  type Layer,
  leafLayer,
} from "../collections/collection.ts";
import {
  type ComputeOptions,
  getDefaultExecutor,
  type GraphExecutor,
  setDefaultExecutor,
} from "../collections/compute.ts";
import { Delayed } from "../collections/delayed.ts";
import { progressReporter } from "../collections/progress_bar.ts";
import { followTasks } from "../collections/task_progress.ts";
import { type ErrorRecord, recordFromError } from "../core/errors.ts";
import { describeFunction, functionName } from "../core/function_codec.ts";
import type { Graph } from "../core/graph.ts";
import {
  isPlainObject,
  type Key,
  makeLiteral,
  makeTask,
  type TaskFunction,
  TaskRef,
} from "../core/task.ts";
import { tokenize, uniqueToken } from "../core/tokenize.ts";
import { decode, type Encoded } from "../core/value_codec.ts";
import type { SchedulerToClientMsg, WorkerAddress } from "../protocol/messages.ts";
import type { TaskStreamEntry } from "../protocol/task_stream_entry.ts";
import type { DataItem, RebalanceResult } from "../protocol/session.ts";
import { PeerPool } from "../net/peer_pool.ts";
import { ClientView, type Submitter } from "./client_view.ts";
import { writePerformanceReport } from "./performance_report.ts";
import {
  type AdminOptions,
  rebalanceKeys,
  type RebalanceOptions,
  replicateKeys,
  type ReplicateOptions,
  restartWorkers,
  type RetireOptions,
  retireWorkers,
  runOnWorkers,
  type SchedulerRequest,
} from "./cluster_admin.ts";
import { type ConnectTarget, schedulerAddressOf } from "./connect_target.ts";
import { DataFetcher, MissingDataError } from "./data_fetch.ts";
import { Future, type FutureOwner } from "./future.ts";
import { CancelledError, FutureState } from "./future_state.ts";
import type { SharedStateContext } from "./primitives/shared_values.ts";
import {
  Datasets,
  getDataset,
  type GetDatasetOptions,
  listDatasets,
  publishDatasets,
  type PublishOptions,
  unpublishDataset,
} from "./primitives/datasets.ts";
import { callSpec, graphSpecs, replaceFutures } from "./graph_submission.ts";
import { LocalCluster, type LocalClusterOptions } from "../deploy/local_cluster.ts";
import { Outbox } from "./outbox.ts";
import { dataItem, placeData, type ScatterOptions } from "./scatter.ts";
import { typeNameOf } from "../core/type_name.ts";
import { SchedulerSession } from "./scheduler_connection.ts";
import { type SubmitOptions, taskOptionsOf } from "./submit_options.ts";

/** How a Client connects. */
export interface ClientOptions {
  /** Seconds to keep trying to reach the scheduler (it may still be starting). Default 10. */
  timeout?: number;
  /**
   * Seconds to keep reconnecting after the connection to the scheduler breaks, before the
   * client gives up and closes. Default 60.
   */
  reconnectTimeout?: number;
  /** Become the scheduler collections' `.compute()` uses by default. Default true. */
  setAsDefault?: boolean;
}

/** Options of {@link Client.gather}. */
export interface GatherOptions {
  /**
   * `"raise"` (default): throw the first error among the futures. `"skip"`: leave erred and
   * cancelled futures out of the result.
   */
  errors?: "raise" | "skip";
}

/** What {@link Client.gather} gives for a structure of futures: the same with values. */
export type Gathered<S> = S extends Future<infer T> ? T
  : S extends readonly unknown[] ? { -readonly [I in keyof S]: Gathered<S[I]> }
  : S extends Record<string, unknown> ? { [K in keyof S]: Gathered<S[K]> }
  : S;

/** A worker as {@link Client.workers} describes it. */
export interface WorkerStatus {
  /** Where the worker listens for data, `tcp://host:port`: its identity. */
  address: string;
  /** Its name, for `workers` restrictions. */
  name: string;
  /** Threads running tasks. */
  nthreads: number;
  /** Bytes it may hold; 0 for no limit. */
  memoryLimit: number;
  /** Bytes it holds. */
  memory: number;
  /** Tasks running there now. */
  executing: number;
  /** Keys it holds. */
  inMemory: number;
}

/** The client is closed (by `close()`, or because the scheduler could not be reached again). */
export class ClientClosedError extends Error {
  /** Always `"ClientClosedError"`. */
  override name = "ClientClosedError";
}

/** The states a client goes through. */
export type ClientStatus = "running" | "reconnecting" | "closed";

const CLOSED_MESSAGE =
  "This client is closed; create a new one with Client.connect(...) or Client.local(...)";

/** One key held by this client: its shared state and how many Futures hold it. */
class KeyHold extends FutureState {
  holders = 0;
  /** The workers holding the result, as the scheduler last said (fetches try them first). */
  workers: readonly WorkerAddress[] | undefined = undefined;
  /**
   * A tiny result that came with `key-in-memory` while this client was waiting to fetch it:
   * taken by the next fetch instead of asking a worker.
   */
  value: Encoded | undefined = undefined;

  /** Pending again (recomputed, retried, resubmitted): the old holders are no longer news. */
  override reset(): void {
    this.workers = undefined;
    this.value = undefined;
    super.reset();
  }
}

/** True when the scheduler no longer holds the key for this client (it must be sent again). */
function isGone(hold: FutureState): boolean {
  return hold.status === "cancelled" || hold.status === "lost";
}

/** Open clients that asked to be the default executor, oldest first: the newest one is. */
const defaultCandidates: Client[] = [];

/**
 * The task that brings a collection's outputs together on one worker (Dask's finalize task):
 * its value is the array of their values, which the collection's own `finalize` turns into
 * the result on the client.
 */
const collectValues = (...values: unknown[]) => values;

/**
 * A connection to a cluster: submits work, holds its results, fetches them.
 *
 * @example
 * ```ts
 * import { Client } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
 * // or: const client = await Client.connect("tcp://127.0.0.1:8786");
 * const inc = (x: number) => x + 1;
 * const add = (x: number, y: number) => x + y;
 * const x = client.submit(inc, 1);
 * const y = client.submit(add, x, 10); // x's value moves worker to worker
 * console.log(await y); // 12
 * console.log(await client.gather(client.map(inc, [1, 2, 3]))); // [2, 3, 4]
 * ```
 */
export class Client extends ClientView implements FutureOwner, GraphExecutor, AsyncDisposable {
  /** This client's id in the scheduler's books (`Client-<uuid>`). */
  readonly id: string;
  /** The cluster this client started with {@link Client.local}, closed with the client. */
  readonly cluster: LocalCluster | undefined;
  readonly #session: SchedulerSession;
  readonly #peers = new PeerPool({ role: "peer" });
  readonly #keys = new Map<Key, KeyHold>();
  readonly #outbox: Outbox;
  readonly #fetcher: DataFetcher;
  /** Turns fetched values of `compute` Futures into the collection's result. */
  readonly #finalizers = new Map<Key, (value: unknown) => unknown>();
  /** Keys a fetch is waiting for, with how many fetches: their tiny results are kept on arrival. */
  readonly #awaitingValues = new Map<Key, number>();
  #status: ClientStatus = "running";
  #closing: Promise<void> | undefined;
  /** Keys claimed again after a reconnection: a `lost` for them means the scheduler forgot. */
  #reclaimed = new Set<Key>();

  private constructor(id: string, session: SchedulerSession, cluster: LocalCluster | undefined) {
    // the view's operations are this client's, which exists only once super() returned
    const self: { client?: Client } = {};
    const submitter: Submitter = {
      submit: (fn, args, options) => self.client!.#submit(fn, args, options),
      map: (fn, iterables, options) => self.client!.#map(fn, iterables, options),
      compute: (collections, options) => self.client!.#compute(collections, options),
      persist: (collections, options) => self.client!.#persist(collections, options),
      scatter: (data, options) => self.client!.#scatter(data, options),
    };
    super(submitter, {});
    self.client = this;
    this.id = id;
    this.cluster = cluster;
    this.#session = session;
    this.#outbox = new Outbox((msg) => session.send(msg), this.#awaitingValues);
    this.#fetcher = new DataFetcher(
      (keys) => this.#request<Record<Key, WorkerAddress[]>>("who-has", { keys }),
      this.#peers,
      (key) => this.#keys.get(key)?.workers,
    );
  }

  /**
   * Connects to the scheduler at an address (`tcp://host:port` or `host:port`), the one a
   * scheduler file names (`{ schedulerFile }`, waiting up to `timeout` for it), or a cluster's.
   *
   * @throws {SchedulerUnreachableError} when no scheduler answers there within the timeout;
   *   the message names the address and how to start one.
   */
  static async connect(target: ConnectTarget, options: ClientOptions = {}): Promise<Client> {
    const address = await schedulerAddressOf(target, options.timeout ?? 10);
    return await Client.#open(address, options, undefined);
  }

  /**
   * Starts a scheduler and `nWorkers` worker processes on this machine (see
   * {@link LocalCluster}) and connects to them; closing the client stops them.
   *
   * @example
   * ```ts
   * import { Client } from "./mod.ts";
   *
   * await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
   * console.log(await client.submit((x: number) => x * 2, 21)); // 42
   * ```
   */
  static async local(options: LocalClusterOptions & ClientOptions = {}): Promise<Client> {
    const cluster = await LocalCluster.start(options);
    try {
      return await Client.#open(cluster.schedulerAddress, options, cluster);
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  static async #open(
    address: string,
    options: ClientOptions,
    cluster: LocalCluster | undefined,
  ): Promise<Client> {
    const id = `Client-${crypto.randomUUID()}`;
    // Messages may arrive before the Client exists: hold them until it does.
    const early: SchedulerToClientMsg[] = [];
    const made: { client?: Client } = {};
    const session = await SchedulerSession.open(address, id, {
      message: (msg) => made.client === undefined ? early.push(msg) : made.client.#onMessage(msg),
      disconnected: (reason) => {
        if (made.client !== undefined) made.client.#onDisconnected(reason);
      },
      reconnected: () => {
        if (made.client !== undefined) made.client.#onReconnected();
      },
      failed: (error) => {
        if (made.client !== undefined) void made.client.#shutdown(error);
      },
    }, { timeout: options.timeout ?? 10, reconnectTimeout: options.reconnectTimeout ?? 60 });
    const client = new Client(id, session, cluster);
    made.client = client;
    for (const msg of early) client.#onMessage(msg);
    if (options.setAsDefault ?? true) {
      defaultCandidates.push(client);
      setDefaultExecutor(client);
    }
    return client;
  }

  /**
   * The client made most recently that is still open and was made with `setAsDefault` (the
   * default): what Queue, Lock, Event, Semaphore and Variable use when given no client.
   *
   * @throws when there is none.
   */
  static current(): Client {
    const client = defaultCandidates[defaultCandidates.length - 1];
    if (client === undefined) {
      throw new Error(
        "No client is connected; create one with Client.connect(address) or Client.local(), " +
          "or pass { client } explicitly.",
      );
    }
    return client;
  }

  /** @internal What the shared-state classes (Queue, Lock, ...) use to reach the scheduler. */
  sharedState(): SharedStateContext {
    this.#checkOpen();
    return this.#sharedState;
  }

  /** `running`, `reconnecting` (the scheduler connection broke) or `closed`. */
  get status(): ClientStatus {
    return this.#status;
  }

  /** The scheduler's address, as this client reached it. */
  get schedulerAddress(): string {
    return this.#session.address;
  }

  /** The scheduler's dashboard, when it serves one. */
  get dashboardLink(): string | undefined {
    return this.#session.info.dashboardLink;
  }

  // -------------------------------------------------------------------------------------------
  // Futures API

  /**
   * Waits for futures and fetches their values from the workers. Takes a Future, or arrays and
   * plain objects of them (nested), and gives the same structure with values.
   *
   * @throws the first error among the futures (its original name, message, remote stack and
   *   the failing task's `key`), unless `errors: "skip"`.
   */
  async gather<S>(futures: S, options: GatherOptions = {}): Promise<Gathered<S>> {
    this.#checkOpen();
    const errors = options.errors ?? "raise";
    if (errors !== "raise" && errors !== "skip") {
      throw new TypeError(
        `gather(): errors must be "raise" or "skip", got ${JSON.stringify(errors)}.`,
      );
    }
    const leaves: Future[] = [];
    collectFutures(futures, leaves);
    for (const future of leaves) this.#checkOwn(future);
    const expected = this.#expect(leaves.map((future) => future.key));
    try {
      await this.#waitEnded(leaves, errors === "raise");
      const good: Key[] = [];
      const bad = new Set<Key>();
      if (errors === "raise") {
        // the first that failed, wherever it sits: earlier futures may still be pending
        const failed = leaves.find((future) => future.done() && future.status !== "finished");
        if (failed !== undefined) throw await failed.exception();
      }
      for (const future of leaves) {
        if (future.status === "finished") good.push(future.key);
        else bad.add(future.key);
      }
      const values = await this.#fetchValues(good);
      return rebuild(futures, values, bad) as Gathered<S>;
    } finally {
      expected();
    }
  }

  /** Cancels futures: their tasks, and the tasks that depend on them, stop and are released. */
  async cancel(
    futures: Future | Iterable<Future>,
    options: { force?: boolean } = {},
  ): Promise<void> {
    const list = futures instanceof Future ? [futures] : [...futures];
    for (const future of list) this.#checkOwn(future);
    await this.cancelKeys(list.map((f) => f.key), options.force);
  }

  /** Reruns erred futures (and the erred tasks they depend on). */
  async retry(futures: Future | Iterable<Future>): Promise<void> {
    const list = futures instanceof Future ? [futures] : [...futures];
    for (const future of list) this.#checkOwn(future);
    await this.retryKeys(list.map((f) => f.key));
  }

  /**
   * A Future for a key the cluster already holds (for example submitted by another client
   * that told you its key). Its status follows the key's; an unknown key ends as `lost`.
   */
  futureOf<T = unknown>(key: Key): Future<T> {
    this.#checkOpen();
    const hold = this.#keys.get(key);
    const fresh = hold === undefined || hold.holders === 0 || isGone(hold);
    if (hold !== undefined && isGone(hold)) hold.reset();
    const future = new Future<T>(key, this);
    if (fresh) this.#outbox.desire([key]);
    return future;
  }

  /**
   * Publishes named datasets — Futures, or arrays and plain objects holding them — that any
   * client of this scheduler can get back with {@link Client.getDataset}. The scheduler keeps
   * their data until they are unpublished, also after this client disconnects.
   *
   * @example
   * ```ts
   * import { Client } from "./mod.ts";
   *
   * await using client = await Client.local({ nWorkers: 1 });
   * await client.publishDataset({ squares: client.map((x: number) => x * x, [1, 2, 3]) });
   * // in another process: const squares = await other.getDataset<Future<number>[]>("squares");
   * ```
   *
   * @throws when a name is already published (unless `override: true`).
   */
  async publishDataset(
    datasets: Record<string, unknown>,
    options: PublishOptions = {},
  ): Promise<void> {
    this.#checkOpen();
    await publishDatasets(this.#sharedState, datasets, options);
  }

  /**
   * The dataset published under `name`, its Futures as Futures of this client. With a
   * `timeout` (seconds) it waits for the name to be published.
   *
   * @throws {TimeoutError} when nothing was published under `name` within the timeout.
   */
  async getDataset<T = unknown>(name: string, options: GetDatasetOptions = {}): Promise<T> {
    this.#checkOpen();
    return await getDataset<T>(this.#sharedState, name, options);
  }

  /** The names of the published datasets. */
  async listDatasets(): Promise<string[]> {
    this.#checkOpen();
    return await listDatasets(this.#sharedState);
  }

  /** Unpublishes a dataset; its data is freed once no client holds it. */
  async unpublishDataset(name: string): Promise<void> {
    this.#checkOpen();
    await unpublishDataset(this.#sharedState, name);
  }

  /** The published datasets as an asynchronous map (`get`, `set`, `delete`, `keys`, ...). */
  get datasets(): Datasets {
    return this.#datasets ??= new Datasets(this.#sharedState);
  }

  #datasets: Datasets | undefined;

  get #sharedState(): SharedStateContext {
    return {
      // after what this client queued, scatters too: published keys are known when it arrives
      request: async <T>(method: string, params: Record<string, unknown>) => {
        await this.#outbox.written();
        return await this.#request<T>(method, params);
      },
      futureKey: (future) => {
        const key = this.#futureKey(future);
        this.#borrowing = []; // the scheduler's dataset holder holds it from now on
        return key;
      },
      futureOf: (key) => this.futureOf(key),
    };
  }

  /**
   * Restarts every worker process's state: all tasks are forgotten (every future of every
   * client ends as cancelled), workers drop their data and threads and register again.
   * Resolves with the number of workers back.
   */
  async restart(options: AdminOptions = {}): Promise<number> {
    this.#checkOpen();
    return await restartWorkers(this.#admin, options);
  }

  /**
   * Retires workers gracefully: data only they hold is copied elsewhere first, then they stop.
   * Pass names/addresses, or `{ n }` to retire the `n` holding least data. Resolves with the
   * retired addresses.
   */
  async retireWorkers(workers: string[] | RetireOptions): Promise<string[]> {
    this.#checkOpen();
    return await retireWorkers(this.#admin, Array.isArray(workers) ? { workers } : workers);
  }

  /**
   * Runs `fn(...args)` once in every worker process (outside the task threads); resolves with
   * each worker's result by address. `fn` travels like a task function.
   */
  async run<T>(fn: (...args: never[]) => T | Promise<T>, ...args: unknown[]): Promise<
    Record<string, Awaited<T>>
  > {
    this.#checkOpen();
    return await runOnWorkers<Awaited<T>>(this.#admin, fn as TaskFunction, args);
  }

  /** Copies the futures' data to `n` workers (default: every worker), as a tree broadcast. */
  async replicate(
    futures: Future | Iterable<Future>,
    options: ReplicateOptions = {},
  ): Promise<Record<Key, number>> {
    this.#checkOpen();
    const keys = this.#ownKeys(futures);
    await this.#waitKeys(keys); // as in Dask: pending futures are waited for, then copied
    return await replicateKeys(this.#admin, keys, options);
  }

  /** Moves data from the workers holding most to those holding least (all data, or `futures`'). */
  async rebalance(
    futures?: Future | Iterable<Future>,
    options: Omit<RebalanceOptions, "keys"> = {},
  ): Promise<RebalanceResult> {
    this.#checkOpen();
    const keys = futures === undefined ? undefined : this.#ownKeys(futures);
    if (keys !== undefined) await this.#waitKeys(keys);
    return await rebalanceKeys(this.#admin, keys === undefined ? options : { ...options, keys });
  }

  #admin: SchedulerRequest = <T>(method: string, params: Record<string, unknown>) =>
    this.#request<T>(method, params);

  #ownKeys(futures: Future | Iterable<Future>): Key[] {
    const list = futures instanceof Future ? [futures] : [...futures];
    for (const f of list) {
      if (f.client !== this) {
        throw new Error(
          `Future '${f.key}' belongs to another client; use the client that made it.`,
        );
      }
    }
    return list.map((f) => f.key);
  }

  /**
   * Runs `work`, then writes a standalone HTML report of what the cluster ran meanwhile (the task
   * stream per worker thread and the time per task prefix) to `path`. Resolves to `work`'s result.
   *
   * ```ts
   * await client.performanceReport("report.html", () => x.sum().compute());
   * ```
   */
  async performanceReport<T>(path: string, work: () => Promise<T>): Promise<T> {
    this.#checkOpen();
    type Stream = { total: number; entries: TaskStreamEntry[] };
    const since = (await this.#request<Stream>("task-stream", { since: 0 })).total;
    const start = Date.now() / 1000;
    try {
      return await work();
    } finally {
      const { entries } = await this.#request<Stream>("task-stream", { since });
      const workers = (await this.workers()).map((w) => ({
        address: w.address,
        name: w.name,
        nthreads: w.nthreads,
      }));
      await writePerformanceReport(path, {
        taskStream: entries,
        start,
        stop: Date.now() / 1000,
        workers,
        title: `Performance report (${entries.length} task runs)`,
      });
    }
  }

  /** The workers connected to the scheduler, with what they hold and run. */
  async workers(): Promise<WorkerStatus[]> {
    this.#checkOpen();
    return await this.#request<WorkerStatus[]>("workers", {});
  }

  /** Which workers hold the data of these futures (all this client holds when none given). */
  async whoHas(futures?: Future | Iterable<Future>): Promise<Record<Key, string[]>> {
    this.#checkOpen();
    const keys = futures === undefined
      ? [...this.#keys.keys()]
      : futures instanceof Future
      ? [futures.key]
      : [...futures].map((f) => f.key);
    return await this.#request<Record<Key, WorkerAddress[]>>("who-has", { keys });
  }

  /**
   * Closes the connection; with {@link Client.local}, also stops the cluster. Futures still
   * pending end as cancelled. Safe to call twice.
   */
  close(): Promise<void> {
    return this.#shutdown(new ClientClosedError(CLOSED_MESSAGE));
  }

  /** `await using client = ...` closes the client at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `Client(id, scheduler, status)`. */
  override toString(): string {
    return `Client(${this.id}, ${this.schedulerAddress}, ${this.#status})`;
  }

  // -------------------------------------------------------------------------------------------
  // FutureOwner: what Futures ask of their client

  /** @internal The shared state of `key` (made on first use). */
  stateOf(key: Key): FutureState {
    let hold = this.#keys.get(key);
    if (hold === undefined) {
      hold = new KeyHold(key);
      this.#keys.set(key, hold);
    }
    return hold;
  }

  /** @internal One more Future holds `key`. */
  retain(key: Key): void {
    this.#keys.get(key)!.holders++;
  }

  /** @internal One Future less holds `key`; the last one tells the scheduler. */
  release(key: Key): void {
    const hold = this.#keys.get(key);
    if (hold === undefined || --hold.holders > 0) return;
    this.#keys.delete(key);
    this.#finalizers.delete(key);
    // nothing will report on this key any more: a released Future must not wait forever
    if (!hold.isDone) hold.cancel("The future was released before it finished.");
    if (this.#status !== "closed") this.#outbox.release(key);
  }

  /** @internal The value of a finished key, fetched from a worker that holds it. */
  async fetchValue(key: Key): Promise<unknown> {
    const values = await this.#fetchValues([key]);
    return values.get(key);
  }

  /** @internal Cancels keys on the cluster; their futures are cancelled at once. */
  // deno-lint-ignore require-await
  async cancelKeys(keys: Key[], force = false): Promise<void> {
    this.#checkOpen();
    this.#outbox.cancel(keys, force);
    for (const key of keys) this.#keys.get(key)?.cancel("Cancelled by this client.");
  }

  /** @internal Reruns erred keys; resolves once the scheduler has taken the request. */
  async retryKeys(keys: Key[]): Promise<void> {
    this.#checkOpen();
    this.#outbox.retry(keys);
    // the reply comes after the scheduler handled the retry (one connection, in order)
    await this.#request("who-has", { keys: [] });
  }

  /** @internal Keeps keys running until they finish, even once no Future holds them. */
  fireAndForgetKeys(keys: Key[]): void {
    this.#checkOpen();
    this.#outbox.fireAndForget(keys);
  }

  // -------------------------------------------------------------------------------------------
  // GraphExecutor: collections' compute() and persist()

  /** @internal Computes a graph's outputs on the cluster and gives their values. */
  async computeGraph(
    graph: Graph,
    outputs: readonly Key[],
    options: ComputeOptions,
  ): Promise<unknown[]> {
    const futures = this.#submitGraph(graph, outputs, {});
    try {
      const values = this.gather(futures);
      if (options.progress) {
        // The outputs alone report back here; the bar counts every task of the graph.
        const report = progressReporter();
        const total = graph.size;
        await followTasks(
          (keys) => this.taskProgress(keys),
          graph.keys(),
          (key) => report(key, total),
          values,
        );
      }
      return await values;
    } finally {
      for (const future of futures) future.release();
    }
  }

  /**
   * @internal Where each of `keys` stands on the scheduler (protocol/messages.ts `TASK_*`
   * codes, one per key), for progress displays. What this client queued goes out first, so a
   * graph just submitted is known when asked about.
   */
  async taskProgress(keys: readonly Key[]): Promise<Uint8Array> {
    this.#checkOpen();
    this.#outbox.flush();
    return await this.#request<Uint8Array>("task-progress", { keys });
  }

  /**
   * @internal Starts computing a graph's outputs and returns a layer of literal tasks whose
   * values are the outputs' Futures (each under its own key). A later graph holding such a
   * literal — a Future of this client with the task's own key — does not send it again: the
   * key is already on the cluster, held by this client (client/graph_submission.ts). The
   * results stay on the cluster while the layer (the persisted collection) is referenced.
   */
  persistGraph(graph: Graph, outputs: readonly Key[], _options: ComputeOptions): Promise<Layer> {
    return Promise.resolve(this.#persistLayer(graph, outputs, {}));
  }

  // -------------------------------------------------------------------------------------------
  // Submission (with a view's options)

  #submit(fn: TaskFunction, args: unknown[], options: SubmitOptions): Future {
    this.#checkOpen();
    checkFunction(fn, "submit");
    if (Array.isArray(options.key)) {
      throw new TypeError(
        "submit(): the option 'key' must be a string; an array of keys is for map().",
      );
    }
    const layers: Layer[] = [];
    let taskArgs: unknown[];
    try {
      taskArgs = replaceFutures(args, this.#futureKey, layers) as unknown[];
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
      const key = (options.key as string | undefined) ?? `${functionName(fn)}-${uniqueToken()}`;
      return this.#cancelledFuture(key, error);
    }
    const key = (options.key as string | undefined) ??
      `${functionName(fn)}-${options.pure === false ? uniqueToken() : tokenize(fn, ...taskArgs)}`;
    const held = this.#keys.get(key);
    // the same pure call is already held: share it, as Dask does
    if (held !== undefined && held.holders > 0 && !isGone(held)) {
      this.#borrowing = [];
      return new Future(key, this);
    }
    const spec = callSpec(key, fn, taskArgs, taskOptionsOf(options));
    if (layers.length === 0) {
      const future = this.#newFuture(key);
      this.#keepBorrowed(future);
      this.#outbox.submitOne(spec);
      return future;
    }
    const graph = collectGraph(layers);
    const depSpecs = graphSpecs(
      graph,
      layers.map((l) => (l as Delayed).key),
      this.#futureKey,
      taskOptionsOf(options),
    );
    const future = this.#newFuture(key);
    this.#keepBorrowed(future);
    depSpecs.push(spec);
    this.#outbox.submit(depSpecs, [key]);
    return future;
  }

  #map(
    fn: TaskFunction,
    iterables: (Iterable<unknown> | AsyncIterable<unknown>)[],
    options: SubmitOptions,
  ): Future[] | Promise<Future[]> {
    this.#checkOpen();
    checkFunction(fn, "map");
    if (iterables.length === 0) {
      throw new TypeError("map() needs at least one iterable of arguments after the function.");
    }
    describeFunction(fn); // a function that cannot travel fails before anything is sent
    const isAsync = iterables.some((it) => !(Symbol.iterator in it));
    const keys = options.key;
    const prefix = typeof keys === "string" ? keys : functionName(fn);
    const taskOptions = taskOptionsOf(options);
    const pure = options.pure !== false;
    const one = (args: unknown[], i: number): Future => {
      const noLayers: Layer[] = [];
      let taskArgs: unknown[];
      try {
        taskArgs = replaceFutures(args, this.#futureKey, noLayers) as unknown[];
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        const key = Array.isArray(keys) ? keys[i] as string : `${prefix}-${uniqueToken()}`;
        return this.#cancelledFuture(key, error);
      }
      if (noLayers.length > 0) {
        throw new TypeError("map(): Delayed values cannot be map items; compute them first.");
      }
      const key = Array.isArray(keys)
        ? keys[i] as string
        : `${prefix}-${pure ? tokenize(fn, ...taskArgs) : uniqueToken()}`;
      const held = this.#keys.get(key);
      if (held !== undefined && held.holders > 0 && !isGone(held)) {
        this.#borrowing = [];
        return new Future(key, this);
      }
      const spec = callSpec(key, fn, taskArgs, taskOptions);
      const future = this.#newFuture(key);
      this.#keepBorrowed(future);
      this.#outbox.submitOne(spec);
      return future;
    };
    if (Array.isArray(keys)) {
      // one key per item: count the items before anything is submitted
      const submitAll = (items: unknown[][]): Future[] => {
        if (items.length !== keys.length) {
          throw new TypeError(
            `map(): ${keys.length} keys were given for ${items.length} items; give one per item.`,
          );
        }
        return items.map(one);
      };
      return isAsync
        ? zipAsync(iterables, (args) => args).then(submitAll)
        : submitAll([...zip(iterables as Iterable<unknown>[])]);
    }
    if (isAsync) return zipAsync(iterables, one);
    const futures: Future[] = [];
    for (const args of zip(iterables as Iterable<unknown>[])) {
      futures.push(one(args, futures.length));
    }
    return futures;
  }

  #compute(collections: readonly Collection[], options: SubmitOptions): Future[] {
    this.#checkOpen();
    const specs = collections.map((c, i) => {
      if (!isCollection(c)) {
        throw new TypeError(
          `compute(): item ${i} is not a collection (Delayed, Bag or Array); use submit() for ` +
            `function calls.`,
        );
      }
      return c[collectionSymbol];
    });
    const graph = collectGraph(specs.map((s) => s.layer()));
    const outputs: Key[] = [];
    const finalizers: [Key, (value: unknown) => unknown][] = [];
    collections.forEach((collection, i) => {
      const spec = specs[i];
      const keys = spec.keys();
      if (collection instanceof Delayed) {
        outputs.push(keys[0]);
        return;
      }
      // The outputs meet in one task on a worker; the collection's own finalize (a local
      // function) turns them into the result when it is fetched, as Dask's finalize task does.
      const key = `finalize-${tokenize(keys)}`;
      if (!graph.has(key)) {
        graph.set(key, makeTask(key, collectValues, keys.map((k) => new TaskRef(k))));
      }
      outputs.push(key);
      finalizers.push([key, (values) => spec.finalize(values as unknown[])]);
    });
    const futures = this.#submitGraph(graph, outputs, options);
    for (const [key, finalize] of finalizers) this.#finalizers.set(key, finalize);
    return futures;
  }

  #persist(collections: readonly Collection[], options: SubmitOptions): Collection[] {
    this.#checkOpen();
    return collections.map((collection, i) => {
      if (!isCollection(collection)) {
        throw new TypeError(`persist(): item ${i} is not a collection (Delayed, Bag or Array).`);
      }
      const spec = collection[collectionSymbol];
      const layer = this.#persistLayer(
        collectGraph([spec.layer()]),
        [...new Set(spec.keys())],
        options,
      );
      return spec.rebuild(layer);
    });
  }

  #persistLayer(graph: Graph, outputs: readonly Key[], options: SubmitOptions): Layer {
    const futures = this.#submitGraph(graph, outputs, options);
    const tasks = outputs.map((key, i) => makeLiteral(key, futures[i]));
    return leafLayer(`persisted-${uniqueToken()}`, tasks);
  }

  /** Submits a graph holding `outputs`; returns their Futures in order. */
  #submitGraph(graph: Graph, outputs: readonly Key[], options: SubmitOptions): Future[] {
    this.#checkOpen();
    const specs = graphSpecs(graph, outputs, this.#futureKey, taskOptionsOf(options));
    const futures = outputs.map((key) => this.#newFuture(key));
    if (futures.length > 0) this.#keepBorrowed(futures[0]);
    this.#outbox.submit(specs, outputs);
    return futures;
  }

  /**
   * Futures for `data` at once, pending until the data is on the workers. Placement runs in
   * the background; whatever this client says after it waits behind it (an outbox barrier),
   * so tasks reading the keys reach the scheduler after the keys do.
   */
  #scatter(data: unknown, options: ScatterOptions & SubmitOptions): unknown {
    this.#checkOpen();
    const hash = options.hash !== false;
    const keyOf = (value: unknown) =>
      `${typeNameOf(value)}-${hash ? tokenize(value) : uniqueToken()}`;
    const { shape, values, names } = scatterShape(data);
    // as in Dask: the names of an object's entries are the keys of its data
    const keys = names ?? values.map(keyOf);
    // encoded now: a value that cannot travel throws here, with its path
    const items = new Map<Key, DataItem>();
    values.forEach((value, i) => {
      if (!items.has(keys[i])) items.set(keys[i], dataItem(keys[i], value));
    });
    const futures = keys.map((key) => this.#newFuture(key));
    const lift = this.#outbox.barrier([...items.keys()]);
    const request = <T>(method: string, params: Record<string, unknown>) =>
      this.#request<T>(method, params);
    placeData({ request, peers: this.#peers }, [...items.values()], options).then(({ placed }) => {
      // Direct placements are the client's to report; the scheduler recorded relayed ones.
      // The futures finish on the scheduler's `key-in-memory`, once it knows where the data is.
      lift(placed.length > 0 ? { op: "scatter", data: placed } : undefined);
    }).catch((error) => {
      lift();
      const record = recordFromError(error);
      for (const key of items.keys()) {
        const hold = this.#keys.get(key);
        if (hold !== undefined && !hold.isDone) hold.fail(record);
      }
    });
    if (shape === "single") return futures[0];
    if (shape === "array") return futures;
    const out: Record<string, Future> = {};
    names!.forEach((name, i) => out[name] = futures[i]);
    return out;
  }

  /** Resolves when every key this client holds among `keys` has ended. */
  async #waitKeys(keys: readonly Key[]): Promise<void> {
    for (const key of keys) await this.#keys.get(key)?.done;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /** A new Future of `key`, making a key the scheduler dropped for this client pending again. */
  #newFuture(key: Key): Future {
    const hold = this.#keys.get(key);
    if (hold !== undefined && isGone(hold)) hold.reset();
    return new Future(key, this);
  }

  /**
   * Checks a Future may go into this client's tasks; gives its key. Another client's Future of
   * the same scheduler is adopted: this client holds the key too (clients share data by key),
   * through a Future kept in `#borrowing` until the submission that reads it has ended.
   */
  #futureKey = (future: Future): Key => {
    if (future.client !== this) return this.#adopt(future);
    const hold = this.#keys.get(future.key);
    if (hold === undefined) {
      throw new Error(
        `The future '${future.key}' was released, so a task cannot read it; keep a future ` +
          `(do not release() it) while tasks are submitted with it.`,
      );
    }
    if (hold.status === "cancelled") {
      // as in Dask: the task reading it is cancelled too (submit catches this)
      throw new CancelledError(
        `The future '${future.key}' passed as an argument was cancelled, so the task reading ` +
          `it cannot run.`,
      );
    }
    if (isGone(hold)) {
      throw new Error(
        `The future '${future.key}' was ${future.status}: the cluster no longer has its data, ` +
          `so a task cannot read it. Submit its task (or scatter its data) again and pass the ` +
          `new future.`,
      );
    }
    return future.key;
  };

  /** Futures of other clients that the submission being built reads (see `#futureKey`). */
  #borrowing: Future[] = [];

  #adopt(future: Future): Key {
    const other = future.client;
    if (!(other instanceof Client) || other.schedulerAddress !== this.schedulerAddress) {
      throw new Error(
        `The future '${future.key}' belongs to a client of another scheduler ` +
          `(${other instanceof Client ? other.schedulerAddress : other.id}); this client's ` +
          `scheduler (${this.schedulerAddress}) does not have its data. Gather its value there ` +
          `and scatter it here.`,
      );
    }
    const hold = this.#keys.get(future.key);
    if (hold === undefined || hold.holders === 0 || isGone(hold)) {
      this.#borrowing.push(this.futureOf(future.key));
    }
    return future.key;
  }

  /** Keeps the futures borrowed while building `future`'s submission until it has ended. */
  #keepBorrowed(future: Future): void {
    if (this.#borrowing.length === 0) return;
    const borrowed = this.#borrowing;
    this.#borrowing = [];
    future.addDoneCallback(() => borrowed.length = 0);
  }

  /**
   * A future of `key` that is cancelled at once, never sent: what submitting with a cancelled
   * argument gives, as in Dask (awaiting it rejects with CancelledError).
   */
  #cancelledFuture(key: Key, error: CancelledError): Future {
    this.#borrowing = [];
    const future = this.#newFuture(key);
    const hold = this.#keys.get(key)!;
    if (!hold.isDone) hold.cancel(error.message);
    return future;
  }

  #checkOwn(future: Future): void {
    if (future.client !== this) {
      throw new Error(
        `The future '${future.key}' belongs to another client (${future.client.id}), not to ` +
          `${this.id}. Use it with the client that made it, or get a future of this client for ` +
          `the same key with client.futureOf(key).`,
      );
    }
  }

  #checkOpen(): void {
    if (this.#status === "closed") throw new ClientClosedError(CLOSED_MESSAGE);
  }

  /** A request to the scheduler, after everything queued before it. */
  #request<T>(method: string, params: Record<string, unknown>): Promise<T> {
    this.#outbox.flush();
    return this.#session.request<T>(method, params);
  }

  /** Resolves when every future ended, or (with `stopAtError`) when one fails. */
  #waitEnded(futures: readonly Future[], stopAtError: boolean): Promise<void> {
    let pending = 0;
    return new Promise((resolve) => {
      const ended = (future: Future) => {
        if (--pending === 0 || (stopAtError && future.status !== "finished")) resolve();
      };
      for (const future of futures) {
        if (future.done()) {
          if (stopAtError && future.status !== "finished") return resolve();
          continue;
        }
        pending++;
      }
      if (pending === 0) return resolve();
      for (const future of futures) if (!future.done()) future.addDoneCallback(ended);
    });
  }

  /**
   * Values of finished keys, decoded (and finalized for `compute` Futures). Data lost while
   * being fetched is waited for again while the scheduler recomputes it.
   */
  async #fetchValues(keys: readonly Key[]): Promise<Map<Key, unknown>> {
    const values = new Map<Key, unknown>();
    let wanted = keys.length === 1 ? [keys[0]] : [...new Set(keys)];
    const put = (key: Key, encoded: Encoded) => {
      const value = decode(encoded);
      const finalize = this.#finalizers.get(key);
      values.set(key, finalize === undefined ? value : finalize(value));
    };
    while (wanted.length > 0) {
      this.#checkOpen();
      const toFetch: Key[] = [];
      for (const key of wanted) {
        const hold = this.#keys.get(key);
        if (hold === undefined) {
          throw new Error(
            `The future '${key}' was released; its value is gone from the cluster.`,
          );
        }
        if (!hold.isDone) await hold.done;
        if (hold.status !== "finished") throw hold.error;
        if (hold.value === undefined) toFetch.push(key);
        else {
          put(key, hold.value);
          hold.value = undefined;
        }
      }
      if (toFetch.length === 0) break;
      const fetched = await this.#fetcher.fetch(toFetch);
      for (const [key, encoded] of fetched.values) put(key, encoded);
      if (fetched.missing.length === 0) break;
      this.#checkOpen();
      // keys being recomputed (the scheduler said `lost`) are pending again: wait for them
      const stuck = fetched.missing.filter((k) => this.#keys.get(k)?.status !== "pending");
      if (stuck.length > 0) throw new MissingDataError(stuck, fetched.reason);
      wanted = fetched.missing;
    }
    return values;
  }

  /**
   * Marks `keys` as about to be fetched, until the returned function is called: the tiny
   * results of those that finish meanwhile are kept from their key-in-memory (no worker asked).
   */
  #expect(keys: readonly Key[]): () => void {
    const awaiting = this.#awaitingValues;
    for (const key of keys) awaiting.set(key, (awaiting.get(key) ?? 0) + 1);
    return () => {
      for (const key of keys) {
        const left = (awaiting.get(key) ?? 1) - 1;
        if (left > 0) awaiting.set(key, left);
        else awaiting.delete(key);
      }
    };
  }

  /** @internal `future.result()` waits for this key: its tiny result is kept on arrival. */
  expectValue(key: Key): () => void {
    return this.#expect([key]);
  }

  #onMessage(msg: SchedulerToClientMsg): void {
    // the first answer about a key claimed after a reconnection settles the claim
    const reclaimed = this.#reclaimed.size > 0 && this.#reclaimed.delete(msg.key);
    const hold = this.#keys.get(msg.key);
    if (hold === undefined) return; // released meanwhile
    switch (msg.op) {
      case "key-in-memory":
        hold.workers = msg.workers;
        if (msg.value !== undefined && this.#awaitingValues.has(msg.key)) hold.value = msg.value;
        hold.finish(msg.typeName, msg.nbytes);
        return;
      case "task-erred":
        hold.fail(withKey(msg.error, msg.blamedKey));
        return;
      case "cancelled":
        if (hold.status !== "cancelled") hold.cancel("The task was cancelled on the cluster.");
        return;
      case "lost":
        hold.workers = undefined;
        if (msg.error === undefined) {
          hold.reset(); // being recomputed: `key-in-memory` follows
        } else if (reclaimed) {
          hold.lose(
            `The connection to the scheduler at ${this.#session.address} broke, and once ` +
              `reconnected the scheduler no longer knew this key (it restarted, or it released ` +
              `the key meanwhile). Submit the task (or scatter the data) again.`,
          );
        } else {
          hold.lose(msg.error.message);
        }
        return;
      case "task-retried":
        hold.reset();
        return;
    }
  }

  #onDisconnected(reason: string): void {
    if (this.#status === "closed") return;
    this.#status = "reconnecting";
    this.#outbox.pause();
    console.warn(
      `[client ${this.id}] lost the scheduler at ${this.#session.address} (${reason}); ` +
        `reconnecting.`,
    );
  }

  #onReconnected(): void {
    if (this.#status === "closed") return;
    this.#status = "running";
    // The scheduler may have restarted: tell it what this client holds. Keys it does not know
    // come back as `lost` (their futures fail, saying to resubmit); queued submissions go after.
    const queued = this.#outbox.heldKeys();
    const held: Key[] = [];
    for (const [key, hold] of this.#keys) {
      if (hold.holders > 0 && !isGone(hold) && !queued.has(key)) held.push(key);
    }
    this.#reclaimed = new Set(held);
    this.#outbox.resume(held.length > 0 ? { op: "client-desires-keys", keys: held } : undefined);
  }

  #shutdown(error: Error): Promise<void> {
    this.#closing ??= (async () => {
      this.#status = "closed";
      const index = defaultCandidates.indexOf(this);
      if (index >= 0) defaultCandidates.splice(index, 1);
      if (getDefaultExecutor() === this) {
        setDefaultExecutor(defaultCandidates[defaultCandidates.length - 1]);
      }
      this.#outbox.clear();
      // closed on purpose: pending work is cancelled; the scheduler gone for good: it is lost
      const closedOnPurpose = error instanceof ClientClosedError;
      for (const hold of this.#keys.values()) {
        if (hold.isDone) continue;
        if (closedOnPurpose) hold.cancel("The client was closed before this key finished.");
        else hold.lose(error.message);
      }
      await this.#session.close(error);
      await this.#peers.close();
      await this.cluster?.close();
    })();
    return this.#closing;
  }
}

function checkFunction(fn: unknown, method: string): void {
  if (typeof fn !== "function") {
    throw new TypeError(`${method}(): the first argument must be a function, got ${typeof fn}.`);
  }
}

/** The error record with the failing task's key, so `error.key` names it. */
function withKey(record: ErrorRecord, blamedKey: Key): ErrorRecord {
  return record.key === undefined ? { ...record, key: blamedKey } : record;
}

/** The items of iterables side by side, up to the shortest (Python's `zip`). */
function* zip(iterables: Iterable<unknown>[]): Generator<unknown[]> {
  const iterators = iterables.map((it) => it[Symbol.iterator]());
  for (;;) {
    const args = new Array<unknown>(iterators.length);
    for (let i = 0; i < iterators.length; i++) {
      const r = iterators[i].next();
      if (r.done) {
        for (const it of iterators) it.return?.();
        return;
      }
      args[i] = r.value;
    }
    yield args;
  }
}

/** Zips async (and sync) iterables, calling `each` per item as the items arrive. */
async function zipAsync<T>(
  iterables: (Iterable<unknown> | AsyncIterable<unknown>)[],
  each: (args: unknown[], i: number) => T,
): Promise<T[]> {
  const iterators = iterables.map((it) =>
    Symbol.asyncIterator in it
      ? (it as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (it as Iterable<unknown>)[Symbol.iterator]()
  );
  const out: T[] = [];
  for (;;) {
    const results = await Promise.all(iterators.map((it) => it.next()));
    if (results.some((r) => r.done)) {
      for (const it of iterators) void it.return?.();
      return out;
    }
    out.push(each(results.map((r) => r.value), out.length));
  }
}

/**
 * How `scatter` reads its data: an array, a generator or any other iterable but a string, Map
 * or typed array gives a list; a plain object gives its entries, keyed by their names; anything
 * else is one value.
 */
function scatterShape(
  data: unknown,
): { shape: "array" | "object" | "single"; values: unknown[]; names?: string[] } {
  if (Array.isArray(data)) return { shape: "array", values: data };
  if (isPlainObject(data)) {
    return { shape: "object", values: Object.values(data), names: Object.keys(data) };
  }
  const listLike = typeof data === "object" && data !== null && Symbol.iterator in data &&
    !(data instanceof Map) && !ArrayBuffer.isView(data);
  if (listLike) return { shape: "array", values: [...(data as Iterable<unknown>)] };
  return { shape: "single", values: [data] };
}

/** Every Future inside a structure of arrays and plain objects, in order. */
function collectFutures(value: unknown, out: Future[]): void {
  if (value instanceof Future) out.push(value);
  else if (Array.isArray(value)) { for (const v of value) collectFutures(v, out); }
  else if (isPlainObject(value)) { for (const k in value) collectFutures(value[k], out); }
}

/** The structure with each Future replaced by its value; `skip` keys are left out. */
function rebuild(value: unknown, values: Map<Key, unknown>, skip: Set<Key>): unknown {
  if (value instanceof Future) return values.get(value.key);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      if (v instanceof Future && skip.has(v.key)) continue;
      out.push(rebuild(v, values, skip));
    }
    return out;
  }
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const k in value) {
      const v = value[k];
      if (v instanceof Future && skip.has(v.key)) continue;
      out[k] = rebuild(v, values, skip);
    }
    return out;
  }
  return value;
}

/**
 * Keeps futures' tasks running until they finish, even once no Future holds them: for tasks
 * run for their effects (writing files), whose results nobody fetches.
 *
 * @example
 * ```ts
 * import { Client, fireAndForget } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const save = (day: number) => Deno.writeTextFile(`day-${day}.txt`, String(day));
 * for (let day = 1; day <= 3; day++) fireAndForget(client.submit(save, day));
 * ```
 */
export function fireAndForget(futures: Future | Iterable<Future>): void {
  const list = futures instanceof Future ? [futures] : [...futures];
  const byOwner = new Map<FutureOwner, Key[]>();
  for (const future of list) {
    if (!(future instanceof Future)) {
      throw new TypeError(`fireAndForget() takes Futures, got ${typeNameOf(future)}.`);
    }
    let keys = byOwner.get(future.client);
    if (keys === undefined) byOwner.set(future.client, keys = []);
    keys.push(future.key);
  }
  for (const [owner, keys] of byOwner) owner.fireAndForgetKeys(keys);
}
