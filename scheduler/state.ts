/**
 * The scheduler's state machine: pure, no I/O, no clock. The scheduler server feeds it
 * {@link SchedulerEvent}s (client and worker messages, workers joining and leaving, periodic
 * ticks) and sends the {@link Outgoing} messages it produces. docs/protocol.md describes every
 * message; this file holds the policy that connects them.
 *
 * Task states: `released → waiting → (queued | no-worker) → processing → memory | erred`, and
 * `forgotten` when nothing refers to a task any more. Each transition costs O(1) in the size of
 * the graph (it touches the task, its direct neighbours and its worker). Every state change goes
 * through `#setState`, which checks the (start, finish) pair against the table of transitions.ts
 * and tells it in the key's story (task_story.ts) with the stimulus id of the event that caused it.
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
 * Why this file is longer than ~800 lines: the transitions, placement and intake share the private
 * books (queues, slots, running workers, outbox) on the per-task hot path; the concepts that do
 * not need them are collaborators of their own (config, events, retries, validation, dashboard
 * reads, transitions table, story), see docs/architecture.md.
 *
 * @module
 */

import { FunctionReceiver } from "../core/function_link.ts";
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
import { RetryQueue } from "./retries.ts";
import { validateBooks } from "./validation.ts";
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from "./config.ts";
import {
  causeOf,
  type EventTopic,
  type Outgoing,
  type ReplicaDrop,
  type ReplicaTransfer,
  type SchedulerEvent,
  type SchedulerLogEntry,
  workerOf,
  type WorkerSpec,
} from "./events.ts";
import { TaskStories } from "./task_story.ts";
import { transitionIndex } from "./transitions.ts";
import type { StoryEntry } from "../protocol/story.ts";
import { findCycles } from "./cycles.ts";
import {
  cycleError,
  killedWorkerError,
  lostDataError,
  missingDependencyError,
  unknownKeyError,
} from "./scheduler_errors.ts";
import { type StealHost, WorkStealing } from "./stealing.ts";
import { RestartGrace } from "./restart_grace.ts";
import {
  emptyStateCounts,
  type SchedulerTaskState,
  type StateCounts,
  TaskPrefixStats,
} from "./task_prefix_stats.ts";

export type { TaskStreamEntry } from "./task_stream.ts";
export { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from "./config.ts";
export type {
  EventTopic,
  Outgoing,
  ReplicaDrop,
  ReplicaTransfer,
  SchedulerEvent,
  SchedulerLogEntry,
  WorkerSpec,
} from "./events.ts";
export type { WorkerSummary } from "./dashboard_reads.ts";
import { taskProgress, workerSummaries, type WorkerSummary } from "./dashboard_reads.ts";

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
  /** Every key's recent transitions and their stimuli (task_story.ts). */
  readonly stories: TaskStories;
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
  /** Unknown keys kept and awaited for a while after start (a restarted scheduler). */
  readonly #grace: RestartGrace<ClientRecord, UpdateGraphMsg>;
  /** Why lost workers died, when they said (terminated for memory), for KilledWorker errors. */
  readonly #deathCauses = new Map<WorkerAddress, string>();
  readonly #placement: PlacementContext;
  readonly #stealHost: StealHost;
  /** Tasks waiting out a retry delay (state `queued`). */
  readonly #retries = new RetryQueue();
  #generation = 0;
  #runIds = 0;
  /** The event being handled, and the stimulus id of its transitions once one was needed. */
  #event: SchedulerEvent | null = null;
  #cause: string | null = null;

  constructor(config: Partial<SchedulerConfig> = {}) {
    this.config = { ...DEFAULT_SCHEDULER_CONFIG, ...config };
    this.#grace = new RestartGrace(this.config.restartGrace);
    this.bandwidth = this.config.bandwidth;
    this.eventLog = new RingBuffer(this.config.eventLogCapacity);
    this.taskStream = new TaskStream(this.config.taskStreamCapacity);
    this.stories = new TaskStories(this.config.storyCapacity);
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
    this.#event = event;
    this.#cause = null;
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
        this.#removeWorker(event.worker, true, event.cause);
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
        this.#endGrace();
        if (this.#retries.size > 0) this.#releaseDueRetries();
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

  /** The transitions of `key` still remembered, oldest first, each with its stimulus. */
  story(key: Key): StoryEntry[] {
    const task = this.tasks.get(key);
    return task === undefined ? this.stories.story(key) : this.stories.story(key, task.storySeq);
  }

  /** Addresses of the workers holding `key`'s result. */
  whoHas(key: Key): WorkerAddress[] {
    const task = this.tasks.get(key);
    if (task === undefined) return [];
    return Array.from(task.whoHas, (worker) => worker.address);
  }

  /** Where each of `keys` stands, for progress displays (dashboard_reads.ts). */
  taskProgress(keys: readonly Key[]): Uint8Array {
    return taskProgress(this.tasks, keys);
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
    return workerSummaries(this.workers.values());
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
   * for tests and debugging, not for production paths (validation.ts).
   */
  validate(): void {
    validateBooks({
      tasks: this.tasks,
      workers: this.workers,
      clients: this.clients,
      stateCounts: this.stateCounts,
      totalThreads: this.totalThreads,
      workerSaturation: this.config.workerSaturation,
      unrunnable: this.#unrunnable,
      notRunning: this.#notRunning,
      running: this.#running,
      workersWithSlots: this.#workersWithSlots,
      retries: this.#retries,
    });
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
    this.#grace.removeClient(client);
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
    if (task === undefined) return this.#unknownKey(client, key);
    this.#want(task, client);
    if (task.state === "memory") this.#reportInMemory(task, client);
    else if (task.state === "erred") this.#reportErred(task, client);
    else if (task.state === "released") this.#recommend(task, "waiting");
  }

  #updateGraph(client: ClientRecord, msg: UpdateGraphMsg): void {
    if (this.#awaitsRestartedKeys(client, msg)) return;
    const generation = ++this.#generation;
    const defaultPriority = msg.priority ?? 0;
    const specs = msg.tasks;
    // one message is the client link's lifetime: its tasks name specs sent earlier in it
    const functions = new FunctionReceiver();
    for (let i = 0; i < specs.length; i++) specs[i].fn = functions.expand(specs[i].fn);
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
    const cycles = findCycles(linked, generation);
    for (const cycle of cycles) {
      const error = cycleError(cycle.map((task) => task.key));
      this.#log("graph", error.message, cycle[0].key);
      for (const task of cycle) {
        if (task.state === "erred") continue;
        task.error = { ...error, key: task.key };
        task.blamedKey = task.key;
        this.#toErred(task, true);
      }
    }
    for (const key of msg.keys) {
      const task = this.tasks.get(key);
      if (task === undefined) {
        this.#unknownKey(client, key);
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

  /**
   * `client` asks for a key the books do not know: a copy a reconnecting worker brought enters
   * them (as data, like scattered data: it has no lineage here); during the restart grace the
   * client waits for a worker to bring one; otherwise the key is lost.
   */
  #unknownKey(client: ClientRecord, key: Key): void {
    const copy = this.#grace.takeOrphan(key);
    if (copy !== undefined) return this.#scatter(client, [{ key, ...copy }]);
    if (this.#grace.open(this.now)) return this.#grace.await(key, client);
    this.#toClient(client, { op: "lost", key, error: unknownKeyError(key) });
  }

  /** A reconnecting worker holds `key`, unknown here: kept for the clients that ask, if any. */
  #orphanHeld(worker: WorkerRecord, key: Key, held: { nbytes: number; typeName?: string }) {
    const waiting = this.#grace.takeWaiting(key);
    if (waiting === undefined) return this.#grace.addOrphan(key, worker.address, held);
    const item = {
      key,
      nbytes: held.nbytes,
      typeName: held.typeName ?? "unknown",
      workers: [worker.address],
    };
    for (const client of waiting) this.#scatter(client, [item]);
  }

  /**
   * During the restart grace, a graph with inputs this scheduler does not know takes the copies
   * workers brought, and waits (parked) for those a reconnecting client already waits for until
   * a worker brings them or the grace ends. Other unknown inputs fail as usual (a graph that is
   * simply wrong is answered at once). False when the graph can be taken now.
   */
  #awaitsRestartedKeys(client: ClientRecord, msg: UpdateGraphMsg): boolean {
    if (!this.#grace.open(this.now)) return false;
    let inGraph: Set<Key> | undefined;
    let waits = false;
    for (const spec of msg.tasks) {
      for (const dep of spec.deps) {
        if (this.tasks.has(dep)) continue;
        inGraph ??= new Set(msg.tasks.map((t) => t.key));
        if (inGraph.has(dep)) continue;
        const copy = this.#grace.takeOrphan(dep);
        if (copy !== undefined) this.#scatter(client, [{ key: dep, ...copy }]);
        else if (this.#grace.isAwaited(dep)) waits = true;
      }
    }
    if (waits) this.#grace.park(client, msg);
    return waits;
  }

  /** Parked graphs try again (a worker brought keys, or the grace is over). */
  #retryParkedGraphs(): void {
    for (const [client, msg] of this.#grace.takeParked()) this.#updateGraph(client, msg);
  }

  /** The restart grace is over: unclaimed copies are freed, clients still waiting hear lost. */
  #endGrace(): void {
    const ended = this.#grace.expire(this.now);
    if (ended === undefined) return;
    for (const [key, copy] of ended.orphans) {
      for (const address of copy.workers) {
        const worker = this.workers.get(address);
        if (worker !== undefined) this.#sendFreeKeys(worker, key);
      }
    }
    for (const [key, clients] of ended.waiting) {
      for (const client of clients) {
        this.#toClient(client, { op: "lost", key, error: unknownKeyError(key) });
      }
    }
    this.#retryParkedGraphs();
    this.#log(
      "client",
      `restart grace over: ${ended.orphans.size} results no client asked for were freed, ` +
        `${ended.waiting.size} keys no worker brought are lost`,
    );
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
      else if (task === undefined && this.#grace.open(this.now)) {
        this.#orphanHeld(worker, held.key, held);
      } else this.#sendFreeKeys(worker, held.key);
    }
    if ((spec.keys?.length ?? 0) > 0) this.#retryParkedGraphs();
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

  #removeWorker(address: WorkerAddress, lost: boolean, cause?: string): void {
    const worker = this.workers.get(address);
    if (worker === undefined) return;
    this.#grace.removeWorker(address);
    if (cause !== undefined) {
      this.#deathCauses.set(address, cause);
      // the oldest causes go first: a task blames at most allowedFailures + 1 of them
      if (this.#deathCauses.size > 1000) {
        this.#deathCauses.delete(this.#deathCauses.keys().next().value!);
      }
    }
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
          task.error = killedWorkerError(task.key, task.diedOn, this.#deathCauses);
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
      const delay = this.#retries.delayOf(task);
      this.#log(
        "task",
        `${task.key} failed on ${worker.address}; retrying` +
          (delay > 0 ? ` in ${delay} s` : "") + ` (${task.retries} retries left)`,
        task.key,
      );
      if (delay > 0) {
        // Held on the scheduler (queued) until the delay is over; ticks release it.
        this.#enqueue(task, this.#retries.heap);
        this.#retries.hold(task, this.now + delay);
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
    for (const task of this.#retries.takeDue(this.now)) {
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

  /** The one place a task's state changes: checked against TRANSITIONS, told in its story. */
  #setState(task: TaskRecord, state: SchedulerTaskState): void {
    const old = task.state;
    if (old === state) return;
    transitionIndex(old, state);
    task.state = state;
    task.storySeq = this.stories.record(
      task.key,
      task.storySeq,
      this.#cause ??= causeOf(this.#event),
      old,
      state,
      task.processingOn?.address ?? workerOf(this.#event),
      this.now,
    );
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
    this.#retries.forget(task);
    this.#setState(task, "forgotten");
    this.stories.forget(task.key, task.storySeq);
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
        this.#retries.leave(task);
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
    if (task.timeoutMs > 0) msg.timeoutMs = task.timeoutMs;
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
    this.#retries.setDelay(task, options?.retryDelay);
    if (options?.timeoutMs !== undefined) task.timeoutMs = options.timeoutMs;
    task.storySeq = this.stories.revive(key);
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
