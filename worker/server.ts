/**
 * The worker server: the I/O around the worker state machine (state.ts). It connects to the
 * scheduler (retrying with backoff until it is up, and again whenever the connection drops),
 * registers and heartbeats, runs tasks on a pool of Web Worker threads, keeps results in its
 * store, fetches inputs from peers through pooled connections, and serves its store to peers and
 * clients on its own listener (role `"peer"`). docs/protocol.md §1, §6 and §8 are the contract.
 *
 * Every event (a scheduler message, a finished thread, a finished transfer, data sent by a
 * client) is handed to the state machine as it comes, and its instructions are carried out at
 * once: messages to the scheduler sent in one burst leave as one `batch`, transfers start, and tasks to run are
 * held until the end of the burst (every message already read, a thread's batch of results), then
 * posted as one batch per thread (each task to the thread with the least expected work). Nothing
 * here blocks the event loop or sets a timer per task.
 *
 * Sessions: each registration with the scheduler gets a fresh state machine, seeded with the data
 * in the store (which survives reconnects and is reported in `register-worker`). Results of
 * threads and transfers started in an earlier session are dropped when they land.
 *
 * Memory (with a memory limit): the store keeps at most 60% of the limit in memory and spills the
 * least recently used values to a spill directory beyond that (worker/store.ts). A monitor
 * samples the process's resident memory every 100 ms: above 70% it spills more, above 80% the
 * worker pauses (starts no task and no transfer, and tells the scheduler `worker-status`
 * `paused`) until it falls back. A single result bigger than the limit fails its task instead of
 * being kept.
 *
 * Leaving: a worker that stops on its own (SIGTERM, `close`) says `worker-leaving` first, so the
 * scheduler moves its work without counting a failure. `restart` from the scheduler drops every
 * task, thread and value and registers again as new; `run` calls a function in this process.
 *
 * @module
 */

import { chooseThread } from "./thread_choice.ts";
import { cpuUsage } from "node:process";
import { errorMessage, type ErrorRecord, recordFromError } from "../core/errors.ts";
import { FunctionCache } from "../core/function_cache.ts";
import type { FunctionSpec } from "../core/function_codec.ts";
import type { Key } from "../core/task.ts";
import { decode, encode, type Encoded } from "../core/value_codec.ts";
import {
  BatchSender,
  Connection,
  formatAddress,
  listen,
  type Listener,
  parseAddress,
  unbatch,
} from "../net/wire.ts";
import { INLINE_RESULT_BYTES, type SchedulerToWorkerMsg } from "../protocol/messages.ts";
import {
  type DataItem,
  DEFAULT_HEARTBEAT_INTERVAL,
  MAX_CONCURRENT_PEER_REQUESTS,
  type RegisterWorkerMsg,
  type RunMsg,
  type RunResultMsg,
  SESSION_PROTOCOL,
  type WorkerLeavingMsg,
  type WorkerStatusMsg,
} from "../protocol/session.ts";
import { isDataItem, isEncoded } from "../protocol/message_checks.ts";
import { encodedBytes, encodedTypeName } from "./encoded_info.ts";
import { garbageCollector } from "../threads/garbage.ts";
import { REFUSED_EXIT_CODE } from "../protocol/exit_codes.ts";
import { SHARED_GARBAGE_BYTES, SharedGarbage } from "../threads/shared_garbage.ts";
import { formatBytes } from "./memory_limit.ts";
import { PeerPool } from "../net/peer_pool.ts";
import { SpillDirectory } from "./spill.ts";
import {
  type ExecuteSpec,
  type ReceivedData,
  type WorkerEvent,
  type WorkerInstruction,
  WorkerState,
} from "./state.ts";
import { DataStore } from "./store.ts";
import { ThreadPool } from "../threads/thread_pool.ts";
import type { RunItem, RunResult } from "../threads/thread_protocol.ts";

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
  /**
   * The folder for spill files (`--local-directory`): the worker makes its own subdirectory
   * there and removes it when it stops. The system's temporary folder by default.
   */
  localDirectory?: string;
  /** Fractions of the memory limit: spill target, extra spilling, pause. 0.6, 0.7, 0.8. */
  memoryThresholds?: Partial<MemoryThresholds>;
  /** Milliseconds between samples of the process's memory. 100. */
  memoryMonitorIntervalMs?: number;
}

/** Fractions of the memory limit where the worker acts (Dask's defaults). */
export interface MemoryThresholds {
  /** Values in memory beyond this are spilled, least recently used first. */
  target: number;
  /** Process memory beyond this spills more values, down to the target. */
  spill: number;
  /** Process memory beyond this pauses the worker until it falls back. */
  pause: number;
}

const DEFAULT_MEMORY_THRESHOLDS: MemoryThresholds = { target: 0.6, spill: 0.7, pause: 0.8 };
/** Garbage is collected on demand at most this often (a full collection takes milliseconds). */
const MIN_COLLECTION_INTERVAL_MS = 250;
/** Idle threads are replaced at most this often while paused. */
const MIN_RECYCLE_INTERVAL_MS = 500;

/** Why the server stopped: `code` is the exit code a CLI should use. */
export interface StopInfo {
  reason: string;
  code: number;
}

/** Backoff between attempts to reach the scheduler: 0.1 s doubling to 5 s. */
const FIRST_RETRY_S = 0.1;
const MAX_RETRY_S = 5;
/**
 * Received frames of at least this size land in shared memory, and stored frames this large are
 * moved there on first use: the worker's threads then read them without copies.
 */
const SHARED_FRAME_MIN_BYTES = 64 * 1024;
/** At the longest backoff, a failed attempt is logged once per this many seconds. */
const RETRY_LOG_EVERY_S = 60;
/** At shutdown, how long the scheduler connection may take to write what is queued. */
const CLOSE_GRACE_MS = 2000;
/** Transfers smaller than this say little about bandwidth and are not measured. */
const MIN_MEASURED_TRANSFER_BYTES = 64 * 1024;

const now = () => (performance.timeOrigin + performance.now()) / 1000;

/** The error name of a task whose result was bigger than the worker's memory limit. */
const TOO_BIG = "MemoryLimitError";

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", ""]);
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "::1"]);

/** A task run handed to a thread, by the id its result echoes. */
interface Run {
  key: Key;
  thread: number;
  session: number;
  /** Its expected seconds, counted in its thread's load until it is over. */
  load: number;
}

/** The tasks going to one thread in one `postMessage`, and the buffers handed over with them. */
interface ThreadBatch {
  items: RunItem[];
  transfer: Set<ArrayBuffer>;
}

function newBatch(): ThreadBatch {
  return { items: [], transfer: new Set() };
}

/** The load a task of unknown or zero duration adds to its thread, seconds. */
const MIN_TASK_LOAD_S = 1e-6;

function isKeyList(value: unknown): value is Key[] {
  return Array.isArray(value) && value.every((k) => typeof k === "string");
}

/** The process's resident memory, bytes (0 where it cannot be read). */
function residentMemory(): number {
  try {
    return Deno.memoryUsage().rss;
  } catch {
    return 0;
  }
}

/** Why a scheduler message cannot be handed to the state machine, or null when it can. */
function schedulerMessageProblem(msg: { op?: unknown } & Record<string, unknown>): string | null {
  switch (msg.op) {
    case "compute-task":
      return typeof msg.key === "string" && typeof msg.runId === "number" &&
          Array.isArray(msg.deps) && Array.isArray(msg.priority)
        ? null
        : "a compute-task without key, runId, priority or deps";
    case "free-keys":
      return isKeyList(msg.keys) ? null : "a free-keys without a list of keys";
    case "steal-request":
      return typeof msg.key === "string" && typeof msg.stealId === "number"
        ? null
        : "a steal-request without key or stealId";
    case "acquire-replicas":
    case "refresh-who-has":
      return Array.isArray(msg.keys) ? null : `a ${msg.op} without keys`;
    default:
      return `unknown operation ${JSON.stringify(msg.op)}`;
  }
}

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
  #pool: ThreadPool;
  readonly #peers: PeerPool;
  readonly #peerConnections = new Set<Connection>();
  #state: WorkerState;
  /** Increases with each registration; work started in an older session is dropped. */
  #session = 0;
  #scheduler: Connection | null = null;
  /** Sends to {@link #scheduler}: what one burst of events says goes as one message. */
  #toScheduler: BatchSender | null = null;
  #registeredOnce = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeRetry: (() => void) | null = null;
  #stopInfo: StopInfo | null = null;
  #resolveStopped!: (info: StopInfo) => void;

  // Threads: each gets batches of tasks, queued in the thread and run in order.
  readonly #runs = new Map<number, Run>();
  /** Expected seconds of work handed to each thread and not finished yet. */
  #threadLoad: number[] = [];
  /** Tasks posted to each thread that have not come back (see worker/thread_choice.ts). */
  #threadRuns: number[] = [];
  /** Tasks to run, held while a burst of events is handled (see #releaseRuns). */
  #toRun: ExecuteSpec[] = [];
  #holdRuns = false;
  #nextRunId = 1;

  // Events are handled one after another; instructions they produce may add more events.
  #events: WorkerEvent[] = [];
  #draining = false;

  #serving = 0;
  /** Measured transfer bandwidth (bytes/s, moving average), 0 until measured. */
  #bandwidth = 0;

  // Memory
  #memoryMonitor: ReturnType<typeof setInterval> | undefined;
  readonly #sharedGarbage = new SharedGarbage(SHARED_GARBAGE_BYTES);
  /** Resident memory at the last sample, bytes. */
  #rss = 0;
  /** Highest resident memory sampled, bytes. */
  peakRss = 0;
  #paused = false;
  /** When garbage was last collected, and when idle threads were last replaced (ms). */
  #lastCollection = 0;
  #lastRecycle = 0;
  /** Task function specs the scheduler sent, by id (later compute-tasks carry the id alone). */
  readonly #functions = new Map<string, FunctionSpec>();
  /** Functions of `run` requests, compiled in this thread. */
  readonly #runFunctions = new FunctionCache();

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
      sharedGarbage: this.#sharedGarbage,
    });
    this.#state = this.#newState();
    // Before the threads start, so that they too are created with `gc` exposed.
    if (options.memoryLimit > 0) garbageCollector();
    this.#pool = this.#newPool();
    this.#peers = new PeerPool({
      maxFrameBytes: options.maxFrameBytes,
      sharedFrameMinBytes: SHARED_FRAME_MIN_BYTES,
    });
    if (options.memoryLimit > 0) {
      this.#memoryMonitor = setInterval(
        () => this.#checkMemory(),
        options.memoryMonitorIntervalMs ?? 100,
      );
    }
  }

  #newPool(): ThreadPool {
    this.#threadLoad = new Array(this.nthreads).fill(0);
    this.#threadRuns = new Array(this.nthreads).fill(0);
    return new ThreadPool(
      this.nthreads,
      (thread, results) => this.#threadResults(thread, results),
      (thread, error) => this.#threadDied(thread, error),
    );
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
      sharedFrameMinBytes: SHARED_FRAME_MIN_BYTES,
      onError: (error, remote) => {
        if (ref.server !== undefined) ref.server.#log(`peer ${remote} refused: ${error.message}`);
      },
    }, (connection) => {
      if (ref.server === undefined) early.push(connection);
      else void ref.server.#servePeer(connection);
    });
    const server = ref.server = new WorkerServer(
      options,
      listener,
      WILDCARD_HOSTS.has(host) ? null : listener.addr,
    );
    for (const connection of early) void server.#servePeer(connection);
    void server.#connectLoop();
    await Promise.race([server.#addressKnown, server.stopped]);
    return server;
  }

  /** Where peers reach this worker, `tcp://host:port`. */
  get address(): string {
    return this.#address ?? "";
  }

  /** The name used by `workers` restrictions: `--name`, else the address. */
  get name(): string {
    return this.#name ?? this.#address ?? "(address not known yet)";
  }

  #log(line: string): void {
    (this.#options.log ?? ((l: string) => console.error(l)))(`[worker ${this.name}] ${line}`);
  }

  /** The state machine of the current session (read access for tests and displays). */
  get state(): WorkerState {
    return this.#state;
  }

  /** True while registered with the scheduler. */
  get connected(): boolean {
    return this.#scheduler !== null && !this.#scheduler.isClosed;
  }

  /** True while paused for lack of memory. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Stops: closes every connection, the listener and the threads. Data is dropped. */
  async close(reason = "closed"): Promise<void> {
    await this.#stop({ reason, code: 0 });
  }

  // -------------------------------------------------------------------------------------------
  // The scheduler connection

  async #connectLoop(): Promise<void> {
    let delay = FIRST_RETRY_S;
    let lastLogged = -Infinity;
    while (this.#stopInfo === null) {
      let connection: Connection;
      try {
        connection = await Connection.connect(this.scheduler, {
          role: "worker",
          maxFrameBytes: this.#options.maxFrameBytes,
          sharedFrameMinBytes: SHARED_FRAME_MIN_BYTES,
        });
      } catch (error) {
        if (this.#stopInfo !== null) return;
        const t = now();
        if (delay < MAX_RETRY_S || t - lastLogged >= RETRY_LOG_EVERY_S) {
          lastLogged = t;
          this.#log(
            `cannot reach the scheduler at ${this.scheduler} (${errorMessage(error)}); ` +
              `retrying in ${delay} s`,
          );
        }
        await this.#sleep(delay);
        delay = Math.min(MAX_RETRY_S, Math.round(delay * 2 * 10) / 10);
        continue;
      }
      delay = FIRST_RETRY_S;
      lastLogged = -Infinity;
      if (this.#address === null) {
        // Listening on every interface: peers use the one that routes to the scheduler.
        const local = parseAddress(connection.localAddr).hostname;
        this.#address = formatAddress({ hostname: local, port: this.#listener.port });
        this.#resolveAddress();
      }
      const registered = await this.#serveSession(connection);
      if (this.#stopInfo !== null) return;
      if (!registered) await this.#sleep(delay);
    }
  }

  /** Registers on `connection` and serves it until it closes; false when refused. */
  async #serveSession(connection: Connection): Promise<boolean> {
    this.#session++;
    this.#state = this.#newState();
    if (this.#paused) this.#handle({ type: "pause", now: now() });
    const held = this.store.describe();
    if (held.length > 0) {
      // The data survives; the new state keeps it until the scheduler says otherwise.
      this.#handle({ type: "update-data", data: held, report: false, now: now() });
    }
    const register: RegisterWorkerMsg = {
      op: "register-worker",
      address: this.address,
      name: this.name,
      nthreads: this.nthreads,
      memoryLimit: this.memoryLimit,
      resources: this.#options.resources ?? {},
      keys: held,
      pid: Deno.pid,
      protocol: SESSION_PROTOCOL,
      batches: true,
    };
    connection.send({ header: register });
    let registered = false;
    serving: for await (const message of connection) {
      if (!registered) {
        const msg = message.header as { op?: unknown } & Record<string, unknown>;
        if (msg?.op === "worker-registered") {
          registered = true;
          this.#registered(connection, Number(msg.heartbeatInterval), held.length);
          continue;
        }
        const reason = msg?.op === "refused"
          ? String(msg.reason)
          : `unexpected first answer ${JSON.stringify(msg?.op)}`;
        await connection.close(reason);
        if (!this.#registeredOnce) {
          // A first refusal (a name already taken) will not change by retrying.
          this.#log(`the scheduler refused this worker: ${reason}`);
          await this.#stop({
            reason: `refused by the scheduler: ${reason}`,
            code: REFUSED_EXIT_CODE,
          });
        } else {
          this.#log(`the scheduler refused the reconnection: ${reason}; retrying`);
        }
        return false;
      }
      const msgs = unbatch(message.header);
      if (msgs === null) {
        const problem = "a batch without a list of messages (msgs)";
        this.#log(`closing the scheduler connection: it sent ${problem}`);
        await connection.abort(`protocol error: ${problem}`);
        break;
      }
      const t = now();
      for (const header of msgs) {
        const msg = header as { op?: unknown } & Record<string, unknown>;
        if (msg?.op === "close") {
          this.#log(`the scheduler asked this worker to close: ${String(msg.reason)}`);
          await this.#stop({ reason: `scheduler: ${String(msg.reason)}`, code: 0 });
          return true;
        }
        if (msg?.op === "restart") {
          this.#log(`restarting at the scheduler's request: ${String(msg.reason)}`);
          this.#restart();
          this.#toScheduler?.flush();
          await connection.close("restarting");
          break serving;
        }
        if (msg?.op === "run") {
          void this.#run(connection, msg as unknown as RunMsg);
          continue;
        }
        const problem = msg === null || typeof msg !== "object"
          ? "a message that is not an object"
          : schedulerMessageProblem(msg);
        if (problem !== null) {
          this.#log(`closing the scheduler connection: it sent ${problem}`);
          await connection.abort(`protocol error: ${problem}`);
          break serving;
        }
        if (msg.op === "compute-task") this.#resolveFunction(msg);
        // Tasks of every message already read go to the threads together.
        this.#holdRuns = true;
        this.#handle({
          type: "scheduler-message",
          msg: msg as unknown as SchedulerToWorkerMsg,
          now: t,
        });
      }
      if (connection.buffered === 0) this.#releaseRuns();
    }
    this.#releaseRuns();
    const info = await connection.closed;
    if (this.#scheduler === connection) {
      this.#scheduler = null;
      this.#toScheduler = null;
    }
    clearInterval(this.#heartbeat);
    if (this.#stopInfo === null && registered) {
      this.#log(
        `lost the scheduler (${info.reason}); reconnecting, keeping ${this.store.size} keys`,
      );
    }
    return registered;
  }

  /**
   * A compute-task carries its function in full the first time the scheduler sends it to this
   * worker, then only its id: the spec is kept here and put back.
   */
  #resolveFunction(msg: Record<string, unknown>): void {
    const fn = msg.fn as FunctionSpec | string | null;
    if (typeof fn === "string") {
      const spec = this.#functions.get(fn);
      if (spec !== undefined) msg.fn = spec;
    } else if (fn !== null && typeof fn === "object" && typeof fn.id === "string") {
      this.#functions.set(fn.id, fn);
    }
  }

  #registered(connection: Connection, heartbeatInterval: number, heldKeys: number): void {
    this.#scheduler = connection;
    this.#toScheduler = new BatchSender(
      connection,
      (error) => this.#log(`could not send a message to the scheduler: ${error.message}`),
    );
    this.#registeredOnce = true;
    const interval = heartbeatInterval > 0 ? heartbeatInterval : DEFAULT_HEARTBEAT_INTERVAL;
    this.#log(
      `registered with the scheduler at ${this.scheduler}` +
        (heldKeys > 0 ? ` (holding ${heldKeys} keys)` : ""),
    );
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => this.#sendHeartbeat(), interval * 1000);
    if (this.#paused) this.#sendStatus();
    this.#sendHeartbeat();
  }

  /** Process CPU time and wall time at the last heartbeat, µs, for the `cpu` metric. */
  #cpuMark = { cpu: 0, wall: 0 };

  /** CPU use of this process (all its threads) since the last call, in % of one core. */
  #cpuPercent(): number {
    const usage = cpuUsage();
    const cpu = usage.user + usage.system;
    const wall = performance.now() * 1000;
    const { cpu: lastCpu, wall: lastWall } = this.#cpuMark;
    this.#cpuMark = { cpu, wall };
    return lastWall === 0 || wall <= lastWall ? 0 : (100 * (cpu - lastCpu)) / (wall - lastWall);
  }

  #sendHeartbeat(): void {
    const state = this.#state;
    if (this.memoryLimit <= 0) this.#rss = residentMemory();
    this.#toScheduler?.send({
      op: "heartbeat",
      metrics: {
        memory: this.store.memoryBytes,
        spilled: this.store.spilledBytes,
        spilledKeys: this.store.spilledKeys,
        keys: this.store.size,
        rss: this.#rss,
        paused: this.#paused ? 1 : 0,
        executing: state.executing,
        ready: state.readyCount,
        inFlight: state.transfersInFlight,
        bandwidth: this.#bandwidth,
        serving: this.#serving,
        cpu: this.#cpuPercent(),
      },
    });
  }

  #sendStatus(): void {
    const msg: WorkerStatusMsg = {
      op: "worker-status",
      status: this.#paused ? "paused" : "running",
    };
    this.#toScheduler?.send(msg);
  }

  // -------------------------------------------------------------------------------------------
  // Memory

  /**
   * Samples the process's memory: spills more when it is above the spill threshold, pauses above
   * the pause threshold and resumes once below it.
   */
  #checkMemory(): void {
    const limit = this.memoryLimit;
    const rss = residentMemory();
    if (rss <= 0) return;
    this.#rss = rss;
    if (rss > this.peakRss) this.peakRss = rss;
    const { target, spill, pause } = this.memoryThresholds;
    let current = rss;
    if (rss > spill * limit) {
      if (this.store.memoryBytes > 0) {
        // Values alone are under the target but the process is not: make room from the values.
        const excess = rss - target * limit;
        this.store.spillUntil(Math.max(0, this.store.memoryBytes - excess));
      }
      // Dropped buffers are freed only once collected (throttled: a full collection costs ms).
      const t = performance.now();
      const collect = garbageCollector();
      if (collect !== null && t - this.#lastCollection > MIN_COLLECTION_INTERVAL_MS) {
        this.#lastCollection = t;
        collect();
        current = residentMemory() || rss;
        this.#rss = current;
      }
    }
    const shouldPause = current > pause * limit;
    if (shouldPause && this.#paused) this.#recycleIdleThreads();
    if (shouldPause === this.#paused) return;
    this.#paused = shouldPause;
    this.#log(
      shouldPause
        ? `paused: process memory ${formatBytes(current)} is above ${pause * 100}% of the memory ` +
          `limit ${formatBytes(limit)} (${formatBytes(this.store.memoryBytes)} of values in ` +
          `memory, ${formatBytes(this.store.spilledBytes)} spilled); no new tasks until it falls`
        : `resumed: process memory ${formatBytes(current)} is below ${pause * 100}% of the limit`,
    );
    this.#handle({ type: shouldPause ? "pause" : "resume", now: now() });
    this.#sendStatus();
  }

  /** Collects once enough shared memory was let go of: V8 would not for its sake. */
  #collectSharedGarbage(): void {
    if (this.#sharedGarbage.due()) garbageCollector()?.();
  }

  /**
   * Still short of memory while paused and no task runs: the threads' heaps may hold garbage
   * (inputs and results of finished tasks) that an idle thread never collects. Fresh threads
   * give it back at once.
   */
  #recycleIdleThreads(): void {
    const t = performance.now();
    if (this.#runs.size > 0 || this.#toRun.length > 0) return;
    if (t - this.#lastRecycle < MIN_RECYCLE_INTERVAL_MS) return;
    this.#lastRecycle = t;
    this.#log("paused and idle: replacing the task threads to free their memory");
    this.#pool.close();
    this.#pool = this.#newPool();
  }

  // -------------------------------------------------------------------------------------------
  // Requests from the scheduler outside the state machine

  /** Drops every task, thread and value; the caller then registers again as a new worker. */
  #restart(): void {
    this.#session++; // results of the old threads and transfers are dropped when they land
    this.#toRun = [];
    this.#runs.clear();
    this.#pool.close();
    this.#pool = this.#newPool();
    this.store.clear();
    this.spillDirectory.remove();
    this.#paused = false;
  }

  /** Calls a function here (in this process's main thread) and answers with its result. */
  async #run(connection: Connection, msg: RunMsg): Promise<void> {
    let reply: RunResultMsg;
    try {
      let fn = this.#runFunctions.get(msg.fn as FunctionSpec);
      if (fn instanceof Promise) fn = await fn;
      const args = isEncoded(msg.args) ? decode(msg.args) as unknown[] : [];
      const value = await fn(...args);
      reply = {
        op: "run-result",
        runRequestId: msg.runRequestId,
        ok: true,
        value: encode(value, { rootName: "result of run" }),
      };
    } catch (error) {
      reply = {
        op: "run-result",
        runRequestId: msg.runRequestId,
        ok: false,
        error: recordFromError(error),
      };
    }
    // On the current session, behind what is queued for the scheduler.
    const toScheduler = this.#toScheduler;
    if (toScheduler?.connection === connection) toScheduler.send(reply);
    else connection.send({ header: reply });
  }

  #newState(): WorkerState {
    return new WorkerState({
      address: this.address,
      nthreads: this.nthreads,
      resources: this.#options.resources,
      memoryLimit: this.memoryLimit,
    });
  }

  /** Waits `seconds`, or less when the server stops. */
  #sleep(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wakeRetry = resolve;
      this.#retryTimer = setTimeout(resolve, seconds * 1000);
    });
  }

  async #stop(info: StopInfo): Promise<void> {
    if (this.#stopInfo !== null) {
      await this.stopped;
      return;
    }
    this.#stopInfo = info;
    clearInterval(this.#heartbeat);
    clearInterval(this.#memoryMonitor);
    clearTimeout(this.#retryTimer);
    this.#wakeRetry?.();
    this.#pool.close();
    const closing: Promise<unknown>[] = [this.#listener.close(), this.#peers.close()];
    const toScheduler = this.#toScheduler;
    if (toScheduler !== null) {
      const scheduler = toScheduler.connection;
      // Leaving on purpose: the scheduler moves this worker's tasks without blaming it.
      const leaving: WorkerLeavingMsg = { op: "worker-leaving", reason: info.reason };
      toScheduler.send(leaving);
      toScheduler.flush();
      // What is queued gets a moment to go out; a scheduler that stopped reading cannot hold us.
      const timer = setTimeout(() => scheduler.abort("the worker stopped"), CLOSE_GRACE_MS);
      closing.push(scheduler.close("the worker stopped").finally(() => clearTimeout(timer)));
    }
    for (const connection of this.#peerConnections) {
      closing.push(connection.abort("the worker stopped"));
    }
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
        const state = this.#state;
        try {
          state.handle(this.#events[i]);
        } catch (error) {
          this.#log(`internal error handling ${this.#events[i].type}: ${(error as Error).stack}`);
        }
        this.#perform(state.takeInstructions());
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
          this.#execute(instruction.tasks);
          break;
        case "gather-dependencies":
          void this.#gather(instruction.requestId, instruction.peer, instruction.keys);
          break;
        case "send-to-scheduler": {
          const msg = instruction.msg;
          if (msg.op === "task-finished" && this.state.tasks.get(msg.key)?.returnValue) {
            // A client waits for this value: when tiny it goes along, and nobody asks for it.
            const value = this.store.small(msg.key, INLINE_RESULT_BYTES);
            if (value !== undefined) msg.value = value;
          }
          this.#toScheduler?.send(msg);
          break;
        }
        case "free":
          for (const key of instruction.keys) this.store.delete(key);
          this.#collectSharedGarbage();
          break;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Threads

  #execute(specs: ExecuteSpec[]): void {
    for (const spec of specs) {
      if (spec.fn === null) this.#storeLiteral(spec);
      else this.#toRun.push(spec);
    }
    if (!this.#holdRuns) this.#postRuns();
  }

  /**
   * Runs what is held back until the end of a burst of events: many messages read at once, or
   * a thread's batch of results. Tasks then reach each thread in one `postMessage`.
   */
  #releaseRuns(): void {
    this.#holdRuns = false;
    if (this.#toRun.length > 0) this.#postRuns();
  }

  /** Posts the tasks to run, one batch per thread, each to an idle thread or the least loaded. */
  #postRuns(): void {
    // A task failing here (an input gone) is an event that may release more tasks: they join.
    const held = this.#holdRuns;
    this.#holdRuns = true;
    try {
      while (this.#toRun.length > 0) {
        const specs = this.#toRun;
        this.#toRun = [];
        const session = this.#session;
        const batches: ThreadBatch[] = [];
        const load = this.#threadLoad;
        const tasks = this.#state.tasks;
        for (const spec of specs) {
          const thread = chooseThread(load, this.#threadRuns);
          // The scheduler's estimate; unknown or zero counts a little, so tasks still spread.
          const duration = Math.max(tasks.get(spec.key)?.duration ?? 0, MIN_TASK_LOAD_S);
          const batch = batches[thread] ??= newBatch();
          if (this.#prepare(thread, spec, session, duration, batch)) load[thread] += duration;
        }
        for (let thread = 0; thread < batches.length; thread++) {
          const batch = batches[thread];
          if (batch !== undefined && batch.items.length > 0) {
            this.#pool.post(thread, batch.items, [...batch.transfer]);
          }
        }
      }
    } finally {
      this.#holdRuns = held;
    }
  }

  /** A literal's value is its encoded `args`: stored as it is, no thread involved. */
  #storeLiteral(spec: ExecuteSpec): void {
    const t = now();
    if (!isEncoded(spec.args)) {
      this.#handle(this.#failed(spec.key, `the literal ${spec.key} has no encoded value`, t));
      return;
    }
    const nbytes = encodedBytes(spec.args);
    const typeName = encodedTypeName(spec.args);
    if (this.#tooBig(nbytes)) {
      this.#handle(this.#failed(spec.key, this.#tooBigMessage(spec.key, nbytes), t, TOO_BIG));
      return;
    }
    this.store.set(spec.key, { encoded: spec.args, nbytes, typeName });
    this.#handle({
      type: "thread-finished",
      key: spec.key,
      result: { ok: true, nbytes, typeName },
      start: t,
      stop: t,
      now: t,
    });
  }

  #failed(key: Key, message: string, t: number, name = "Error"): WorkerEvent {
    const error: ErrorRecord = { ...recordFromError(new Error(message), key), name };
    return {
      type: "thread-finished",
      key,
      result: { ok: false, error },
      start: t,
      stop: t,
      now: t,
    };
  }

  /**
   * Adds a task to a thread's batch with its inputs; false (and the task fails) when its spec
   * or an input is wrong or gone.
   */
  #prepare(
    thread: number,
    spec: ExecuteSpec,
    session: number,
    load: number,
    batch: ThreadBatch,
  ): boolean {
    const fn = spec.fn as FunctionSpec;
    const problem = fn === null || typeof fn !== "object" || typeof fn.id !== "string"
      ? `task ${spec.key} has no valid function spec`
      : !isEncoded(spec.args)
      ? `task ${spec.key} has no encoded arguments`
      : null;
    const transfer = batch.transfer;
    const depValues: Encoded[] = [];
    let missing: Key | undefined;
    let unreadable: string | undefined;
    if (problem === null) {
      for (const dep of spec.deps) {
        let stored;
        try {
          stored = this.store.getOwned(dep);
        } catch (error) {
          unreadable = `input ${dep} of task ${spec.key} could not be read back from disk on ` +
            `worker ${this.address}: ${errorMessage(error)}`;
          break;
        }
        if (stored === undefined) {
          missing = dep;
          break;
        }
        depValues.push(
          stored.owned
            ? handOver(stored.value.encoded, transfer)
            : this.#shareWithThread(dep, stored.value.encoded, transfer),
        );
      }
    }
    if (problem !== null || missing !== undefined || unreadable !== undefined) {
      this.#handle(this.#failed(
        spec.key,
        problem ?? unreadable ?? `input ${missing} of task ${spec.key} is not in the store of ` +
            `worker ${this.address}; the scheduler will recompute it`,
        now(),
      ));
      return false;
    }
    const id = this.#nextRunId++;
    const item: RunItem = {
      id,
      key: spec.key,
      fn: this.#pool.functionFor(thread, fn),
      args: spec.args as Encoded,
      depKeys: spec.deps,
      depValues,
    };
    this.#runs.set(id, { key: spec.key, thread, session, load });
    this.#threadRuns[thread]++;
    batch.items.push(item);
    return true;
  }

  /**
   * A stored value as a thread reads it. Frames in shared memory (large data received from
   * peers) are shared as they are; a small frame is copied for the thread; a large one is copied
   * once into shared memory, which then replaces it in the store, so the next task reading it
   * needs no copy. Threads therefore read large inputs in place: tasks must not modify them
   * (as in Dask, where a worker's threads share its data).
   */
  #shareWithThread(key: Key, encoded: Encoded, transfer: Set<ArrayBuffer>): Encoded {
    if (encoded.frames.every(isShared)) return encoded;
    let promoted = false;
    const frames = encoded.frames.map((frame) => {
      if (isShared(frame)) return frame;
      if (frame.byteLength < SHARED_FRAME_MIN_BYTES) return transferredCopy(frame, transfer);
      promoted = true;
      return sharedCopy(frame);
    });
    if (!promoted) return { body: encoded.body, frames };
    const forStore = {
      body: encoded.body,
      frames: frames.map((f, i) => isShared(f) ? f : encoded.frames[i]),
    };
    this.store.replaceEncoded(key, forStore);
    return { body: encoded.body, frames };
  }

  #threadResults(thread: number, results: RunResult[]): void {
    // The tasks these results free up go to the threads together, after the whole batch.
    this.#holdRuns = true;
    try {
      for (const result of results) this.#threadResult(thread, result);
    } finally {
      this.#releaseRuns();
    }
  }

  #threadResult(thread: number, result: RunResult): void {
    const run = this.#runs.get(result.id);
    if (run === undefined) return;
    this.#runs.delete(result.id);
    this.#runDone(run);
    if (run.session !== this.#session) return; // started before a reconnect: moot
    if (result.ok && this.#tooBig(result.nbytes)) {
      // Keeping it would take the whole worker down: the task fails, the worker lives on.
      this.#handle(
        this.#failed(run.key, this.#tooBigMessage(run.key, result.nbytes), now(), TOO_BIG),
      );
      return;
    }
    if (result.ok) {
      this.store.set(run.key, {
        encoded: result.value,
        nbytes: result.nbytes,
        typeName: result.typeName,
      });
    }
    this.#handle({
      type: "thread-finished",
      key: run.key,
      result: result.ok
        ? { ok: true, nbytes: result.nbytes, typeName: result.typeName }
        : { ok: false, error: result.error },
      start: result.start / 1000,
      stop: result.stop / 1000,
      thread,
      now: now(),
    });
  }

  #tooBig(nbytes: number): boolean {
    return this.memoryLimit > 0 && nbytes > this.memoryLimit;
  }

  #tooBigMessage(key: Key, nbytes: number): string {
    return `task ${key} produced ${formatBytes(nbytes)}, more than the memory limit of worker ` +
      `${this.address} (${formatBytes(this.memoryLimit)}), so its result was discarded. Split ` +
      `the work into smaller pieces (smaller chunks, more partitions) or give workers a larger ` +
      `--memory-limit.`;
  }

  #threadDied(thread: number, error: Error): void {
    if (this.#stopInfo !== null) return;
    this.#log(`thread ${thread} died: ${error.message}`);
    for (const [id, run] of this.#runs) {
      if (run.thread !== thread) continue;
      this.#runs.delete(id);
      this.#runDone(run);
      if (run.session !== this.#session) continue;
      this.#handle(this.#failed(
        run.key,
        `thread ${thread} of worker ${this.address} died while running ${run.key}: ` +
          `${error.message}`,
        now(),
        "ThreadDiedError",
      ));
    }
  }

  /** A run is over (finished, or lost with its thread): its thread has that much less work. */
  #runDone(run: Run): void {
    const load = this.#threadLoad;
    load[run.thread] = this.#runs.size === 0 ? 0 : Math.max(0, load[run.thread] - run.load);
    this.#threadRuns[run.thread]--;
  }

  // -------------------------------------------------------------------------------------------
  // Transfers

  async #gather(requestId: number, peer: string, keys: Key[]): Promise<void> {
    const session = this.#session;
    const started = performance.now();
    let event: WorkerEvent;
    try {
      const reply = await this.#peers.getData(peer, keys);
      if (session !== this.#session || this.#stopInfo !== null) return;
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
        bytes += encodedBytes(item.value);
      }
      this.#measureBandwidth(bytes, (performance.now() - started) / 1000);
      event = { type: "gather-done", requestId, data, now: now() };
    } catch (error) {
      if (session !== this.#session || this.#stopInfo !== null) return;
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

  // -------------------------------------------------------------------------------------------
  // Serving peers and clients

  async #servePeer(connection: Connection): Promise<void> {
    if (connection.peer.role !== "peer") {
      this.#log(
        `refusing a connection from ${connection.remoteAddr}: role ${
          JSON.stringify(connection.peer.role)
        }, a worker's listener serves "peer"`,
      );
      await connection.abort(`role ${connection.peer.role} not served here`);
      return;
    }
    this.#peerConnections.add(connection);
    let problem: string | null = null;
    for await (const message of connection) {
      const msg = message.header as { op?: unknown; requestId?: unknown } & Record<string, unknown>;
      problem = this.#peerRequest(connection, msg);
      if (problem !== null) {
        await connection.abort(`protocol error: ${problem}`);
        break;
      }
    }
    const info = await connection.closed;
    this.#peerConnections.delete(connection);
    if (problem !== null) {
      this.#log(`closed the connection from ${connection.remoteAddr}: it sent ${problem}`);
    } else if (info.error !== undefined && this.#stopInfo === null) {
      this.#log(`the connection from ${connection.remoteAddr} broke: ${info.reason}`);
    }
  }

  /** Serves one request; returns what is wrong with it, or null. */
  #peerRequest(
    connection: Connection,
    msg: { op?: unknown; requestId?: unknown } & Record<string, unknown>,
  ): string | null {
    if (msg === null || typeof msg !== "object") return "a message that is not an object";
    const requestId = msg.requestId;
    if (typeof requestId !== "number") return `a ${String(msg.op)} request without a requestId`;
    switch (msg.op) {
      case "get-data": {
        if (!isKeyList(msg.keys)) return "a get-data without a list of keys";
        if (this.#serving >= MAX_CONCURRENT_PEER_REQUESTS) {
          connection.send({ header: { op: "busy", requestId } });
          return null;
        }
        const items: DataItem[] = [];
        for (const key of msg.keys) {
          let stored;
          try {
            stored = this.store.get(key);
          } catch (error) {
            // Left out: the asking peer reports it missing and the scheduler recovers it.
            this.#log(`cannot read ${key} back from disk for a peer: ${errorMessage(error)}`);
          }
          if (stored === undefined) continue;
          items.push({
            key,
            value: stored.encoded,
            nbytes: stored.nbytes,
            typeName: stored.typeName,
          });
        }
        connection.send({ header: { op: "data", requestId, items } });
        // Served until written: a slow reader keeps its slot.
        this.#serving++;
        void connection.flush().finally(() => this.#serving--);
        return null;
      }
      case "update-data": {
        const items = msg.items;
        if (!Array.isArray(items) || !items.every(isDataItem)) {
          return "an update-data without a list of {key, value, nbytes, typeName} items";
        }
        const data: ReceivedData[] = [];
        for (const item of items) {
          // A key held here keeps its value: another client's scatter never overwrites it.
          const kept = this.store.describeKey(item.key);
          if (kept !== undefined) {
            data.push({ key: item.key, ...kept });
            continue;
          }
          this.store.set(item.key, {
            encoded: item.value,
            nbytes: item.nbytes,
            typeName: item.typeName,
          });
          data.push({ key: item.key, nbytes: item.nbytes, typeName: item.typeName });
        }
        this.#handle({ type: "update-data", data, report: msg.report === true, now: now() });
        connection.send({
          header: { op: "data-stored", requestId, keys: data.map((d) => d.key) },
        });
        return null;
      }
      default:
        return `unknown operation ${JSON.stringify(msg.op)}`;
    }
  }
}

/** A frame in a fresh buffer, which is then transferred to the thread. */
function transferredCopy(frame: Uint8Array, transfer: Set<ArrayBuffer>): Uint8Array {
  const copy = frame.slice();
  transfer.add(copy.buffer);
  return copy;
}

/** A frame copied into shared memory, which threads then read without copies of their own. */
function sharedCopy(frame: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new SharedArrayBuffer(frame.byteLength));
  copy.set(frame);
  return copy;
}

function isShared(frame: Uint8Array): boolean {
  return frame.buffer instanceof SharedArrayBuffer;
}

/** A value read from disk for this thread alone: its buffers are transferred, not copied. */
function handOver(encoded: Encoded, transfer: Set<ArrayBuffer>): Encoded {
  for (const part of [encoded.body, ...encoded.frames]) transfer.add(part.buffer as ArrayBuffer);
  return encoded;
}

function loopbackFor(schedulerHost: string): string {
  return schedulerHost === "::1" ? "::1" : "127.0.0.1";
}
