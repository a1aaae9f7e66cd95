/**
 * The worker server: the I/O around the worker state machine (state.ts), and nothing else. It
 * composes the parts, each one concern:
 *
 * - scheduler_session.ts — the link to the scheduler: connect, register, heartbeat, reconnect;
 * - executor.ts — the task threads: post tasks with their inputs, turn results into events;
 * - peer_server.ts — the data service for peers and clients (`get-data`, `update-data`);
 * - memory_monitor.ts — samples resident memory: spill, pause, resume;
 * - here: transfers from peers (gather), the store, and carrying out instructions.
 *
 * Every event (a scheduler message, a finished thread, a finished transfer, data sent by a
 * client) goes to {@link WorkerState.handle}, which returns the instructions; they are carried out
 * at once, in order. Every decision — which thread, too-big results, inlining small results,
 * close/restart/run, malformed messages — is the state machine's. docs/protocol.md §1, §6 and §8
 * are the contract. Task threads, and the thread `run` functions use (run_thread.ts), have the
 * task permissions (core/task_permissions.ts), narrower than this process's.
 *
 * Memory (with a memory limit): the store keeps at most 60% of the limit in memory and spills the
 * least recently used values to a spill directory beyond that (worker/store.ts); the monitor does
 * the rest (memory_monitor.ts).
 *
 * Leaving: a worker that stops on its own (SIGTERM, `close`) says `worker-leaving` first, so the
 * scheduler moves its work without counting a failure. `restart` from the scheduler drops every
 * task, thread and value and registers again as new; `run` calls a function on the run thread.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import { restoreOriginFrames } from "../core/function_origin.ts";
import { RateLimitedLog } from "../core/rate_limited_log.ts";
import { RecentLines } from "../core/recent_lines.ts";
import { TransferTally } from "./transfer_tally.ts";
import { taskFailureLine } from "./task_failure_lines.ts";
import type { TaskErredMsg } from "../protocol/messages.ts";
import type { Key } from "../core/task.ts";
import {
  type Connection,
  formatAddress,
  listen,
  type Listener,
  parseAddress,
  refusalLogger,
} from "../net/wire.ts";
import { isDataItem } from "../protocol/message_checks.ts";
import { PeerPool } from "../net/peer_pool.ts";
import { inlineSecurity, type TlsConfig } from "../net/tls.ts";
import { garbageCollector } from "../core/garbage.ts";
import { SHARED_GARBAGE_BYTES, SharedGarbage } from "../threads/shared_garbage.ts";
import { DEFAULT_SAMPLE_INTERVAL_MS } from "../threads/sampler.ts";
import { encodedBytes } from "./encoded_info.ts";
import type { ReceivedData, WorkerEvent, WorkerInstruction } from "./events.ts";
import { SHARED_FRAME_MIN_BYTES, TaskExecutor } from "./executor.ts";
import {
  DEFAULT_MEMORY_THRESHOLDS,
  MemoryMonitor,
  type MemoryThresholds,
  residentMemory,
} from "./memory_monitor.ts";
import { PeerServer } from "./peer_server.ts";
import { SchedulerSession, type StopInfo } from "./scheduler_session.ts";
import { SpillDirectory } from "./spill.ts";
import { formatBytes } from "./memory_limit.ts";
import {
  MEMORY_EXIT_CODE,
  STRAY_THREAD_EXIT_CODE,
  SUPERVISED_ENV,
} from "../protocol/exit_codes.ts";
import { WorkerState } from "./state.ts";
import { RunThread } from "./run_thread.ts";
import { denoNpmCache } from "./permissions.ts";
import { type TaskPermissions, threadPermissions } from "../core/task_permissions.ts";
import { DataStore } from "./store.ts";

export type { MemoryThresholds } from "./memory_monitor.ts";
export type { StopInfo } from "./scheduler_session.ts";

/** How a worker server is set up. */
export interface WorkerServerOptions {
  /** The scheduler's address, `tcp://host:port`. */
  scheduler: string;
  /**
   * Where to listen for peers. By default the loopback interface when the scheduler is on this
   * machine's loopback, else every interface (advertising the address that reaches the scheduler).
   */
  host?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** A stable name for `workers` restrictions; defaults to the address. */
  name?: string;
  nthreads: number;
  /** Bytes; 0 for no limit. */
  memoryLimit: number;
  resources?: Record<string, number>;
  /** Where log lines go (one line per notable event). Standard error by default. */
  log?: (line: string) => void;
  /** The largest frame accepted from the scheduler or a peer. 1 GiB. */
  maxFrameBytes?: number;
  /** The cluster's shared secret: every link proves it in its handshake (net/auth.ts). */
  authToken?: string;
  /** TLS (net/tls.ts): listen on `tls://` for peers and clients, dial the scheduler and peers. */
  tls?: TlsConfig;
  /**
   * The folder for spill files (`--local-directory`): the worker makes its own subdirectory
   * there and removes it when it stops. The system's temporary folder by default.
   */
  localDirectory?: string;
  /**
   * Bytes the spill files may take (`--spill-limit`); past it the worker stops spilling as it
   * does when the disk is full. No cap by default.
   */
  spillLimit?: number;
  /** Fractions of the memory limit: spill target, extra spilling, pause. 0.6, 0.7, 0.8. */
  memoryThresholds?: Partial<MemoryThresholds>;
  /** Milliseconds between samples of the process's memory. 100. */
  memoryMonitorIntervalMs?: number;
  /**
   * What tasks (and `run` functions) may do: grants beyond the defaults, or `"all"` for the
   * worker process's own permissions (core/task_permissions.ts). Default: the defaults only.
   */
  taskPermissions?: TaskPermissions;
  /**
   * Milliseconds between samples of the task threads' call stacks (threads/sampler.ts), as
   * Dask's `distributed.worker.profile.interval`; 0 turns sampling off. 10.
   */
  profileIntervalMs?: number;
}

/** Transfers smaller than this say little about bandwidth and are not measured. */
const MIN_MEASURED_TRANSFER_BYTES = 64 * 1024;

const now = () => (performance.timeOrigin + performance.now()) / 1000;

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", ""]);
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "::1"]);

export class WorkerServer {
  readonly #name: string | undefined;
  readonly nthreads: number;
  readonly memoryLimit: number;
  readonly scheduler: string;
  readonly store: DataStore;
  /** Where spilled values go (created on the first spill). */
  readonly spillDirectory: SpillDirectory;
  readonly memoryThresholds: Readonly<MemoryThresholds>;
  /** Resolves when the server stops: told to by the scheduler, refused, or {@link close}d. */
  readonly stopped: Promise<StopInfo>;

  readonly #options: WorkerServerOptions;
  readonly #listener: Listener;
  /** Known once listening on a definite host, or once the scheduler was reached. */
  #address: string | null;
  #addressKnown: Promise<void>;
  #resolveAddress!: () => void;
  readonly #executor: TaskExecutor;
  readonly #runThread: RunThread;
  readonly #peers: PeerPool;
  readonly #peerServer: PeerServer;
  readonly #session: SchedulerSession;
  readonly #memory: MemoryMonitor | null = null;
  #state: WorkerState;
  /** Increases with each registration; transfers started in an older session are dropped. */
  #sessionCount = 0;
  #stopInfo: StopInfo | null = null;
  #resolveStopped!: (info: StopInfo) => void;

  // Events are handled one after another; instructions they produce may add more events.
  #events: WorkerEvent[] = [];
  #draining = false;

  /** Measured transfer bandwidth (bytes/s, moving average), 0 until measured. */
  #bandwidth = 0;
  /** Log lines not yet sent to the scheduler (they go with the next heartbeat). */
  readonly #recentLogs = new RecentLines();
  /** Bytes received from peers, not yet reported (they go with the next heartbeat). */
  readonly #transfers = new TransferTally();
  readonly #sharedGarbage = new SharedGarbage(SHARED_GARBAGE_BYTES);

  private constructor(options: WorkerServerOptions, listener: Listener, address: string | null) {
    this.#options = options;
    this.#listener = listener;
    this.#address = address;
    this.#addressKnown = new Promise((resolve) => this.#resolveAddress = resolve);
    if (address !== null) this.#resolveAddress();
    this.#name = options.name;
    this.nthreads = options.nthreads;
    this.memoryLimit = options.memoryLimit;
    this.scheduler = options.scheduler;
    this.stopped = new Promise((resolve) => this.#resolveStopped = resolve);
    this.memoryThresholds = { ...DEFAULT_MEMORY_THRESHOLDS, ...options.memoryThresholds };
    this.spillDirectory = new SpillDirectory({ parent: options.localDirectory });
    this.store = new DataStore({
      spill: options.memoryLimit > 0 ? this.spillDirectory : undefined,
      targetBytes: this.memoryThresholds.target * options.memoryLimit,
      onSpillError: (key, error) =>
        this.#log(`cannot spill ${key} to disk, keeping it in memory: ${error.message}`),
      spillLimitBytes: options.spillLimit,
      onSpillFull: (reason) =>
        this.#log(
          reason === null
            ? "spilling again: a spilled value was deleted, so there is room on disk"
            : `spill directory full, no more spilling (values stay in memory; tasks that ` +
              `cannot fit will fail with MemoryLimitError): ${reason}`,
        ),
      sharedGarbage: this.#sharedGarbage,
    });
    this.#state = this.#newState();
    // Before the threads start, so that they too are created with `gc` exposed.
    if (options.memoryLimit > 0) garbageCollector();
    const log = (line: string) => this.#log(line);
    const handle = (event: WorkerEvent) => this.#handle(event);
    const stopping = () => this.#stopInfo !== null;
    const sampleIntervalMs = options.profileIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    const permissions = threadPermissions(options.taskPermissions ?? {}, {
      packageUrl: new URL("../", import.meta.url).href,
      npmCache: denoNpmCache(),
      clusterHosts: [parseAddress(options.scheduler).hostname],
      // a worker started without sys: inspector runs its tasks unsampled rather than asking for it
      sampling: sampleIntervalMs !== 0 &&
        Deno.permissions.querySync({ name: "sys", kind: "inspector" as "hostname" }).state ===
          "granted",
    });
    this.#executor = new TaskExecutor(
      this.nthreads,
      {
        store: this.store,
        address: () => this.address,
        handle,
        // an open inspector port lets any local user debug the process: a worker that proves a
        // token or speaks TLS never opens one
        inspectBusyThreads: sampleIntervalMs !== 0 &&
          options.authToken === undefined && options.tls === undefined,
        log,
        strayThread: (reason) => this.#strayThread(reason),
        delegate: (key) => this.#session.delegate(key),
      },
      permissions,
      true,
    );
    // a worker's task threads sample their stacks (the profile, the call-stacks view) from the
    // start, as Dask's workers do
    this.#executor.sample(sampleIntervalMs);
    this.store.spillLive = (keys) => this.#executor.spillLive(keys);
    this.#runThread = new RunThread(permissions);
    if (address !== null) this.#setUpThreads();
    this.#peers = new PeerPool({
      maxFrameBytes: options.maxFrameBytes,
      authToken: options.authToken,
      tls: options.tls,
      sharedFrameMinBytes: SHARED_FRAME_MIN_BYTES,
    });
    this.#peerServer = new PeerServer({
      store: this.store,
      materialize: (keys) => this.#executor.materialize(keys),
      handle,
      deliverPubSub: (name, value) => this.#executor.deliverPubSub(name, value),
      actors: this.#executor.actors,
      profile: (query, waitMs) => this.#executor.profile(query, waitMs),
      stacks: (waitMs) => this.#executor.stacks(waitMs),
      log,
      stopping,
      name: () => this.name,
      scheduler: this.scheduler,
      tenancy: () => this.#tenancy,
    });
    this.#session = new SchedulerSession({
      address: () => this.address,
      name: () => this.name,
      scheduler: this.scheduler,
      connectOptions: () => ({
        role: "worker",
        maxFrameBytes: options.maxFrameBytes,
        authToken: options.authToken,
        tls: options.tls,
        sharedFrameMinBytes: SHARED_FRAME_MIN_BYTES,
      }),
      learnAddress: (connection) => this.#learnAddress(connection),
      beginSession: () => this.#beginSession(),
      registration: () => ({
        nthreads: this.nthreads,
        memoryLimit: this.memoryLimit,
        resources: options.resources ?? {},
      }),
      handle,
      holdRuns: () => this.#executor.hold(),
      releaseRuns: () => this.#executor.release(),
      restart: () => this.#restart(),
      stop: (info) => this.#stop(info),
      stopping,
      paused: () => this.paused,
      exhausted: () => this.#memory?.exhausted === true,
      metrics: () => this.#metrics(),
      recentLogs: () => this.#recentLogs.take(),
      transfers: () => this.#transfers.take(),
      heldKeys: () => this.store.size,
      runFunction: (fn, args) => this.#runThread.run(fn, args),
      uploaded: (name, source) => this.#executor.upload(name, source),
      tenancy: (on) => {
        if (on === this.#tenancy) return;
        this.#tenancy = on;
        this.#setUpThreads();
      },
      log,
    });
    if (options.memoryLimit > 0) {
      this.#memory = new MemoryMonitor(
        options.memoryLimit,
        this.memoryThresholds,
        options.memoryMonitorIntervalMs ?? 100,
        {
          store: this.store,
          setPaused: (paused) => {
            this.#handle({ type: paused ? "pause" : "resume", now: now() });
            this.#session.sendStatus();
          },
          idle: () => !this.#executor.busy,
          replaceThreads: () => this.#executor.replaceThreads(),
          memoryExhausted: (reason, first) => {
            if (first) {
              log(
                `out of memory and unable to spill for a while: the tasks waiting here fail ` +
                  `with MemoryLimitError, and so do those with no other worker (${reason})`,
              );
            }
            this.#handle({ type: "memory-exhausted", reason, now: now() });
            if (first) this.#session.sendStatus(); // the scheduler fails what has nowhere to go
          },
          log,
        },
      );
    }
  }

  /**
   * Listens for peers, starts the threads, and starts reaching the scheduler in the background.
   * Resolves once the worker's address is known: at once, or — when listening on every
   * interface — once the scheduler is reached (its connection tells which address routes there).
   *
   * @throws when the port cannot be listened on, or the scheduler address is invalid.
   */
  static async start(options: WorkerServerOptions): Promise<WorkerServer> {
    if (!Number.isInteger(options.nthreads) || options.nthreads < 1) {
      throw new RangeError(`A worker needs at least one thread, got ${options.nthreads}.`);
    }
    const schedulerHost = parseAddress(options.scheduler).hostname;
    const host = options.host ??
      (LOOPBACK_HOSTS.has(schedulerHost) ? loopbackFor(schedulerHost) : "0.0.0.0");
    // Connections that complete their handshake before the server object exists wait here.
    const early: Connection[] = [];
    const ref: { server?: WorkerServer } = {};
    const listener = await listen({
      hostname: host,
      port: options.port ?? 0,
      role: "worker",
      maxFrameBytes: options.maxFrameBytes,
      authToken: options.authToken,
      tls: options.tls,
      sharedFrameMinBytes: SHARED_FRAME_MIN_BYTES,
      onError: refusalLogger((line) => ref.server && ref.server.#log(line)),
    }, (connection) => {
      if (ref.server === undefined) early.push(connection);
      else void ref.server.#peerServer.serve(connection);
    });
    const server = ref.server = new WorkerServer(
      options,
      listener,
      WILDCARD_HOSTS.has(host) ? null : listener.addr,
    );
    for (const connection of early) void server.#peerServer.serve(connection);
    void server.#session.run();
    await Promise.race([server.#addressKnown, server.stopped]);
    return server;
  }

  /** Where peers reach this worker, `tcp://host:port` (`tls://` over TLS). */
  get address(): string {
    return this.#address ?? "";
  }

  /** The name used by `workers` restrictions: `--name`, else the address. */
  get name(): string {
    return this.#name ?? this.#address ?? "(address not known yet)";
  }

  /** A failing task's key and error on this worker's terminal, ten per 10 s at most. */
  readonly #taskErrors = new RateLimitedLog((line) => this.#log(line));

  #logTaskError(msg: TaskErredMsg): void {
    const { name, message, stack } = msg.error;
    // the frame the error came from: the user's file and line for functions that carry it
    const frame = stack?.split("\n").find((l) => /^\s+at /.test(l))?.trim();
    this.#taskErrors.log(
      taskFailureLine(
        msg.key,
        `${name}: ${message}`,
        frame === undefined ? undefined : restoreOriginFrames(frame),
      ),
    );
  }

  #log(line: string): void {
    this.#recentLogs.add(line);
    (this.#options.log ?? ((l: string) => console.error(l)))(`[worker ${this.name}] ${line}`);
  }

  /** The state machine of the current session (read access for tests and displays). */
  get state(): WorkerState {
    return this.#state;
  }

  /** True while registered with the scheduler. */
  get connected(): boolean {
    return this.#session.connected;
  }

  /** True while paused for lack of memory. */
  get paused(): boolean {
    return this.#memory?.paused ?? false;
  }

  /** Highest resident memory sampled, bytes (0 without a memory limit). */
  get peakRss(): number {
    return this.#memory?.peakRss ?? 0;
  }

  /** Stops: closes every connection, the listener and the threads. Data is dropped. */
  async close(reason = "closed"): Promise<void> {
    await this.#stop({ reason, code: 0 });
  }

  /**
   * Its supervisor terminates it for memory (deploy/memory_watch.ts): says so to the scheduler,
   * which counts the running tasks as suspects, and stops with {@link MEMORY_EXIT_CODE}.
   */
  async terminateForMemory(): Promise<void> {
    const reason = `its supervisor terminated it: process memory ${
      formatBytes(residentMemory())
    } passed 95% of its memory limit ${formatBytes(this.memoryLimit)}`;
    this.#log(reason);
    await this.#stop({ reason, code: MEMORY_EXIT_CODE, terminated: true });
  }

  /**
   * A terminated task thread keeps a core busy (threads/stray_threads.ts): a supervised worker
   * stops so its supervisor starts a fresh process (its results are recomputed where needed, as
   * when a worker leaves); another one can only say so.
   */
  #strayThread(reason: string): void {
    if (this.#stopInfo !== null) return;
    let supervised = false;
    try {
      supervised = Deno.env.get(SUPERVISED_ENV) === "1";
    } catch { /* no env permission: not known to be supervised */ }
    if (!supervised) {
      this.#log(
        `${reason}; it keeps this process busy until the process is restarted (a worker under ` +
          `its nanny, the default of worker/main.ts, or LocalCluster's is replaced automatically)`,
      );
      return;
    }
    this.#log(`${reason}: stopping so that its supervisor starts a fresh process`);
    void this.#stop({
      reason: `a task thread it terminated keeps running (${reason})`,
      code: STRAY_THREAD_EXIT_CODE,
    });
  }

  /** Listening on every interface: peers use the one that routes to the scheduler. */
  #learnAddress(connection: Connection): void {
    if (this.#address !== null) return;
    const local = parseAddress(connection.localAddr).hostname;
    this.#address = formatAddress(
      { hostname: local, port: this.#listener.port },
      this.#options.tls === undefined ? "tcp" : "tls",
    );
    this.#setUpThreads();
    this.#resolveAddress();
  }

  /**
   * Tasks learn the cluster they run on (their `getClient()` connects to its scheduler), and its
   * token and certificate — unless the scheduler has client identities: a tenant's task must not
   * act with the cluster's rights; its client asks for a credential of its own and, over TLS,
   * gets only the CA (to check the scheduler; docs/security.md, tenancy).
   */
  #setUpThreads(): void {
    this.#executor.setup({
      type: "setup",
      scheduler: this.scheduler,
      worker: this.address,
      authToken: this.#tenancy ? undefined : this.#options.authToken,
      security: inlineSecurity(this.#options.tls, { withCertificate: !this.#tenancy }),
      tenancy: this.#tenancy,
      // live tables are not in the store's accounting: a tenth of the limit at most, in all
      liveTableBytes: this.memoryLimit > 0
        ? Math.floor(this.memoryLimit / 10 / this.nthreads)
        : undefined,
      // below this, tasks leave freed native memory to glibc for the next task to reuse
      trimAboveBytes: this.memoryLimit > 0 ? Math.floor(this.memoryLimit / 2) : undefined,
    });
  }
  /**
   * The scheduler has client identities (told at registration): threads get no cluster
   * credentials (a task asks for its own: scheduler/task_delegation.ts).
   */
  #tenancy = false;

  /** A new registration: a fresh state machine, holding the data that survived. */
  #beginSession(): ReceivedData[] {
    this.#sessionCount++;
    this.#executor.session = this.#sessionCount;
    this.#state = this.#newState();
    if (this.paused) this.#handle({ type: "pause", now: now() });
    const held = this.store.describe();
    if (held.length > 0) {
      // The data survives; the new state keeps it until the scheduler says otherwise.
      this.#handle({ type: "update-data", data: held, report: false, now: now() });
    }
    return held;
  }

  #metrics(): Record<string, number> {
    const state = this.#state;
    const memory = this.#memory;
    return {
      memory: this.store.memoryBytes,
      spilled: this.store.spilledBytes,
      spilledKeys: this.store.spilledKeys,
      live: this.store.liveBytes,
      liveKeys: this.store.liveKeys,
      tableConversions: this.#executor.tableConversions,
      spillFull: this.store.spillFull === null ? 0 : 1,
      keys: this.store.size,
      rss: memory !== null ? memory.rss : residentMemory(),
      paused: this.paused ? 1 : 0,
      executing: state.executing,
      ready: state.readyCount,
      inFlight: state.transfersInFlight,
      bandwidth: this.#bandwidth,
      serving: this.#peerServer.serving,
    };
  }

  /** Drops every task, thread and value; the session then registers again as a new worker. */
  #restart(): void {
    this.#sessionCount++; // results of the old threads and transfers are dropped when they land
    this.#executor.session = this.#sessionCount;
    this.#executor.replaceThreads();
    this.store.clear();
    this.spillDirectory.remove();
    if (this.#memory !== null) this.#memory.paused = false;
  }

  #newState(): WorkerState {
    return new WorkerState({
      address: this.address,
      nthreads: this.nthreads,
      resources: this.#options.resources,
      memoryLimit: this.memoryLimit,
    });
  }

  async #stop(info: StopInfo): Promise<void> {
    if (this.#stopInfo !== null) {
      await this.stopped;
      return;
    }
    this.#stopInfo = info;
    this.#memory?.stop();
    this.#executor.close();
    this.#runThread.close();
    const closing: Promise<unknown>[] = [this.#listener.close(), this.#peers.close()];
    const leaving = this.#session.leave(info.reason, info.terminated === true);
    if (leaving !== null) closing.push(leaving);
    closing.push(...this.#peerServer.abortAll("the worker stopped"));
    await Promise.allSettled(closing);
    this.store.clear();
    try {
      this.spillDirectory.remove();
    } catch (error) {
      this.#log(`could not remove the spill directory: ${errorMessage(error)}`);
    }
    this.#resolveStopped(info);
  }

  // -------------------------------------------------------------------------------------------
  // Events and instructions

  /** Hands one event to the state machine and carries out what it says (and what follows). */
  #handle(event: WorkerEvent): void {
    this.#events.push(event);
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let i = 0; i < this.#events.length; i++) {
        let instructions: WorkerInstruction[] = [];
        try {
          instructions = this.#state.handle(this.#events[i]);
        } catch (error) {
          this.#log(`internal error handling ${this.#events[i].type}: ${(error as Error).stack}`);
        }
        this.#perform(instructions);
      }
    } finally {
      this.#events = [];
      this.#draining = false;
    }
  }

  #perform(instructions: WorkerInstruction[]): void {
    for (const instruction of instructions) {
      switch (instruction.type) {
        case "execute":
          this.#executor.execute(instruction.tasks);
          break;
        case "keep-result":
          this.#executor.keep(instruction.key);
          break;
        case "stop-task":
          this.#executor.stop(instruction.key, instruction.thread);
          break;
        case "rejoined":
          this.#executor.rejoined(instruction.key);
          break;
        case "store":
          this.store.set(instruction.key, {
            encoded: instruction.encoded,
            nbytes: instruction.nbytes,
            typeName: instruction.typeName,
          });
          break;
        case "gather-dependencies":
          void this.#gather(instruction.requestId, instruction.peer, instruction.keys);
          break;
        case "send-to-scheduler":
          if (instruction.msg.op === "task-erred") this.#logTaskError(instruction.msg);
          this.#session.send(instruction.msg);
          break;
        case "send-result": {
          const msg = instruction.msg;
          const value = this.store.small(msg.key, instruction.inlineMaxBytes);
          if (value !== undefined) msg.value = value;
          this.#session.send(msg);
          break;
        }
        case "free":
          for (const key of instruction.keys) this.store.delete(key);
          this.#executor.freed(instruction.keys);
          if (this.#sharedGarbage.due()) garbageCollector()?.();
          break;
        case "run":
          void this.#session.runFunction(instruction.msg);
          break;
        case "close":
        case "restart":
        case "abort-session":
          this.#session.end(instruction);
          break;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Transfers

  async #gather(requestId: number, peer: string, keys: Key[]): Promise<void> {
    const session = this.#sessionCount;
    const started = performance.now();
    let event: WorkerEvent;
    try {
      const reply = await this.#peers.getData(peer, keys);
      if (session !== this.#sessionCount || this.#stopInfo !== null) return;
      const wanted = new Set(keys);
      const data: ReceivedData[] = [];
      let bytes = 0;
      for (const item of Array.isArray(reply.items) ? reply.items : []) {
        if (!isDataItem(item) || !wanted.has(item.key)) continue;
        this.store.set(item.key, {
          encoded: item.value,
          nbytes: item.nbytes,
          typeName: item.typeName,
        });
        data.push({ key: item.key, nbytes: item.nbytes, typeName: item.typeName });
        const size = encodedBytes(item.value);
        this.#transfers.add(peer, item.typeName, size);
        bytes += size;
      }
      this.#measureBandwidth(bytes, (performance.now() - started) / 1000);
      event = { type: "gather-done", requestId, data, now: now() };
    } catch (error) {
      if (session !== this.#sessionCount || this.#stopInfo !== null) return;
      const reason = errorMessage(error);
      this.#log(`fetching ${keys.length} keys from ${peer} failed: ${reason}`);
      event = { type: "gather-failed", requestId, reason, now: now() };
    }
    this.#handle(event);
  }

  #measureBandwidth(bytes: number, seconds: number): void {
    if (bytes < MIN_MEASURED_TRANSFER_BYTES || seconds <= 0) return;
    const sample = bytes / seconds;
    this.#bandwidth = this.#bandwidth === 0 ? sample : 0.8 * this.#bandwidth + 0.2 * sample;
  }
}

function loopbackFor(schedulerHost: string): string {
  return schedulerHost === "::1" ? "::1" : "127.0.0.1";
}
