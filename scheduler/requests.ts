/**
 * The scheduler server's requests (docs/protocol.md §8): a client asks, the scheduler answers
 * once — `who-has`, `workers`, `task-progress`, `task-stream`, `story`, the scatter helpers, and
 * the administration requests: `restart` (every worker drops everything and registers again;
 * every held key is cancelled), `retire-workers` (unique data moves to other workers first, then
 * they close), `run` (a function called in every worker process), `replicate` (tree broadcast of
 * keys) and `rebalance` (even out bytes held). Their plans come from data_movement.ts; the state
 * machine carries them out; this waits for the copies. It reaches the server's connections and
 * event loop only through {@link RequestHost}.
 *
 * @module
 */

import { CoordinationError, type Dataset } from "./coordination/datasets.ts";
import { COORDINATION_METHODS, CoordinationRequests } from "./coordination/requests.ts";
import type { JournalBook, SharedStateRecord } from "./journal_book.ts";
import { UploadedModules } from "./uploads.ts";
import { adaptiveSnapshot, adaptiveTarget, type AdaptiveTargetOptions } from "./adaptive_target.ts";
import { errorMessage, recordFromError } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import { encode, type Encoded } from "../core/value_codec.ts";
import type { Connection } from "../net/wire.ts";
import type { PeerPool } from "../net/peer_pool.ts";
import {
  planRebalance,
  planReplicationRound,
  planRetirement,
  recipientsFor,
  resolveWorkers,
  uniqueKeys,
} from "./data_movement.ts";
import { isDataItem, isEncoded } from "../protocol/message_checks.ts";
import type { ClientId, ScatteredKey, WorkerAddress } from "../protocol/messages.ts";
import type { WorkerRecord } from "./records.ts";
import { SHARED_IDENTITY } from "./tenancy.ts";
import { TenancyChecks } from "./tenancy_checks.ts";
import { RequestError } from "./request_error.ts";
import type {
  DataItem,
  RebalanceResult,
  ReplicateResult,
  ReplyMsg,
  RequestMsg,
  RestartResult,
  RetireResult,
  RunMsg,
  RunOutcomes,
  WorkerInfo,
  WorkerListing,
} from "../protocol/session.ts";
import type { ReplicaTransfer, SchedulerEvent, SchedulerState } from "./state.ts";

/** Default seconds an administration request (restart, retire, replicate, rebalance) may take. */
const ADMIN_TIMEOUT_S = 60;
/** The most items one scatter places (2^24); larger scatters are split by the caller. */
const MAX_SCATTER_ITEMS = 1 << 24;
/** Copies requested for a retirement are requested again after this long without landing. */
const RETIRE_REREQUEST_MS = 5000;

/** The scheduler's clock, seconds since the epoch (what events carry as `now`). */
export const now = (): number => (performance.timeOrigin + performance.now()) / 1000;

/** A registered worker's connection. */
export interface WorkerSession {
  readonly address: WorkerAddress;
  readonly name: string;
  readonly connection: Connection;
  lastHeard: number;
  /** `run` requests sent to this worker and not answered yet. */
  readonly runs: Map<number, (outcome: RunOutcomes[string]) => void>;
}

/** What requests need of the server: its books, its connections and its event loop. */
export interface RequestHost {
  readonly state: SchedulerState;
  readonly sessions: ReadonlyMap<WorkerAddress, WorkerSession>;
  readonly clients: ReadonlyMap<ClientId, Connection>;
  readonly peers: PeerPool;
  /** Hands an event to the state machine. */
  feed(event: SchedulerEvent): void;
  /** Sends what the state machine said so far. */
  flush(): void;
  log(line: string): void;
  /** Calls `listener` after each batch of events; returns a function that unsubscribes. */
  onChange(listener: () => void): () => void;
  /** Forgets a worker's session (it was told to restart or close). */
  removeSession(session: WorkerSession, t: number, why: string): void;
  /** A dataset was published (or, with `null`, unpublished): the journal keeps it. */
  datasetChanged?(name: string, dataset: Dataset | null): void;
  /** A queue, variable, semaphore or lock changed: the journal keeps it (written at flush). */
  journal?(record: SharedStateRecord): void;
}

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

/** A request waited past its timeout (the client raises it as its own `TimeoutError`). */
class RequestTimeoutError extends Error {
  override name = "TimeoutError";
}

/** What clients learn of a worker at registration and from `workers`. */
export function workerInfo(w: WorkerRecord): WorkerInfo {
  return { address: w.address, name: w.name, nthreads: w.nthreads, memoryLimit: w.memoryLimit };
}

export class SchedulerRequests {
  readonly #host: RequestHost;
  #nextRunRequestId = 1;
  readonly #tenancy: TenancyChecks;

  /** Modules clients uploaded, for every worker (also those that register later). */
  readonly uploads: UploadedModules = new UploadedModules();

  /** Datasets, queues, variables, locks, events and semaphores clients coordinate through. */
  readonly #coordination: CoordinationRequests;

  constructor(host: RequestHost) {
    this.#host = host;
    this.#tenancy = new TenancyChecks(host.state);
    this.#coordination = new CoordinationRequests({
      asClient: (holder, msg) => {
        // a holder of its own (dataset, variable, queue) shares what it holds (tenancy.ts)
        const identity = SHARED_IDENTITY;
        host.feed({ type: "client-message", client: holder, msg, identity, now: now() });
        host.flush();
      },
      forget: (holder) => {
        host.feed({ type: "client-disconnected", client: holder, now: now() });
        host.flush();
      },
      toClient: (client, msg) => host.clients.get(client)?.send({ header: msg }),
      journal: host.journal === undefined ? undefined : (record) => host.journal!(record),
    });
  }

  /** Publishes a dataset the journal kept (its keys are held by the replay already). */
  restoreDataset(name: string, dataset: Dataset): void {
    this.#coordination.datasets.put(name, dataset, true);
  }

  /** Brings back the queues, variables, semaphores and locks the journal kept. */
  restoreShared(book: JournalBook): void {
    this.#coordination.restore(book);
  }

  /** A client disconnected: its leases return and what it held for others is let go. */
  clientGone(clientId: ClientId): void {
    this.#coordination.clientGone(clientId);
  }

  /**
   * Answers one request on the connection it came from (errors become error replies). An answer
   * known now is sent now. An administration request that waits (restart, replicate, a relayed
   * scatter) returns a promise the server awaits before the client's next message, so one
   * client's operations happen in the order it sent them. A shared-state request that waits (a
   * queue get, a lock, an event) does not hold the client back: its answer goes when ready
   * while the client's later messages and requests are handled, as Dask's RPCs beside its
   * batched stream — a client waiting on `queue.get()` can still put, submit and release.
   */
  handle(clientId: ClientId, connection: Connection, msg: RequestMsg): Promise<void> | undefined {
    let result: unknown;
    try {
      result = this.#answer(clientId, msg.method, msg.params ?? {});
    } catch (error) {
      this.#reply(clientId, connection, msg, { error });
      return undefined;
    }
    if (!(result instanceof Promise)) {
      this.#reply(clientId, connection, msg, { value: result });
      return undefined;
    }
    const replied = result.then(
      (value) => this.#reply(clientId, connection, msg, { value }),
      (error) => this.#reply(clientId, connection, msg, { error }),
    );
    if (!COORDINATION_METHODS.has(msg.method)) return replied;
    replied.catch((error) => this.#host.log(`answering ${msg.method}: ${errorMessage(error)}`));
    return undefined;
  }

  #reply(
    clientId: ClientId,
    connection: Connection,
    msg: RequestMsg,
    outcome: { value: unknown } | { error: unknown },
  ): void {
    let reply: ReplyMsg | undefined;
    if ("value" in outcome) {
      try {
        if (msg.method === "publish-put" || msg.method === "publish-delete") {
          const name = String(msg.params?.name);
          this.#host.datasetChanged?.(name, this.#coordination.datasets.get(name) ?? null);
        }
        reply = { op: "reply", requestId: msg.requestId, result: outcome.value };
      } catch (error) {
        outcome = { error };
      }
    }
    if (reply === undefined) {
      const { error } = outcome as { error: unknown };
      if (!(error instanceof RequestError) && !(error instanceof CoordinationError)) {
        this.#host.log(
          `request ${msg.method} of client ${clientId} failed: ${errorMessage(error)}`,
        );
      }
      reply = { op: "reply", requestId: msg.requestId, error: recordFromError(error) };
    }
    // Whatever the state machine said before this answer is delivered first.
    this.#host.flush();
    try {
      connection.send({ header: reply });
    } catch (error) {
      // an answer that cannot travel must not end the scheduler: the client hears why
      if (!("value" in outcome)) throw error;
      this.#reply(clientId, connection, msg, { error });
    }
  }

  #answer(
    clientId: ClientId,
    method: string,
    params: Record<string, unknown>,
  ): unknown | Promise<unknown> {
    switch (method) {
      case "who-has": {
        const result: Record<Key, WorkerAddress[]> = {};
        const state = this.#host.state;
        for (const key of keyList(params, method)) {
          result[key] = state.mayRead(clientId, key) ? state.whoHas(key) : [];
        }
        return result;
      }
      case "relay-gather":
        return this.#relayGather(clientId, keyList(params, method));
      case "workers":
        return this.#workerStatuses();
      case "scatter-targets": {
        const n = params.n;
        // an answer of n addresses: a few bytes must not make the scheduler build gigabytes
        if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > MAX_SCATTER_ITEMS) {
          throw new RequestError(
            `scatter-targets needs params {n: number of items, at most ${MAX_SCATTER_ITEMS}}`,
          );
        }
        return this.#scatterTargets(n as number, params.workers, params.broadcast === true);
      }
      case "relay-scatter":
        return this.#relayScatter(clientId, params);
      case "restart":
        this.#tenancy.checkAdmin(clientId, method);
        return this.#restart(timeoutOf(params));
      case "retire-workers":
        this.#tenancy.checkAdmin(clientId, method);
        return this.#retireWorkers(params);
      case "adaptive-target":
        return adaptiveTarget(adaptiveSnapshot(this.#host.state), adaptiveOptions(params));
      case "run":
        this.#tenancy.checkAdmin(clientId, method);
        return this.#run(params);
      case "replicate":
        // a client identity copies its own keys only
        if (this.#tenancy.enabled) this.#tenancy.readable(clientId, keyList(params, method));
        return this.#replicate(params);
      case "rebalance":
        this.#tenancy.checkAdmin(clientId, method);
        return this.#rebalance(params);
      case "task-progress":
        return this.#host.state.taskProgress(
          this.#tenancy.readable(clientId, keyList(params, method)),
        );
      case "story": {
        if (typeof params.key !== "string") {
          throw new RequestError("story needs params {key: the key whose transitions to tell}");
        }
        this.#tenancy.readable(clientId, [params.key]);
        return this.#host.state.story(params.key);
      }
      case "task-stream": {
        // what ran since a client's last look (performance reports)
        const since = typeof params.since === "number" ? params.since : 0;
        const entries = this.#host.state.taskStream.since(since);
        return {
          total: this.#host.state.taskStream.total,
          entries: this.#tenancy.enabled
            ? entries.filter((entry) => this.#host.state.mayRead(clientId, entry.key))
            : entries,
        };
      }
      case "upload-file": {
        // code every tenant's tasks may import: the cluster's own clients only, as `run`
        this.#tenancy.checkAdmin(clientId, method);
        let msg;
        try {
          msg = this.uploads.put(params.name, params.source);
        } catch (error) {
          throw new RequestError((error as Error).message);
        }
        for (const session of this.#host.sessions.values()) {
          session.connection.send({ header: msg });
        }
        return null;
      }
      default:
        if (COORDINATION_METHODS.has(method)) {
          // what a client puts in a dataset, variable or queue is shared: only its own keys
          const shared = params.keys;
          if (Array.isArray(shared)) this.#tenancy.readable(clientId, shared as Key[]);
          this.#tenancy.checkPublisher(clientId, method, params.name);
          return this.#coordination.answer(method, params, clientId);
        }
        throw new RequestError(
          `unknown request method ${JSON.stringify(method)}; this scheduler answers who-has, ` +
            `workers, scatter-targets, relay-scatter, relay-gather, restart, retire-workers, adaptive-target, ` +
            `run, replicate, rebalance, task-progress, task-stream, story and upload-file`,
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
      const unsubscribe = this.#host.onChange(check);
      const poll = setInterval(check, pollMs);
      const timer = setTimeout(() => finish(done()), ms);
    });
  }

  /** Workers named by `ids` (names or addresses); unknown ones are an error naming them. */
  #workersNamed(ids: unknown, what: string): WorkerRecord[] {
    if (!Array.isArray(ids) || !ids.every((w) => typeof w === "string")) {
      throw new RequestError(`${what} needs workers as a list of worker names or addresses`);
    }
    const { found, unknown } = resolveWorkers(this.#host.state, ids);
    if (unknown.length > 0) {
      throw new RequestError(
        `${what}: no worker is named ${unknown.map((w) => JSON.stringify(w)).join(", ")}; ` +
          `connected: ${JSON.stringify([...this.#host.state.workers.values()].map((w) => w.name))}`,
      );
    }
    return found;
  }

  /**
   * Forgets every task (holders get `cancelled`), tells every worker to drop everything and
   * register again, and resolves once as many workers are back (a TimeoutError if not in time).
   */
  async #restart(timeoutS: number): Promise<RestartResult> {
    const sessions = [...this.#host.sessions.values()];
    this.#host.log(`restarting ${sessions.length} workers at a client's request`);
    const t = now();
    this.#host.feed({ type: "restart", now: t });
    for (const session of sessions) {
      session.connection.send({ header: { op: "restart", reason: "a client asked to restart" } });
      this.#host.removeSession(session, t, "is restarting");
    }
    this.#host.flush();
    const names = new Set(sessions.map((s) => s.name));
    const back = () => {
      let count = 0;
      for (const session of this.#host.sessions.values()) if (names.has(session.name)) count++;
      return count >= names.size;
    };
    if (!await this.#waitUntil(back, timeoutS * 1000)) {
      this.#host.log(`restart: not every worker came back within ${timeoutS} s`);
      // as in Dask: a restart whose workers are not all back in time fails
      throw new RequestTimeoutError(
        `restart: ${this.#host.sessions.size} of ${names.size} workers came back within ` +
          `${timeoutS} s; the others may still be starting (check their logs), or restart ` +
          `with a longer { timeout }.`,
      );
    }
    return { workers: this.#host.sessions.size };
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
      leaving = [...this.#host.state.workers.values()].sort((a, b) => a.nbytes - b.nbytes)
        .slice(0, params.n as number);
    } else {
      throw new RequestError("retire-workers needs params {workers: names or addresses} or {n}");
    }
    if (leaving.length === 0) return { retired: [] };
    const unique = uniqueKeys(leaving);
    if (unique.length > 0 && recipientsFor(this.#host.state, leaving).length === 0) {
      throw new RequestError(
        `cannot retire ${leaving.map((w) => w.name).join(", ")}: they hold ${unique.length} ` +
          `keys no other worker has, and no other running worker could take them. Start ` +
          `another worker first, or release those keys.`,
      );
    }
    const addresses = leaving.map((w) => w.address);
    this.#host.log(
      `retiring ${addresses.join(", ")}: moving ${unique.length} keys they alone hold`,
    );
    this.#host.feed({ type: "retire-workers", workers: addresses, now: now() });
    const requested = new Map<Key, number>();
    const deadline = Date.now() + timeoutS * 1000;
    const live = () => leaving.filter((w) => this.#host.state.workers.get(w.address) === w);
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
      const transfers = planRetirement(this.#host.state, still, recent);
      if (transfers.length > 0) {
        for (const transfer of transfers) requested.set(transfer.key, Date.now());
        this.#host.feed({ type: "acquire-replicas", transfers, now: now() });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const retired: WorkerAddress[] = [];
    for (const worker of live()) {
      const session = this.#host.sessions.get(worker.address);
      if (session === undefined) continue;
      const left = uniqueKeys([worker]).length;
      session.connection.send({ header: { op: "close", reason: "retired" } });
      this.#host.removeSession(
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
    let sessions = [...this.#host.sessions.values()];
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
      if (this.#host.state.tasks.get(key)?.state !== "memory") {
        throw new RequestError(
          `replicate: ${key} is not in memory (wait for its future to finish, then replicate)`,
        );
      }
    }
    const deadline = Date.now() + timeoutOf(params) * 1000;
    while (Date.now() < deadline) {
      const pool = candidates?.filter((w) => this.#host.state.runningWorkers.get(w.address) === w);
      const { transfers, drops } = planReplicationRound(this.#host.state, keys, n, pool);
      if (drops.length > 0) this.#host.feed({ type: "drop-replicas", drops, now: now() });
      if (transfers.length === 0) break;
      this.#host.feed({ type: "acquire-replicas", transfers, now: now() });
      await this.#waitUntil(() => this.#landed(transfers), deadline - Date.now());
    }
    const result: ReplicateResult = {};
    for (const key of keys) result[key] = this.#host.state.tasks.get(key)?.whoHas.size ?? 0;
    return result;
  }

  /** True once every transfer landed or cannot land any more. */
  #landed(transfers: ReplicaTransfer[]): boolean {
    for (const { worker, key } of transfers) {
      const record = this.#host.state.workers.get(worker);
      const task = this.#host.state.tasks.get(key);
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
    const moves = planRebalance(this.#host.state, { keys, candidates });
    if (moves.length === 0) return { moved: 0, bytes: 0 };
    const transfers = moves.map((m) => ({ worker: m.to, key: m.key, sources: [m.from] }));
    this.#host.feed({ type: "acquire-replicas", transfers, now: now() });
    await this.#waitUntil(() => this.#landed(transfers), timeoutOf(params) * 1000);
    // Only copies that arrived let the sender drop its own.
    const done = moves.filter((m) => {
      const to = this.#host.state.workers.get(m.to);
      return to !== undefined && this.#host.state.tasks.get(m.key)?.whoHas.has(to) === true;
    });
    this.#host.feed({
      type: "drop-replicas",
      drops: done.map((m) => ({ worker: m.from, key: m.key })),
      now: now(),
    });
    this.#host.log(`rebalance moved ${done.length} copies`);
    return { moved: done.length, bytes: done.reduce((sum, m) => sum + Math.max(0, m.nbytes), 0) };
  }

  #workerStatuses(): WorkerListing[] {
    return [...this.#host.state.workers.values()].map((w) => ({
      ...workerInfo(w),
      memory: typeof w.metrics.memory === "number" ? w.metrics.memory : w.nbytes,
      executing: typeof w.metrics.executing === "number"
        ? w.metrics.executing
        : Math.min(w.processing.size, w.nthreads),
      inMemory: w.hasWhat.size,
      spilled: typeof w.metrics.spilled === "number" ? w.metrics.spilled : 0,
      spillFull: w.metrics.spillFull === 1,
      status: this.#host.state.workerStatus(w.address) ?? "running",
      metrics: w.metrics,
    }));
  }

  /**
   * Where `n` scattered items go: without `broadcast`, one address per item, spread round-robin
   * over the allowed workers holding the fewest bytes first; with `broadcast`, every allowed
   * worker (each item goes to all of them).
   */
  #scatterTargets(n: number, workers: unknown, broadcast: boolean): WorkerAddress[] {
    let candidates = [...this.#host.state.workers.values()];
    if (workers !== undefined) {
      if (!Array.isArray(workers) || !workers.every((w) => typeof w === "string")) {
        throw new RequestError("workers must be a list of worker names or addresses");
      }
      const allowed = new Set(workers);
      candidates = candidates.filter((w) => allowed.has(w.address) || allowed.has(w.name));
      if (candidates.length === 0) {
        throw new RequestError(
          `none of the workers ${JSON.stringify(workers)} is connected; connected: ${
            JSON.stringify([...this.#host.state.workers.values()].map((w) => w.name))
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

  /**
   * Fetches values for a client that does not reach workers itself (a client identity): only
   * keys it may read; keys no holder gave are absent from the answer (the client retries).
   */
  async #relayGather(clientId: ClientId, keys: Key[]): Promise<{ key: Key; value: Encoded }[]> {
    this.#tenancy.readable(clientId, keys);
    const byWorker = new Map<WorkerAddress, Key[]>();
    for (const key of keys) {
      const holders = this.#host.state.whoHas(key);
      if (holders.length === 0) continue;
      const worker = holders[Math.floor(Math.random() * holders.length)];
      let list = byWorker.get(worker);
      if (list === undefined) byWorker.set(worker, list = []);
      list.push(key);
    }
    const asked = [...byWorker];
    const replies = await Promise.allSettled(
      asked.map(([worker, list]) => this.#host.peers.getData(worker, list)),
    );
    const items: { key: Key; value: Encoded }[] = [];
    replies.forEach((reply, i) => {
      const [errantWorker, list] = asked[i];
      let keys = list;
      if (reply.status === "fulfilled") {
        for (const item of reply.value.items) items.push({ key: item.key, value: item.value });
        const given = new Set(reply.value.items.map((item) => item.key));
        keys = list.filter((key) => !given.has(key));
      }
      // the holders that did not give keys are reported as the client itself would report them
      if (keys.length > 0 && this.#host.clients.has(clientId)) {
        const msg = { op: "missing-data" as const, keys, errantWorker };
        this.#host.feed({ type: "client-message", client: clientId, msg, now: now() });
      }
    });
    return items;
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
    this.#tenancy.writable(clientId, items.map((item) => item.key));
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
      sends.map(([address, list]) => this.#host.peers.updateData(address, list, false)),
    );
    const failed = outcomes.findIndex((o) => o.status === "rejected");
    if (failed >= 0) {
      // The workers that did store the data keep it for nobody: tell them to drop it, unless
      // the books already count a copy there.
      sends.forEach(([address, list], i) => {
        if (outcomes[i].status === "rejected") return;
        const keys = list.map((item) => item.key).filter((key) =>
          !this.#host.state.whoHas(key).includes(address)
        );
        const session = this.#host.sessions.get(address);
        if (keys.length > 0) session?.connection.send({ header: { op: "free-keys", keys } });
      });
      const [address, list] = sends[failed];
      throw new RequestError(
        `relaying ${list.length} scattered values to worker ${address} failed: ` +
          `${errorMessage((outcomes[failed] as PromiseRejectedResult).reason)}`,
      );
    }
    if (this.#host.clients.has(clientId)) {
      this.#host.feed({
        type: "client-message",
        client: clientId,
        msg: { op: "scatter", data: placed },
        now: now(),
      });
    }
    return placed;
  }
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
