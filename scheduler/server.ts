/**
 * The scheduler server: the I/O around the scheduler state machine (state.ts). One listener
 * accepts clients (role `"client"`) and workers (role `"worker"`); each connection's messages
 * become events, and once every event available in this tick has been handled the outgoing
 * messages are taken once and sent as one message per destination (a `batch` when there are
 * several; incoming batches are unpacked and their messages handled in order). A 100 ms tick feeds work stealing and checks heartbeats. docs/protocol.md §1 and
 * §8 are the contract.
 *
 * A peer that sends something malformed, an unknown operation or a wrong protocol version loses
 * its own connection, with a logged reason; everyone else is served on.
 *
 * What a dashboard reads: {@link SchedulerServer.state} (the books, read-only) and
 * {@link SchedulerServer.onChange} (called after each batch of events).
 *
 * Administration requests (docs/protocol.md §8): `restart` (every worker drops everything and
 * registers again; every held key is cancelled), `retire-workers` (unique data moves to other
 * workers first, then they close), `run` (a function called in every worker process),
 * `replicate` (tree broadcast of keys) and `rebalance` (even out bytes held). Their plans come
 * from data_movement.ts; the state machine carries them out; the server waits for the copies.
 *
 * @module
 */

import { CoordinationError } from "./coordination/datasets.ts";
import { COORDINATION_METHODS, CoordinationRequests } from "./coordination/requests.ts";
import { adaptiveSnapshot, adaptiveTarget, type AdaptiveTargetOptions } from "./adaptive_target.ts";
import { setImmediate } from "node:timers";
import { errorMessage, recordFromError } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import { encode, type Encoded } from "../core/value_codec.ts";
import { type Connection, listen, type Listener, sendHeaders, unbatch } from "../net/wire.ts";
import { PeerPool } from "../net/peer_pool.ts";
import {
  planRebalance,
  planReplicationRound,
  planRetirement,
  recipientsFor,
  resolveWorkers,
  uniqueKeys,
} from "./data_movement.ts";
import {
  clientMessageProblem,
  isDataItem,
  isEncoded,
  registerWorkerProblem,
  workerMessageProblem,
} from "../protocol/message_checks.ts";
import type {
  ClientId,
  ClientToSchedulerMsg,
  ScatteredKey,
  WorkerAddress,
  WorkerToSchedulerMsg,
} from "../protocol/messages.ts";
import type { WorkerRecord } from "./records.ts";
import {
  type ClientRegisteredMsg,
  type DataItem,
  DEFAULT_HEARTBEAT_INTERVAL,
  type RebalanceResult,
  type RegisterWorkerMsg,
  type ReplicateResult,
  type ReplyMsg,
  type RequestMsg,
  type RestartResult,
  type RetireResult,
  type RunMsg,
  type RunOutcomes,
  type RunResultMsg,
  SESSION_PROTOCOL,
  type WorkerInfo,
  type WorkerListing,
} from "../protocol/session.ts";
import {
  type ReplicaTransfer,
  type SchedulerConfig,
  type SchedulerEvent,
  SchedulerState,
} from "./state.ts";

/** How a scheduler server is set up. */
export interface SchedulerServerOptions {
  /** Interface to listen on. Every interface (`0.0.0.0`) by default. */
  host?: string;
  /** Port to listen on; 0 picks a free one. 8786 by default. */
  port?: number;
  /**
   * The host to put in the advertised address when listening on every interface (the machine's
   * address on its network, found by the CLI). `127.0.0.1` by default.
   */
  advertisedHost?: string;
  config?: Partial<SchedulerConfig>;
  /** Seconds between worker heartbeats; a worker silent for 10 of them is lost. 0.5. */
  heartbeatInterval?: number;
  /** Milliseconds between ticks (work stealing, heartbeat checks). 100. */
  tickIntervalMs?: number;
  /** Told to clients when they register (where the dashboard is). */
  dashboardLink?: string;
  /** Where log lines go. Standard error by default. */
  log?: (line: string) => void;
  /** The largest frame accepted from a peer. 1 GiB. */
  maxFrameBytes?: number;
}

/** Heartbeats a worker may miss before it is declared lost. */
const MISSED_HEARTBEATS = 10;
/** A connection must register (its first message) within this time after its handshake. */
const REGISTRATION_TIMEOUT_MS = 10_000;
/** At shutdown, how long connections may take to write what is queued for them. */
const CLOSE_GRACE_MS = 2000;
/** Default seconds an administration request (restart, retire, replicate, rebalance) may take. */
const ADMIN_TIMEOUT_S = 60;
/** Copies requested for a retirement are requested again after this long without landing. */
const RETIRE_REREQUEST_MS = 5000;

const now = () => (performance.timeOrigin + performance.now()) / 1000;

/** A registered worker's connection. */
interface WorkerSession {
  readonly address: WorkerAddress;
  readonly name: string;
  readonly connection: Connection;
  lastHeard: number;
  /** `run` requests sent to this worker and not answered yet. */
  readonly runs: Map<number, (outcome: RunOutcomes[string]) => void>;
}

/** Marks a connection that did not say who it is in time. */
const NO_REGISTRATION = Symbol("no registration");

/** The first message, or NO_REGISTRATION when none came within `ms`. */
async function firstMessage(
  next: () => Promise<unknown | undefined>,
  ms: number,
): Promise<unknown | undefined | typeof NO_REGISTRATION> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      next(),
      new Promise<typeof NO_REGISTRATION>((resolve) =>
        timer = setTimeout(() => resolve(NO_REGISTRATION), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads messages one at a time from a connection (the first one apart from the rest). */
function reader(connection: Connection): () => Promise<unknown | undefined> {
  const iterator = connection[Symbol.asyncIterator]();
  return async () => {
    const next = await iterator.next();
    return next.done ? undefined : next.value.header;
  };
}

/** Messages of a worker's session that the server handles itself (docs/protocol.md §8). */
type SessionWorkerMsg =
  | { op: "worker-leaving"; reason: string }
  | { op: "worker-status"; status: "running" | "paused" }
  | RunResultMsg;

/** The `keys` a request names. */
function keyList(params: Record<string, unknown>, method: string): Key[] {
  const keys = params.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
    throw new RequestError(`${method} needs params {keys: string[]}`);
  }
  return keys;
}

/** The `timeout` parameter of an administration request, seconds. */
function timeoutOf(params: Record<string, unknown>): number {
  const timeout = params.timeout;
  return typeof timeout === "number" && timeout > 0 ? timeout : ADMIN_TIMEOUT_S;
}

/** A request the client got wrong: answered with an error, the connection stays. */
class RequestError extends Error {
  override name = "RequestError";
}

/** A request waited past its timeout (the client raises it as its own `TimeoutError`). */
class RequestTimeoutError extends Error {
  override name = "TimeoutError";
}

export class SchedulerServer {
  /** Datasets (and the other shared state) clients coordinate through. */
  readonly #coordination = new CoordinationRequests({
    asClient: (holder, msg) => {
      this.#feed({ type: "client-message", client: holder, msg, now: now() });
      this.#flush();
    },
    forget: (holder) => {
      this.#feed({ type: "client-disconnected", client: holder, now: now() });
      this.#flush();
    },
  });

  /** Where clients and workers connect, `tcp://host:port`. */
  readonly address: string;
  /** The scheduler's books. Read them; only the server feeds events. */
  readonly state: SchedulerState;
  readonly heartbeatInterval: number;
  /** Told to clients when they register; set it when a dashboard starts. */
  dashboardLink: string | undefined;
  /** Resolves once {@link close} has finished. */
  readonly closed: Promise<void>;

  readonly #listener: Listener;
  readonly #log: (line: string) => void;
  readonly #workers = new Map<WorkerAddress, WorkerSession>();
  readonly #clients = new Map<ClientId, Connection>();
  /** Every open connection, registered or not (closed at shutdown). */
  readonly #connections = new Set<Connection>();
  /** Registered peers that said they unpack `batch` messages (the others get one at a time). */
  readonly #takesBatches = new WeakSet<Connection>();
  readonly #peers: PeerPool;
  readonly #changeListeners = new Set<() => void>();
  readonly #tick: ReturnType<typeof setInterval>;
  #flushScheduled = false;
  #changed = false;
  #nextRunRequestId = 1;
  #closing: Promise<void> | null = null;
  #resolveClosed!: () => void;

  private constructor(options: SchedulerServerOptions, listener: Listener, address: string) {
    this.address = address;
    this.#listener = listener;
    this.state = new SchedulerState(options.config);
    this.heartbeatInterval = options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL;
    this.dashboardLink = options.dashboardLink;
    const log = options.log ?? ((line: string) => console.error(line));
    this.#log = (line) => log(`[scheduler] ${line}`);
    this.#peers = new PeerPool({ maxFrameBytes: options.maxFrameBytes });
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#tick = setInterval(() => this.#onTick(), options.tickIntervalMs ?? 100);
  }

  /**
   * Listens and starts serving.
   *
   * @throws when the port cannot be listened on (e.g. it is taken).
   */
  static async start(options: SchedulerServerOptions = {}): Promise<SchedulerServer> {
    const host = options.host ?? "0.0.0.0";
    // Connections that complete their handshake before the server object exists wait here.
    const early: Connection[] = [];
    const ref: { server?: SchedulerServer } = {};
    const listener = await listen({
      hostname: host,
      port: options.port ?? 8786,
      role: "scheduler",
      maxFrameBytes: options.maxFrameBytes,
      onError: (error, remote) => {
        if (ref.server !== undefined) {
          ref.server.#log(`connection from ${remote} refused: ${error.message}`);
        }
      },
    }, (connection) => {
      if (ref.server === undefined) early.push(connection);
      else ref.server.#accept(connection);
    });
    let address = listener.addr;
    if (host === "0.0.0.0" || host === "::") {
      const advertised = options.advertisedHost ?? "127.0.0.1";
      const shown = advertised.includes(":") ? `[${advertised}]` : advertised;
      address = `tcp://${shown}:${listener.port}`;
    }
    const server = ref.server = new SchedulerServer(options, listener, address);
    for (const connection of early) server.#accept(connection);
    return server;
  }

  /** Calls `listener` after each batch of events; returns a function that unsubscribes. */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Workers registered now. */
  get workerCount(): number {
    return this.#workers.size;
  }

  /** Clients registered now. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Tells every worker to close, closes every connection and the listener. */
  close(reason = "the scheduler is shutting down"): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#tick);
      this.#log(`shutting down: ${reason}`);
      this.#flush();
      for (const session of this.#workers.values()) {
        session.connection.send({ header: { op: "close", reason } });
      }
      await this.#listener.close();
      // Pending writes get a moment to go out; a peer that stopped reading cannot hold us.
      const connections = [...this.#connections];
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled(connections.map((c) => c.close(reason))),
        new Promise((resolve) => timer = setTimeout(resolve, CLOSE_GRACE_MS)),
      ]);
      clearTimeout(timer);
      await Promise.all(connections.map((c) => c.abort(reason)));
      await this.#peers.close();
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  // -------------------------------------------------------------------------------------------
  // Events

  #feed(event: SchedulerEvent): void {
    try {
      this.state.handle(event);
    } catch (error) {
      // A bug in the state machine: keep serving, but make it loud.
      this.#log(`internal error handling ${event.type}: ${(error as Error).stack}`);
    }
    this.#changed = true;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // After every event already read in this tick: one takeOutgoing for all of them.
      setImmediate(() => this.#flush()); // setTimeout(0) costs ~2 ms in Deno
    }
  }

  /** Sends what the state machine produced, in order: one message per destination. */
  #flush(): void {
    this.#flushScheduled = false;
    const batches = new Map<Connection, unknown[]>();
    let last: Connection | undefined;
    let lastBatch: unknown[] = [];
    for (const out of this.state.takeOutgoing()) {
      const connection = out.to === "worker"
        ? this.#workers.get(out.worker)?.connection
        : this.#clients.get(out.client);
      // A destination that is gone drops its messages; its lost/disconnected event follows.
      if (connection === undefined) continue;
      if (connection !== last) {
        last = connection;
        lastBatch = batches.get(connection) ?? [];
        if (lastBatch.length === 0) batches.set(connection, lastBatch);
      }
      lastBatch.push(out.msg);
    }
    for (const [connection, headers] of batches) {
      if (this.#takesBatches.has(connection)) sendHeaders(connection, headers);
      else for (const header of headers) connection.send({ header });
    }
    if (this.#changed) {
      this.#changed = false;
      for (const listener of this.#changeListeners) {
        try {
          listener();
        } catch (error) {
          this.#log(`a change listener failed: ${errorMessage(error)}`);
        }
      }
    }
  }

  #onTick(): void {
    const t = now();
    const deadline = t - MISSED_HEARTBEATS * this.heartbeatInterval;
    for (const session of [...this.#workers.values()]) {
      if (session.lastHeard >= deadline) continue;
      this.#dropWorker(
        session,
        t,
        `sent nothing for ${
          (t - session.lastHeard).toFixed(1)
        } s (${MISSED_HEARTBEATS} heartbeats)`,
      );
      void session.connection.abort("heartbeats stopped");
    }
    this.#feed({ type: "tick", now: t });
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  #accept(connection: Connection): void {
    if (this.#closing !== null) {
      void connection.abort("the scheduler is shutting down");
      return;
    }
    this.#connections.add(connection);
    const served = connection.peer.role === "client"
      ? this.#serveClient(connection)
      : connection.peer.role === "worker"
      ? this.#serveWorker(connection)
      : this.#refuse(
        connection,
        `role ${JSON.stringify(connection.peer.role)} is not served here ("client" or "worker")`,
      );
    void served.catch((error) => {
      this.#log(`connection ${connection.remoteAddr} failed: ${(error as Error).stack}`);
      void connection.abort("internal error");
    }).finally(async () => {
      this.#connections.delete(connection);
      const info = await connection.closed;
      // Broken streams (malformed frames, resets) are logged here; refusals where they happen.
      if (info.error !== undefined && this.#closing === null) {
        this.#log(
          `closed the connection of ${connection.peer.role} ${connection.remoteAddr}: ${info.reason}`,
        );
      }
    });
  }

  async #refuse(connection: Connection, reason: string): Promise<void> {
    this.#log(`refusing ${connection.remoteAddr}: ${reason}`);
    connection.send({ header: { op: "refused", reason } });
    await connection.close(reason);
  }

  async #unregistered(connection: Connection): Promise<void> {
    const reason = `no ${connection.peer.role} registration within ${REGISTRATION_TIMEOUT_MS} ms`;
    this.#log(`closing the connection of ${connection.remoteAddr}: ${reason}`);
    await connection.abort(reason);
  }

  async #serveClient(connection: Connection): Promise<void> {
    const next = reader(connection);
    const first = await firstMessage(next, REGISTRATION_TIMEOUT_MS);
    if (first === NO_REGISTRATION) return await this.#unregistered(connection);
    const hello = first as Record<string, unknown> | undefined;
    if (hello === undefined) return;
    if (hello === null || typeof hello !== "object" || hello.op !== "register-client") {
      return await this.#refuse(
        connection,
        `the first message of a client must be register-client, got ${
          JSON.stringify((hello as { op?: unknown } | null)?.op)
        }`,
      );
    }
    if (hello.protocol !== SESSION_PROTOCOL) {
      return await this.#refuse(
        connection,
        `session protocol ${String(hello.protocol)} is not supported; this scheduler speaks ` +
          `${SESSION_PROTOCOL}. Run the same release on the scheduler, workers and clients.`,
      );
    }
    const clientId = hello.clientId;
    if (typeof clientId !== "string" || clientId === "") {
      return await this.#refuse(connection, "register-client without a clientId");
    }
    if (this.#clients.has(clientId)) {
      return await this.#refuse(connection, `a client with id ${clientId} is already connected`);
    }
    this.#clients.set(clientId, connection);
    if (hello.batches === true) this.#takesBatches.add(connection);
    const registered: ClientRegisteredMsg = {
      op: "client-registered",
      schedulerAddress: this.address,
      workers: this.#workerInfos(),
    };
    if (this.dashboardLink !== undefined) registered.dashboardLink = this.dashboardLink;
    connection.send({ header: registered });
    this.#feed({ type: "client-connected", client: clientId, now: now() });
    try {
      serving: for (let header = await next(); header !== undefined; header = await next()) {
        for (const msg of unbatch(header) ?? [header]) {
          const problem = clientMessageProblem(msg);
          if (problem !== null) {
            this.#log(`closing the connection of client ${clientId}: it sent ${problem}`);
            await connection.abort(`protocol error: ${problem}`);
            break serving;
          }
          const m = msg as ClientToSchedulerMsg | RequestMsg;
          if (m.op === "request") await this.#request(clientId, connection, m);
          else this.#feed({ type: "client-message", client: clientId, msg: m, now: now() });
        }
      }
    } finally {
      if (this.#clients.get(clientId) === connection) {
        this.#clients.delete(clientId);
        if (this.#closing === null) {
          this.#feed({ type: "client-disconnected", client: clientId, now: now() });
          this.#coordination.clientGone(clientId);
        }
      }
    }
  }

  async #serveWorker(connection: Connection): Promise<void> {
    const next = reader(connection);
    const hello = await firstMessage(next, REGISTRATION_TIMEOUT_MS);
    if (hello === NO_REGISTRATION) return await this.#unregistered(connection);
    if (hello === undefined) return;
    const problem = registerWorkerProblem(hello);
    if (problem !== null) return await this.#refuse(connection, problem);
    const reg = hello as RegisterWorkerMsg;
    if (reg.protocol !== SESSION_PROTOCOL) {
      return await this.#refuse(
        connection,
        `session protocol ${String(reg.protocol)} is not supported; this scheduler speaks ` +
          `${SESSION_PROTOCOL}. Run the same release on the scheduler, workers and clients.`,
      );
    }
    if (this.#workers.has(reg.address)) {
      return await this.#refuse(connection, `a worker at ${reg.address} is already registered`);
    }
    const sameName = this.state.workersByName.get(reg.name);
    if (sameName !== undefined) {
      return await this.#refuse(
        connection,
        `the name ${reg.name} is taken by the worker at ${sameName.address}; give each worker ` +
          `its own --name`,
      );
    }
    const session: WorkerSession = {
      address: reg.address,
      name: reg.name,
      connection,
      lastHeard: now(),
      runs: new Map(),
    };
    this.#workers.set(reg.address, session);
    if (reg.batches === true) this.#takesBatches.add(connection);
    connection.send({
      header: { op: "worker-registered", heartbeatInterval: this.heartbeatInterval },
    });
    this.#log(
      `worker ${reg.address}${reg.name === reg.address ? "" : ` (${reg.name})`} registered ` +
        `with ${reg.nthreads} threads` +
        (reg.keys !== undefined && reg.keys.length > 0 ? `, holding ${reg.keys.length} keys` : ""),
    );
    this.#feed({
      type: "worker-added",
      worker: {
        address: reg.address,
        name: reg.name,
        nthreads: reg.nthreads,
        memoryLimit: reg.memoryLimit,
        resources: reg.resources ?? {},
        keys: (reg.keys ?? []).map(({ key, nbytes, typeName }) => ({ key, nbytes, typeName })),
      },
      now: session.lastHeard,
    });
    try {
      serving: for (let header = await next(); header !== undefined; header = await next()) {
        const t = now();
        for (const msg of unbatch(header) ?? [header]) {
          // Removed (left, retired, restarted): what it still says is moot, and must not reach
          // a new registration at the same address.
          if (this.#workers.get(reg.address) !== session) continue serving;
          const problem = workerMessageProblem(msg);
          if (problem !== null) {
            this.#log(`closing the connection of worker ${reg.address}: it sent ${problem}`);
            await connection.abort(`protocol error: ${problem}`);
            break serving;
          }
          session.lastHeard = t;
          const m = msg as WorkerToSchedulerMsg | SessionWorkerMsg;
          switch (m.op) {
            case "worker-leaving":
              this.#removeSession(session, t, `is leaving (${m.reason})`);
              break;
            case "worker-status":
              this.#log(`worker ${reg.address} is ${m.status}`);
              this.#feed({ type: "worker-status", worker: reg.address, status: m.status, now: t });
              break;
            case "run-result": {
              const answer = session.runs.get(m.runRequestId);
              session.runs.delete(m.runRequestId);
              answer?.(m.ok ? { ok: true, value: m.value } : { ok: false, error: m.error });
              break;
            }
            default:
              this.#feed({ type: "worker-message", worker: reg.address, msg: m, now: t });
          }
        }
      }
    } finally {
      if (this.#workers.get(reg.address) === session && this.#closing === null) {
        this.#dropWorker(session, now(), "disconnected");
      }
      this.#failRuns(session, "its connection closed");
    }
  }

  /** A worker that leaves on purpose: removed at once, its tasks move without blame. */
  #removeSession(session: WorkerSession, t: number, why: string): void {
    if (this.#forgetWorker(session, t, why, "removed")) {
      this.#failRuns(session, "it left the cluster");
    }
  }

  #failRuns(session: WorkerSession, why: string): void {
    for (const answer of session.runs.values()) {
      answer({
        ok: false,
        error: {
          name: "WorkerLeftError",
          message: `worker ${session.address} did not answer run: ${why}`,
        },
      });
    }
    session.runs.clear();
  }

  /** A worker that died or stopped answering: its running tasks count it as a failure. */
  #dropWorker(session: WorkerSession, t: number, why: string): void {
    this.#forgetWorker(session, t, why, "lost");
  }

  /** Takes a worker off the books and tells the state machine how it went; false if stale. */
  #forgetWorker(session: WorkerSession, t: number, why: string, how: "removed" | "lost"): boolean {
    if (this.#workers.get(session.address) !== session) return false;
    this.#workers.delete(session.address);
    const record = this.state.workers.get(session.address);
    this.#log(
      `worker ${session.address} ${why}: ${how} with ${record?.processing.size ?? 0} tasks ` +
        `processing and ${record?.hasWhat.size ?? 0} results held`,
    );
    const worker = session.address;
    this.#feed(
      how === "removed"
        ? { type: "worker-removed", worker, now: t }
        : { type: "worker-lost", worker, now: t },
    );
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  async #request(clientId: ClientId, connection: Connection, msg: RequestMsg): Promise<void> {
    let reply: ReplyMsg;
    try {
      const result = await this.#answer(clientId, msg.method, msg.params ?? {});
      reply = { op: "reply", requestId: msg.requestId, result };
    } catch (error) {
      if (!(error instanceof RequestError) && !(error instanceof CoordinationError)) {
        this.#log(`request ${msg.method} of client ${clientId} failed: ${errorMessage(error)}`);
      }
      reply = { op: "reply", requestId: msg.requestId, error: recordFromError(error) };
    }
    // Whatever the state machine said before this answer is delivered first.
    this.#flush();
    connection.send({ header: reply });
  }

  #answer(
    clientId: ClientId,
    method: string,
    params: Record<string, unknown>,
  ): unknown | Promise<unknown> {
    switch (method) {
      case "who-has": {
        const result: Record<Key, WorkerAddress[]> = {};
        for (const key of keyList(params, method)) result[key] = this.state.whoHas(key);
        return result;
      }
      case "workers":
        return this.#workerStatuses();
      case "scatter-targets": {
        const n = params.n;
        if (!Number.isInteger(n) || (n as number) < 0) {
          throw new RequestError("scatter-targets needs params {n: number of items}");
        }
        return this.#scatterTargets(n as number, params.workers, params.broadcast === true);
      }
      case "relay-scatter":
        return this.#relayScatter(clientId, params);
      case "restart":
        return this.#restart(timeoutOf(params));
      case "retire-workers":
        return this.#retireWorkers(params);
      case "adaptive-target":
        return adaptiveTarget(adaptiveSnapshot(this.state), adaptiveOptions(params));
      case "run":
        return this.#run(params);
      case "replicate":
        return this.#replicate(params);
      case "rebalance":
        return this.#rebalance(params);
      case "task-progress":
        return this.state.taskProgress(keyList(params, method));
      case "task-stream": {
        // what ran since a client's last look (performance reports)
        const since = typeof params.since === "number" ? params.since : 0;
        return { total: this.state.taskStream.total, entries: this.state.taskStream.since(since) };
      }
      default:
        if (COORDINATION_METHODS.has(method)) {
          return this.#coordination.answer(method, params, clientId);
        }
        throw new RequestError(
          `unknown request method ${JSON.stringify(method)}; this scheduler answers who-has, ` +
            `workers, scatter-targets, relay-scatter, restart, retire-workers, adaptive-target, run, ` +
            `replicate, ` +
            `rebalance, task-progress and task-stream`,
        );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Administration

  /**
   * Resolves once `done()` holds (checked after every batch of events), or when `ms` passed
   * (resolving false), checking at least every `pollMs`.
   */
  #waitUntil(done: () => boolean, ms: number, pollMs = 250): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        clearTimeout(timer);
        clearInterval(poll);
        unsubscribe();
        resolve(result);
      };
      const check = () => {
        if (done()) finish(true);
      };
      const unsubscribe = this.onChange(check);
      const poll = setInterval(check, pollMs);
      const timer = setTimeout(() => finish(done()), ms);
    });
  }

  /** Workers named by `ids` (names or addresses); unknown ones are an error naming them. */
  #workersNamed(ids: unknown, what: string): WorkerRecord[] {
    if (!Array.isArray(ids) || !ids.every((w) => typeof w === "string")) {
      throw new RequestError(`${what} needs workers as a list of worker names or addresses`);
    }
    const { found, unknown } = resolveWorkers(this.state, ids);
    if (unknown.length > 0) {
      throw new RequestError(
        `${what}: no worker is named ${unknown.map((w) => JSON.stringify(w)).join(", ")}; ` +
          `connected: ${JSON.stringify([...this.state.workers.values()].map((w) => w.name))}`,
      );
    }
    return found;
  }

  /**
   * Forgets every task (holders get `cancelled`), tells every worker to drop everything and
   * register again, and resolves once as many workers are back (or the timeout passed).
   */
  async #restart(timeoutS: number): Promise<RestartResult> {
    const sessions = [...this.#workers.values()];
    this.#log(`restarting ${sessions.length} workers at a client's request`);
    const t = now();
    this.#feed({ type: "restart", now: t });
    for (const session of sessions) {
      session.connection.send({ header: { op: "restart", reason: "a client asked to restart" } });
      this.#removeSession(session, t, "is restarting");
    }
    this.#flush();
    const names = new Set(sessions.map((s) => s.name));
    const back = () => {
      let count = 0;
      for (const session of this.#workers.values()) if (names.has(session.name)) count++;
      return count >= names.size;
    };
    if (!await this.#waitUntil(back, timeoutS * 1000)) {
      this.#log(`restart: not every worker came back within ${timeoutS} s`);
      // as in Dask: a restart whose workers are not all back in time fails
      throw new RequestTimeoutError(
        `restart: ${this.#workers.size} of ${names.size} workers came back within ` +
          `${timeoutS} s; the others may still be starting (check their logs), or restart ` +
          `with a longer { timeout }.`,
      );
    }
    return { workers: this.#workers.size };
  }

  /**
   * Retires workers: no new tasks for them; the keys only they hold are copied to other running
   * workers; once nothing unique is left on them and they run nothing (or the timeout passed)
   * they are told to close and removed.
   */
  async #retireWorkers(params: Record<string, unknown>): Promise<RetireResult> {
    const timeoutS = timeoutOf(params);
    let leaving: WorkerRecord[];
    if (params.workers !== undefined) {
      leaving = this.#workersNamed(params.workers, "retire-workers");
    } else if (Number.isInteger(params.n) && (params.n as number) >= 0) {
      // The n workers holding the least data: the cheapest to retire.
      leaving = [...this.state.workers.values()].sort((a, b) => a.nbytes - b.nbytes)
        .slice(0, params.n as number);
    } else {
      throw new RequestError("retire-workers needs params {workers: names or addresses} or {n}");
    }
    if (leaving.length === 0) return { retired: [] };
    const unique = uniqueKeys(leaving);
    if (unique.length > 0 && recipientsFor(this.state, leaving).length === 0) {
      throw new RequestError(
        `cannot retire ${leaving.map((w) => w.name).join(", ")}: they hold ${unique.length} ` +
          `keys no other worker has, and no other running worker could take them. Start ` +
          `another worker first, or release those keys.`,
      );
    }
    const addresses = leaving.map((w) => w.address);
    this.#log(`retiring ${addresses.join(", ")}: moving ${unique.length} keys they alone hold`);
    this.#feed({ type: "retire-workers", workers: addresses, now: now() });
    const requested = new Map<Key, number>();
    const deadline = Date.now() + timeoutS * 1000;
    const live = () => leaving.filter((w) => this.state.workers.get(w.address) === w);
    for (;;) {
      const still = live();
      const remaining = uniqueKeys(still);
      const busy = still.some((w) => w.processing.size > 0);
      if ((remaining.length === 0 && !busy) || Date.now() >= deadline) break;
      // Copies not requested yet, or requested long ago without landing (the target may have
      // dropped or lost it).
      const recent = new Set<Key>();
      for (const [key, at] of requested) {
        if (Date.now() - at < RETIRE_REREQUEST_MS) recent.add(key);
      }
      const transfers = planRetirement(this.state, still, recent);
      if (transfers.length > 0) {
        for (const transfer of transfers) requested.set(transfer.key, Date.now());
        this.#feed({ type: "acquire-replicas", transfers, now: now() });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const retired: WorkerAddress[] = [];
    for (const worker of live()) {
      const session = this.#workers.get(worker.address);
      if (session === undefined) continue;
      const left = uniqueKeys([worker]).length;
      session.connection.send({ header: { op: "close", reason: "retired" } });
      this.#removeSession(
        session,
        now(),
        `was retired` + (left > 0 ? ` (${left} keys it alone held are recomputed)` : ""),
      );
      retired.push(worker.address);
    }
    return { retired };
  }

  /** Calls a function in every worker process (or those named); each worker's outcome. */
  async #run(params: Record<string, unknown>): Promise<RunOutcomes> {
    const fn = params.fn as { id?: unknown } | null;
    if (fn === null || typeof fn !== "object" || typeof fn.id !== "string") {
      throw new RequestError("run needs params {fn: an encoded function (FunctionSpec)}");
    }
    if (params.args !== undefined && !isEncoded(params.args)) {
      throw new RequestError("run needs args as an encoded array");
    }
    const args = (params.args as Encoded | undefined) ?? encode([]);
    let sessions = [...this.#workers.values()];
    if (params.workers !== undefined) {
      const named = new Set(this.#workersNamed(params.workers, "run").map((w) => w.address));
      sessions = sessions.filter((s) => named.has(s.address));
    }
    const outcomes = await Promise.all(sessions.map((session) => {
      const runRequestId = this.#nextRunRequestId++;
      return new Promise<RunOutcomes[string]>((resolve) => {
        session.runs.set(runRequestId, resolve);
        const msg: RunMsg = { op: "run", runRequestId, fn, args };
        if (!session.connection.send({ header: msg })) {
          session.runs.delete(runRequestId);
          resolve({
            ok: false,
            error: { name: "WorkerLeftError", message: `worker ${session.address} is gone` },
          });
        }
      });
    }));
    const result: RunOutcomes = {};
    sessions.forEach((session, i) => result[session.address] = outcomes[i]);
    return result;
  }

  /**
   * Copies keys to `n` workers (default: all running, or all of `workers`), doubling the copies
   * each round (tree broadcast); keys with more copies lose the extra ones.
   */
  async #replicate(params: Record<string, unknown>): Promise<ReplicateResult> {
    const keys = params.keys;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
      throw new RequestError("replicate needs params {keys: string[], n?, workers?}");
    }
    const candidates = params.workers === undefined
      ? undefined
      : this.#workersNamed(params.workers, "replicate");
    const n = params.n === undefined || params.n === null
      ? Infinity
      : Number.isInteger(params.n) && (params.n as number) >= 1
      ? params.n as number
      : (() => {
        throw new RequestError("replicate: n must be a whole number of copies ≥ 1");
      })();
    for (const key of keys) {
      if (this.state.tasks.get(key)?.state !== "memory") {
        throw new RequestError(
          `replicate: ${key} is not in memory (wait for its future to finish, then replicate)`,
        );
      }
    }
    const deadline = Date.now() + timeoutOf(params) * 1000;
    while (Date.now() < deadline) {
      const pool = candidates?.filter((w) => this.state.runningWorkers.get(w.address) === w);
      const { transfers, drops } = planReplicationRound(this.state, keys, n, pool);
      if (drops.length > 0) this.#feed({ type: "drop-replicas", drops, now: now() });
      if (transfers.length === 0) break;
      this.#feed({ type: "acquire-replicas", transfers, now: now() });
      await this.#waitUntil(() => this.#landed(transfers), deadline - Date.now());
    }
    const result: ReplicateResult = {};
    for (const key of keys) result[key] = this.state.tasks.get(key)?.whoHas.size ?? 0;
    return result;
  }

  /** True once every transfer landed or cannot land any more. */
  #landed(transfers: ReplicaTransfer[]): boolean {
    for (const { worker, key } of transfers) {
      const record = this.state.workers.get(worker);
      const task = this.state.tasks.get(key);
      if (record === undefined || task === undefined || task.state !== "memory") continue;
      if (!task.whoHas.has(record)) return false;
    }
    return true;
  }

  /** Evens out the bytes held by running workers: copies move, then the senders drop theirs. */
  async #rebalance(params: Record<string, unknown>): Promise<RebalanceResult> {
    let keys: Set<Key> | undefined;
    if (params.keys !== undefined) {
      if (!Array.isArray(params.keys) || !params.keys.every((k) => typeof k === "string")) {
        throw new RequestError("rebalance needs keys as a list of strings");
      }
      keys = new Set(params.keys);
    }
    const candidates = params.workers === undefined
      ? undefined
      : this.#workersNamed(params.workers, "rebalance");
    const moves = planRebalance(this.state, { keys, candidates });
    if (moves.length === 0) return { moved: 0, bytes: 0 };
    const transfers = moves.map((m) => ({ worker: m.to, key: m.key, sources: [m.from] }));
    this.#feed({ type: "acquire-replicas", transfers, now: now() });
    await this.#waitUntil(() => this.#landed(transfers), timeoutOf(params) * 1000);
    // Only copies that arrived let the sender drop its own.
    const done = moves.filter((m) => {
      const to = this.state.workers.get(m.to);
      return to !== undefined && this.state.tasks.get(m.key)?.whoHas.has(to) === true;
    });
    this.#feed({
      type: "drop-replicas",
      drops: done.map((m) => ({ worker: m.from, key: m.key })),
      now: now(),
    });
    this.#log(`rebalance moved ${done.length} copies`);
    return { moved: done.length, bytes: done.reduce((sum, m) => sum + Math.max(0, m.nbytes), 0) };
  }

  #workerInfos(): WorkerInfo[] {
    return [...this.state.workers.values()].map(workerInfo);
  }

  #workerStatuses(): WorkerListing[] {
    return [...this.state.workers.values()].map((w) => ({
      ...workerInfo(w),
      memory: typeof w.metrics.memory === "number" ? w.metrics.memory : w.nbytes,
      executing: typeof w.metrics.executing === "number"
        ? w.metrics.executing
        : Math.min(w.processing.size, w.nthreads),
      inMemory: w.hasWhat.size,
      spilled: typeof w.metrics.spilled === "number" ? w.metrics.spilled : 0,
      status: this.state.workerStatus(w.address) ?? "running",
    }));
  }

  /**
   * Where `n` scattered items go: without `broadcast`, one address per item, spread round-robin
   * over the allowed workers holding the fewest bytes first; with `broadcast`, every allowed
   * worker (each item goes to all of them).
   */
  #scatterTargets(n: number, workers: unknown, broadcast: boolean): WorkerAddress[] {
    let candidates = [...this.state.workers.values()];
    if (workers !== undefined) {
      if (!Array.isArray(workers) || !workers.every((w) => typeof w === "string")) {
        throw new RequestError("workers must be a list of worker names or addresses");
      }
      const allowed = new Set(workers);
      candidates = candidates.filter((w) => allowed.has(w.address) || allowed.has(w.name));
      if (candidates.length === 0) {
        throw new RequestError(
          `none of the workers ${JSON.stringify(workers)} is connected; connected: ${
            JSON.stringify([...this.state.workers.values()].map((w) => w.name))
          }`,
        );
      }
    }
    if (candidates.length === 0) {
      throw new RequestError("no workers are connected to the scheduler: start some, then scatter");
    }
    if (broadcast) return candidates.map((w) => w.address);
    candidates.sort((a, b) => a.nbytes - b.nbytes);
    const out = new Array<WorkerAddress>(n);
    for (let i = 0; i < n; i++) out[i] = candidates[i % candidates.length].address;
    return out;
  }

  /** Sends the client's data to workers itself, then records it as the client's scatter. */
  async #relayScatter(
    clientId: ClientId,
    params: Record<string, unknown>,
  ): Promise<ScatteredKey[]> {
    const items = params.items;
    if (!Array.isArray(items) || !items.every(isDataItem)) {
      throw new RequestError(
        "relay-scatter needs params {items: {key, value, nbytes, typeName}[]}",
      );
    }
    const broadcast = params.broadcast === true;
    const targets = this.#scatterTargets(items.length, params.workers, broadcast);
    const perWorker = new Map<WorkerAddress, DataItem[]>();
    const placed: ScatteredKey[] = items.map((item, i) => {
      const holders = broadcast ? targets : [targets[i]];
      for (const address of holders) {
        let list = perWorker.get(address);
        if (list === undefined) perWorker.set(address, list = []);
        list.push(item);
      }
      return { key: item.key, nbytes: item.nbytes, typeName: item.typeName, workers: holders };
    });
    const sends = [...perWorker];
    const outcomes = await Promise.allSettled(
      sends.map(([address, list]) => this.#peers.updateData(address, list, false)),
    );
    const failed = outcomes.findIndex((o) => o.status === "rejected");
    if (failed >= 0) {
      // The workers that did store the data keep it for nobody: tell them to drop it, unless
      // the books already count a copy there.
      sends.forEach(([address, list], i) => {
        if (outcomes[i].status === "rejected") return;
        const keys = list.map((item) => item.key).filter((key) =>
          !this.state.whoHas(key).includes(address)
        );
        const session = this.#workers.get(address);
        if (keys.length > 0) session?.connection.send({ header: { op: "free-keys", keys } });
      });
      const [address, list] = sends[failed];
      throw new RequestError(
        `relaying ${list.length} scattered values to worker ${address} failed: ` +
          `${errorMessage((outcomes[failed] as PromiseRejectedResult).reason)}`,
      );
    }
    if (this.#clients.has(clientId)) {
      this.#feed({
        type: "client-message",
        client: clientId,
        msg: { op: "scatter", data: placed },
        now: now(),
      });
    }
    return placed;
  }
}

/** What clients learn of a worker at registration and from `workers`. */
function workerInfo(w: WorkerRecord): WorkerInfo {
  return { address: w.address, name: w.name, nthreads: w.nthreads, memoryLimit: w.memoryLimit };
}

/** The options of an `adaptive-target` request, checked. */
function adaptiveOptions(params: Record<string, unknown>): AdaptiveTargetOptions {
  const { targetDuration, threadsPerWorker, minimum } = params;
  const positive = (v: unknown) => typeof v === "number" && v > 0 && Number.isFinite(v);
  if (!positive(targetDuration)) {
    throw new RequestError("adaptive-target needs params {targetDuration: seconds > 0}");
  }
  if (threadsPerWorker !== undefined && !positive(threadsPerWorker)) {
    throw new RequestError("adaptive-target: threadsPerWorker must be a number > 0");
  }
  if (minimum !== undefined && !(Number.isInteger(minimum) && (minimum as number) >= 0)) {
    throw new RequestError("adaptive-target: minimum must be a whole number ≥ 0");
  }
  return {
    targetDuration: targetDuration as number,
    threadsPerWorker: threadsPerWorker as number | undefined,
    minimum: minimum as number | undefined,
  };
}
