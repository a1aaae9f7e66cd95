/**
 * The scheduler's state machine: pure, no I/O, no clock. The scheduler server feeds it
 * {@link SchedulerEvent}s (client and worker messages, workers joining and leaving, periodic
 * ticks) and sends the {@link Outgoing} messages it produces. docs/protocol.md describes every
 * message; this file holds the policy that connects them.
 *
 * Task states: `released → waiting → (queued | no-worker) → processing → memory | erred`, and
 * `forgotten` when nothing refers to a task any more. Each transition costs O(1) in the size of
 * the graph (it touches the task, its direct neighbours and its worker).
 *
 * Transitions that affect other tasks do not recurse: they *recommend* a new state for the other
 * task; recommendations run in order until none is left, each re-checking its preconditions, so
 * a chain of 100,000 releases needs no deep stack. Tasks that become ready are placed at the end
 * of the event in priority order.
 *
 * Outgoing messages accumulate in one outbox, in order; the server calls {@link
 * SchedulerState.takeOutgoing} after handling one or many events and writes one batch per
 * destination. Consecutive `free-keys` for one worker merge into one message.
 *
 * Workers are `running`, `paused` (short of memory) or `closing` (being retired): only running
 * workers receive new tasks or steal; the others finish what they hold. Administration events
 * (`acquire-replicas`, `drop-replicas`, `retire-workers`, `restart`) carry out what the server's
 * data-movement plans decide (scheduler/data_movement.ts).
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { Encoded } from "../core/value_codec.ts";
import { type Key, keyPrefix, type TaskOptions } from "../core/task.ts";
import { ArgsArena, packArgs, unpackArgs } from "./args_arena.ts";
import { IndexedHeap } from "../core/priority_heap.ts";
import {
  decideWorker,
  isRootish,
  type PlacementContext,
  rootishSlots,
  WAIT_FOR_RESOURCES,
} from "./placement.ts";
import {
  type ClientId,
  type ClientToSchedulerMsg,
  comparePriority,
  type ComputeTaskMsg,
  FIRE_AND_FORGET,
  type GraphTaskSpec,
  type KeyInMemoryMsg,
  type KeyLocation,
  type Priority,
  type SchedulerToClientMsg,
  type SchedulerToWorkerMsg,
  type StealResponseMsg,
  TASK_DONE,
  TASK_ERRED,
  TASK_PENDING,
  type TaskErredMsg,
  type TaskFinishedMsg,
  type UpdateGraphMsg,
  type WorkerAddress,
  type WorkerToSchedulerMsg,
} from "../protocol/messages.ts";
import type { WorkerRunState } from "../protocol/session.ts";
import {
  ClientRecord,
  hasFreeResources,
  type Recommendation,
  TaskRecord,
  WorkerRecord,
} from "./records.ts";
import { RingBuffer } from "../core/ring_buffer.ts";
import { TaskStream } from "./task_stream.ts";
import {
  killedWorkerError,
  lostDataError,
  missingDependencyError,
  unknownKeyError,
} from "./scheduler_errors.ts";
import { type StealHost, WorkStealing } from "./stealing.ts";
import {
  emptyStateCounts,
  type SchedulerTaskState,
  type StateCounts,
  TaskPrefixStats,
} from "./task_prefix_stats.ts";

export interface SchedulerConfig {
  /** Worker-to-worker bandwidth until workers report measurements, bytes/s. */
  bandwidth: number;
  /** Compute time assumed for a task prefix never seen finishing, seconds (Dask: 0.5). */
  unknownTaskDuration: number;
  /** Weight of a new sample in the per-prefix duration average (Dask: 0.5). */
  durationSmoothing: number;
  /**
   * Root-ish tasks a worker receives per thread before the rest wait on the scheduler (Dask:
   * 1.1). `Infinity` sends every ready task to a worker at once.
   */
  workerSaturation: number;
  /** Workers that may die while running a task before it errs with KilledWorker (Dask: 3). */
  allowedFailures: number;
  /** Move queued work from saturated to idle workers on `tick`. */
  stealing: boolean;
  /** Fixed cost of moving a task, seconds (Dask: 0.1). */
  stealLatency: number;
  /** Candidate tasks examined per `tick`. */
  maxStealChecksPerTick: number;
  /** Entries kept in the event log. */
  eventLogCapacity: number;
  /** Finished tasks kept in the task stream. */
  taskStreamCapacity: number;
}

export const DEFAULT_SCHEDULER_CONFIG: Readonly<SchedulerConfig> = Object.freeze({
  bandwidth: 100e6,
  unknownTaskDuration: 0.5,
  durationSmoothing: 0.5,
  workerSaturation: 1.1,
  allowedFailures: 3,
  stealing: true,
  stealLatency: 0.1,
  maxStealChecksPerTick: 1000,
  eventLogCapacity: 10_000,
  taskStreamCapacity: 100_000,
});

/** A worker that joined, as its server registered it. */
export interface WorkerSpec {
  address: WorkerAddress;
  /** A stable name for `workers` restrictions; defaults to the address. */
  name?: string;
  nthreads: number;
  /** Bytes, or 0 when unlimited. */
  memoryLimit?: number;
  resources?: Record<string, number>;
  /**
   * Data the worker already holds (it reconnected). Copies of keys the scheduler is computing or
   * waiting for are adopted instead of recomputed.
   */
  keys?: { key: Key; nbytes: number; typeName?: string }[];
}

/** One copy to make: `worker` fetches `key` from `sources` (any holder when none is alive). */
export interface ReplicaTransfer {
  worker: WorkerAddress;
  key: Key;
  sources: WorkerAddress[];
}

/** One copy to drop: `worker` forgets `key` (never the last copy). */
export interface ReplicaDrop {
  worker: WorkerAddress;
  key: Key;
}

/** Everything that can happen to the scheduler. `now` is the time in seconds. */
export type SchedulerEvent =
  | { type: "client-connected"; client: ClientId; now: number }
  | { type: "client-disconnected"; client: ClientId; now: number }
  | { type: "client-message"; client: ClientId; msg: ClientToSchedulerMsg; now: number }
  | { type: "worker-added"; worker: WorkerSpec; now: number }
  /** The worker left on purpose (closed, retired): its tasks move without blame. */
  | { type: "worker-removed"; worker: WorkerAddress; now: number }
  /** The worker died or stopped answering: its running tasks count it as a failure. */
  | { type: "worker-lost"; worker: WorkerAddress; now: number }
  | { type: "worker-message"; worker: WorkerAddress; msg: WorkerToSchedulerMsg; now: number }
  /** The worker paused (short of memory: give it nothing new) or runs again. */
  | { type: "worker-status"; worker: WorkerAddress; status: "running" | "paused"; now: number }
  /** These workers are being retired: no new tasks; they close once their data has moved. */
  | { type: "retire-workers"; workers: WorkerAddress[]; now: number }
  /** Make these copies (replicate, rebalance, retire): `acquire-replicas` to each worker. */
  | { type: "acquire-replicas"; transfers: ReplicaTransfer[]; now: number }
  /** Drop these copies (rebalance, replicate with fewer copies): `free-keys` to each worker. */
  | { type: "drop-replicas"; drops: ReplicaDrop[]; now: number }
  /**
   * Forget every task: holders get `cancelled` for each key they held (the server restarts the
   * workers around it).
   */
  | { type: "restart"; now: number }
  /** Periodic (about every 100 ms): rebalances work, releases delayed retries. */
  | { type: "tick"; now: number };

/** A message the server must deliver. */
export type Outgoing =
  | { to: "worker"; worker: WorkerAddress; msg: SchedulerToWorkerMsg }
  | { to: "client"; client: ClientId; msg: SchedulerToClientMsg };

export type EventTopic = "worker" | "client" | "task" | "stealing" | "graph";

/** One entry of the event log shown by the dashboard. */
export interface SchedulerLogEntry {
  time: number;
  topic: EventTopic;
  message: string;
  key?: Key;
  worker?: WorkerAddress;
}

export type { TaskStreamEntry } from "./task_stream.ts";

/** A worker as the dashboard shows it. */
export interface WorkerSummary {
  address: WorkerAddress;
  name: string;
  nthreads: number;
  memoryLimit: number;
  resources: Readonly<Record<string, number>>;
  usedResources: Readonly<Record<string, number>>;
  processing: number;
  occupancy: number;
  nbytes: number;
  keysInMemory: number;
  finished: number;
  lastSeen: number;
  metrics: Readonly<Record<string, number>>;
}

const byPriority = (a: TaskRecord, b: TaskRecord): number =>
  comparePriority(a.priority, b.priority);

const byLoad = (a: WorkerRecord, b: WorkerRecord): number =>
  a.processing.size / a.nthreads - b.processing.size / b.nthreads;

const NO_DEPS: KeyLocation[] = [];

export class SchedulerState implements StealHost {
  readonly config: Readonly<SchedulerConfig>;
  readonly tasks = new Map<Key, TaskRecord>();
  readonly workers = new Map<WorkerAddress, WorkerRecord>();
  readonly workersByName = new Map<string, WorkerRecord>();
  readonly clients = new Map<ClientId, ClientRecord>();
  readonly prefixes = new Map<string, TaskPrefixStats>();
  /** Tasks per state (`forgotten`: ever forgotten). */
  readonly stateCounts: StateCounts = emptyStateCounts();
  readonly eventLog: RingBuffer<SchedulerLogEntry>;
  readonly taskStream: TaskStream;
  /** Current bandwidth estimate, bytes/s. */
  bandwidth: number;
  totalThreads = 0;
  /** Time of the latest event, seconds. */
  now = 0;

  readonly #stealing: WorkStealing;
  /** Where small task arguments are kept (args_arena.ts). */
  readonly #argsArena = new ArgsArena();
  readonly #fireAndForget: ClientRecord;
  #outbox: Outgoing[] = [];
  #outboxEpoch = 0;
  readonly #recommendations: TaskRecord[] = [];
  readonly #ready: TaskRecord[] = [];
  /** Ready root-ish tasks waiting for a worker slot. */
  readonly #rootQueue = new IndexedHeap<TaskRecord>();
  /** Ready tasks waiting for resources, one queue per kind of restriction. */
  readonly #resourceQueues = new Map<string, IndexedHeap<TaskRecord>>();
  #resourcesChanged = false;
  /** Tasks no live worker may run (`no-worker`). */
  readonly #unrunnable = new Set<TaskRecord>();
  /** Workers that may take more root-ish tasks. */
  readonly #workersWithSlots = new Set<WorkerRecord>();
  /** Workers that take new tasks, by address and by name: what placement and stealing see. */
  readonly #running = new Map<WorkerAddress, WorkerRecord>();
  readonly #runningByName = new Map<string, WorkerRecord>();
  /** Workers that do not take new tasks, and why. */
  readonly #notRunning = new Map<WorkerRecord, "paused" | "closing">();
  readonly #placement: PlacementContext;
  readonly #stealHost: StealHost;
  /** Seconds between a failure and the rerun, for tasks submitted with `retryDelay`. */
  readonly #retryDelays = new Map<TaskRecord, number>();
  /** Tasks waiting out a retry delay (state `queued`), with the time they may run again. */
  readonly #retryQueue = new IndexedHeap<TaskRecord>();
  readonly #retryAt = new Map<TaskRecord, number>();
  #generation = 0;
  #runIds = 0;

  constructor(config: Partial<SchedulerConfig> = {}) {
    this.config = { ...DEFAULT_SCHEDULER_CONFIG, ...config };
    this.bandwidth = this.config.bandwidth;
    this.eventLog = new RingBuffer(this.config.eventLogCapacity);
    this.taskStream = new TaskStream(this.config.taskStreamCapacity);
    this.#stealing = new WorkStealing({
      latency: this.config.stealLatency,
      maxChecksPerBalance: this.config.maxStealChecksPerTick,
    });
    this.#fireAndForget = new ClientRecord(FIRE_AND_FORGET, 0);
    this.clients.set(FIRE_AND_FORGET, this.#fireAndForget);
    // Placement and stealing see the running workers only.
    const bandwidth = () => this.bandwidth;
    this.#placement = {
      workers: this.#running,
      workersByName: this.#runningByName,
      get bandwidth() {
        return bandwidth();
      },
    };
    this.#stealHost = {
      workers: this.#running,
      workersByName: this.#runningByName,
      get bandwidth() {
        return bandwidth();
      },
      taskDuration: (task) => this.taskDuration(task),
      sendStealRequest: (victim, task, stealId) => this.sendStealRequest(victim, task, stealId),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Entry points

  /** Applies one event. Messages it causes wait in the outbox ({@link takeOutgoing}). */
  handle(event: SchedulerEvent): void {
    this.now = event.now;
    switch (event.type) {
      case "client-connected":
        this.#client(event.client);
        this.#log("client", `client ${event.client} connected`);
        break;
      case "client-disconnected":
        this.#clientDisconnected(event.client);
        break;
      case "client-message":
        this.#clientMessage(this.#client(event.client), event.msg);
        break;
      case "worker-added":
        this.#workerAdded(event.worker);
        break;
      case "worker-removed":
        this.#removeWorker(event.worker, false);
        break;
      case "worker-lost":
        this.#removeWorker(event.worker, true);
        break;
      case "worker-message": {
        const worker = this.workers.get(event.worker);
        // A worker that was removed may still have messages on the wire: they are moot.
        if (worker !== undefined) this.#workerMessage(worker, event.msg);
        break;
      }
      case "worker-status": {
        const worker = this.workers.get(event.worker);
        if (worker !== undefined) this.#setWorkerStatus(worker, event.status);
        break;
      }
      case "retire-workers":
        for (const address of event.workers) {
          const worker = this.workers.get(address);
          if (worker !== undefined) this.#setWorkerStatus(worker, "closing");
        }
        break;
      case "acquire-replicas":
        this.#acquireReplicas(event.transfers);
        break;
      case "drop-replicas":
        this.#dropReplicaCopies(event.drops);
        break;
      case "restart":
        this.#restart();
        break;
      case "tick":
        if (this.#retryAt.size > 0) this.#releaseDueRetries();
        if (this.config.stealing) this.#stealing.balance(this.#stealHost);
        break;
    }
    this.#settle();
  }

  /** Returns the messages produced since the last call, in order, and empties the outbox. */
  takeOutgoing(): Outgoing[] {
    const out = this.#outbox;
    this.#outbox = [];
    this.#outboxEpoch++;
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Read access (dashboard, server, tests)

  /** Addresses of the workers holding `key`'s result. */
  whoHas(key: Key): WorkerAddress[] {
    const task = this.tasks.get(key);
    if (task === undefined) return [];
    return Array.from(task.whoHas, (worker) => worker.address);
  }

  /**
   * Where each of `keys` stands, for progress displays (the `task-progress` request):
   * `TASK_PENDING` while it waits or runs, `TASK_ERRED` once it failed, else `TASK_DONE` — in
   * memory, or released or forgotten after running (a key unknown here is one that ran and was
   * let go, since a client asks only about keys it submitted).
   */
  taskProgress(keys: readonly Key[]): Uint8Array {
    const out = new Uint8Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const state = this.tasks.get(keys[i])?.state;
      out[i] = state === "erred"
        ? TASK_ERRED
        : state === "waiting" || state === "queued" || state === "no-worker" ||
            state === "processing"
        ? TASK_PENDING
        : TASK_DONE;
    }
    return out;
  }

  /** Tasks queued on the scheduler (root-ish waiting for a slot, or waiting for resources). */
  get queuedCount(): number {
    return this.stateCounts.queued;
  }

  /**
   * Up to `limit` tasks waiting on the scheduler for a worker (queued, or no worker can run them
   * yet), for adaptive scaling to estimate their work (scheduler/adaptive_target.ts).
   */
  *pendingSample(limit: number): Generator<TaskRecord> {
    let left = limit;
    for (const queue of [this.#rootQueue, ...this.#resourceQueues.values()]) {
      for (const task of queue.sample(left)) {
        yield task;
        if (--left === 0) return;
      }
    }
    for (const task of this.#unrunnable) {
      yield task;
      if (--left === 0) return;
    }
  }

  /** Steal requests sent, confirmed and rejected so far. */
  get stealingCounts(): { requested: number; confirmed: number; rejected: number } {
    const s = this.#stealing;
    return { requested: s.requested, confirmed: s.confirmed, rejected: s.rejected };
  }

  /** One summary per worker. O(workers). */
  workerSummaries(): WorkerSummary[] {
    const out: WorkerSummary[] = [];
    for (const w of this.workers.values()) {
      out.push({
        address: w.address,
        name: w.name,
        nthreads: w.nthreads,
        memoryLimit: w.memoryLimit,
        resources: w.resources,
        usedResources: { ...w.usedResources },
        processing: w.processing.size,
        occupancy: w.occupancy,
        nbytes: w.nbytes,
        keysInMemory: w.hasWhat.size,
        finished: w.finished,
        lastSeen: w.lastSeen,
        metrics: w.metrics,
      });
    }
    return out;
  }

  /** Whether `address` takes new tasks (undefined for a worker not registered). */
  workerStatus(address: WorkerAddress): WorkerRunState | undefined {
    const worker = this.workers.get(address);
    if (worker === undefined) return undefined;
    return this.#notRunning.get(worker) ?? "running";
  }

  /** Workers that take new tasks. */
  get runningWorkers(): ReadonlyMap<WorkerAddress, WorkerRecord> {
    return this.#running;
  }

  /** Expected compute time of `task`, seconds (StealHost). */
  taskDuration(task: TaskRecord): number {
    return task.prefix.estimate(this.config.unknownTaskDuration);
  }

  /** StealHost: sends the request to the victim. */
  sendStealRequest(victim: WorkerRecord, task: TaskRecord, stealId: number): void {
    this.#toWorker(victim, { op: "steal-request", key: task.key, stealId });
  }

  /**
   * Checks every invariant of the books and throws on the first violation. O(tasks + workers):
   * for tests and debugging, not for production paths.
   */
  validate(): void {
    const fail = (what: string): never => {
      throw new Error(`SchedulerState invariant violated: ${what}`);
    };
    const counts = emptyStateCounts();
    const live = (w: WorkerRecord) => this.workers.get(w.address) === w;
    for (const [key, task] of this.tasks) {
      const state = task.state;
      counts[state]++;
      if (task.key !== key) fail(`task ${task.key} is filed under ${key}`);
      if (state === "forgotten") fail(`forgotten ${key} is still in tasks`);
      if (task.recommendation !== null || task.pendingPlacement) fail(`${key} has pending work`);
      if ((state === "processing") !== (task.processingOn !== null)) {
        fail(`${key} is ${state} with processingOn=${task.processingOn?.address}`);
      }
      if (state === "memory" ? task.whoHas.size === 0 : task.whoHas.size > 0) {
        fail(`${key} is ${state} with ${task.whoHas.size} replicas`);
      }
      for (const worker of task.whoHas) {
        if (!live(worker) || !worker.hasWhat.has(task)) fail(`${key} replica on ${worker.address}`);
      }
      const active = state === "waiting" || state === "queued" || state === "no-worker" ||
        state === "processing";
      for (const dep of task.dependencies) {
        if (!dep.dependents.has(task)) fail(`${key} is not a dependent of ${dep.key}`);
        if (this.tasks.get(dep.key) !== dep) fail(`${key} depends on forgotten ${dep.key}`);
        if (dep.waiters.has(task) !== active) fail(`${key} (${state}) waiter of ${dep.key}`);
        if (state === "waiting" && task.waitingOn.has(dep) !== (dep.whoHas.size === 0)) {
          fail(`${key} waitingOn ${dep.key} disagrees with its replicas`);
        }
        if (
          (state === "processing" || state === "queued" || state === "no-worker") &&
          dep.whoHas.size === 0
        ) fail(`${key} is ${state} while input ${dep.key} is not in memory`);
      }
      for (const dependent of task.dependents) {
        if (!dependent.dependencies.includes(task)) fail(`${dependent.key} lost dep ${key}`);
      }
      for (const waiter of task.waiters) {
        if (!task.dependents.has(waiter)) fail(`waiter ${waiter.key} of ${key} is no dependent`);
      }
      if (state === "waiting" && task.waitingOn.size === 0) fail(`${key} is ready but waiting`);
      if (state !== "waiting" && task.waitingOn.size > 0) fail(`${key} (${state}) waits on inputs`);
      if (state === "processing" && !task.processingOn!.processing.has(task)) {
        fail(`${key} missing from ${task.processingOn!.address}.processing`);
      }
      if ((state === "queued") !== (task.queue !== null && task.queue.has(task))) {
        fail(`${key} is ${state} and queue membership disagrees`);
      }
      if ((state === "no-worker") !== this.#unrunnable.has(task)) {
        fail(`${key} is ${state} and the no-worker set disagrees`);
      }
      if (state === "erred" && task.error === null) fail(`${key} erred without an error`);
      if (state === "released" && (task.whoWants.size > 0 || task.waiters.size > 0)) {
        fail(`${key} is released but needed`);
      }
      if (state === "memory" && task.whoWants.size === 0 && task.waiters.size === 0) {
        fail(`${key} is in memory but nobody needs it`);
      }
      if (task.whoWants.size === 0 && task.dependents.size === 0) {
        fail(`${key} (${state}) is referenced by nothing but not forgotten`);
      }
      for (const client of task.whoWants) {
        if (!client.wantsWhat.has(task)) fail(`${client.id} does not list ${key}`);
      }
    }
    for (const state of Object.keys(counts) as SchedulerTaskState[]) {
      if (state !== "forgotten" && counts[state] !== this.stateCounts[state]) {
        fail(`${counts[state]} tasks are ${state}, counted ${this.stateCounts[state]}`);
      }
    }
    let threads = 0;
    for (const worker of this.workers.values()) {
      threads += worker.nthreads;
      let occupancy = 0;
      const used: Record<string, number> = {};
      for (const task of worker.processing) {
        if (task.processingOn !== worker) fail(`${task.key} on ${worker.address} is elsewhere`);
        occupancy += task.estimate;
        for (const name in task.resources ?? {}) {
          used[name] = (used[name] ?? 0) + task.resources![name];
        }
      }
      if (Math.abs(occupancy - worker.occupancy) > 1e-6 * Math.max(1, occupancy)) {
        fail(`${worker.address} occupancy ${worker.occupancy}, tasks sum to ${occupancy}`);
      }
      for (const name in worker.usedResources) {
        const amount = worker.usedResources[name];
        if (Math.abs(amount - (used[name] ?? 0)) > 1e-9) fail(`${worker.address} ${name} books`);
        if (amount > (worker.resources[name] ?? 0) + 1e-9) {
          fail(`${worker.address} oversubscribes ${name}: ${amount}`);
        }
      }
      let nbytes = 0;
      for (const task of worker.hasWhat) {
        if (!task.whoHas.has(worker)) fail(`${worker.address} lists ${task.key} it does not hold`);
        if (task.nbytes > 0) nbytes += task.nbytes;
      }
      if (nbytes !== worker.nbytes) fail(`${worker.address} nbytes ${worker.nbytes} != ${nbytes}`);
      const running = !this.#notRunning.has(worker);
      if (running !== (this.#running.get(worker.address) === worker)) {
        fail(`${worker.address} running books`);
      }
      const hasSlots = running && rootishSlots(worker, this.config.workerSaturation) > 0;
      if (hasSlots !== this.#workersWithSlots.has(worker)) fail(`${worker.address} slots`);
    }
    if (threads !== this.totalThreads) fail(`totalThreads ${this.totalThreads} != ${threads}`);
    for (const [task, at] of this.#retryAt) {
      if (task.queue !== this.#retryQueue || !(at >= 0)) fail(`${task.key} retry books`);
    }
    if (this.#retryAt.size !== this.#retryQueue.size) fail("retry queue and times disagree");
    for (const client of this.clients.values()) {
      for (const task of client.wantsWhat) {
        if (!task.whoWants.has(client)) fail(`${task.key} does not list ${client.id}`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Clients

  #client(id: ClientId): ClientRecord {
    let client = this.clients.get(id);
    if (client === undefined) {
      client = new ClientRecord(id, this.now);
      this.clients.set(id, client);
    }
    return client;
  }

  #clientDisconnected(id: ClientId): void {
    const client = this.clients.get(id);
    if (client === undefined || client === this.#fireAndForget) return;
    this.clients.delete(id);
    for (const task of client.wantsWhat) this.#unwant(task, client);
    client.wantsWhat.clear();
    this.#log("client", `client ${id} disconnected`);
  }

  #clientMessage(client: ClientRecord, msg: ClientToSchedulerMsg): void {
    switch (msg.op) {
      case "update-graph":
        return this.#updateGraph(client, msg);
      case "scatter":
        return this.#scatter(client, msg.data);
      case "client-releases-keys":
        for (const key of msg.keys) {
          const task = this.tasks.get(key);
          if (task !== undefined && client.wantsWhat.delete(task)) this.#unwant(task, client);
        }
        return;
      case "client-desires-keys":
        for (const key of msg.keys) this.#desire(client, key);
        return;
      case "fire-and-forget":
        for (const key of msg.keys) {
          const task = this.tasks.get(key);
          // Already final: nothing to keep alive.
          if (task === undefined || task.state === "memory" || task.state === "erred") continue;
          this.#want(task, this.#fireAndForget);
        }
        return;
      case "cancel":
        return this.#cancel(client, msg.keys, msg.force === true);
      case "retry":
        return this.#retry(msg.keys);
    }
  }

  #want(task: TaskRecord, client: ClientRecord): void {
    task.addWant(client);
    client.wantsWhat.add(task);
  }

  /** `client` no longer holds `task` (already removed from `client.wantsWhat`). */
  #unwant(task: TaskRecord, client: ClientRecord): void {
    task.deleteWant(client);
    if (task.whoWants.size === 0) this.#recommend(task, "released");
  }

  #desire(client: ClientRecord, key: Key): void {
    const task = this.tasks.get(key);
    if (task === undefined) {
      this.#toClient(client, { op: "lost", key, error: unknownKeyError(key) });
      return;
    }
    this.#want(task, client);
    if (task.state === "memory") this.#reportInMemory(task, client);
    else if (task.state === "erred") this.#reportErred(task, client);
    else if (task.state === "released") this.#recommend(task, "waiting");
  }

  #updateGraph(client: ClientRecord, msg: UpdateGraphMsg): void {
    const generation = ++this.#generation;
    const defaultPriority = msg.priority ?? 0;
    const specs = msg.tasks;
    resolveSharedFunctions(specs);
    const linked: TaskRecord[] = [];
    const linkedSpecs: GraphTaskSpec[] = [];
    // Pass 1: records for new keys. A known key is the same computation (content addressing).
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i];
      let task = this.tasks.get(spec.key);
      if (task !== undefined) {
        if (spec.returnValue === true) task.returnValue = true;
        if (!task.lostLineage || (task.state !== "released" && task.state !== "erred")) continue;
        // The client sent a fresh spec for a task that lost its inputs: adopt it.
        this.#unlinkDependencies(task);
        if (task.state === "erred") this.#clearError(task);
        task.fn = spec.fn;
        task.args = packArgs(spec.args, this.#argsArena);
        task.lostLineage = false;
      } else {
        // `0 -` rather than unary minus: -0 is not a small integer and boxes every priority
        const priority: Priority = [0 - (spec.options?.priority ?? defaultPriority), generation, i];
        const args = packArgs(spec.args, this.#argsArena);
        task = this.#newTask(spec.key, spec.fn, args, true, priority, spec.options);
        if (spec.returnValue === true) task.returnValue = true;
      }
      linked.push(task);
      linkedSpecs.push(spec);
    }
    // Pass 2: dependencies (they may come later in the message).
    const broken: [TaskRecord, Key][] = [];
    for (let i = 0; i < linked.length; i++) {
      const task = linked[i];
      const deps = linkedSpecs[i].deps;
      for (let j = 0; j < deps.length; j++) {
        const dep = this.tasks.get(deps[j]);
        if (dep === undefined) {
          broken.push([task, deps[j]]);
          continue;
        }
        if (dep.dependents.has(task)) continue; // listed twice
        task.addDependency(dep);
        dep.addDependent(task);
      }
    }
    for (const [task, missing] of broken) {
      if (task.state === "erred") continue;
      task.error = missingDependencyError(task.key, missing);
      task.blamedKey = task.key;
      this.#toErred(task, true);
    }
    for (const key of msg.keys) {
      const task = this.tasks.get(key);
      if (task === undefined) {
        this.#toClient(client, { op: "lost", key, error: unknownKeyError(key) });
        continue;
      }
      this.#want(task, client);
      if (task.state === "memory") this.#reportInMemory(task, client);
      else if (task.state === "erred") this.#reportErred(task, client);
      else if (task.state === "released") this.#recommend(task, "waiting");
    }
    // Tasks nobody asked for and nothing reads are garbage.
    for (const task of linked) {
      if (task.whoWants.size === 0 && task.dependents.size === 0) {
        this.#recommend(task, "forgotten");
      }
    }
    if (broken.length > 0) {
      this.#log("graph", `${broken.length} submitted tasks read unknown keys and erred`);
    }
  }

  #scatter(
    client: ClientRecord,
    data: { key: Key; nbytes: number; typeName: string; workers: WorkerAddress[] }[],
  ): void {
    for (const item of data) {
      const holders: WorkerRecord[] = [];
      for (const address of item.workers) {
        const worker = this.workers.get(address);
        if (worker !== undefined) holders.push(worker);
      }
      let task = this.tasks.get(item.key);
      if (holders.length === 0) {
        this.#toClient(client, {
          op: "lost",
          key: item.key,
          error: lostDataError(item.key, true),
        });
        continue;
      }
      if (task === undefined) {
        task = this.#newTask(item.key, null, null, false, [0, 0, 0], undefined);
      }
      this.#want(task, client);
      if (task.state === "memory") {
        // The key keeps the value it has: copies this scatter placed elsewhere may differ
        // (another client's data under the same key), so they are dropped, not adopted.
        for (const worker of holders) {
          if (!task.whoHas.has(worker)) this.#sendFreeKeys(worker, task.key);
        }
        this.#reportInMemory(task, client);
        continue;
      }
      // Whatever the key was doing, the data is here now.
      if (task.state === "erred") this.#clearError(task);
      task.nbytes = item.nbytes;
      task.typeName = item.typeName;
      for (const worker of holders) this.#addReplica(task, worker);
      this.#enterMemory(task);
    }
  }

  #cancel(client: ClientRecord, keys: Key[], force: boolean): void {
    // Walk down to dependents, stopping at tasks other clients hold (unless forced).
    const stack: TaskRecord[] = [];
    for (const key of keys) {
      const task = this.tasks.get(key);
      if (task !== undefined) stack.push(task);
    }
    const seen = new Set<TaskRecord>();
    const cancelled: TaskRecord[] = [];
    while (stack.length > 0) {
      const task = stack.pop()!;
      if (seen.has(task)) continue;
      seen.add(task);
      if (!force) {
        let heldByOthers = false;
        for (const holder of task.whoWants) if (holder !== client) heldByOthers = true;
        if (heldByOthers) {
          // Only this client's interest goes; the task stays for the others.
          if (client.wantsWhat.delete(task)) {
            task.deleteWant(client);
            this.#toClient(client, { op: "cancelled", key: task.key });
          }
          continue;
        }
      }
      for (const dependent of task.dependents) stack.push(dependent);
      for (const holder of task.whoWants) {
        holder.wantsWhat.delete(task);
        if (holder !== this.#fireAndForget) {
          this.#toClient(holder, { op: "cancelled", key: task.key });
        }
      }
      task.clearWants();
      cancelled.push(task);
    }
    for (const task of cancelled) this.#recommend(task, "released");
    if (cancelled.length > 0) {
      this.#log("task", `client ${client.id} cancelled ${cancelled.length} tasks`);
    }
  }

  #retry(keys: Key[]): void {
    // Up: the erred tasks these depend on. Down: erred tasks blamed on any of them.
    const retried = new Set<TaskRecord>();
    const stack: TaskRecord[] = [];
    for (const key of keys) {
      const task = this.tasks.get(key);
      if (task !== undefined && task.state === "erred") stack.push(task);
    }
    while (stack.length > 0) {
      const task = stack.pop()!;
      if (retried.has(task) || !task.runnable) continue;
      retried.add(task);
      for (const dep of task.dependencies) if (dep.state === "erred") stack.push(dep);
    }
    const downward = [...retried];
    while (downward.length > 0) {
      const task = downward.pop()!;
      for (const dependent of task.dependents) {
        if (
          dependent.state === "erred" && !retried.has(dependent) && dependent.runnable &&
          dependent.blamedKey !== dependent.key
        ) {
          retried.add(dependent);
          downward.push(dependent);
        }
      }
    }
    for (const task of retried) {
      this.#clearError(task);
      task.diedOn = null;
      for (const holder of task.whoWants) {
        this.#toClient(holder, { op: "task-retried", key: task.key });
      }
    }
    for (const task of retried) {
      if (task.whoWants.size > 0) this.#recommend(task, "waiting");
      else this.#recommend(task, "released");
    }
    if (retried.size > 0) this.#log("task", `retrying ${retried.size} erred tasks`);
  }

  // -------------------------------------------------------------------------------------------
  // Workers

  #workerAdded(spec: WorkerSpec): void {
    if (this.workers.has(spec.address)) {
      this.#log("worker", `worker ${spec.address} registered twice; ignoring the second`);
      return;
    }
    if (!(spec.nthreads >= 1)) {
      this.#log("worker", `worker ${spec.address} has ${spec.nthreads} threads; ignoring it`);
      return;
    }
    const worker = new WorkerRecord(
      spec.address,
      spec.name ?? spec.address,
      spec.nthreads,
      spec.memoryLimit ?? 0,
      spec.resources ?? {},
      this.now,
    );
    this.workers.set(worker.address, worker);
    if (!this.workersByName.has(worker.name)) this.workersByName.set(worker.name, worker);
    this.#running.set(worker.address, worker);
    if (!this.#runningByName.has(worker.name)) this.#runningByName.set(worker.name, worker);
    this.totalThreads += worker.nthreads;
    this.#updateSlots(worker);
    this.#log("worker", `worker ${worker.address} joined with ${worker.nthreads} threads`);
    let adopted = 0;
    for (const held of spec.keys ?? []) {
      const task = this.tasks.get(held.key);
      if (task !== undefined && task.state === "memory") this.#addReplica(task, worker);
      else if (task !== undefined && this.#adopt(task, worker, held)) adopted++;
      else this.#sendFreeKeys(worker, held.key);
    }
    if (adopted > 0) {
      this.#log(
        "worker",
        `adopted ${adopted} results ${worker.address} kept`,
        undefined,
        worker.address,
      );
    }
    this.#placeUnrunnable();
  }

  /**
   * A reconnecting worker holds the result of a task that is not in memory on the books (it
   * was lost with this worker, or is being computed again): take the copy instead of
   * recomputing. False when the task's data is not wanted.
   */
  #adopt(
    task: TaskRecord,
    worker: WorkerRecord,
    held: { nbytes: number; typeName?: string },
  ): boolean {
    const state = task.state;
    if (
      !task.runnable ||
      (state !== "waiting" && state !== "queued" && state !== "no-worker" && state !== "processing")
    ) return false;
    task.nbytes = held.nbytes;
    if (held.typeName !== undefined) task.typeName = held.typeName;
    this.#addReplica(task, worker);
    this.#enterMemory(task);
    return true;
  }

  /** Tasks nobody could run (`no-worker`) are placed again: a worker joined or resumed. */
  #placeUnrunnable(): void {
    for (const task of this.#unrunnable) {
      this.#setState(task, "waiting");
      this.#markReady(task);
    }
    this.#unrunnable.clear();
    this.#resourcesChanged = true;
  }

  #setWorkerStatus(worker: WorkerRecord, status: WorkerRunState): void {
    const current = this.#notRunning.get(worker) ?? "running";
    // A retired worker stays retired whatever its memory does.
    if (current === status || current === "closing") return;
    if (status === "running") {
      this.#notRunning.delete(worker);
      this.#running.set(worker.address, worker);
      if (!this.#runningByName.has(worker.name)) this.#runningByName.set(worker.name, worker);
      this.#updateSlots(worker);
      this.#log("worker", `worker ${worker.address} runs again`, undefined, worker.address);
      this.#placeUnrunnable();
      return;
    }
    this.#notRunning.set(worker, status);
    this.#stopRunning(worker);
    this.#log(
      "worker",
      status === "paused"
        ? `worker ${worker.address} paused (short of memory): no new tasks until it resumes`
        : `worker ${worker.address} is being retired: no new tasks`,
      undefined,
      worker.address,
    );
  }

  /** Takes a worker out of placement and stealing. */
  #stopRunning(worker: WorkerRecord): void {
    if (this.#running.get(worker.address) === worker) this.#running.delete(worker.address);
    if (this.#runningByName.get(worker.name) === worker) {
      this.#runningByName.delete(worker.name);
      // Another running worker with the same name (rare) takes the name over.
      for (const other of this.#running.values()) {
        if (other.name === worker.name) {
          this.#runningByName.set(other.name, other);
          break;
        }
      }
    }
    // Steals it is part of finish normally: a paused thief's task is placed again.
    this.#workersWithSlots.delete(worker);
  }

  #removeWorker(address: WorkerAddress, lost: boolean): void {
    const worker = this.workers.get(address);
    if (worker === undefined) return;
    this.workers.delete(address);
    if (this.workersByName.get(worker.name) === worker) this.workersByName.delete(worker.name);
    this.totalThreads -= worker.nthreads;
    this.#stopRunning(worker);
    this.#notRunning.delete(worker);
    this.#stealing.removeWorker(worker);
    this.#log(
      "worker",
      `worker ${address} ${lost ? "was lost" : "left"} while processing ` +
        `${worker.processing.size} tasks and holding ${worker.hasWhat.size} results`,
      undefined,
      address,
    );
    // Replicas go first, so rescheduled tasks see which inputs are gone.
    const lostData: TaskRecord[] = [];
    for (const task of worker.hasWhat) {
      task.whoHas.delete(worker);
      if (task.whoHas.size === 0 && task.state === "memory") lostData.push(task);
    }
    worker.hasWhat.clear();
    worker.nbytes = 0;
    for (const task of [...worker.processing]) {
      this.#exitProcessing(task, false);
      if (lost) {
        (task.diedOn ??= []).push(address);
        if (task.diedOn.length > this.config.allowedFailures) {
          task.error = killedWorkerError(task.key, task.diedOn);
          task.blamedKey = task.key;
          this.#log("task", task.error.message, task.key, address);
          this.#toErred(task, true);
          continue;
        }
      }
      this.#recommend(task, "waiting");
    }
    for (const task of lostData) this.#dataLost(task);
    this.#resourcesChanged = true;
  }

  #workerMessage(worker: WorkerRecord, msg: WorkerToSchedulerMsg): void {
    worker.lastSeen = this.now;
    switch (msg.op) {
      case "task-finished":
        return this.#taskFinished(worker, msg);
      case "task-erred":
        return this.#taskErred(worker, msg);
      case "add-keys":
        for (const { key } of msg.keys) {
          const task = this.tasks.get(key);
          if (task !== undefined && task.state === "memory") this.#addReplica(task, worker);
          else this.#sendFreeKeys(worker, key);
        }
        return;
      case "release-worker-data":
        for (const key of msg.keys) {
          const task = this.tasks.get(key);
          if (task === undefined || !task.whoHas.has(worker)) continue;
          this.#removeReplica(task, worker);
          if (task.state === "memory" && task.whoHas.size === 0) this.#dataLost(task);
        }
        return;
      case "missing-data":
        return this.#missingData(worker, msg.keys, msg.errantWorker);
      case "steal-response":
        return this.#stealResponse(worker, msg);
      case "heartbeat": {
        worker.metrics = msg.metrics;
        const measured = msg.metrics.bandwidth;
        if (typeof measured === "number" && measured > 0) {
          this.bandwidth = 0.9 * this.bandwidth + 0.1 * measured;
        }
        return;
      }
    }
  }

  #taskFinished(worker: WorkerRecord, msg: TaskFinishedMsg): void {
    const task = this.tasks.get(msg.key);
    if (task !== undefined && task.processingOn === worker) {
      // An older assignment on this same worker: the current one will report.
      if (msg.runId !== task.runId) return;
      this.#exitProcessing(task, false);
      const prefix = task.prefix;
      if (msg.start !== undefined && msg.stop !== undefined) {
        if (prefix.recordDuration(msg.stop - msg.start, this.config.durationSmoothing)) {
          this.#reviseGuesses(prefix);
        }
        this.taskStream.record(
          task.key,
          prefix.name,
          worker.address,
          msg.thread,
          msg.start,
          msg.stop,
          false,
        );
      }
      worker.finished++;
      task.nbytes = msg.nbytes;
      task.typeName = msg.typeName;
      this.#addReplica(task, worker);
      // A tiny result asked for rides along to the holders told now, and is not kept.
      this.#enterMemory(task, msg.value);
      return;
    }
    if (task !== undefined && task.state === "memory" && task.whoHas.has(worker)) return;
    // A result of an assignment that was withdrawn: the worker must not keep untracked data.
    this.#sendFreeKeys(worker, msg.key);
  }

  #taskErred(worker: WorkerRecord, msg: TaskErredMsg): void {
    const task = this.tasks.get(msg.key);
    if (task === undefined || task.processingOn !== worker) {
      this.#sendFreeKeys(worker, msg.key);
      return;
    }
    if (msg.runId !== task.runId) return;
    if (msg.start !== undefined && msg.stop !== undefined) {
      this.taskStream.record(
        task.key,
        task.prefix.name,
        worker.address,
        msg.thread,
        msg.start,
        msg.stop,
        true,
      );
    }
    if (task.retries > 0) {
      task.retries--;
      this.#exitProcessing(task, true);
      const delay = this.#retryDelays.get(task) ?? 0;
      this.#log(
        "task",
        `${task.key} failed on ${worker.address}; retrying` +
          (delay > 0 ? ` in ${delay} s` : "") + ` (${task.retries} retries left)`,
        task.key,
      );
      if (delay > 0) {
        // Held on the scheduler (queued) until the delay is over; ticks release it.
        this.#enqueue(task, this.#retryQueue);
        this.#retryAt.set(task, this.now + delay);
        return;
      }
      this.#recommend(task, "waiting");
      return;
    }
    this.#exitProcessing(task, false);
    task.erredOn = worker.address;
    task.error = msg.error;
    task.blamedKey = task.key;
    this.#log("task", `${task.key} erred: ${msg.error.name}: ${msg.error.message}`, task.key);
    this.#toErred(task, true);
  }

  #missingData(reporter: WorkerRecord, keys: Key[], errantAddress: WorkerAddress): void {
    const errant = this.workers.get(errantAddress);
    const refreshed: KeyLocation[] = [];
    for (const key of keys) {
      const task = this.tasks.get(key);
      if (task === undefined) continue;
      if (errant !== undefined && task.whoHas.has(errant)) {
        // Off the books, and off the errant worker too, so the books stay true either way.
        this.#removeReplica(task, errant);
        this.#sendFreeKeys(errant, key);
      }
      if (task.state !== "memory") continue;
      if (task.whoHas.size === 0) this.#dataLost(task);
      else refreshed.push(this.#location(task));
    }
    if (refreshed.length > 0) {
      this.#toWorker(reporter, { op: "refresh-who-has", keys: refreshed });
    }
  }

  /** Tasks whose retry delay is over go back to being placed. */
  #releaseDueRetries(): void {
    for (const [task, at] of this.#retryAt) {
      if (at > this.now) continue;
      this.#retryAt.delete(task);
      this.#retryQueue.remove(task);
      task.queue = null;
      this.#setState(task, "waiting");
      this.#markReady(task);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Administration: copies, retirement, restart

  #acquireReplicas(transfers: ReplicaTransfer[]): void {
    const perWorker = new Map<WorkerRecord, KeyLocation[]>();
    for (const { worker: address, key, sources } of transfers) {
      const worker = this.workers.get(address);
      const task = this.tasks.get(key);
      if (worker === undefined || task === undefined || task.state !== "memory") continue;
      if (task.whoHas.has(worker)) continue;
      const live: WorkerAddress[] = [];
      for (const source of sources) {
        const holder = this.workers.get(source);
        if (holder !== undefined && task.whoHas.has(holder)) live.push(source);
      }
      const location = live.length > 0
        ? { key, nbytes: task.nbytes, workers: live }
        : this.#location(task);
      let list = perWorker.get(worker);
      if (list === undefined) perWorker.set(worker, list = []);
      list.push(location);
    }
    for (const [worker, keys] of perWorker) {
      this.#toWorker(worker, { op: "acquire-replicas", keys });
    }
  }

  #dropReplicaCopies(drops: ReplicaDrop[]): void {
    for (const { worker: address, key } of drops) {
      const worker = this.workers.get(address);
      const task = this.tasks.get(key);
      if (worker === undefined || task === undefined || task.state !== "memory") continue;
      if (!task.whoHas.has(worker) || task.whoHas.size < 2) continue;
      this.#removeReplica(task, worker);
      this.#sendFreeKeys(worker, key);
    }
  }

  /** Every holder loses every key (told `cancelled`); then every task is released. */
  #restart(): void {
    let held = 0;
    for (const client of this.clients.values()) {
      for (const task of client.wantsWhat) {
        task.deleteWant(client);
        this.#toClient(client, { op: "cancelled", key: task.key });
        held++;
      }
      client.wantsWhat.clear();
    }
    for (const task of this.tasks.values()) this.#recommend(task, "released");
    this.#log("graph", `restart: ${this.tasks.size} tasks forgotten, ${held} held keys cancelled`);
  }

  #stealResponse(victim: WorkerRecord, msg: StealResponseMsg): void {
    const task = this.tasks.get(msg.key);
    if (task === undefined) return;
    const info = this.#stealing.settle(task, msg.stealId);
    if (info === null || info.victim !== victim || task.processingOn !== victim) {
      this.#log("stealing", `stale steal response for ${msg.key}`, msg.key, victim.address);
      return;
    }
    const state = msg.state;
    if (state === "executing" || state === "memory" || state === "error") {
      this.#stealing.rejected++;
      // It runs there now: asking again would only block steals of tasks still queued.
      this.#stealing.pin(task, victim);
      this.#log("stealing", `${msg.key} already ${state} on ${victim.address}`, msg.key);
      return;
    }
    // The victim gave the task up (waiting/ready), or never had it: it must run elsewhere.
    this.#exitProcessing(task, false);
    const thief = info.thief;
    if (
      (state === "waiting" || state === "ready") && this.#running.get(thief.address) === thief &&
      (task.resources === null || hasFreeResources(thief, task.resources))
    ) {
      this.#stealing.confirmed++;
      this.#assign(task, thief);
      this.#log("stealing", `moved ${msg.key} from ${victim.address} to ${thief.address}`, msg.key);
    } else {
      this.#recommend(task, "waiting");
    }
  }

  // -------------------------------------------------------------------------------------------
  // Transitions

  #recommend(task: TaskRecord, what: Recommendation): void {
    if (task.recommendation === null) this.#recommendations.push(task);
    task.recommendation = what;
  }

  /** Runs recommendations to a fixed point, then places ready tasks and fills free slots. */
  #settle(): void {
    const recs = this.#recommendations;
    for (let i = 0; i < recs.length; i++) {
      const task = recs[i];
      const what = task.recommendation;
      task.recommendation = null;
      if (what === null || this.tasks.get(task.key) !== task) continue;
      switch (what) {
        case "waiting":
          this.#toWaiting(task);
          break;
        case "released":
          this.#toReleased(task);
          break;
        case "forgotten":
          this.#toForgotten(task);
          break;
        case "erred":
          this.#toErred(task, true);
          break;
      }
    }
    recs.length = 0;
    this.#placeReady();
    if (this.#rootQueue.size > 0 && this.#workersWithSlots.size > 0) this.#fillRootSlots();
    if (this.#resourcesChanged) {
      this.#resourcesChanged = false;
      for (const queue of this.#resourceQueues.values()) this.#fillResourceQueue(queue);
    }
  }

  #setState(task: TaskRecord, state: SchedulerTaskState): void {
    const old = task.state;
    if (old === state) return;
    task.state = state;
    this.stateCounts[old]--;
    this.stateCounts[state]++;
    const counts = task.prefix.counts;
    counts[old]--;
    counts[state]++;
  }

  #toWaiting(task: TaskRecord): void {
    const state = task.state;
    if (state === "memory" || state === "erred" || !task.runnable) return;
    if (task.whoWants.size === 0 && task.waiters.size === 0) {
      this.#toReleased(task);
      return;
    }
    this.#leaveActiveState(task, true);
    if (task.lostLineage) {
      task.error = lostDataError(task.key, false);
      task.blamedKey = task.key;
      this.#toErred(task, true);
      return;
    }
    const deps = task.dependencies;
    for (let i = 0; i < deps.length; i++) {
      const dep = deps[i];
      if (dep.state === "erred") {
        task.error = dep.error;
        task.blamedKey = dep.blamedKey;
        this.#toErred(task, true);
        return;
      }
    }
    task.error = null;
    task.blamedKey = null;
    task.clearWaitingOn();
    for (let i = 0; i < deps.length; i++) {
      const dep = deps[i];
      dep.addWaiter(task);
      if (dep.whoHas.size === 0) {
        task.addWaitingOn(dep);
        if (dep.state === "released") this.#recommend(dep, "waiting");
      }
    }
    this.#setState(task, "waiting");
    if (task.waitingOn.size === 0) this.#markReady(task);
  }

  /** Releases a task nobody needs: its computation stops, its data is freed. */
  #toReleased(task: TaskRecord): void {
    if (task.whoWants.size > 0 || task.waiters.size > 0) return;
    const state = task.state;
    if (state === "memory") {
      // Data that cannot be recomputed is forgotten rather than kept as lineage.
      if (!task.runnable) return this.#toForgotten(task);
      this.#dropReplicas(task);
      this.#setState(task, "released");
    } else if (
      state === "waiting" || state === "queued" || state === "no-worker" || state === "processing"
    ) {
      this.#leaveActiveState(task, true);
      this.#setState(task, "released");
    }
    if (task.dependents.size === 0) this.#recommend(task, "forgotten");
  }

  /** Removes a task from the graph once no client and no dependent refers to it. */
  #toForgotten(task: TaskRecord): void {
    if (task.whoWants.size > 0 || task.waiters.size > 0) return;
    // A dependent may need to recompute from this task (lineage), unless it cannot be recomputed.
    if (task.runnable && task.dependents.size > 0) return;
    const state = task.state;
    if (state === "memory") {
      this.#dropReplicas(task);
    } else if (state !== "released" && state !== "erred") {
      this.#toReleased(task);
      return;
    }
    if (task.erredOn !== null) this.#freeErrorRecord(task);
    for (const dependent of task.dependents) {
      // Only data that was scattered reaches here with dependents: they lose their lineage.
      dependent.lostLineage = true;
      dependent.deleteDependency(task);
    }
    task.clearDependents();
    this.#unlinkDependencies(task);
    this.tasks.delete(task.key);
    this.#retryDelays.delete(task);
    this.#setState(task, "forgotten");
  }

  /** Marks a task erred with `task.error`/`task.blamedKey`, and its dependents after it. */
  #toErred(task: TaskRecord, report: boolean): void {
    const state = task.state;
    if (state === "memory" || state === "erred" || state === "forgotten") return;
    this.#leaveActiveState(task, true);
    this.#setState(task, "erred");
    if (task.blamedKey === task.key) task.prefix.erred++;
    this.#enterErred(task, report);
  }

  /** Propagation and reporting shared by every way of becoming erred. */
  #enterErred(task: TaskRecord, report: boolean): void {
    for (const dependent of task.dependents) {
      const s = dependent.state;
      if (s === "memory" || s === "erred") continue;
      dependent.error = task.error;
      dependent.blamedKey = task.blamedKey;
      this.#recommend(dependent, "erred");
    }
    if (report) { for (const client of task.whoWants) this.#reportErred(task, client); }
    this.#releaseFireAndForget(task);
    if (task.whoWants.size === 0 && task.dependents.size === 0) {
      this.#recommend(task, "forgotten");
    }
  }

  /**
   * Leaves waiting/queued/no-worker/processing: out of its queue or off its worker (told to free
   * it when `freeOnWorker`), and no longer a waiter of its dependencies.
   */
  #leaveActiveState(task: TaskRecord, freeOnWorker: boolean): void {
    switch (task.state) {
      case "processing":
        this.#exitProcessing(task, freeOnWorker);
        break;
      case "queued":
        task.queue?.remove(task);
        task.queue = null;
        this.#retryAt.delete(task);
        break;
      case "no-worker":
        this.#unrunnable.delete(task);
        break;
      case "waiting":
        break;
      default:
        return;
    }
    task.clearWaitingOn();
    const deps = task.dependencies;
    for (let i = 0; i < deps.length; i++) {
      const dep = deps[i];
      if (dep.deleteWaiter(task) && dep.waiters.size === 0 && dep.whoWants.size === 0) {
        this.#recommend(dep, "released");
      }
    }
  }

  /** `value`: the tiny result a worker sent along, passed on to the holders told now. */
  #enterMemory(task: TaskRecord, value?: Encoded): void {
    this.#leaveActiveState(task, true);
    this.#setState(task, "memory");
    task.error = null;
    task.blamedKey = null;
    if (task.nbytes > 0) task.prefix.nbytesInMemory += task.nbytes;
    for (const dependent of task.waiters) {
      if (
        dependent.state === "waiting" && dependent.deleteWaitingOn(task) &&
        dependent.waitingOn.size === 0
      ) this.#markReady(dependent);
    }
    for (const client of task.whoWants) this.#reportInMemory(task, client, value);
    this.#releaseFireAndForget(task);
    if (task.whoWants.size === 0 && task.waiters.size === 0) this.#recommend(task, "released");
  }

  /** A task in memory has no copy left. */
  #dataLost(task: TaskRecord): void {
    if (task.nbytes > 0) task.prefix.nbytesInMemory -= task.nbytes;
    if (!task.runnable || task.lostLineage) {
      const error = lostDataError(task.key, !task.runnable);
      this.#log("task", error.message, task.key);
      for (const client of task.whoWants) {
        this.#toClient(client, { op: "lost", key: task.key, error });
      }
      task.error = error;
      task.blamedKey = task.key;
      this.#setState(task, "erred");
      this.#enterErred(task, false);
      return;
    }
    this.#setState(task, "released");
    for (const dependent of task.waiters) {
      if (dependent.state === "waiting") dependent.addWaitingOn(task);
      else this.#recommend(dependent, "waiting");
    }
    if (task.whoWants.size > 0 || task.waiters.size > 0) {
      for (const client of task.whoWants) this.#toClient(client, { op: "lost", key: task.key });
      this.#recommend(task, "waiting");
    } else if (task.dependents.size === 0) {
      this.#recommend(task, "forgotten");
    }
  }

  #clearError(task: TaskRecord): void {
    if (task.erredOn !== null) this.#freeErrorRecord(task);
    task.error = null;
    task.blamedKey = null;
    if (task.state === "erred") this.#setState(task, "released");
  }

  #freeErrorRecord(task: TaskRecord): void {
    const worker = this.workers.get(task.erredOn!);
    if (worker !== undefined) this.#sendFreeKeys(worker, task.key);
    task.erredOn = null;
  }

  #releaseFireAndForget(task: TaskRecord): void {
    if (this.#fireAndForget.wantsWhat.delete(task)) task.deleteWant(this.#fireAndForget);
  }

  #unlinkDependencies(task: TaskRecord): void {
    const deps = task.dependencies;
    for (let i = 0; i < deps.length; i++) {
      const dep = deps[i];
      dep.deleteDependent(task);
      dep.deleteWaiter(task);
      if (dep.dependents.size === 0 && dep.whoWants.size === 0) {
        this.#recommend(dep, "forgotten");
      }
    }
    task.clearDependencies();
  }

  // -------------------------------------------------------------------------------------------
  // Placement

  #markReady(task: TaskRecord): void {
    if (task.pendingPlacement) return;
    task.pendingPlacement = true;
    this.#ready.push(task);
  }

  #placeReady(): void {
    const ready = this.#ready;
    if (ready.length === 0) return;
    if (ready.length > 1) ready.sort(byPriority);
    for (let i = 0; i < ready.length; i++) {
      const task = ready[i];
      task.pendingPlacement = false;
      if (task.state !== "waiting" || task.waitingOn.size > 0) continue;
      if (this.tasks.get(task.key) !== task) continue;
      this.#place(task);
    }
    ready.length = 0;
  }

  #place(task: TaskRecord): void {
    if (this.#running.size === 0) return this.#toNoWorker(task);
    if (this.config.workerSaturation !== Infinity && isRootish(task, this.totalThreads)) {
      return this.#enqueue(task, this.#rootQueue);
    }
    const decision = decideWorker(task, this.#placement);
    if (decision === null) this.#toNoWorker(task);
    else if (decision === WAIT_FOR_RESOURCES) this.#enqueue(task, this.#resourceQueue(task));
    else this.#assign(task, decision);
  }

  #toNoWorker(task: TaskRecord): void {
    this.#setState(task, "no-worker");
    this.#unrunnable.add(task);
  }

  #enqueue(task: TaskRecord, queue: IndexedHeap<TaskRecord>): void {
    queue.push(task);
    task.queue = queue;
    this.#setState(task, "queued");
  }

  /** Tasks with the same restrictions share a queue, so its head decides for all of them. */
  #resourceQueue(task: TaskRecord): IndexedHeap<TaskRecord> {
    const signature = JSON.stringify([
      Object.entries(task.resources ?? {}).sort(),
      task.workers === null ? null : [...task.workers].sort(),
      task.looseRestrictions,
    ]);
    let queue = this.#resourceQueues.get(signature);
    if (queue === undefined) {
      queue = new IndexedHeap();
      this.#resourceQueues.set(signature, queue);
    }
    return queue;
  }

  /**
   * Hands queued root-ish tasks to workers with free slots, least loaded first: one task per
   * worker per round while they fill their saturation slots, so a burst spreads over the cluster.
   * Beyond those (short tasks, see rootishSlots) a worker takes a run of consecutive tasks, up to
   * an even share of the queue: neighbours in priority order usually feed the same later task (a
   * tree's sibling leaves), so they land on one worker and that task needs no transfer.
   */
  #fillRootSlots(): void {
    const queue = this.#rootQueue;
    const saturation = this.config.workerSaturation;
    const workers = [...this.#workersWithSlots];
    if (workers.length > 1) workers.sort(byLoad);
    while (queue.size > 0 && workers.length > 0) {
      const share = Math.ceil(queue.size / workers.length);
      let kept = 0;
      for (let i = 0; i < workers.length && queue.size > 0; i++) {
        const worker = workers[i];
        const saturated = Math.max(Math.ceil(saturation * worker.nthreads), 1);
        let open = true;
        for (let taken = 0; taken < share && queue.size > 0; taken++) {
          const task = queue.pop()!;
          task.queue = null;
          this.#assign(task, worker);
          if (rootishSlots(worker, saturation) <= 0) {
            open = false;
            break;
          }
          if (worker.processing.size < saturated) break;
        }
        if (open) workers[kept++] = worker;
      }
      workers.length = kept;
    }
  }

  #fillResourceQueue(queue: IndexedHeap<TaskRecord>): void {
    while (queue.size > 0) {
      const task = queue.peek()!;
      const decision = decideWorker(task, this.#placement);
      if (decision === WAIT_FOR_RESOURCES) return;
      queue.pop();
      task.queue = null;
      if (decision === null) this.#toNoWorker(task);
      else this.#assign(task, decision);
    }
  }

  #assign(task: TaskRecord, worker: WorkerRecord): void {
    const prefix = task.prefix;
    const estimate = prefix.estimate(this.config.unknownTaskDuration);
    if (prefix.durationAverage < 0) prefix.guessed.add(task);
    task.estimate = estimate;
    task.processingOn = worker;
    task.runId = ++this.#runIds;
    worker.processing.add(task);
    worker.occupancy += estimate;
    const resources = task.resources;
    if (resources !== null) {
      const used = worker.usedResources;
      for (const name in resources) used[name] = (used[name] ?? 0) + resources[name];
    }
    this.#updateSlots(worker);
    if (this.config.stealing) this.#stealing.add(task, estimate, this.bandwidth);
    this.#setState(task, "processing");
    const deps = task.dependencies;
    let locations = NO_DEPS;
    if (deps.length > 0) {
      locations = new Array(deps.length);
      for (let i = 0; i < deps.length; i++) locations[i] = this.#location(deps[i]);
    }
    const msg: ComputeTaskMsg = {
      op: "compute-task",
      key: task.key,
      runId: task.runId,
      fn: worker.functionFor(task.fn),
      args: unpackArgs(task.args),
      priority: task.priority,
      deps: locations,
      resources,
      duration: estimate,
    };
    if (task.returnValue) msg.returnValue = true;
    this.#toWorker(worker, msg);
  }

  /** Takes a task off its worker's books (does not change its state). */
  #exitProcessing(task: TaskRecord, freeOnWorker: boolean): void {
    const worker = task.processingOn;
    if (worker === null) return;
    task.processingOn = null;
    worker.processing.delete(task);
    worker.occupancy = worker.processing.size === 0 ? 0 : worker.occupancy - task.estimate;
    task.prefix.guessed.delete(task);
    const resources = task.resources;
    if (resources !== null) {
      const used = worker.usedResources;
      for (const name in resources) used[name] -= resources[name];
      this.#resourcesChanged = true;
    }
    this.#stealing.remove(task, worker);
    const alive = this.workers.get(worker.address) === worker;
    if (alive) {
      this.#updateSlots(worker);
      if (freeOnWorker) this.#sendFreeKeys(worker, task.key);
    }
  }

  #updateSlots(worker: WorkerRecord): void {
    if (
      this.#running.get(worker.address) === worker &&
      rootishSlots(worker, this.config.workerSaturation) > 0
    ) this.#workersWithSlots.add(worker);
    else this.#workersWithSlots.delete(worker);
  }

  /** The first measured duration of a prefix corrects the guesses counted in occupancy. */
  #reviseGuesses(prefix: TaskPrefixStats): void {
    const estimate = prefix.durationAverage;
    for (const task of prefix.guessed) {
      const worker = task.processingOn;
      if (worker === null) continue;
      worker.occupancy += estimate - task.estimate;
      task.estimate = estimate;
      if (this.config.stealing && !this.#stealing.inFlight.has(task)) {
        this.#stealing.refile(task, estimate, this.bandwidth);
      }
    }
    prefix.guessed.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Replicas and messages

  #addReplica(task: TaskRecord, worker: WorkerRecord): void {
    if (task.whoHas.has(worker)) return;
    task.whoHas.add(worker);
    worker.hasWhat.add(task);
    if (task.nbytes > 0) worker.nbytes += task.nbytes;
  }

  #removeReplica(task: TaskRecord, worker: WorkerRecord): void {
    if (!task.whoHas.delete(worker)) return;
    worker.hasWhat.delete(task);
    if (task.nbytes > 0) worker.nbytes -= task.nbytes;
  }

  /** Frees every copy of a task's data. */
  #dropReplicas(task: TaskRecord): void {
    if (task.nbytes > 0) task.prefix.nbytesInMemory -= task.nbytes;
    for (const worker of task.whoHas) {
      worker.hasWhat.delete(task);
      if (task.nbytes > 0) worker.nbytes -= task.nbytes;
      this.#sendFreeKeys(worker, task.key);
    }
    task.whoHas.clear();
  }

  #location(task: TaskRecord): KeyLocation {
    const workers: WorkerAddress[] = [];
    for (const worker of task.whoHas) workers.push(worker.address);
    return { key: task.key, nbytes: task.nbytes, workers };
  }

  #toWorker(worker: WorkerRecord, msg: SchedulerToWorkerMsg): void {
    this.#outbox.push({ to: "worker", worker: worker.address, msg });
    worker.openFreeKeys = null;
  }

  #sendFreeKeys(worker: WorkerRecord, key: Key): void {
    const open = worker.openFreeKeys;
    if (open !== null && worker.openFreeKeysEpoch === this.#outboxEpoch) {
      open.keys.push(key);
      return;
    }
    const msg = { op: "free-keys" as const, keys: [key] };
    this.#toWorker(worker, msg);
    worker.openFreeKeys = msg;
    worker.openFreeKeysEpoch = this.#outboxEpoch;
  }

  #toClient(client: ClientRecord, msg: SchedulerToClientMsg): void {
    if (client === this.#fireAndForget) return;
    this.#outbox.push({ to: "client", client: client.id, msg });
  }

  #reportInMemory(task: TaskRecord, client: ClientRecord, value?: Encoded): void {
    const msg: KeyInMemoryMsg = {
      op: "key-in-memory",
      key: task.key,
      typeName: task.typeName,
      nbytes: task.nbytes,
      workers: Array.from(task.whoHas, (worker) => worker.address),
    };
    if (value !== undefined) msg.value = value;
    this.#toClient(client, msg);
  }

  #reportErred(task: TaskRecord, client: ClientRecord): void {
    this.#toClient(client, {
      op: "task-erred",
      key: task.key,
      error: task.error as ErrorRecord,
      blamedKey: task.blamedKey ?? task.key,
    });
  }

  #newTask(
    key: Key,
    fn: unknown,
    args: unknown,
    runnable: boolean,
    priority: Priority,
    options: TaskOptions | undefined,
  ): TaskRecord {
    const prefixName = keyPrefix(key);
    let prefix = this.prefixes.get(prefixName);
    if (prefix === undefined) {
      prefix = new TaskPrefixStats(prefixName);
      this.prefixes.set(prefixName, prefix);
    }
    let workers: ReadonlySet<string> | null = null;
    let resources: Record<string, number> | null = null;
    if (options !== undefined) {
      if (options.workers !== undefined && options.workers.length > 0) {
        workers = new Set(options.workers);
      }
      if (options.resources !== undefined) {
        for (const name in options.resources) {
          const amount = options.resources[name];
          if (amount > 0) (resources ??= {})[name] = amount;
        }
      }
    }
    const task = new TaskRecord(
      key,
      prefix,
      fn,
      args,
      runnable,
      priority,
      options?.retries ?? 0,
      workers,
      options?.allowOtherWorkers === true,
      resources,
    );
    const retryDelay = options?.retryDelay;
    if (retryDelay !== undefined && retryDelay > 0 && task.retries > 0) {
      this.#retryDelays.set(task, retryDelay);
    }
    this.tasks.set(key, task);
    this.stateCounts.released++;
    prefix.counts.released++;
    return task;
  }

  #log(topic: EventTopic, message: string, key?: Key, worker?: WorkerAddress): void {
    const entry: SchedulerLogEntry = { time: this.now, topic, message };
    if (key !== undefined) entry.key = key;
    if (worker !== undefined) entry.worker = worker;
    this.eventLog.push(entry);
  }
}

/**
 * Gives every task of an `update-graph` its function spec: a task whose `fn` is a string names
 * the spec an earlier task of the message carried in full (docs/protocol.md §2). The tasks then
 * share one spec object. A name without a spec stays as it is and fails on the worker.
 */
function resolveSharedFunctions(specs: GraphTaskSpec[]): void {
  let byId: Map<string, unknown> | undefined;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    const fn = spec.fn as { id?: unknown } | string | null;
    if (typeof fn === "string") {
      const full = byId?.get(fn);
      if (full !== undefined) spec.fn = full;
    } else if (fn !== null && typeof fn === "object" && typeof fn.id === "string") {
      (byId ??= new Map()).set(fn.id, fn);
    }
  }
}
