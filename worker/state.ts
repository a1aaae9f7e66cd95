/**
 * The worker's state machine: pure, no I/O, no clock. The worker server feeds it
 * {@link WorkerEvent}s (scheduler messages, finished threads, finished transfers, data put into
 * the store) and carries out the {@link WorkerInstruction}s it produces: run tasks on threads,
 * fetch data from peers, send messages to the scheduler, drop data from the store.
 *
 * Compute tasks go `waiting → ready → executing → memory | error`; their inputs go
 * `fetch → flight → memory` (or `missing` when no holder has them). Ready tasks run highest
 * priority first, one per free thread (and free resources), plus short tasks queued behind them so
 * threads get them in batches (`shortTaskBatchSeconds` of expected work). Transfers are batched:
 * one request per peer carrying many keys (gather_planner.ts).
 *
 * The store belongs to the server: it stores a thread's result or a transfer's data *before*
 * handing the event here, and drops keys when told to (`free`).
 *
 * @module
 */

import { resourcesFree } from "../core/resources.ts";
import { KIND_BY_TAG } from "../core/codec_kinds.ts";
import type { ErrorRecord } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import { IndexedHeap } from "../core/priority_heap.ts";
import type {
  ComputeTaskMsg,
  KeyLocation,
  Priority,
  SchedulerToWorkerMsg,
  StealResponseState,
  TaskFinishedMsg,
  WorkerAddress,
  WorkerToSchedulerMsg,
} from "../protocol/messages.ts";
import { GatherPlanner, type GatherRequest } from "./gather_planner.ts";
import { WorkerTask, type WorkerTaskState } from "./worker_task.ts";

export interface WorkerStateConfig {
  /** This worker's address (never fetch from yourself). */
  address: WorkerAddress;
  nthreads: number;
  /** Abstract resources, e.g. `{ GPU: 2 }`. */
  resources?: Record<string, number>;
  /** Bytes; 0 for unlimited. */
  memoryLimit?: number;
  /** Concurrent incoming transfers (Dask: 10). */
  transferIncomingCountLimit?: number;
  /** Bytes per transfer request (Dask: 50 MB). */
  transferMessageBytesLimit?: number;
  /** Bytes in flight over all transfers; default 10% of memoryLimit, else unlimited. */
  transferIncomingBytesLimit?: number;
  /**
   * Seconds of expected work (the scheduler's `duration` estimates) per thread that may be
   * handed out beyond one task per thread, so that short tasks reach the threads in batches
   * instead of one message and one wait each. 0 keeps one task per thread. Default 0.005.
   */
  shortTaskBatchSeconds?: number;
  /** The most tasks handed out per thread at once, however short. Default 256. */
  maxTasksPerThread?: number;
}

/** The result of running a task, as the thread pool reports it. */
export type ThreadResult =
  | { ok: true; nbytes: number; typeName: string }
  | { ok: false; error: ErrorRecord };

/** Data that arrived in the store. */
export interface ReceivedData {
  key: Key;
  nbytes: number;
  typeName: string;
}

/** Everything that can happen to a worker. `now` is the time in seconds. */
export type WorkerEvent =
  | { type: "scheduler-message"; msg: SchedulerToWorkerMsg; now: number }
  /** A thread ran `key`; on success the result is already in the store. */
  | {
    type: "thread-finished";
    key: Key;
    result: ThreadResult;
    start: number;
    stop: number;
    thread?: number;
    now: number;
  }
  /**
   * A `gather-dependencies` request was answered: `data` is in the store; requested keys not in
   * `data` were not on that peer.
   */
  | { type: "gather-done"; requestId: number; data: ReceivedData[]; now: number }
  /** A `gather-dependencies` request failed: the peer could not be reached. */
  | { type: "gather-failed"; requestId: number; reason: string; now: number }
  /** Data put into the store from outside (scatter). `report`: tell the scheduler. */
  | { type: "update-data"; data: ReceivedData[]; report: boolean; now: number }
  /**
   * The process is short of memory: start no task and no transfer until `resume` (tasks running
   * finish; peers are still served).
   */
  | { type: "pause"; now: number }
  /** Memory fell back: run and fetch again. */
  | { type: "resume"; now: number };

/** One task to run on a thread. Inputs are in the store under `deps`. */
export interface ExecuteSpec {
  key: Key;
  runId: number;
  fn: unknown;
  args: unknown;
  deps: Key[];
  resources: Readonly<Record<string, number>> | null;
}

/** What the server must do. */
export type WorkerInstruction =
  /**
   * Run these tasks, one batch per event: as many as there are free threads, plus short tasks
   * to queue on busy threads (run in the order given).
   */
  | { type: "execute"; tasks: ExecuteSpec[] }
  /** Ask `peer` for `keys` in one request; answer with gather-done or gather-failed. */
  | {
    type: "gather-dependencies";
    requestId: number;
    peer: WorkerAddress;
    keys: Key[];
    nbytes: number;
  }
  | { type: "send-to-scheduler"; msg: WorkerToSchedulerMsg }
  /** Drop these keys from the store. */
  | { type: "free"; keys: Key[] };

const LOWEST_PRIORITY: Priority = [Infinity, Infinity, Infinity];
/**
 * A task queued behind a running one holds its inputs in its thread until it runs — copies of
 * their bodies and small frames — so only tasks with small inputs are queued that way.
 */
const MAX_BATCHED_INPUT_BYTES = 1 << 20;
/**
 * Whether a value of this type is one buffer: the worker shares those with its threads (large
 * frames are shared memory, worker/server.ts), so a queued task holds no copy of them.
 */
function isOneBuffer(typeName: string): boolean {
  return KIND_BY_TAG[typeName] !== undefined || typeName === "ArrayBuffer" ||
    typeName === "NDArray";
}

export class WorkerState {
  readonly address: WorkerAddress;
  readonly nthreads: number;
  readonly resources: Readonly<Record<string, number>>;
  readonly usedResources: Record<string, number> = {};
  readonly tasks = new Map<Key, WorkerTask>();
  /** Keys in memory → bytes, least recently used first (room for spilling). */
  readonly memory = new Map<Key, number>();
  /** Bytes in `memory`. */
  memoryBytes = 0;
  /**
   * Tasks handed to threads: one running per thread, and beyond that short tasks (without
   * resources) waiting in a thread's batch, within `shortTaskBatchSeconds` of expected work.
   */
  executing = 0;
  /** Expected seconds of the tasks handed to threads (sum of their `duration` estimates). */
  #executingSeconds = 0;
  readonly #batchSeconds: number;
  readonly #maxExecuting: number;
  /** Time of the latest event, seconds. */
  now = 0;
  /** Paused for lack of memory: nothing starts (see the `pause` event). */
  paused = false;
  readonly #ready = new IndexedHeap<WorkerTask>();
  /** Ready tasks whose resources were not free. */
  readonly #constrained = new IndexedHeap<WorkerTask>();
  readonly #gather: GatherPlanner;
  /** Tasks in fetch/flight/missing per peer believed to hold them. */
  readonly #hasWhat = new Map<WorkerAddress, Set<WorkerTask>>();
  #instructions: WorkerInstruction[] = [];
  #toFree: Key[] = [];
  #released: Key[] = [];
  #fetchChanged = false;

  constructor(config: WorkerStateConfig) {
    if (!(config.nthreads >= 1)) {
      throw new RangeError(`A worker needs at least one thread, got nthreads=${config.nthreads}.`);
    }
    this.address = config.address;
    this.nthreads = config.nthreads;
    this.resources = config.resources ?? {};
    this.#batchSeconds = config.nthreads * (config.shortTaskBatchSeconds ?? 0.005);
    this.#maxExecuting = config.nthreads * Math.max(1, config.maxTasksPerThread ?? 256);
    const memoryLimit = config.memoryLimit ?? 0;
    this.#gather = new GatherPlanner({
      maxConcurrentRequests: config.transferIncomingCountLimit ?? 10,
      maxBytesPerRequest: config.transferMessageBytesLimit ?? 50e6,
      maxInFlightBytes: config.transferIncomingBytesLimit ??
        (memoryLimit > 0 ? 0.1 * memoryLimit : Infinity),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Entry points

  /** Applies one event; instructions wait in {@link takeInstructions}. */
  handle(event: WorkerEvent): void {
    this.now = event.now;
    switch (event.type) {
      case "scheduler-message":
        this.#schedulerMessage(event.msg);
        break;
      case "thread-finished":
        this.#threadFinished(event.key, event.result, event.start, event.stop, event.thread);
        break;
      case "gather-done":
        this.#gatherDone(event.requestId, event.data);
        break;
      case "gather-failed":
        this.#gatherFailed(event.requestId);
        break;
      case "update-data":
        this.#updateData(event.data, event.report);
        break;
      case "pause":
        this.paused = true;
        break;
      case "resume":
        if (this.paused) {
          this.paused = false;
          this.#fetchChanged = true;
        }
        break;
    }
    this.#settle();
  }

  /** Returns the instructions produced since the last call, in order. */
  takeInstructions(): WorkerInstruction[] {
    const out = this.#instructions;
    this.#instructions = [];
    return out;
  }

  /** Tasks ready to run (not counting those waiting for resources). */
  get readyCount(): number {
    return this.#ready.size + this.#constrained.size;
  }

  /** Transfers running. */
  get transfersInFlight(): number {
    return this.#gather.inFlight.size;
  }

  /** Bytes being transferred in. */
  get transferBytesInFlight(): number {
    return this.#gather.inFlightBytes;
  }

  /** Tasks per state. O(tasks). */
  stateCounts(): Record<WorkerTaskState, number> {
    const counts: Record<WorkerTaskState, number> = {
      waiting: 0,
      ready: 0,
      executing: 0,
      memory: 0,
      error: 0,
      fetch: 0,
      flight: 0,
      missing: 0,
      released: 0,
    };
    for (const task of this.tasks.values()) counts[task.state]++;
    return counts;
  }

  /**
   * Checks every invariant and throws on the first violation. O(tasks): for tests and debugging.
   */
  validate(): void {
    const fail = (what: string): never => {
      throw new Error(`WorkerState ${this.address} invariant violated: ${what}`);
    };
    let executing = 0;
    const used: Record<string, number> = {};
    let memoryBytes = 0;
    for (const [key, task] of this.tasks) {
      const state = task.state;
      if (task.key !== key) fail(`${task.key} filed under ${key}`);
      if (state === "released") fail(`released ${key} is still in tasks`);
      if (state === "executing") {
        executing++;
        for (const name in task.resources ?? {}) {
          used[name] = (used[name] ?? 0) + task.resources![name];
        }
      }
      if (state === "fetch" && task.whoHas.size === 0) fail(`${key} fetches from nobody`);
      if (state === "missing" && task.whoHas.size > 0) fail(`${key} missing with holders`);
      if ((state === "flight") !== (task.flightPeer !== null)) fail(`${key} flight peer`);
      if ((state === "memory") !== this.memory.has(key)) fail(`${key} memory map disagrees`);
      if (state === "memory") memoryBytes += this.memory.get(key)!;
      if (state === "ready" && !this.#ready.has(task) && !this.#constrained.has(task)) {
        fail(`${key} ready but not queued to run`);
      }
      if (state === "waiting" || state === "ready") {
        if (!task.assigned && task.dependents.size === 0) fail(`${key} runs for nobody`);
        let notHere = 0;
        for (const dep of task.dependencies) {
          if (this.tasks.get(dep.key) !== dep) fail(`${key} reads dropped ${dep.key}`);
          if (!dep.dependents.has(task)) fail(`${dep.key} does not list dependent ${key}`);
          if (dep.state !== "memory") notHere++;
        }
        if (state === "waiting" && (notHere === 0 || notHere !== task.waitingFor)) {
          fail(`${key} waits for ${task.waitingFor} inputs, ${notHere} are not here`);
        }
        if (state === "ready" && notHere > 0) fail(`${key} ready without its inputs`);
      }
      for (const dependent of task.dependents) {
        if (!dependent.dependencies.includes(task)) fail(`${dependent.key} lost input ${key}`);
      }
      if (
        (state === "fetch" || state === "missing" || state === "memory") && !task.assigned &&
        !task.acquired && task.dependents.size === 0
      ) fail(`${key} (${state}) is kept for nothing`);
    }
    if (executing !== this.executing) fail(`executing ${this.executing}, tasks say ${executing}`);
    if (executing > this.#maxExecuting) fail(`${executing} tasks on ${this.nthreads} threads`);
    for (const name in this.usedResources) {
      const amount = this.usedResources[name];
      if (Math.abs(amount - (used[name] ?? 0)) > 1e-9) fail(`resource ${name} books`);
      if (amount > (this.resources[name] ?? 0) + 1e-9) fail(`resource ${name} oversubscribed`);
    }
    if (memoryBytes !== this.memoryBytes) fail(`memoryBytes ${this.memoryBytes} != ${memoryBytes}`);
  }

  // -------------------------------------------------------------------------------------------
  // Scheduler messages

  #schedulerMessage(msg: SchedulerToWorkerMsg): void {
    switch (msg.op) {
      case "compute-task":
        return this.#computeTask(msg);
      case "free-keys":
        for (const key of msg.keys) this.#freeKey(key);
        return;
      case "steal-request":
        return this.#stealRequest(msg.key, msg.stealId);
      case "acquire-replicas":
        return this.#acquireReplicas(msg.keys);
      case "refresh-who-has":
        for (const location of msg.keys) this.#refreshWhoHas(location);
        return;
    }
  }

  #computeTask(msg: ComputeTaskMsg): void {
    const task = this.#taskOf(msg.key, msg.priority);
    task.assigned = true;
    task.runId = msg.runId;
    task.returnValue = msg.returnValue === true;
    task.fn = msg.fn;
    task.args = msg.args;
    task.resources = msg.resources;
    task.duration = msg.duration;
    task.depLocations = msg.deps;
    switch (task.state) {
      case "memory":
        // Already here (computed before, or fetched): done.
        task.reported = true;
        this.#reportFinished(task);
        return;
      case "executing":
        // Withdrawn and assigned again while running: the running execution serves.
        task.cancelled = false;
        return;
      case "waiting":
      case "ready":
        return;
      case "flight":
        // The data may arrive; if the transfer fails, compute it then.
        return;
      default:
        // released (new), fetch, missing, error: compute it.
        this.#dropHolders(task);
        task.error = null;
        this.#startCompute(task);
    }
  }

  /** Links the inputs of an assigned task and makes it waiting or ready. */
  #startCompute(task: WorkerTask): void {
    task.waitingFor = 0;
    task.flightPeer = null;
    const locations = task.depLocations;
    for (let i = 0; i < locations.length; i++) {
      const location = locations[i];
      const dep = this.#taskOf(location.key, task.priority);
      if (dep.dependents.has(task)) continue;
      task.dependencies.push(dep);
      dep.dependents.add(task);
      if (dep.state === "memory") continue;
      task.waitingFor++;
      switch (dep.state) {
        case "error":
          // The scheduler recomputed it elsewhere: this worker's error record is obsolete.
          dep.assigned = false;
          dep.error = null;
          // falls through
        case "released":
        case "missing":
          // Not here: fetch it from the holders the scheduler named.
          if (dep.nbytes < 0) dep.nbytes = location.nbytes;
          this.#setHolders(dep, location.workers);
          this.#toFetchOrMissing(dep);
          break;
        case "fetch":
        case "flight":
          for (const peer of location.workers) this.#addHolder(dep, peer);
          break;
        default:
          // waiting/ready/executing: computed here; it arrives when it is done.
          break;
      }
    }
    if (task.waitingFor === 0) this.#toReady(task);
    else task.state = "waiting";
  }

  #freeKey(key: Key): void {
    const task = this.tasks.get(key);
    if (task === undefined) return;
    // The scheduler no longer counts on this worker for the key.
    task.assigned = false;
    task.acquired = false;
    task.reported = false;
    this.#releaseIfUnneeded(task);
  }

  #stealRequest(key: Key, stealId: number): void {
    const task = this.tasks.get(key);
    let state: StealResponseState = null;
    if (task !== undefined && task.assigned) {
      state = task.state === "released" ? null : task.state;
      if (task.state === "waiting" || task.state === "ready") {
        if (task.dependents.size > 0) {
          // A local task reads it: keep it, as if it had started.
          state = "executing";
        } else {
          task.assigned = false;
          this.#releaseIfUnneeded(task);
        }
      } else if (task.state === "flight") {
        // Give up computing it; the transfer still lands if the data is needed here.
        task.assigned = false;
      }
    }
    this.#send({ op: "steal-response", key, stealId, state });
  }

  #acquireReplicas(locations: KeyLocation[]): void {
    const confirmed: { key: Key; nbytes: number }[] = [];
    for (const location of locations) {
      const task = this.#taskOf(location.key, LOWEST_PRIORITY);
      task.acquired = true;
      if (task.nbytes < 0) task.nbytes = location.nbytes;
      if (task.state === "memory") {
        task.reported = true;
        confirmed.push({ key: task.key, nbytes: task.nbytes });
      } else if (task.state === "released" || task.state === "missing" || task.state === "error") {
        task.error = null;
        this.#setHolders(task, location.workers);
        this.#toFetchOrMissing(task);
      } else if (task.state === "fetch" || task.state === "flight") {
        for (const peer of location.workers) this.#addHolder(task, peer);
      }
    }
    if (confirmed.length > 0) this.#send({ op: "add-keys", keys: confirmed });
  }

  #refreshWhoHas(location: KeyLocation): void {
    const task = this.tasks.get(location.key);
    if (task === undefined) return;
    const state = task.state;
    if (state !== "fetch" && state !== "flight" && state !== "missing") return;
    this.#setHolders(task, location.workers);
    if (state !== "flight") this.#toFetchOrMissing(task);
  }

  // -------------------------------------------------------------------------------------------
  // Threads

  #threadFinished(
    key: Key,
    result: ThreadResult,
    start: number,
    stop: number,
    thread: number | undefined,
  ): void {
    const task = this.tasks.get(key);
    if (task === undefined || task.state !== "executing") {
      // Not ours any more: do not keep an untracked result (unless the key is held otherwise).
      if (task === undefined && result.ok) this.#toFree.push(key);
      return;
    }
    this.executing--;
    this.#executingSeconds = this.executing === 0 ? 0 : this.#executingSeconds - task.duration;
    this.#releaseResources(task);
    const wanted = task.assigned && !task.cancelled;
    task.cancelled = false;
    if (result.ok) {
      task.nbytes = result.nbytes;
      task.typeName = result.typeName;
      if (wanted) {
        this.#toMemory(task);
        task.reported = true;
        this.#reportFinished(task, start, stop, thread);
      } else if (task.dependents.size > 0 || task.acquired) {
        // Withdrawn, but needed here: keep it and let the scheduler know the copy exists.
        this.#toMemory(task);
        task.reported = true;
        this.#send({ op: "add-keys", keys: [{ key, nbytes: result.nbytes }] });
      } else {
        this.#toFree.push(key);
        this.#drop(task);
      }
    } else if (wanted) {
      task.state = "error";
      task.error = result.error;
      this.#send({
        op: "task-erred",
        key,
        runId: task.runId,
        error: result.error,
        start,
        stop,
        thread,
      });
    } else {
      this.#drop(task);
    }
    this.#unlinkDependencies(task);
  }

  // -------------------------------------------------------------------------------------------
  // Transfers

  #gatherDone(requestId: number, data: ReceivedData[]): void {
    const request = this.#gather.finish(requestId);
    if (request === undefined) {
      for (const item of data) if (!this.tasks.has(item.key)) this.#toFree.push(item.key);
      return;
    }
    this.#fetchChanged = true;
    const received = new Map<Key, ReceivedData>();
    for (const item of data) received.set(item.key, item);
    const added: { key: Key; nbytes: number }[] = [];
    const missing: Key[] = [];
    for (const task of request.tasks) {
      const item = received.get(task.key);
      received.delete(task.key);
      if (task.state !== "flight" || task.flightPeer !== request.peer) {
        // Superseded while in flight (the data arrived another way): keep one copy only.
        if (item !== undefined && this.tasks.get(task.key)?.state !== "memory") {
          this.#toFree.push(task.key);
        }
        continue;
      }
      task.flightPeer = null;
      if (item !== undefined) {
        task.nbytes = item.nbytes;
        task.typeName = item.typeName;
        this.#dropHolders(task);
        if (task.assigned) {
          this.#toMemory(task);
          task.reported = true;
          this.#reportFinished(task);
        } else if (task.dependents.size > 0 || task.acquired) {
          this.#toMemory(task);
          task.reported = true;
          added.push({ key: task.key, nbytes: item.nbytes });
        } else {
          this.#toFree.push(task.key);
          this.#drop(task);
        }
      } else {
        missing.push(task.key);
        this.#removeHolder(task, request.peer);
        this.#afterFailedTransfer(task);
      }
    }
    // Data nobody asked this request for.
    for (const key of received.keys()) if (!this.tasks.has(key)) this.#toFree.push(key);
    if (added.length > 0) this.#send({ op: "add-keys", keys: added });
    if (missing.length > 0) {
      this.#send({ op: "missing-data", keys: missing, errantWorker: request.peer });
    }
  }

  #gatherFailed(requestId: number): void {
    const request = this.#gather.finish(requestId);
    if (request === undefined) return;
    this.#fetchChanged = true;
    const peer = request.peer;
    // The peer is unreachable: it holds nothing as far as this worker is concerned.
    const affected = this.#hasWhat.get(peer);
    this.#hasWhat.delete(peer);
    this.#gather.dropPeer(peer);
    const lost: Key[] = [];
    if (affected !== undefined) {
      for (const task of affected) {
        task.whoHas.delete(peer);
        if (task.state === "fetch" && task.whoHas.size === 0) {
          task.state = "missing";
          lost.push(task.key);
        }
      }
    }
    for (const task of request.tasks) {
      if (task.state !== "flight" || task.flightPeer !== peer) continue;
      task.flightPeer = null;
      this.#afterFailedTransfer(task);
      if ((task.state as WorkerTaskState) === "missing") lost.push(task.key);
    }
    // Without another holder the scheduler must say where the data is, or recompute it.
    if (lost.length > 0) this.#send({ op: "missing-data", keys: lost, errantWorker: peer });
  }

  /** A key that did not arrive: compute it if assigned, else fetch elsewhere, else drop. */
  #afterFailedTransfer(task: WorkerTask): void {
    if (task.assigned) {
      this.#dropHolders(task);
      this.#startCompute(task);
    } else if (task.dependents.size > 0 || task.acquired) {
      this.#toFetchOrMissing(task);
    } else {
      this.#drop(task);
    }
  }

  #updateData(data: ReceivedData[], report: boolean): void {
    const added: { key: Key; nbytes: number }[] = [];
    for (const item of data) {
      const task = this.#taskOf(item.key, LOWEST_PRIORITY);
      task.acquired = true;
      task.nbytes = item.nbytes;
      task.typeName = item.typeName;
      if (report) {
        task.reported = true;
        added.push({ key: item.key, nbytes: item.nbytes });
      }
      // Executing: the thread's result is the same data and lands through thread-finished.
      if (task.state === "memory" || task.state === "executing") continue;
      this.#ready.remove(task);
      this.#constrained.remove(task);
      this.#dropHolders(task);
      task.flightPeer = null;
      this.#toMemory(task);
      if (task.assigned) {
        this.#reportFinished(task);
      }
      this.#unlinkDependencies(task);
    }
    if (added.length > 0) this.#send({ op: "add-keys", keys: added });
  }

  // -------------------------------------------------------------------------------------------
  // Transitions

  #toReady(task: WorkerTask): void {
    task.state = "ready";
    this.#ready.push(task);
  }

  #toMemory(task: WorkerTask): void {
    task.state = "memory";
    task.error = null;
    const nbytes = task.nbytes > 0 ? task.nbytes : 0;
    if (!this.memory.has(task.key)) this.memoryBytes += nbytes;
    this.memory.set(task.key, nbytes);
    for (const dependent of task.dependents) {
      if (dependent.state === "waiting" && --dependent.waitingFor === 0) this.#toReady(dependent);
    }
  }

  #toFetchOrMissing(task: WorkerTask): void {
    task.flightPeer = null;
    if (task.whoHas.size === 0) {
      task.state = "missing";
      return;
    }
    task.state = "fetch";
    for (const peer of task.whoHas) this.#gather.enqueue(task, peer);
    this.#fetchChanged = true;
  }

  /** Drops a key that nothing here needs and the scheduler does not count on. */
  #releaseIfUnneeded(task: WorkerTask): void {
    if (task.assigned || task.acquired || task.dependents.size > 0) return;
    switch (task.state) {
      case "executing":
        // The thread cannot be stopped: discard its result when it comes.
        task.cancelled = true;
        return;
      case "flight":
        // Decided when the transfer lands.
        return;
      case "memory":
        this.#toFree.push(task.key);
        if (task.reported) this.#released.push(task.key);
        break;
      case "waiting":
      case "ready":
        this.#ready.remove(task);
        this.#constrained.remove(task);
        this.#unlinkDependencies(task);
        break;
    }
    this.#drop(task);
  }

  #drop(task: WorkerTask): void {
    if (task.state === "memory") {
      const nbytes = this.memory.get(task.key);
      if (nbytes !== undefined) {
        this.memory.delete(task.key);
        this.memoryBytes -= nbytes;
      }
    }
    this.#dropHolders(task);
    task.state = "released";
    task.assigned = false;
    task.reported = false;
    if (this.tasks.get(task.key) === task) this.tasks.delete(task.key);
  }

  /** A task no longer reads its inputs: inputs nothing else needs go. */
  #unlinkDependencies(task: WorkerTask): void {
    const deps = task.dependencies;
    for (let i = 0; i < deps.length; i++) {
      const dep = deps[i];
      dep.dependents.delete(task);
      this.#releaseIfUnneeded(dep);
    }
    deps.length = 0;
    task.waitingFor = 0;
  }

  // -------------------------------------------------------------------------------------------
  // Holders

  #setHolders(task: WorkerTask, peers: readonly WorkerAddress[]): void {
    this.#dropHolders(task);
    for (const peer of peers) this.#addHolder(task, peer);
  }

  #addHolder(task: WorkerTask, peer: WorkerAddress): void {
    if (peer === this.address || task.whoHas.has(peer)) return;
    task.whoHas.add(peer);
    let held = this.#hasWhat.get(peer);
    if (held === undefined) {
      held = new Set();
      this.#hasWhat.set(peer, held);
    }
    held.add(task);
    if (task.state === "fetch") {
      this.#gather.enqueue(task, peer);
      this.#fetchChanged = true;
    } else if (task.state === "missing") {
      this.#toFetchOrMissing(task);
    }
  }

  #removeHolder(task: WorkerTask, peer: WorkerAddress): void {
    if (!task.whoHas.delete(peer)) return;
    const held = this.#hasWhat.get(peer);
    if (held !== undefined) {
      held.delete(task);
      if (held.size === 0) this.#hasWhat.delete(peer);
    }
  }

  #dropHolders(task: WorkerTask): void {
    for (const peer of task.whoHas) {
      const held = this.#hasWhat.get(peer);
      if (held !== undefined) {
        held.delete(task);
        if (held.size === 0) this.#hasWhat.delete(peer);
      }
    }
    task.whoHas.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** The record of `key`, made (released, at `priority`) when there is none. */
  #taskOf(key: Key, priority: Priority): WorkerTask {
    let task = this.tasks.get(key);
    if (task === undefined) {
      task = new WorkerTask(key, "released", priority);
      this.tasks.set(key, task);
    }
    return task;
  }

  /** Tells the scheduler `task`'s result is here; the timing when this worker ran it. */
  #reportFinished(task: WorkerTask, start?: number, stop?: number, thread?: number): void {
    const msg: TaskFinishedMsg = {
      op: "task-finished",
      key: task.key,
      runId: task.runId,
      nbytes: task.nbytes,
      typeName: task.typeName,
    };
    if (start !== undefined && stop !== undefined) {
      msg.start = start;
      msg.stop = stop;
      msg.thread = thread;
    }
    this.#send(msg);
  }

  #send(msg: WorkerToSchedulerMsg): void {
    this.#instructions.push({ type: "send-to-scheduler", msg });
  }

  /** End of every event: frees, then executions, then transfers. */
  #settle(): void {
    if (this.#toFree.length > 0) {
      this.#instructions.push({ type: "free", keys: this.#toFree });
      this.#toFree = [];
    }
    if (this.#released.length > 0) {
      this.#send({ op: "release-worker-data", keys: this.#released });
      this.#released = [];
    }
    // Paused: whatever became runnable or fetchable waits for `resume`.
    if (this.paused) return;
    this.#startExecuting();
    if (this.#fetchChanged) {
      this.#fetchChanged = false;
      this.#startTransfers();
    }
  }

  #startExecuting(): void {
    let batch: ExecuteSpec[] | null = null;
    for (;;) {
      let task: WorkerTask | null;
      if (this.executing < this.nthreads) {
        task = this.#nextRunnable();
      } else {
        // Every thread busy: a short task joins a thread's batch, in priority order.
        const next = this.#ready.peek();
        if (
          next === undefined || next.resources !== null || this.executing >= this.#maxExecuting ||
          this.#executingSeconds + next.duration > this.#batchSeconds ||
          this.#inputBytes(next) > MAX_BATCHED_INPUT_BYTES
        ) break;
        task = this.#ready.pop()!;
      }
      if (task === null) break;
      task.state = "executing";
      this.executing++;
      this.#executingSeconds += task.duration;
      const resources = task.resources;
      if (resources !== null) {
        for (const name in resources) {
          this.usedResources[name] = (this.usedResources[name] ?? 0) + resources[name];
        }
      }
      const deps: Key[] = [];
      for (const dep of task.dependencies) {
        deps.push(dep.key);
        // Most recently used last: spilling takes from the front.
        const nbytes = this.memory.get(dep.key);
        if (nbytes !== undefined) {
          this.memory.delete(dep.key);
          this.memory.set(dep.key, nbytes);
        }
      }
      (batch ??= []).push({
        key: task.key,
        runId: task.runId,
        fn: task.fn,
        args: task.args,
        deps,
        resources,
      });
    }
    if (batch !== null) this.#instructions.push({ type: "execute", tasks: batch });
  }

  /** Bytes of a ready task's inputs (all in memory here). */
  /** Bytes of a task's inputs that its thread would get as copies. */
  #inputBytes(task: WorkerTask): number {
    let bytes = 0;
    for (const dep of task.dependencies) {
      if (!isOneBuffer(dep.typeName)) bytes += this.memory.get(dep.key) ?? 0;
    }
    return bytes;
  }

  /** The highest-priority ready task whose resources are free, or null. */
  #nextRunnable(): WorkerTask | null {
    const constrained = this.#constrained.peek();
    if (constrained !== undefined && this.#resourcesFree(constrained.resources!)) {
      return this.#constrained.pop()!;
    }
    for (;;) {
      const task = this.#ready.pop();
      if (task === undefined) return null;
      if (task.resources === null || this.#resourcesFree(task.resources)) return task;
      this.#constrained.push(task);
    }
  }

  #resourcesFree(required: Readonly<Record<string, number>>): boolean {
    return resourcesFree(this.resources, this.usedResources, required);
  }

  #releaseResources(task: WorkerTask): void {
    const resources = task.resources;
    if (resources === null) return;
    for (const name in resources) this.usedResources[name] -= resources[name];
  }

  #startTransfers(): void {
    const requests: GatherRequest[] = this.#gather.plan();
    for (const request of requests) {
      const keys: Key[] = [];
      for (const task of request.tasks) {
        task.state = "flight";
        keys.push(task.key);
      }
      this.#instructions.push({
        type: "gather-dependencies",
        requestId: request.id,
        peer: request.peer,
        keys,
        nbytes: request.nbytes,
      });
    }
  }
}
