/**
 * The scheduler server: the I/O around the scheduler state machine (state.ts). One listener
 * accepts clients (role `"client"`) and workers (role `"worker"`); each connection's messages
 * become events, and once every event available in this tick has been handled the outgoing
 * messages are taken once and written (the connections join each destination's messages into
 * one write). A 100 ms tick feeds work stealing and checks heartbeats. docs/protocol.md §1 and
 * §8 are the contract.
 *
 * A peer that sends something malformed, an unknown operation or a wrong protocol version loses
 * its own connection, with a logged reason; everyone else is served on.
 *
 * What a dashboard reads: {@link SchedulerServer.state} (the books, read-only) and
 * {@link SchedulerServer.onChange} (called after each batch of events).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { recordFromError } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import { type Connection, listen, type Listener } from "../core/wire.ts";
import { PeerPool } from "../worker/peer_pool.ts";
import {
  clientMessageProblem,
  registerWorkerProblem,
  workerMessageProblem,
} from "./message_checks.ts";
import type {
  ClientId,
  ClientToSchedulerMsg,
  ScatteredKey,
  WorkerAddress,
  WorkerToSchedulerMsg,
} from "./protocol.ts";
import {
  type ClientRegisteredMsg,
  type DataItem,
  DEFAULT_HEARTBEAT_INTERVAL,
  type RegisterWorkerMsg,
  type ReplyMsg,
  type RequestMsg,
  SESSION_PROTOCOL,
  type WorkerInfo,
  type WorkerStatus,
} from "./session_protocol.ts";
import { type SchedulerConfig, type SchedulerEvent, SchedulerState } from "./state.ts";

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

const now = () => (performance.timeOrigin + performance.now()) / 1000;

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A registered worker's connection. */
interface WorkerSession {
  readonly address: WorkerAddress;
  readonly connection: Connection;
  lastHeard: number;
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

/** A request the client got wrong: answered with an error, the connection stays. */
class RequestError extends Error {
  override name = "RequestError";
}

export class SchedulerServer {
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
  readonly #peers: PeerPool;
  readonly #changeListeners = new Set<() => void>();
  readonly #tick: ReturnType<typeof setInterval>;
  #flushScheduled = false;
  #changed = false;
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

  /** Sends what the state machine produced, in order. */
  #flush(): void {
    this.#flushScheduled = false;
    for (const out of this.state.takeOutgoing()) {
      // A destination that is gone drops its messages; its lost/disconnected event follows.
      if (out.to === "worker") {
        this.#workers.get(out.worker)?.connection.send({ header: out.msg });
      } else {
        this.#clients.get(out.client)?.send({ header: out.msg });
      }
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
    const registered: ClientRegisteredMsg = {
      op: "client-registered",
      schedulerAddress: this.address,
      workers: this.#workerInfos(),
    };
    if (this.dashboardLink !== undefined) registered.dashboardLink = this.dashboardLink;
    connection.send({ header: registered });
    this.#feed({ type: "client-connected", client: clientId, now: now() });
    try {
      for (let msg = await next(); msg !== undefined; msg = await next()) {
        const problem = clientMessageProblem(msg);
        if (problem !== null) {
          this.#log(`closing the connection of client ${clientId}: it sent ${problem}`);
          await connection.abort(`protocol error: ${problem}`);
          break;
        }
        const m = msg as ClientToSchedulerMsg | RequestMsg;
        if (m.op === "request") await this.#request(clientId, connection, m);
        else this.#feed({ type: "client-message", client: clientId, msg: m, now: now() });
      }
    } finally {
      if (this.#clients.get(clientId) === connection) {
        this.#clients.delete(clientId);
        if (this.#closing === null) {
          this.#feed({ type: "client-disconnected", client: clientId, now: now() });
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
    const session: WorkerSession = { address: reg.address, connection, lastHeard: now() };
    this.#workers.set(reg.address, session);
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
        keys: (reg.keys ?? []).map(({ key, nbytes }) => ({ key, nbytes })),
      },
      now: session.lastHeard,
    });
    try {
      for (let msg = await next(); msg !== undefined; msg = await next()) {
        const problem = workerMessageProblem(msg);
        if (problem !== null) {
          this.#log(`closing the connection of worker ${reg.address}: it sent ${problem}`);
          await connection.abort(`protocol error: ${problem}`);
          break;
        }
        const t = now();
        session.lastHeard = t;
        this.#feed({
          type: "worker-message",
          worker: reg.address,
          msg: msg as WorkerToSchedulerMsg,
          now: t,
        });
      }
    } finally {
      if (this.#workers.get(reg.address) === session && this.#closing === null) {
        this.#dropWorker(session, now(), "disconnected");
      }
    }
  }

  #dropWorker(session: WorkerSession, t: number, why: string): void {
    if (this.#workers.get(session.address) !== session) return;
    this.#workers.delete(session.address);
    const record = this.state.workers.get(session.address);
    this.#log(
      `worker ${session.address} ${why}: lost with ${record?.processing.size ?? 0} tasks ` +
        `processing and ${record?.hasWhat.size ?? 0} results held`,
    );
    this.#feed({ type: "worker-lost", worker: session.address, now: t });
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  async #request(clientId: ClientId, connection: Connection, msg: RequestMsg): Promise<void> {
    let reply: ReplyMsg;
    try {
      const result = await this.#answer(clientId, msg.method, msg.params ?? {});
      reply = { op: "reply", requestId: msg.requestId, result };
    } catch (error) {
      if (!(error instanceof RequestError)) {
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
        const keys = params.keys;
        if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
          throw new RequestError("who-has needs params {keys: string[]}");
        }
        const result: Record<Key, WorkerAddress[]> = {};
        for (const key of keys) result[key] = this.state.whoHas(key);
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
      default:
        throw new RequestError(
          `unknown request method ${JSON.stringify(method)}; this scheduler answers who-has, ` +
            `workers, scatter-targets and relay-scatter`,
        );
    }
  }

  #workerInfos(): WorkerInfo[] {
    const out: WorkerInfo[] = [];
    for (const w of this.state.workers.values()) {
      out.push({
        address: w.address,
        name: w.name,
        nthreads: w.nthreads,
        memoryLimit: w.memoryLimit,
      });
    }
    return out;
  }

  #workerStatuses(): WorkerStatus[] {
    const out: WorkerStatus[] = [];
    for (const w of this.state.workers.values()) {
      out.push({
        address: w.address,
        name: w.name,
        nthreads: w.nthreads,
        memoryLimit: w.memoryLimit,
        memory: typeof w.metrics.memory === "number" ? w.metrics.memory : w.nbytes,
        executing: typeof w.metrics.executing === "number"
          ? w.metrics.executing
          : Math.min(w.processing.size, w.nthreads),
        inMemory: w.hasWhat.size,
      });
    }
    return out;
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
