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
 * Requests (docs/protocol.md §8: who-has, story, the administration requests...) are answered
 * by requests.ts, which reaches the connections and the event loop through a small host.
 *
 * About 910 lines: it is the I/O edge of every scheduler feature (journal replay, profiles,
 * relayed gathers); the client and worker sessions (`#serveClient`, `#serveWorker`, about 200
 * lines) are the part to move to a file of their own next.
 *
 * @module
 */

import type {
  CallStacksReplyMsg,
  ProfileReplyMsg,
  ProfileRequestMsg,
} from "../protocol/profile.ts";
import { RateLimitedLog } from "../core/rate_limited_log.ts";
import { ErrorLog } from "./dashboard/error_log.ts";
import { setImmediate } from "node:timers";
import { errorMessage } from "../core/errors.ts";
import {
  type Connection,
  listen,
  type Listener,
  refusalLogger,
  sendHeaders,
  unbatch,
} from "../net/wire.ts";
import { CLUSTER_IDENTITY, TASK_IDENTITY_PREFIX } from "../net/auth.ts";
import { TaskDelegations } from "./task_delegation.ts";
import { PeerPool } from "../net/peer_pool.ts";
import { WorkerProbes } from "./worker_probe.ts";
import type { TlsConfig } from "../net/tls.ts";
import {
  clientMessageProblem,
  registerWorkerProblem,
  workerMessageProblem,
} from "../protocol/message_checks.ts";
import type {
  ClientId,
  ClientToSchedulerMsg,
  WorkerAddress,
  WorkerToSchedulerMsg,
} from "../protocol/messages.ts";
import {
  type ClientRegisteredMsg,
  DEFAULT_HEARTBEAT_INTERVAL,
  type DelegateTaskMsg,
  type RegisterWorkerMsg,
  type RequestMsg,
  type RunResultMsg,
  SESSION_PROTOCOL,
  type TaskDelegatedMsg,
} from "../protocol/session.ts";
import { type SchedulerConfig, type SchedulerEvent, SchedulerState } from "./state.ts";
import { now, SchedulerRequests, workerInfo, type WorkerSession } from "./requests.ts";
import { Journal } from "./journal.ts";
import { recordsFor } from "./journal_book.ts";
import { datasetHolder } from "./coordination/datasets.ts";
import { queueHolder } from "./coordination/queues.ts";
import { variableHolder } from "./coordination/variables.ts";

/** How a scheduler server is set up. */
export interface SchedulerServerOptions {
  /** Interface to listen on. This machine only (`127.0.0.1`) by default. */
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
  /** The cluster's shared secret: every peer must prove it holds it (net/auth.ts). */
  authToken?: string;
  /** TLS (net/tls.ts): listen on `tls://` with this certificate; dial workers over TLS. */
  tls?: TlsConfig;
  /**
   * Keep a journal in this directory (scheduler/journal.ts) and bring back what it holds at
   * start: clients' futures, the graph they need, published datasets. Off unless given.
   */
  journalDir?: string;
  /**
   * With a journal to replay: seconds to wait for the workers it names to register again (with
   * the results they hold) before the graph is replayed and clients are answered. 5.
   */
  journalWait?: number;
  /** Seconds a client named in the journal has to reconnect before its futures are let go. 60. */
  journalClientWait?: number;
  /**
   * Client identities (tenancy, scheduler/tenancy.ts): name → token. A client proving one of
   * these tokens acts as that identity, and only touches its own keys and those shared with it.
   * Needs `authToken` (the cluster's own: workers and the cluster's clients).
   */
  clientTokens?: ReadonlyMap<string, string>;
  /**
   * Client identities by certificate (with `tls`): a dialer whose certificate's subject is not
   * this scheduler's own is the identity its common name says. Workers must present a
   * certificate with the scheduler's subject. Tasks' own clients (`getClient()`) then get
   * credentials with or without `authToken`.
   */
  tlsClientIdentities?: boolean;
}

/** Heartbeats a worker may miss before it is declared lost. */
const MISSED_HEARTBEATS = 10;
/** How long dialing a worker named by a missing-data report may take (worker_probe.ts). */
const PROBE_TIMEOUT_MS = 2000;
/** A connection must register (its first message) within this time after its handshake. */
const REGISTRATION_TIMEOUT_MS = 10_000;
/** At shutdown, how long connections may take to write what is queued for them. */
const CLOSE_GRACE_MS = 2000;
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
  | { op: "worker-terminated"; reason: string }
  | { op: "worker-status"; status: "running" | "paused" | "exhausted" }
  | DelegateTaskMsg
  | RunResultMsg;

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
  /** Registered peers that said they unpack `batch` messages (the others get one at a time). */
  readonly #takesBatches = new WeakSet<Connection>();
  readonly #peers: PeerPool;
  readonly #probes: WorkerProbes;
  readonly #changeListeners = new Set<() => void>();
  readonly #tick: ReturnType<typeof setInterval>;
  readonly #requests: SchedulerRequests;
  #flushScheduled = false;
  #changed = false;
  /** The journal (`journalDir`), if kept. */
  readonly #journal: Journal | undefined;
  /** Events fed while replaying the journal are in it already. */
  #replaying = false;
  /** Until the journal is replayed: when to stop waiting for its workers, and who waits. */
  #replayDeadline: number | undefined;
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #lastSync = 0;
  #journalClientTimer: ReturnType<typeof setTimeout> | undefined;
  /** Clients the journal brought back that have not reconnected yet. */
  readonly #journalClients = new Set<ClientId>();
  readonly #journalWait: number;
  readonly #journalClientWait: number;
  #closing: Promise<void> | null = null;
  #resolveClosed!: () => void;
  /**
   * Tasks' own credentials (task_delegation.ts): under tenancy with the cluster's token, or over
   * mutual TLS with client identities by certificate.
   */
  readonly #delegations: TaskDelegations | undefined;

  private constructor(
    options: SchedulerServerOptions,
    listener: Listener,
    address: string,
    journal: Journal | undefined,
    delegations: TaskDelegations | undefined,
  ) {
    this.address = address;
    this.#delegations = delegations;
    this.#listener = listener;
    this.state = new SchedulerState({
      ...options.config,
      tenancy: options.config?.tenancy ??
        ((options.clientTokens?.size ?? 0) > 0 || options.tlsClientIdentities === true),
    });
    this.heartbeatInterval = options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL;
    this.dashboardLink = options.dashboardLink;
    const log = options.log ?? ((line: string) => console.error(line));
    this.#log = (line) => log(`[scheduler] ${line}`);
    this.#peers = new PeerPool({
      maxFrameBytes: options.maxFrameBytes,
      authToken: options.authToken,
      tls: options.tls,
    });
    this.#probes = new WorkerProbes(
      { role: "peer", authToken: options.authToken, tls: options.tls },
      PROBE_TIMEOUT_MS,
    );
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#ready = new Promise((resolve) => this.#resolveReady = resolve);
    this.#journalWait = options.journalWait ?? 5;
    this.#journalClientWait = options.journalClientWait ?? 60;
    this.#journal = journal;
    if (journal !== undefined) {
      if (journal.tornAtOpen) {
        this.#log("the journal ended in a torn record (killed while writing it): dropped");
      }
    }
    if (this.#journal === undefined || this.#journal.book.isEmpty) this.#resolveReady();
    else this.#replayDeadline = now() + this.#journalWait;
    this.#tick = setInterval(() => this.#onTick(), options.tickIntervalMs ?? 100);
    this.#requests = new SchedulerRequests({
      state: this.state,
      sessions: this.#workers,
      clients: this.#clients,
      peers: this.#peers,
      feed: (event) => this.#feed(event),
      flush: () => this.#flush(),
      log: this.#log,
      onChange: (listener) => this.onChange(listener),
      removeSession: (session, t, why) => this.#removeSession(session, t, why),
      datasetChanged: (name, dataset) => {
        if (this.#journal === undefined) return;
        this.#journal.append([{ t: "dataset", name, dataset }]);
        this.#writeJournal();
      },
      journal: journal === undefined ? undefined : (record) => {
        if (!this.#replaying) journal.append([record]);
      },
    });
  }

  /**
   * Listens and starts serving.
   *
   * @throws when the port cannot be listened on (e.g. it is taken), or a JournalError when
   * `journalDir` cannot be used.
   */
  static async start(options: SchedulerServerOptions = {}): Promise<SchedulerServer> {
    const host = options.host ?? "127.0.0.1";
    // read before listening: a journal that cannot be used stops the start
    const journal = options.journalDir === undefined ? undefined : Journal.open(options.journalDir);
    // Connections that complete their handshake before the server object exists wait here.
    const early: Connection[] = [];
    const ref: { server?: SchedulerServer } = {};
    // Tasks' own credentials under tenancy: the workers that ask for them prove the cluster's
    // token, or, over mutual TLS with client identities by certificate, the cluster's own
    // certificate subject (the task credentials are then the only tokens the listener checks).
    const tenancy = (options.clientTokens?.size ?? 0) > 0 || options.tlsClientIdentities === true;
    const workersProven = options.authToken !== undefined ||
      (options.tls !== undefined && options.tlsClientIdentities === true);
    const delegations = tenancy && workersProven
      ? new TaskDelegations(options.clientTokens)
      : undefined;
    const listener = await listen({
      hostname: host,
      port: options.port ?? 8786,
      role: "scheduler",
      maxFrameBytes: options.maxFrameBytes,
      authToken: options.authToken,
      identityTokens: delegations?.tokens ?? options.clientTokens,
      certificateIdentities: options.tlsClientIdentities,
      // over TLS a task thread has the CA but no certificate: its credential stands for one
      acceptTaskCredentialsWithoutCertificate: delegations !== undefined,
      tls: options.tls,
      onError: refusalLogger((line) => ref.server && ref.server.#log(line)),
    }, (connection) => {
      if (ref.server === undefined) early.push(connection);
      else ref.server.#accept(connection);
    });
    let address = listener.addr;
    if (host === "0.0.0.0" || host === "::") {
      const advertised = options.advertisedHost ?? "127.0.0.1";
      const shown = advertised.includes(":") ? `[${advertised}]` : advertised;
      address = `${options.tls === undefined ? "tcp" : "tls"}://${shown}:${listener.port}`;
    }
    const server = ref.server = new SchedulerServer(
      options,
      listener,
      address,
      journal,
      delegations,
    );
    for (const connection of early) server.#accept(connection);
    return server;
  }

  /** Calls `listener` after each batch of events; returns a function that unsubscribes. */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** A worker's task threads' sampled call trees (the dashboard's Profile page). */
  profileOf(
    worker: WorkerAddress,
    request: Omit<ProfileRequestMsg, "requestId">,
  ): Promise<ProfileReplyMsg> {
    return this.#peers.profile(worker, request);
  }

  /** What a worker's task threads run now (the dashboard's call stacks). */
  callStacksOf(worker: WorkerAddress): Promise<CallStacksReplyMsg> {
    return this.#peers.callStacks(worker);
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
      clearTimeout(this.#journalClientTimer);
      this.#log(`shutting down: ${reason}`);
      this.#flush();
      this.#resolveReady(); // clients waiting for the replay are refused below
      try {
        this.#journal?.close();
      } catch (error) {
        this.#log(`cannot close the journal: ${errorMessage(error)}`);
      }
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
    // a task's credential ends with its run (nothing to do while none is in force)
    this.#delegations?.sweep(this.state.tasks);
    if (
      (event.type === "client-message" || event.type === "worker-message") &&
      event.msg.op === "missing-data" && !this.#replaying
    ) this.#probeWorker(event.msg.errantWorker);
    const journal = this.#journal;
    if (journal !== undefined && !this.#replaying) {
      const records = recordsFor(event, journal.book.fireAndForget);
      if (records.length > 0) journal.append(records);
    }
    this.#changed = true;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // After every event already read in this tick: one takeOutgoing for all of them.
      setImmediate(() => this.#flush()); // setTimeout(0) costs ~2 ms in Deno
    }
  }

  /** Sends what the state machine produced, in order: one message per destination. */
  /** Tasks that erred, on this terminal: ten per 10 s at most (the Info page lists them all). */
  readonly #erred = new ErrorLog(0);
  readonly #erredLog = new RateLimitedLog((line) => this.#log(line));
  #eventsSeen = 0;

  #logErred(): void {
    const total = this.state.eventLog.total;
    if (total === this.#eventsSeen) return;
    this.#eventsSeen = total;
    for (const error of this.#erred.harvest(this.state)) {
      this.#erredLog.log(
        `task ${error.key} erred${error.worker === null ? "" : ` on ${error.worker}`}: ` +
          `${error.name}: ${error.message}`,
      );
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    // what caused these messages is on disk before anyone hears of it
    this.#writeJournal();
    this.#logErred();
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
    if (this.#replayDeadline !== undefined) this.#replayWhenReady(t);
    if (this.#journal !== undefined && t - this.#lastSync >= 1) {
      this.#lastSync = t;
      this.#journal.sync().catch((error) => {
        this.#log(`cannot fsync the journal: ${errorMessage(error)}`);
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Journal

  #writeJournal(): void {
    try {
      this.#journal?.write();
    } catch (error) {
      // a full or broken disk: serve on (the journal is for restarts), but say so
      this.#log(`cannot write the journal: ${errorMessage(error)}`);
    }
  }

  /**
   * Replays the journal once the workers it names are back (their results wait as the restart
   * grace's orphans and the replayed graph adopts them) or the wait is over; then answers clients.
   */
  #replayWhenReady(t: number): void {
    const book = this.#journal!.book;
    const waiting = [...book.workers].filter((address) => !this.#workers.has(address));
    if (waiting.length > 0 && t < this.#replayDeadline!) return;
    this.#replayDeadline = undefined;
    const clients = [...book.wants.keys()];
    const datasets = [...book.datasets];
    const tasks = book.liveTasks().length;
    this.#replaying = true;
    try {
      for (const event of book.replayEvents(t)) this.#feed(event);
      for (const [name, dataset] of datasets) this.#requests.restoreDataset(name, dataset);
      this.#requests.restoreShared(book);
    } finally {
      this.#replaying = false;
    }
    this.#flush();
    this.#log(
      `replayed the journal: ${tasks} tasks, ${clients.length} clients, ${datasets.length} ` +
        `datasets` + (waiting.length > 0 ? `; ${waiting.length} workers did not come back` : ""),
    );
    // clients of the journal that never come back let go of their futures and leases after a
    // while (the holders of datasets, queues and variables are the scheduler's own)
    const holders = new Set([
      ...datasets.map(([name]) => datasetHolder(name)),
      ...[...book.queues.keys()].map(queueHolder),
      ...[...book.variables.keys()].map(variableHolder),
    ]);
    for (const client of [...clients, ...book.leaseHolders()]) {
      if (!holders.has(client)) this.#journalClients.add(client);
    }
    this.#resolveReady();
    this.#journalClientTimer = setTimeout(() => {
      for (const client of this.#journalClients) {
        if (this.state.clients.has(client)) {
          this.#feed({ type: "client-disconnected", client, now: now() });
        } else this.#journal?.append([{ t: "gone", client }]);
        this.#requests.clientGone(client);
      }
      this.#journalClients.clear();
      this.#flush();
    }, this.#journalClientWait * 1000);
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
    // a restarted scheduler answers once its journal is replayed (bounded by journalWait)
    await this.#ready;
    if (this.#closing !== null) {
      await connection.abort("the scheduler is shutting down");
      return;
    }
    // (the state machine's own holders — datasets, fire-and-forget — are taken ids too; a client
    // the journal brought back is expected to reconnect under its id)
    if (
      this.#clients.has(clientId) ||
      (this.state.clients.has(clientId) && !this.#journalClients.has(clientId))
    ) {
      return await this.#refuse(connection, `a client with id ${clientId} is already connected`);
    }
    // a task's credential acts as the identity that submitted the task (task_delegation.ts)
    const delegated = this.#delegations?.identityOf(connection.identity);
    if (delegated === undefined && connection.identity?.startsWith(TASK_IDENTITY_PREFIX)) {
      return await this.#refuse(connection, "this task credential ended with its task");
    }
    // attached at once: a sweep from here on closes the connection with the credential
    if (delegated !== undefined) this.#delegations!.attach(connection.identity!, connection);
    const identity = delegated ?? connection.identity ?? CLUSTER_IDENTITY;
    if (this.#journalClients.delete(clientId)) {
      const known = this.state.clients.get(clientId)?.identity;
      // a record replayed without an identity ("") takes whoever reconnects under the id
      if (known !== undefined && known !== "" && known !== identity) {
        return await this.#refuse(connection, `client id ${clientId} belongs to another identity`);
      }
    }
    this.#clients.set(clientId, connection);
    if (hello.batches === true) this.#takesBatches.add(connection);
    const registered: ClientRegisteredMsg = {
      op: "client-registered",
      schedulerAddress: this.address,
      workers: [...this.state.workers.values()].map(workerInfo),
    };
    if (this.dashboardLink !== undefined) registered.dashboardLink = this.dashboardLink;
    if (identity !== CLUSTER_IDENTITY) {
      // workers know only the cluster's token: this client's data goes through the scheduler
      registered.identity = identity;
      registered.direct = false;
      // the dashboard shows every identity's keys: its access token is the cluster's alone
      if (registered.dashboardLink !== undefined) {
        registered.dashboardLink = registered.dashboardLink.split("?")[0];
      }
    }
    connection.send({ header: registered });
    this.#feed({ type: "client-connected", client: clientId, identity, now: now() });
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
          if (m.op === "request") await this.#requests.handle(clientId, connection, m);
          else this.#feed({ type: "client-message", client: clientId, msg: m, now: now() });
        }
      }
    } finally {
      if (delegated !== undefined) this.#delegations!.detach(connection.identity!, connection);
      if (this.#clients.get(clientId) === connection) {
        this.#clients.delete(clientId);
        if (this.#closing === null) {
          this.#feed({ type: "client-disconnected", client: clientId, now: now() });
          this.#requests.clientGone(clientId);
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
    if (connection.identity !== undefined) {
      return await this.#refuse(
        connection,
        `client identity '${connection.identity}' cannot register a worker: workers prove the ` +
          `cluster's own token`,
      );
    }
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
      header: {
        op: "worker-registered",
        heartbeatInterval: this.heartbeatInterval,
        tenancy: this.state.ownership.enabled,
      },
    });
    // uploaded modules reach a worker before any task that may import them
    for (const header of this.#requests.uploads.messages()) connection.send({ header });
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
            case "worker-terminated":
              this.#dropWorker(session, t, `was terminated (${m.reason})`, m.reason);
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
            case "delegate-task":
              connection.send({ header: this.#delegate(m, reg.address) });
              break;
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

  /** A task's own credential for its client, asked for by the worker running it. */
  #delegate(msg: DelegateTaskMsg, worker: string): TaskDelegatedMsg {
    const answer = this.#delegations === undefined
      ? {
        error: this.state.ownership.enabled
          ? "the scheduler has client identities but neither a cluster token " +
            "(--auth-token-file) nor TLS client identities (--tls-client-identities): nothing " +
            "proves which peers are its workers, so it makes no task credentials"
          : "the scheduler has no client identities: tasks use the cluster's credentials",
      }
      : this.#delegations.issue(
        this.state.tasks.get(msg.key),
        msg.key,
        worker,
        this.state.ownership,
      );
    if ("token" in answer) this.#log(`task ${msg.key} on ${worker} got a credential of its owner`);
    return { op: "task-delegated", requestId: msg.requestId, ...answer };
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

  /**
   * A report named `address` as not giving data: if nothing listens there any more, the worker
   * is gone and is dropped now, not ten heartbeats later (worker_probe.ts).
   */
  #probeWorker(address: WorkerAddress): void {
    const session = this.#workers.get(address);
    if (session === undefined || this.#closing !== null) return;
    this.#probes.probe(address, () => {
      if (this.#closing !== null) return;
      this.#dropWorker(
        session,
        now(),
        "could not be reached at its address (a missing-data report)",
      );
      void session.connection.abort("its listener refused a connection");
    });
  }

  /** A worker that died or stopped answering: its running tasks count it as a failure. */
  #dropWorker(session: WorkerSession, t: number, why: string, cause?: string): void {
    this.#forgetWorker(session, t, why, "lost", cause);
  }

  /** Takes a worker off the books and tells the state machine how it went; false if stale. */
  #forgetWorker(
    session: WorkerSession,
    t: number,
    why: string,
    how: "removed" | "lost",
    cause?: string,
  ): boolean {
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
        : { type: "worker-lost", worker, now: t, cause },
    );
    return true;
  }
}
