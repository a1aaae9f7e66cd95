/**
 * The Client: a connection to a cluster's scheduler, the futures it holds, and the graphs it
 * runs. It is also the `GraphExecutor` that collections' `.compute()` uses once connected.
 *
 * This file is the public class with its documented methods; each concept it composes has a
 * file of its own: its life and the default client (client_lifecycle.ts), the keys it holds and
 * what the scheduler says of them (held_keys.ts), Futures passed in and out (future_keys.ts),
 * fetching and finishing values (results.ts, gather.ts, data_fetch.ts), submitting
 * (submission.ts, scatter.ts), the outgoing batch (outbox.ts), cluster administration
 * (cluster_admin.ts), diagnostics (task_stream.ts, performance_report.ts, profile.ts, story.ts)
 * and its display (client_display.ts).
 *
 * Longer than ~800 lines (about 900) because it is the public Client: some 300 lines are the
 * documentation of its methods, where users read them, and each method hands its work to the
 * files above; what is left is the wiring that composes them. Its public methods cannot move to
 * a parent class without adding that class to mod.ts's exports.
 *
 * Reference counting: every Future of a key shares one record and counts as one holder; when
 * the last Future of a key is released (or garbage-collected), the client tells the scheduler,
 * which frees the data once nothing else needs it.
 *
 * @module
 */

import type { Layer } from "../collections/collection.ts";
import {
  type ComputeOptions,
  getDefaultExecutor,
  type GraphExecutor,
} from "../collections/compute.ts";
import type { Graph } from "../core/graph.ts";
import type { Key, TaskFunction } from "../core/task.ts";
import type {
  PubSubToClientMsg,
  SchedulerToClientMsg,
  WorkerAddress,
} from "../protocol/messages.ts";
import { PubSubHub } from "./primitives/pubsub.ts";
import { currentTask } from "../core/task_context.ts";
import type { TaskStreamEntry } from "../protocol/task_stream_entry.ts";
import type { RebalanceResult } from "../protocol/session.ts";
import { PeerPool } from "../net/peer_pool.ts";
import { type FutureArgs, SubmitMethods, type Submitter } from "./client_view.ts";
import { recordPerformanceReport } from "./performance_report.ts";
import {
  selectTaskStream,
  type TaskStreamPage,
  type TaskStreamQuery,
  TaskStreamRecorder,
} from "./task_stream.ts";
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
  type WorkerStatus,
} from "./cluster_admin.ts";
import { clusterCredentials, type ConnectTarget, schedulerAddressOf } from "./connect_target.ts";
import { Future, type FutureOwner } from "./future.ts";
import type { FutureState } from "./future_state.ts";
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
import type { Gathered, GatherOptions } from "./gather.ts";
import {
  LOCAL_CLUSTER_OPTION_NAMES,
  LocalCluster,
  type LocalClusterOptions,
} from "../deploy/local_cluster.ts";
import { Outbox } from "./outbox.ts";
import { jupyterDisplay, type MimeBundle } from "../collections/display/notebook.ts";
import { closeAtExit } from "../core/at_exit.ts";
import type { SchedulerSession } from "./scheduler_connection.ts";
import { requestStory } from "./story.ts";
import type { StoryEntry } from "../protocol/story.ts";
import { Submission } from "./submission.ts";
import { type ActorHandle, actorTransport, buildActor } from "./actors.ts";
import type { ActorTransport } from "../core/actor_ref.ts";
import { gatherProfile, type ProfileNode, type ProfileOptions } from "./profile.ts";
import { readModule, type UploadFileOptions } from "./uploads.ts";
import type { ActorCallMsg, ActorReadMsg, ActorReplyMsg } from "../protocol/actors.ts";
import type { SubmitOptions } from "./submit_options.ts";
import {
  ClientClosedError,
  type ClientStatus,
  CLOSED_MESSAGE,
  DefaultClients,
  openSession,
} from "./client_lifecycle.ts";
import { HeldKeys } from "./held_keys.ts";
import { FutureKeys } from "./future_keys.ts";
import { NOT_AT_HAND, Results } from "./results.ts";
import { clientMimeBundle, clientRepr } from "./client_display.ts";
import { checkOptionNames } from "../core/option_names.ts";
import {
  CLIENT_OPTION_NAMES,
  type ClientOptions,
  DEFAULT_CONNECT_TIMEOUT,
  sessionOptionsFor,
} from "./client_options.ts";
import {
  type ClusterComputeHost,
  computeOnCluster,
  NO_OPTIONS,
  persistOnCluster,
} from "./cluster_compute.ts";

export { ClientClosedError, type ClientStatus } from "./client_lifecycle.ts";
export type { ClientOptions } from "./client_options.ts";
export type { WorkerStatus } from "./cluster_admin.ts";

/** Open clients that asked to be the default executor: the newest one is. */
const defaults = new DefaultClients<Client>();

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
export class Client extends SubmitMethods implements FutureOwner, GraphExecutor, AsyncDisposable {
  /** This client's id in the scheduler's books (`Client-<uuid>`). */
  readonly id: string;
  /** The cluster this client started with {@link Client.local}, closed with the client. */
  readonly cluster: LocalCluster | undefined;
  readonly #session: SchedulerSession;
  readonly #peers: PeerPool;
  readonly #outbox: Outbox;
  readonly #keys: HeldKeys;
  readonly #futures: FutureKeys;
  readonly #results: Results;
  readonly #submission: Submission;
  #status: ClientStatus = "running";
  #closing: Promise<void> | undefined;
  #forgetAtExit: (() => void) | undefined;
  #pubsub: PubSubHub | undefined;
  #datasets: Datasets | undefined;
  /** What the shared-state classes (Queue, Lock, Datasets, ...) use to reach the scheduler. */
  readonly #sharedState: SharedStateContext;
  /** Actor handles this client reads call through its connections. */
  readonly #actorCalls: ActorTransport = actorTransport(this);

  private constructor(id: string, session: SchedulerSession, cluster: LocalCluster | undefined) {
    super();
    this.id = id;
    this.cluster = cluster;
    this.#session = session;
    this.#peers = new PeerPool({
      role: "peer",
      authToken: session.authToken,
      tls: session.tls,
      holdProcessWhenIdle: false,
    });
    const keys = this.#keys = new HeldKeys(() => session.holdProcess(), session.address);
    this.#outbox = new Outbox((msg) => session.send(msg), keys.awaitingValues);
    const checkOpen = () => this.#checkOpen();
    const futures = this.#futures = new FutureKeys({
      owner: this,
      keys,
      schedulerOf: (owner) => owner instanceof Client ? owner.schedulerAddress : undefined,
      checkOpen,
      desire: (wanted) => this.#outbox.desire(wanted),
    });
    const request: SchedulerRequest = (method, params) => this.#request(method, params);
    const direct = () => this.#session.info.direct !== false;
    const peers = this.#peers;
    const actors = this.#actorCalls;
    const reportMissing = (errant: WorkerAddress, missing: Key[]) =>
      this.#outbox.missingData(missing, errant);
    this.#results = new Results({
      keys,
      futures,
      peers,
      request,
      direct,
      actors,
      checkOpen,
      reportMissing,
    });
    /** Shared-state requests waiting for the outbox to be written (see below). */
    let waitingForOutbox = 0;
    this.#sharedState = {
      // After what this client queued, scatters too: published keys are known when it arrives.
      // With nothing held back (and no earlier request still waiting), it goes at once: calls
      // reach the scheduler in the order they were made, without a microtask's delay.
      request: async <T>(method: string, params: Record<string, unknown>) => {
        if (waitingForOutbox > 0 || this.#outbox.holdsBack) {
          waitingForOutbox++;
          try {
            await this.#outbox.written();
          } finally {
            waitingForOutbox--;
          }
        }
        return await this.#request<T>(method, params);
      },
      // the scheduler's holder (a dataset, variable or queue) holds the key from now on
      futureKey: futures.keyKeptElsewhere,
      futureOf: (key) => this.futureOf(key),
      actors,
    };
    this.#submission = new Submission({
      checkOpen,
      heldFuture: futures.heldFuture,
      newFuture: futures.newFuture,
      keepBorrowed: futures.keepBorrowed,
      cancelledFuture: futures.cancelledFuture,
      futureKey: futures.futureKey,
      outbox: this.#outbox,
      finalizers: this.#results.finalizers,
      holdOf: (key) => keys.get(key),
      request,
      peers,
      direct,
    });
  }

  /** @internal Where submit, map, compute, persist and scatter go (views hold it too). */
  protected get submitter(): Submitter {
    return this.#submission;
  }

  /** The options this client applies to what it submits: none (see `with`). */
  get options(): Readonly<SubmitOptions> {
    return NO_OPTIONS;
  }

  /**
   * Connects to the scheduler at an address (`tcp://host:port` or `host:port`), the one a
   * scheduler file names (`{ schedulerFile }`, waiting up to `timeout` for it), or a cluster's.
   *
   * @throws {SchedulerUnreachableError} when no scheduler answers there within the timeout;
   *   the message names the address and how to start one.
   */
  static async connect(target: ConnectTarget, options: ClientOptions = {}): Promise<Client> {
    checkOptionNames(options, CLIENT_OPTION_NAMES, "Client.connect()");
    const address = await schedulerAddressOf(target, options.timeout ?? DEFAULT_CONNECT_TIMEOUT);
    // a cluster object knows its token and TLS files
    return await Client.#open(address, { ...clusterCredentials(target), ...options }, undefined);
  }

  /**
   * Starts a scheduler and `nWorkers` worker processes on this machine (see
   * {@link LocalCluster}) and connects to them; closing the client stops them. The scheduler
   * serves its dashboard (`dashboard: false` to not) and its link is printed on stderr.
   *
   * @example
   * ```ts
   * import { Client } from "./mod.ts";
   *
   * await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
   * console.log(await client.submit((x: number) => x * 2, 21)); // 42
   * ```
   */
  static async local(
    options: LocalClusterOptions & Omit<ClientOptions, "authToken" | "security"> = {},
  ): Promise<Client> {
    checkOptionNames(
      options,
      [...LOCAL_CLUSTER_OPTION_NAMES, ...CLIENT_OPTION_NAMES],
      "Client.local()",
    );
    const { timeout: _t, reconnectTimeout: _r, setAsDefault: _s, ...clusterOptions } = options;
    const cluster = await LocalCluster.start(clusterOptions);
    try {
      const clientOptions = {
        ...options,
        authToken: cluster.authToken,
        security: cluster.security,
      };
      const client = await Client.#open(cluster.schedulerAddress, clientOptions, cluster);
      // stderr: the link is for the person at the terminal, not for the script's output
      if (client.dashboardLink !== undefined) console.error(`Dashboard: ${client.dashboardLink}`);
      return client;
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
    const opened = await openSession(address, id, await sessionOptionsFor(address, options));
    const client = new Client(id, opened.session, cluster);
    opened.attach({
      message: (msg) => client.#onMessage(msg),
      disconnected: (reason) => client.#onDisconnected(reason),
      reconnected: () => client.#onReconnected(),
      failed: (error) => void client.#shutdown(error),
    });
    // a script that never closes its client ends anyway: the client closes then (Dask's atexit)
    client.#forgetAtExit = closeAtExit("clients", () => client.close());
    if (options.setAsDefault ?? true) defaults.add(client);
    return client;
  }

  /**
   * The client made most recently that is still open and was made with `setAsDefault` (the
   * default): what Queue, Lock, Event, Semaphore and Variable use when given no client.
   *
   * @throws when there is none.
   */
  static current(): Client {
    const client = defaults.newest;
    if (client === undefined) {
      throw new Error(
        currentTask() !== undefined
          ? "No client is connected in this task; call `await getClient()` first (it connects " +
            "the task's thread to the cluster), or pass { client } explicitly."
          : "No client is connected; create one with Client.connect(address) or Client.local(), " +
            "or pass { client } explicitly.",
      );
    }
    return client;
  }

  /**
   * Builds an actor: `new Class(...args)` on one worker, where it stays (Dask's
   * `submit(Class, actor=True)`). Calls on the handle run there, in the order they arrive,
   * straight from this client to that worker; attribute reads give the current value. The
   * actor lives while the handle does (or a Future of its key). See client/actors.ts.
   *
   * @example
   * ```ts
   * import { Client } from "./mod.ts";
   *
   * class Counter {
   *   n = 0;
   *   increment(by = 1) {
   *     return this.n += by;
   *   }
   * }
   * await using client = await Client.local({ nWorkers: 1 });
   * const counter = await client.actor(Counter);
   * await counter.increment(); // 1
   * await counter.increment(2); // 3
   * console.log(await counter.n); // 3
   * ```
   */
  actor<A extends unknown[], T extends object>(
    Class: new (...args: A) => T,
    ...args: FutureArgs<A>
  ): Promise<ActorHandle<T>> {
    return buildActor(this, Class, args);
  }

  /** @internal An actor call or read, straight to the worker holding the actor. */
  actorRequest(
    worker: string,
    request: Omit<ActorCallMsg, "requestId"> | Omit<ActorReadMsg, "requestId">,
  ): Promise<ActorReplyMsg> {
    this.#checkOpen();
    return this.#peers.actor(worker, request);
  }

  /** @internal What Pub and Sub use: this client's topics. */
  pubsubHub(): PubSubHub {
    this.#checkOpen();
    return this.#pubsub ??= new PubSubHub({
      request: (method, params) => this.#request(method, params),
      publishToWorker: (worker, name, value) => this.#peers.publish(worker, name, value),
    });
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
    return await this.#results.gather(futures, options);
  }

  /** Cancels futures: their tasks, and the tasks that depend on them, stop and are released. */
  async cancel(
    futures: Future | Iterable<Future>,
    options: { force?: boolean } = {},
  ): Promise<void> {
    await this.cancelKeys(this.#futures.ownKeys(futures), options.force);
  }

  /** Reruns erred futures (and the erred tasks they depend on). */
  async retry(futures: Future | Iterable<Future>): Promise<void> {
    await this.retryKeys(this.#futures.ownKeys(futures));
  }

  /**
   * A Future for a key the cluster already holds (for example submitted by another client
   * that told you its key). Its status follows the key's; an unknown key ends as `lost`.
   */
  futureOf<T = unknown>(key: Key): Future<T> {
    return this.#futures.futureOf<T>(key);
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
    const keys = this.#futures.ownKeys(futures);
    await this.#keys.waitEnded(keys); // as in Dask: pending futures are waited for, then copied
    return await replicateKeys(this.#admin, keys, options);
  }

  /** Moves data from the workers holding most to those holding least (all data, or `futures`'). */
  async rebalance(
    futures?: Future | Iterable<Future>,
    options: Omit<RebalanceOptions, "keys"> = {},
  ): Promise<RebalanceResult> {
    this.#checkOpen();
    const keys = futures === undefined ? undefined : this.#futures.ownKeys(futures);
    if (keys !== undefined) await this.#keys.waitEnded(keys);
    return await rebalanceKeys(this.#admin, keys === undefined ? options : { ...options, keys });
  }

  #admin: SchedulerRequest = (method, params) => this.#request(method, params);

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
    return await recordPerformanceReport(this, path, work);
  }

  /**
   * The task runs the scheduler still holds (its last 100,000), oldest first: each with its key,
   * worker, thread, start and stop (seconds since the epoch) and status. `start`/`stop` keep the
   * runs that overlap that window, `count` the last n (Dask's `get_task_stream`).
   *
   * ```ts
   * const runs = await client.getTaskStream({ start: Date.now() / 1000 - 10 });
   * ```
   */
  async getTaskStream(query: TaskStreamQuery = {}): Promise<TaskStreamEntry[]> {
    this.#checkOpen();
    const page = await this.#request<TaskStreamPage>("task-stream", { since: 0 });
    return selectTaskStream(page.entries, query);
  }

  /**
   * Records the task runs that happen while the recorder is in scope; its `data` is filled when
   * the scope ends (Dask's `with get_task_stream() as ts:`).
   *
   * ```ts
   * {
   *   await using ts = await client.taskStream();
   *   await client.gather(client.map((x: number) => x + 1, [1, 2, 3]));
   * }
   * ```
   */
  async taskStream(): Promise<TaskStreamRecorder> {
    this.#checkOpen();
    return await TaskStreamRecorder.start((since) =>
      this.#request<TaskStreamPage>("task-stream", { since })
    );
  }

  /**
   * Records `msg` (plain data) under `topic` (or each of several topics) on the scheduler, with
   * the time; any client of the scheduler reads it back with {@link Client.getEvents}.
   *
   * ```ts
   * await client.logEvent("etl", { stage: "loaded", rows: 1000 });
   * ```
   */
  async logEvent(topic: string | string[], msg: unknown): Promise<void> {
    this.#checkOpen();
    await this.#request<null>("log-event", { topic, msg });
  }

  /**
   * The messages logged under `topic` as `[time, msg]` pairs, oldest first (the scheduler keeps
   * each topic's last 100,000); without a topic, every topic's.
   *
   * ```ts
   * for (const [time, msg] of await client.getEvents("etl")) console.log(new Date(time * 1000), msg);
   * ```
   */
  getEvents(topic: string): Promise<[time: number, msg: unknown][]>;
  /**
   * Every topic's messages, by topic.
   *
   * ```ts
   * const byTopic = await client.getEvents();
   * ```
   */
  getEvents(): Promise<Record<string, [time: number, msg: unknown][]>>;
  async getEvents(
    topic?: string,
  ): Promise<[number, unknown][] | Record<string, [number, unknown][]>> {
    this.#checkOpen();
    return await this.#request("get-events", topic === undefined ? {} : { topic });
  }

  /**
   * A statistical profile of where the workers' task threads spent their time (sampled every
   * 10 ms in each thread; the last ten busy minutes are kept), merged into one call tree in
   * Dask's shape: `{ identifier, description, count, children }`. Select a time range, a task
   * prefix (`key`) or workers. A thread busy in a long synchronous task answers after it, or
   * is left out after 2 s. See client/profile.ts.
   *
   * @example
   * ```ts
   * import { Client } from "./mod.ts";
   *
   * await using client = await Client.local({ nWorkers: 1 });
   * const start = Date.now();
   * await client.submit(function spin(n: number) {
   *   let x = 0;
   *   for (let i = 0; i < n; i++) x += Math.sqrt(i);
   *   return x;
   * }, 1e8);
   * const tree = await client.profile({ start, key: "spin" });
   * console.log(tree.count > 0, Object.keys(tree.children)); // true [ "spin;…" ]
   * ```
   */
  async profile(options: ProfileOptions = {}): Promise<ProfileNode> {
    this.#checkOpen();
    return await gatherProfile({
      workers: () => this.workers(),
      profileOf: (worker, request) => this.#peers.profile(worker, request),
    }, options);
  }

  /**
   * Makes a module available to every worker — those connected now and every one that joins
   * later — as Dask's `upload_file`: tasks load it with `importUploaded(name)` (the file's name
   * by default). Resolves once the scheduler sent it to the workers; tasks submitted afterwards
   * find it. See client/uploads.ts.
   *
   * @example
   * ```ts
   * import { Client } from "./mod.ts";
   *
   * await using client = await Client.local({ nWorkers: 1 });
   * const path = await Deno.makeTempFile({ suffix: ".ts" });
   * await Deno.writeTextFile(path, "export const double = (x: number) => 2 * x;");
   * const name = await client.uploadFile(path, { name: "helpers.ts" });
   * const useHelper = async (x: number) => {
   *   const load = (globalThis as unknown as { importUploaded(n: string): Promise<any> });
   *   return (await load.importUploaded("helpers.ts")).double(x);
   * };
   * console.log(name, await client.submit(useHelper, 21)); // helpers.ts 42
   * ```
   *
   * @returns the name tasks import it by.
   */
  async uploadFile(pathOrUrl: string | URL, options: UploadFileOptions = {}): Promise<string> {
    this.#checkOpen();
    const { name, source } = await readModule(pathOrUrl, options);
    await this.#request("upload-file", { name, source });
    return name;
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
   * Why a task is where it is: the transitions the scheduler made for this future's key (or any
   * key), oldest first, each with the stimulus that caused it (`task-erred-…` when a run failed
   * and was retried, `worker-lost-…` when its worker died), the worker involved and the time —
   * Dask's `story`. The scheduler remembers the latest transitions of all keys together
   * (`storyCapacity`, 100,000 by default), so a long-finished key may have an empty story.
   *
   * ```ts
   * const future = client.submit(flaky, [], { retries: 2 });
   * await future.result();
   * for (const t of await client.story(future)) {
   *   console.log(t.stimulus, `${t.start} → ${t.finish}`, t.worker ?? "");
   * }
   * ```
   */
  async story(key: Future | Key): Promise<StoryEntry[]> {
    this.#checkOpen();
    // What this client queued goes out first, so a key just submitted has its story.
    this.#outbox.flush();
    return await requestStory(this.#admin, key instanceof Future ? key.key : key);
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

  /** How `console.log` shows a client: scheduler, status and dashboard, as Dask's repr. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.#repr();
  }

  #facts() {
    return {
      id: this.id,
      schedulerAddress: this.schedulerAddress,
      status: this.#status,
      dashboardLink: this.dashboardLink,
    };
  }

  #repr(): string {
    return clientRepr(this.#facts());
  }

  /**
   * How a notebook shows a client, as Dask's: the scheduler, its dashboard link, and the
   * workers' count, threads and memory (asked of the scheduler).
   */
  async [jupyterDisplay](): Promise<MimeBundle> {
    const facts = this.#facts();
    return clientMimeBundle(facts, facts.status === "closed" ? undefined : await this.workers());
  }

  // -------------------------------------------------------------------------------------------
  // FutureOwner: what Futures ask of their client

  /** @internal The shared state of `key` (made on first use). */
  stateOf(key: Key): FutureState {
    return this.#keys.stateOf(key);
  }

  /** @internal One more Future holds `key`. */
  retain(key: Key): void {
    this.#keys.retain(key);
  }

  /** @internal One Future less holds `key`; the last one tells the scheduler. */
  release(key: Key): void {
    if (!this.#keys.release(key)) return;
    this.#results.forget(key);
    if (this.#status !== "closed") this.#outbox.release(key);
  }

  /**
   * @internal The value of a finished key: its tiny result if it came with `key-in-memory`,
   * else fetched from a worker that holds it.
   */
  fetchValue(key: Key): Promise<unknown> {
    try {
      const value = this.#results.valueAtHand(key);
      if (value !== NOT_AT_HAND) return Promise.resolve(value);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#results.fetchValues([key]).then((values) => values.get(key));
  }

  /** @internal `future.result()` waits for this key: its tiny result is kept on arrival. */
  expectValue(key: Key): () => void {
    return this.#keys.expect([key]);
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
  computeGraph(graph: Graph, outputs: readonly Key[], options: ComputeOptions): Promise<unknown[]> {
    return computeOnCluster(this.#computeHost, graph, outputs, options);
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
  persistGraph(graph: Graph, outputs: readonly Key[], options: ComputeOptions): Promise<Layer> {
    return Promise.resolve(persistOnCluster(this.#submission, graph, outputs, options));
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  get #computeHost(): ClusterComputeHost {
    return {
      submission: this.#submission,
      gather: (futures) => this.gather(futures),
      taskProgress: (keys) => this.taskProgress(keys),
    };
  }

  #checkOpen(): void {
    if (this.#status === "closed") throw new ClientClosedError(CLOSED_MESSAGE);
  }

  /** A request to the scheduler, after everything queued before it. */
  #request<T>(method: string, params: Record<string, unknown>): Promise<T> {
    this.#outbox.flush();
    return this.#session.request<T>(method, params);
  }

  #onMessage(msg: SchedulerToClientMsg | PubSubToClientMsg): void {
    if (msg.op === "pubsub-msg" || msg.op === "pubsub-subscribers") this.#pubsub?.receive(msg);
    else this.#keys.receive(msg);
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
    // The scheduler may have restarted: tell it what this client holds (client/held_keys.ts);
    // queued submissions go after.
    const held = this.#keys.reclaim(this.#outbox.heldKeys());
    this.#outbox.resume(held.length > 0 ? { op: "client-desires-keys", keys: held } : undefined);
  }

  #shutdown(error: Error): Promise<void> {
    this.#closing ??= (async () => {
      this.#status = "closed";
      this.#forgetAtExit?.();
      defaults.remove(this, getDefaultExecutor() === this);
      this.#outbox.clear();
      // closed on purpose: pending work is cancelled; the scheduler gone for good: it is lost
      this.#keys.endAll(error, error instanceof ClientClosedError);
      await this.#session.close(error);
      await this.#peers.close();
      await this.cluster?.close();
    })();
    return this.#closing;
  }
}
