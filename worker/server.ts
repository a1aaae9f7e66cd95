/**
 * The worker server: the I/O around the worker state machine (state.ts). It connects to the
 * scheduler (retrying with backoff until it is up, and again whenever the connection drops),
 * registers and heartbeats, runs tasks on a pool of Web Worker threads, keeps results in its
 * store, fetches inputs from peers through pooled connections, and serves its store to peers and
 * clients on its own listener (role `"peer"`). docs/protocol.md §1, §6 and §8 are the contract.
 *
 * Every event (a scheduler message, a finished thread, a finished transfer, data sent by a
 * client) is handed to the state machine as it comes, and its instructions are carried out at
 * once: sends join the connection's batch for this tick, tasks go to free threads (one task per
 * thread at a time), transfers start. Nothing here blocks the event loop or sets a timer per task.
 *
 * Sessions: each registration with the scheduler gets a fresh state machine, seeded with the data
 * in the store (which survives reconnects and is reported in `register-worker`). Results of
 * threads and transfers started in an earlier session are dropped when they land.
 *
 * @module
 */

import { type ErrorRecord, recordFromError } from "../core/errors.ts";
import type { FunctionSpec } from "../core/function_codec.ts";
import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import { Connection, formatAddress, listen, type Listener, parseAddress } from "../core/wire.ts";
import type { SchedulerToWorkerMsg } from "../scheduler/protocol.ts";
import {
  type DataItem,
  DEFAULT_HEARTBEAT_INTERVAL,
  MAX_CONCURRENT_PEER_REQUESTS,
  type RegisterWorkerMsg,
  SESSION_PROTOCOL,
} from "../scheduler/session_protocol.ts";
import { encodedBytes, encodedTypeName } from "./encoded_info.ts";
import { PeerPool } from "./peer_pool.ts";
import {
  type ExecuteSpec,
  type ReceivedData,
  type WorkerEvent,
  type WorkerInstruction,
  WorkerState,
} from "./state.ts";
import { DataStore } from "./store.ts";
import { ThreadPool } from "./thread_pool.ts";
import type { RunItem, RunResult } from "./thread_protocol.ts";

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
}

/** Why the server stopped: `code` is the exit code a CLI should use. */
export interface StopInfo {
  reason: string;
  code: number;
}

/** Backoff between attempts to reach the scheduler: 0.1 s doubling to 5 s. */
const FIRST_RETRY_S = 0.1;
const MAX_RETRY_S = 5;
/** At the longest backoff, a failed attempt is logged once per this many seconds. */
const RETRY_LOG_EVERY_S = 60;
/** At shutdown, how long the scheduler connection may take to write what is queued. */
const CLOSE_GRACE_MS = 2000;
/** Transfers smaller than this say little about bandwidth and are not measured. */
const MIN_MEASURED_TRANSFER_BYTES = 64 * 1024;

const now = () => (performance.timeOrigin + performance.now()) / 1000;

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", ""]);
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "::1"]);

/** A task run handed to a thread (or waiting for one), by the id its result echoes. */
interface Run {
  key: Key;
  thread: number;
  session: number;
}

/** A task waiting for a free thread (only after a reconnect, while old runs still occupy them). */
interface QueuedRun {
  spec: ExecuteSpec;
  session: number;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isEncoded(value: unknown): value is Encoded {
  const v = value as Encoded | null;
  return v !== null && typeof v === "object" && v.body instanceof Uint8Array &&
    Array.isArray(v.frames) && v.frames.every((f) => f instanceof Uint8Array);
}

function isDataItem(value: unknown): value is DataItem {
  const v = value as DataItem | null;
  return v !== null && typeof v === "object" && typeof v.key === "string" &&
    isEncoded(v.value) && typeof v.nbytes === "number" && typeof v.typeName === "string";
}

function isKeyList(value: unknown): value is Key[] {
  return Array.isArray(value) && value.every((k) => typeof k === "string");
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
  readonly store = new DataStore();
  /** Resolves when the server stops: told to by the scheduler, refused, or {@link close}d. */
  readonly stopped: Promise<StopInfo>;

  readonly #options: WorkerServerOptions;
  readonly #listener: Listener;
  /** Known once listening on a definite host, or once the scheduler was reached. */
  #address: string | null;
  #addressKnown: Promise<void>;
  #resolveAddress!: () => void;
  readonly #pool: ThreadPool;
  readonly #peers: PeerPool;
  readonly #peerConnections = new Set<Connection>();
  #state: WorkerState;
  /** Increases with each registration; work started in an older session is dropped. */
  #session = 0;
  #scheduler: Connection | null = null;
  #registeredOnce = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeRetry: (() => void) | null = null;
  #stopInfo: StopInfo | null = null;
  #resolveStopped!: (info: StopInfo) => void;

  // Threads: one task per thread at a time.
  readonly #freeThreads: number[] = [];
  readonly #runs = new Map<number, Run>();
  readonly #queuedRuns: QueuedRun[] = [];
  #nextRunId = 1;

  // Events are handled one after another; instructions they produce may add more events.
  #events: WorkerEvent[] = [];
  #draining = false;

  #serving = 0;
  /** Measured transfer bandwidth (bytes/s, moving average), 0 until measured. */
  #bandwidth = 0;

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
    this.#state = this.#newState();
    for (let t = options.nthreads - 1; t >= 0; t--) this.#freeThreads.push(t);
    this.#pool = new ThreadPool(
      options.nthreads,
      (thread, results) => this.#threadResults(thread, results),
      (thread, error) => this.#threadDied(thread, error),
    );
    this.#peers = new PeerPool({ maxFrameBytes: options.maxFrameBytes });
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
    };
    connection.send({ header: register });
    let registered = false;
    for await (const message of connection) {
      const msg = message.header as { op?: unknown } & Record<string, unknown>;
      if (!registered) {
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
          await this.#stop({ reason: `refused by the scheduler: ${reason}`, code: 1 });
        } else {
          this.#log(`the scheduler refused the reconnection: ${reason}; retrying`);
        }
        return false;
      }
      if (msg?.op === "close") {
        this.#log(`the scheduler asked this worker to close: ${String(msg.reason)}`);
        await this.#stop({ reason: `scheduler: ${String(msg.reason)}`, code: 0 });
        return true;
      }
      const problem = msg === null || typeof msg !== "object"
        ? "a message that is not an object"
        : schedulerMessageProblem(msg);
      if (problem !== null) {
        this.#log(`closing the scheduler connection: it sent ${problem}`);
        await connection.abort(`protocol error: ${problem}`);
        break;
      }
      this.#handle({
        type: "scheduler-message",
        msg: msg as unknown as SchedulerToWorkerMsg,
        now: now(),
      });
    }
    const info = await connection.closed;
    if (this.#scheduler === connection) this.#scheduler = null;
    clearInterval(this.#heartbeat);
    if (this.#stopInfo === null && registered) {
      this.#log(
        `lost the scheduler (${info.reason}); reconnecting, keeping ${this.store.size} keys`,
      );
    }
    return registered;
  }

  #registered(connection: Connection, heartbeatInterval: number, heldKeys: number): void {
    this.#scheduler = connection;
    this.#registeredOnce = true;
    const interval = heartbeatInterval > 0 ? heartbeatInterval : DEFAULT_HEARTBEAT_INTERVAL;
    this.#log(
      `registered with the scheduler at ${this.scheduler}` +
        (heldKeys > 0 ? ` (holding ${heldKeys} keys)` : ""),
    );
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => this.#sendHeartbeat(), interval * 1000);
    this.#sendHeartbeat();
  }

  #sendHeartbeat(): void {
    const state = this.#state;
    this.#scheduler?.send({
      header: {
        op: "heartbeat",
        metrics: {
          memory: this.store.nbytes,
          keys: this.store.size,
          executing: state.executing,
          ready: state.readyCount,
          inFlight: state.transfersInFlight,
          bandwidth: this.#bandwidth,
          serving: this.#serving,
        },
      },
    });
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
    clearTimeout(this.#retryTimer);
    this.#wakeRetry?.();
    this.#pool.close();
    const closing: Promise<unknown>[] = [this.#listener.close(), this.#peers.close()];
    const scheduler = this.#scheduler;
    if (scheduler !== null) {
      // What is queued gets a moment to go out; a scheduler that stopped reading cannot hold us.
      const timer = setTimeout(() => scheduler.abort("the worker stopped"), CLOSE_GRACE_MS);
      closing.push(scheduler.close("the worker stopped").finally(() => clearTimeout(timer)));
    }
    for (const connection of this.#peerConnections) {
      closing.push(connection.abort("the worker stopped"));
    }
    await Promise.allSettled(closing);
    this.store.clear();
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
        case "send-to-scheduler":
          this.#scheduler?.send({ header: instruction.msg });
          break;
        case "free":
          for (const key of instruction.keys) this.store.delete(key);
          break;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Threads

  #execute(specs: ExecuteSpec[]): void {
    const session = this.#session;
    for (const spec of specs) {
      if (spec.fn === null) {
        this.#storeLiteral(spec);
        continue;
      }
      const thread = this.#freeThreads.pop();
      if (thread === undefined) this.#queuedRuns.push({ spec, session });
      else this.#post(thread, spec, session);
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

  #post(thread: number, spec: ExecuteSpec, session: number): void {
    const fn = spec.fn as FunctionSpec;
    const problem = fn === null || typeof fn !== "object" || typeof fn.id !== "string"
      ? `task ${spec.key} has no valid function spec`
      : !isEncoded(spec.args)
      ? `task ${spec.key} has no encoded arguments`
      : null;
    const transfer: ArrayBuffer[] = [];
    const depValues: Encoded[] = [];
    let missing: Key | undefined;
    if (problem === null) {
      for (const dep of spec.deps) {
        const stored = this.store.get(dep);
        if (stored === undefined) {
          missing = dep;
          break;
        }
        depValues.push(copyForThread(stored.encoded, transfer));
      }
    }
    if (problem !== null || missing !== undefined) {
      this.#threadFree(thread);
      this.#handle(this.#failed(
        spec.key,
        problem ?? `input ${missing} of task ${spec.key} is not in the store of worker ` +
            `${this.address}; the scheduler will recompute it`,
        now(),
      ));
      return;
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
    this.#runs.set(id, { key: spec.key, thread, session });
    this.#pool.post(thread, [item], transfer);
  }

  #threadResults(thread: number, results: RunResult[]): void {
    for (const result of results) {
      const run = this.#runs.get(result.id);
      if (run === undefined) continue;
      this.#runs.delete(result.id);
      this.#threadFree(thread);
      if (run.session !== this.#session) continue; // started before a reconnect: moot
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
  }

  #threadDied(thread: number, error: Error): void {
    if (this.#stopInfo !== null) return;
    this.#log(`thread ${thread} died: ${error.message}`);
    for (const [id, run] of this.#runs) {
      if (run.thread !== thread) continue;
      this.#runs.delete(id);
      this.#threadFree(thread);
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

  #threadFree(thread: number): void {
    for (;;) {
      const queued = this.#queuedRuns.shift();
      if (queued === undefined) {
        this.#freeThreads.push(thread);
        return;
      }
      if (queued.session === this.#session) {
        this.#post(thread, queued.spec, queued.session);
        return;
      }
    }
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
          const stored = this.store.get(key);
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

/** A frame-by-frame copy for a thread, whose buffers are then transferred (the store keeps its own). */
function copyForThread(encoded: Encoded, transfer: ArrayBuffer[]): Encoded {
  if (encoded.frames.length === 0) return encoded;
  const frames = encoded.frames.map((frame) => {
    const copy = frame.slice();
    transfer.push(copy.buffer);
    return copy;
  });
  return { body: encoded.body, frames };
}

function loopbackFor(schedulerHost: string): string {
  return schedulerHost === "::1" ? "::1" : "127.0.0.1";
}
