/**
 * The scheduler's state machine: pure, no I/O, no clock. The scheduler server feeds it
 * {@link SchedulerEvent}s (client and worker messages, workers joining and leaving, periodic
 * ticks) and sends the {@link Outgoing} messages it produces. docs/protocol.md describes every
 * message; this file holds the transitions and placement that connect them.
 *
 * Task states: `released → waiting → (queued | no-worker) → processing → memory | erred`, and
 * `forgotten` when nothing refers to a task any more. Each transition costs O(1) in the size of
 * the graph (it touches the task, its direct neighbours and its worker). Every state change is
 * asked for by its finish state and performed by the function its (start, finish) pair maps to
 * (`#transition` and PERFORMERS, over the table of transitions.ts); `#setState` records it in
 * the key's story (task_story.ts) with the stimulus id of the event that caused it.
 *
 * Transitions that affect other tasks do not recurse: they *recommend* a new state for the other
 * task; recommendations run in order until none is left, each re-checking its preconditions, so
 * a chain of 100,000 releases needs no deep stack. Tasks that become ready are placed at the end
 * of the event in priority order.
 *
 * Collaborators, each with its own books: client_intake.ts (graphs, scatter, wants, cancel, retry,
 * the restart grace) and worker_intake.ts (joining, leaving, results, failures, steals) turn
 * events into transitions through {@link TaskMoves}; membership.ts (which workers run),
 * queuing.ts (root-ish, resource and no-worker queues, saturation slots), replicas.ts (who holds
 * what, copies to make or drop), outbox.ts (messages, merged `free-keys`), retries.ts, stealing.ts,
 * validation.ts, dashboard_reads.ts and task_story.ts.
 *
 * About 850 lines: this stop's actor, tenancy and journal hooks each added a few lines here; what
 * should move next is the request-facing half (who-has, story, datasets) into client_intake.ts.
 *
 * @module
 */

import { ScratchList } from "../core/scratch_list.ts";
import type { Encoded } from "../core/value_codec.ts";
import type { IndexedHeap } from "../core/priority_heap.ts";
import { fusedPrefix, type Key, keyPrefix } from "../core/task.ts";
import type { ClientId, UpdateGraphMsg, WorkerAddress } from "../protocol/messages.ts";
import type { WorkerRunState } from "../protocol/session.ts";
import {
  type ClientRecord,
  type NewTask,
  type Recommendation,
  TaskRecord,
  type WorkerRecord,
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
  type SchedulerEvent,
  type SchedulerLogEntry,
  workerOf,
} from "./events.ts";
import { storyTag, TaskStories } from "./task_story.ts";
import { transitionDispatch, transitionIndex, type TransitionPerformers } from "./transitions.ts";
import type { StoryEntry } from "../protocol/story.ts";
import { lostDataError } from "./scheduler_errors.ts";
import { type StealHost, WorkStealing } from "./stealing.ts";
import { RestartGrace } from "./restart_grace.ts";
import {
  emptyStateCounts,
  hasKeyPrefix,
  moveCount,
  type SchedulerTaskState,
  type StateCounts,
  TaskPrefixStats,
} from "./task_prefix_stats.ts";
import { SchedulerOutbox } from "./outbox.ts";
import { Replicas } from "./replicas.ts";
import { type QueueHost, TaskQueues } from "./queuing.ts";
import { Assignment } from "./assignment.ts";
import { WorkerMembership } from "./membership.ts";
import { ClientIntake } from "./client_intake.ts";
import { WorkerIntake } from "./worker_intake.ts";
import type { TaskMoves } from "./task_moves.ts";
import { KeyOwnership } from "./tenancy.ts";

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

type TaskQueue = IndexedHeap<TaskRecord>;
/** A move's input: the worker of `processing`, the queue of `queued`, a result for `memory`. */
type MoveDetail = WorkerRecord | TaskQueue | Encoded | undefined;

export class SchedulerState implements StealHost {
  readonly config: Readonly<SchedulerConfig>;
  readonly tasks = new Map<Key, TaskRecord>();
  readonly prefixes = new Map<string, TaskPrefixStats>();
  /** Tasks per state (`forgotten`: ever forgotten). */
  readonly stateCounts: StateCounts = emptyStateCounts();
  readonly eventLog: RingBuffer<SchedulerLogEntry>;
  readonly taskStream: TaskStream;
  /** Every key's recent transitions and their stimuli (task_story.ts). */
  readonly stories: TaskStories;
  /** Time of the latest event, seconds. */
  now = 0;
  /** Which client identities own which keys (tenancy.ts). */
  readonly ownership: KeyOwnership;

  readonly #members: WorkerMembership;
  readonly #outbox = new SchedulerOutbox();
  readonly #replicas: Replicas;
  readonly #queues: TaskQueues;
  readonly #clients: ClientIntake;
  readonly #workerIntake: WorkerIntake;
  readonly #stealing: WorkStealing;
  readonly #recommendations = new ScratchList<TaskRecord>();
  readonly #assignment: Assignment;
  readonly #queueHost: QueueHost;
  /** Tasks waiting out a retry delay (state `queued`). */
  readonly #retries = new RetryQueue();
  /**
   * The event being handled; the story ring's numbers for its stimulus and for the worker it is
   * about, looked up once per event when a transition first needs them (-1: not yet).
   */
  #event: SchedulerEvent | null = null;
  /** The prefix of the latest new task's key (not a fused one's): the next one's, mostly. */
  #lastPrefix: TaskPrefixStats | null = null;
  #causeId = -1;
  #eventWorkerId = -1;

  constructor(config: Partial<SchedulerConfig> = {}) {
    this.config = { ...DEFAULT_SCHEDULER_CONFIG, ...config };
    this.eventLog = new RingBuffer(this.config.eventLogCapacity);
    this.taskStream = new TaskStream(this.config.taskStreamCapacity);
    this.stories = new TaskStories(this.config.storyCapacity);
    this.#stealing = new WorkStealing({
      latency: this.config.stealLatency,
      maxChecksPerBalance: this.config.maxStealChecksPerTick,
    });
    const members = this.#members = new WorkerMembership(this.config.bandwidth);
    this.#replicas = new Replicas(this.#outbox, members.workers, this.tasks);
    this.#queues = new TaskQueues(this.config.workerSaturation);
    const grace = new RestartGrace<ClientRecord, UpdateGraphMsg>(this.config.restartGrace);
    this.#assignment = new Assignment({
      setState: (task, state) => this.#setState(task, state),
      taskDuration: (task) => this.taskDuration(task),
      moves: {
        toProcessing: (task, worker) => this.#transition(task, "processing", worker),
        toQueued: (task, queue) => this.#transition(task, "queued", queue),
        toNoWorker: (task) => this.#transition(task, "no-worker"),
      },
    }, {
      config: this.config,
      members,
      queues: this.#queues,
      replicas: this.#replicas,
      outbox: this.#outbox,
      stealing: this.#stealing,
    });
    this.#queueHost = {
      placement: this.#assignment.placement,
      toProcessing: (task, worker) => this.#transition(task, "processing", worker),
      toNoWorker: (task) => this.#transition(task, "no-worker"),
    };
    const moves = this.#moves();
    this.ownership = new KeyOwnership(this.config.tenancy);
    this.#clients = new ClientIntake(moves, this.#outbox, this.#replicas, grace, members.workers, {
      ownership: this.ownership,
    });
    this.#workerIntake = new WorkerIntake(moves, {
      config: this.config,
      outbox: this.#outbox,
      replicas: this.#replicas,
      queues: this.#queues,
      membership: members,
      clients: this.#clients,
      grace,
      retries: this.#retries,
      stealing: this.#stealing,
      taskStream: this.taskStream,
    });
  }

  /** The transitions the intakes may call (task_moves.ts). */
  #moves(): TaskMoves {
    const tasks = this.tasks;
    const assignment = this.#assignment;
    const now = () => this.now;
    return {
      tasks,
      get now() {
        return now();
      },
      recommend: (task, what) => this.#recommend(task, what),
      toErred: (task) => this.#toErred(task),
      toMemory: (task, value) => this.#transition(task, "memory", value),
      dataLost: (task) => this.#dataLost(task),
      clearError: (task) => this.#transition(task, "released"),
      unlinkDependencies: (task) => this.#unlinkDependencies(task),
      newTask: (submitted) => this.#newTask(submitted),
      reassign: (task, worker) => assignment.assign(task, worker),
      exitProcessing: (task, freeOnWorker) => assignment.exitProcessing(task, freeOnWorker),
      toQueued: (task, queue) => this.#transition(task, "queued", queue),
      placeAgain: (task) => this.#transition(task, "waiting"),
      reviseGuesses: (prefix) => assignment.reviseGuesses(prefix),
      log: (topic, message, key, worker) => this.#log(topic, message, key, worker),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Entry points

  /** Applies one event. Messages it causes wait in the outbox ({@link takeOutgoing}). */
  handle(event: SchedulerEvent): void {
    this.now = event.now;
    this.#event = event;
    this.#causeId = -1;
    this.#eventWorkerId = -1;
    const clients = this.#clients;
    const workers = this.#workerIntake;
    switch (event.type) {
      case "client-connected":
        clients.connected(event.client, event.identity);
        this.#log("client", `client ${event.client} connected`);
        break;
      case "client-disconnected":
        clients.disconnected(event.client);
        break;
      case "client-message":
        clients.message(clients.connected(event.client, event.identity), event.msg);
        break;
      case "worker-added":
        workers.added(event.worker);
        break;
      case "worker-removed":
        workers.removed(event.worker, false);
        break;
      case "worker-lost":
        workers.removed(event.worker, true, event.cause);
        break;
      case "worker-message": {
        const worker = this.workers.get(event.worker);
        // A worker that was removed may still have messages on the wire: they are moot.
        if (worker !== undefined) workers.message(worker, event.msg);
        break;
      }
      case "worker-status": {
        const worker = this.workers.get(event.worker);
        if (worker === undefined) break;
        // exhausted: paused for good unless memory is freed (docs/security.md, a full disk)
        if (event.status === "exhausted") this.#members.exhausted.add(worker);
        else this.#members.exhausted.delete(worker);
        workers.setStatus(worker, event.status === "exhausted" ? "paused" : event.status);
        break;
      }
      case "retire-workers":
        for (const address of event.workers) {
          const worker = this.workers.get(address);
          if (worker !== undefined) workers.setStatus(worker, "closing");
        }
        break;
      case "acquire-replicas":
        this.#replicas.acquire(event.transfers);
        break;
      case "drop-replicas":
        this.#replicas.dropCopies(event.drops);
        break;
      case "restart": {
        const held = clients.restart();
        this.#log(
          "graph",
          `restart: ${this.tasks.size} tasks forgotten, ${held} held keys cancelled`,
        );
        break;
      }
      case "tick":
        clients.endGrace();
        if (this.#retries.size > 0) workers.releaseDueRetries();
        if (this.config.stealing) this.#stealing.balance(this.#assignment.stealHost);
        break;
    }
    this.#settle();
  }

  /** Returns the messages produced since the last call, in order, and empties the outbox. */
  takeOutgoing(): Outgoing[] {
    return this.#outbox.take();
  }

  // -------------------------------------------------------------------------------------------
  // Read access (dashboard, server, tests)

  get workers(): ReadonlyMap<WorkerAddress, WorkerRecord> {
    return this.#members.workers;
  }

  get workersByName(): ReadonlyMap<string, WorkerRecord> {
    return this.#members.workersByName;
  }

  get clients(): ReadonlyMap<ClientId, ClientRecord> {
    return this.#clients.clients;
  }

  /** Current bandwidth estimate, bytes/s. */
  get bandwidth(): number {
    return this.#members.bandwidth;
  }

  get totalThreads(): number {
    return this.#members.totalThreads;
  }

  /** The transitions of `key` still remembered, oldest first, each with its stimulus. */
  story(key: Key): StoryEntry[] {
    const task = this.tasks.get(key);
    if (task !== undefined) return this.stories.story(key, task.storySeq, task.parts);
    // a part of a fused task has no life of its own: its story is the fused task's
    const fused = this.#fusedTaskWithPart(key);
    if (fused !== undefined) {
      return this.stories.story(fused.key, fused.storySeq, fused.parts)
        .map((entry) => ({ ...entry, fusedInto: fused.key }));
    }
    const own = this.stories.story(key);
    const past = this.stories.fusionOf(key);
    if (past === undefined || (own.length > 0 && past.key !== key)) return own;
    const told = this.stories.story(past.key, -1, past.parts);
    return past.key === key ? told : told.map((entry) => ({ ...entry, fusedInto: past.key }));
  }

  /**
   * The live fused task that ran `key` as one of its parts. A scan of the live tasks, paid by
   * the rare story reader rather than by an index every fused task would fill on the hot path;
   * once the fused task is forgotten, the story ring remembers its parts (task_story.ts).
   */
  #fusedTaskWithPart(key: Key): TaskRecord | undefined {
    for (const task of this.tasks.values()) {
      if (task.parts !== null && task.parts.includes(key)) return task;
    }
    return undefined;
  }

  /** Whether `client` may read `key` (tenancy.ts): false for unknown clients and keys. */
  mayRead(client: ClientId, key: Key): boolean {
    const record = this.#clients.clients.get(client);
    const task = this.tasks.get(key);
    if (record === undefined || task === undefined) return !this.ownership.enabled;
    return this.ownership.mayRead(task, record.identity);
  }

  /** Addresses of the workers holding `key`'s result. */
  whoHas(key: Key): WorkerAddress[] {
    return this.#replicas.whoHas(key);
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
  pendingSample(limit: number): Generator<TaskRecord> {
    return this.#queues.pendingSample(limit);
  }

  /** Steal requests sent, confirmed and rejected so far. */
  get stealingCounts(): { requested: number; confirmed: number; rejected: number } {
    const s = this.#stealing;
    return { requested: s.requested, confirmed: s.confirmed, rejected: s.rejected };
  }

  /**
   * Moves of workers in or between work stealing's load heaps so far (worker_loads.ts): made when
   * a balance reads the heaps, once per worker whose load changed, not per task.
   */
  get loadHeapMoves(): number {
    return this.#stealing.loads.refiled;
  }

  /** One summary per worker. O(workers). */
  workerSummaries(): WorkerSummary[] {
    return workerSummaries(this.workers.values());
  }

  /** Whether `address` takes new tasks (undefined for a worker not registered). */
  workerStatus(address: WorkerAddress): WorkerRunState | undefined {
    const worker = this.workers.get(address);
    return worker === undefined ? undefined : this.#members.status(worker);
  }

  /** Workers that take new tasks. */
  get runningWorkers(): ReadonlyMap<WorkerAddress, WorkerRecord> {
    return this.#members.running;
  }

  /** Expected compute time of `task`, seconds (StealHost). */
  taskDuration(task: TaskRecord): number {
    return task.prefix.estimate(this.config.unknownTaskDuration);
  }

  /** StealHost: sends the request to the victim. */
  sendStealRequest(victim: WorkerRecord, task: TaskRecord, stealId: number): void {
    this.#outbox.toWorker(victim, { op: "steal-request", key: task.key, stealId });
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
      unrunnable: this.#queues.unrunnable,
      notRunning: this.#members.notRunning,
      running: this.#members.running,
      workersWithSlots: this.#queues.workersWithSlots,
      workersWithFreeThreads: this.#queues.workersWithFreeThreads,
      loads: this.#stealing.loads,
      retries: this.#retries,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Transitions: what a stimulus or a recommendation asks for (`#toWaiting`, `#toReleased`,
  // `#toForgotten`, `#toErred`, `#dataLost`) decides the move; `#transition` finds the function
  // that performs it by its (start, finish) pair in PERFORMERS.

  /** The function performing each move of transitions.ts, by (start, finish). */
  static readonly #PERFORMERS: TransitionPerformers<SchedulerState, TaskRecord, MoveDetail> = {
    released: {
      waiting: (sm, task) => sm.#enterWaiting(task),
      memory: (sm, task, value) => sm.#enterMemory(task, value as Encoded | undefined),
      erred: (sm, task) => sm.#enterErredFrom(task),
      forgotten: (sm, task) => sm.#forget(task),
    },
    waiting: {
      queued: (sm, task, queue) => sm.#assignment.toQueued(task, queue as TaskQueue),
      "no-worker": (sm, task) => sm.#assignment.toNoWorker(task),
      processing: (sm, task, worker) => sm.#assignment.assign(task, worker as WorkerRecord),
      memory: (sm, task, value) => sm.#enterMemory(task, value as Encoded | undefined),
      released: (sm, task) => sm.#releaseActive(task),
      erred: (sm, task) => sm.#enterErredFrom(task),
    },
    queued: {
      processing: (sm, task, worker) => sm.#assignment.assign(task, worker as WorkerRecord),
      waiting: (sm, task) => sm.#enterWaiting(task),
      "no-worker": (sm, task) => sm.#assignment.toNoWorker(task),
      memory: (sm, task, value) => sm.#enterMemory(task, value as Encoded | undefined),
      released: (sm, task) => sm.#releaseActive(task),
      erred: (sm, task) => sm.#enterErredFrom(task),
    },
    "no-worker": {
      waiting: (sm, task) => sm.#enterWaiting(task),
      memory: (sm, task, value) => sm.#enterMemory(task, value as Encoded | undefined),
      released: (sm, task) => sm.#releaseActive(task),
      erred: (sm, task) => sm.#enterErredFrom(task),
    },
    processing: {
      memory: (sm, task, value) => sm.#enterMemory(task, value as Encoded | undefined),
      waiting: (sm, task) => sm.#enterWaiting(task),
      queued: (sm, task, queue) => {
        sm.#assignment.exitProcessing(task, true);
        sm.#assignment.toQueued(task, queue as TaskQueue);
      },
      released: (sm, task) => sm.#releaseActive(task),
      erred: (sm, task) => sm.#enterErredFrom(task),
    },
    memory: {
      released: (sm, task) => sm.#memoryReleased(task),
      erred: (sm, task) => sm.#memoryErred(task),
      forgotten: (sm, task) => sm.#forget(task),
    },
    erred: {
      released: (sm, task) => sm.#erredReleased(task),
      forgotten: (sm, task) => sm.#forget(task),
    },
    forgotten: {},
  };
  static readonly #performer = transitionDispatch(SchedulerState.#PERFORMERS);

  /**
   * Moves `task` to `finish` by the function of its (start, finish) pair. A pair without one goes
   * through `released` (Dask's composite moves); `detail` is the move's input (the worker of
   * `processing`, the queue of `queued`, a tiny result riding along to `memory`).
   */
  #transition(task: TaskRecord, finish: "processing", worker: WorkerRecord): void;
  #transition(task: TaskRecord, finish: "queued", queue: TaskQueue): void;
  #transition(task: TaskRecord, finish: "memory", value?: Encoded): void;
  #transition(task: TaskRecord, finish: Exclude<SchedulerTaskState, "processing" | "queued">): void;
  #transition(task: TaskRecord, finish: SchedulerTaskState, detail?: MoveDetail): void {
    const start = task.state;
    if (start === finish) return;
    const perform = SchedulerState.#performer(start, finish);
    if (perform !== undefined) return perform(this, task, detail);
    // Not a pair of the table: a bug when one end is released (throws), else Dask's composite.
    if (start === "released" || finish === "released") transitionIndex(start, finish);
    this.#transition(task, "released");
    // (the overload's types do not matter here: `detail` goes on as it came)
    if (task.state === "released") this.#transition(task, finish as "memory", detail as Encoded);
  }

  #recommend(task: TaskRecord, what: Recommendation): void {
    if (task.recommendation === null) this.#recommendations.push(task);
    task.recommendation = what;
  }

  /**
   * Runs recommendations to a fixed point, then places ready tasks and fills free slots; tasks
   * with nowhere to run fail (and their dependents after them).
   */
  #settle(): void {
    do this.#settleOnce(); while (this.#failNowhereToRun());
  }

  /**
   * No worker runs and some are exhausted (out of memory, spill directory full: they will not
   * resume by themselves): tasks waiting for a worker would wait forever, so they fail with
   * MemoryLimitError. Paused workers may resume, so while none is exhausted tasks wait. True
   * when a task failed.
   */
  #failNowhereToRun(): boolean {
    const members = this.#members;
    if (members.running.size > 0 || members.exhausted.size === 0) return false;
    const stuck = [...this.#queues.unrunnable, ...this.#queues.root.values()];
    if (stuck.length === 0) return false;
    const names = [...members.exhausted].map((w) => w.address).join(", ");
    for (const task of stuck) {
      task.error = {
        name: "MemoryLimitError",
        message: `task ${task.key} cannot run: every worker is out of memory and nothing more ` +
          `can be spilled (${names}: spill directory full). Release results you no longer ` +
          `need, give workers a larger --memory-limit or more room for --local-directory ` +
          `(--spill-limit), or split the work.`,
        key: task.key,
      };
      task.blamedKey = task.key;
      this.#toErred(task);
    }
    return true;
  }

  #settleOnce(): void {
    const recs = this.#recommendations;
    for (let i = 0; i < recs.size; i++) {
      const task = recs.at(i);
      const what = task.recommendation;
      task.recommendation = null;
      // forgotten: out of the books (#forget is the one place a task leaves them)
      if (what === null || task.state === "forgotten") continue;
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
          this.#toErred(task);
          break;
      }
    }
    recs.clear();
    this.#assignment.placeReady();
    this.#queues.fill(this.#queueHost, this.#stealing.loads.totalThreads);
  }

  /** Records a performed move: checked against TRANSITIONS once more, told in its story. */
  #setState(task: TaskRecord, state: SchedulerTaskState): void {
    const old = task.state;
    if (old === state) return;
    const move = transitionIndex(old, state);
    task.state = state;
    if (this.stories.capacity > 0) this.#tell(task, move);
    moveCount(this.stateCounts, old, state);
    moveCount(task.prefix.counts, old, state);
  }

  /** Adds `move` to `task`'s story, with the event's stimulus and the worker involved. */
  #tell(task: TaskRecord, move: number): void {
    const stories = this.stories;
    if (this.#causeId < 0) this.#causeId = stories.causeId(causeOf(this.#event));
    const worker = task.processingOn;
    let workerId: number;
    if (worker !== null) {
      if (worker.storyId < 0) worker.storyId = stories.workerId(worker.address);
      workerId = worker.storyId;
    } else {
      if (this.#eventWorkerId < 0) this.#eventWorkerId = stories.workerId(workerOf(this.#event));
      workerId = this.#eventWorkerId;
    }
    task.storySeq = stories.record(
      task.storyTag,
      task.storySeq,
      this.#causeId,
      move,
      workerId,
      this.now,
    );
  }

  /** A client or a dependent needs `task`: it waits for its inputs (again), if it can run. */
  #toWaiting(task: TaskRecord): void {
    const state = task.state;
    if (state === "memory" || state === "erred" || !task.runnable) return;
    if (task.whoWants.size === 0 && task.waiters.size === 0) return this.#toReleased(task);
    // Already waiting: its inputs are counted again (one of them may have been lost).
    if (state === "waiting") this.#enterWaiting(task);
    else this.#transition(task, "waiting");
  }

  /** Performs released/queued/no-worker/processing → waiting (and refreshes a waiting task). */
  #enterWaiting(task: TaskRecord): void {
    this.#leaveActiveState(task, true);
    if (task.lostLineage) {
      task.error = lostDataError(task.key, false);
      task.blamedKey = task.key;
      return this.#toErred(task);
    }
    const deps = task.dependencies;
    for (let i = 0; i < deps.length; i++) {
      const dep = deps[i];
      if (dep.state === "erred") {
        task.error = dep.error;
        task.blamedKey = dep.blamedKey;
        return this.#toErred(task);
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
    if (task.waitingOn.size === 0) this.#assignment.markReady(task);
  }

  /** Releases a task nobody needs: its computation stops, its data is freed. */
  #toReleased(task: TaskRecord): void {
    if (task.whoWants.size > 0 || task.waiters.size > 0) return;
    const state = task.state;
    // Data that cannot be recomputed is forgotten rather than kept as lineage.
    if (state === "memory" && !task.runnable) return this.#toForgotten(task);
    if (state === "released" || state === "erred") {
      if (task.dependents.size === 0) this.#recommend(task, "forgotten");
    } else if (state !== "forgotten") this.#transition(task, "released");
  }

  /** Performs waiting/queued/no-worker/processing → released. */
  #releaseActive(task: TaskRecord): void {
    this.#leaveActiveState(task, true);
    this.#setState(task, "released");
    if (task.dependents.size === 0) this.#recommend(task, "forgotten");
  }

  /**
   * Performs memory → released: the copies are freed (nobody needs them) or gone (lost; those
   * who need the result hear `lost` and it is computed again).
   */
  #memoryReleased(task: TaskRecord): void {
    this.#replicas.dropAll(task);
    this.#setState(task, "released");
    for (const dependent of task.waiters) {
      if (dependent.state === "waiting") dependent.addWaitingOn(task);
      else this.#recommend(dependent, "waiting");
    }
    if (task.whoWants.size > 0 || task.waiters.size > 0) {
      for (const client of task.whoWants) {
        this.#outbox.toClient(client, { op: "lost", key: task.key });
      }
      this.#recommend(task, "waiting");
    } else if (task.dependents.size === 0) {
      this.#recommend(task, "forgotten");
    }
  }

  /** Removes a task from the graph once no client and no dependent refers to it. */
  #toForgotten(task: TaskRecord): void {
    if (task.whoWants.size > 0 || task.waiters.size > 0) return;
    // A dependent may need to recompute from this task (lineage), unless it cannot be recomputed.
    if (task.runnable && task.dependents.size > 0) return;
    // An active task goes through released (composite): its computation stops first.
    this.#transition(task, "forgotten");
  }

  /** Performs released/erred/memory → forgotten. */
  #forget(task: TaskRecord): void {
    if (task.state === "memory") this.#replicas.dropAll(task);
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
    if (task.parts !== null) this.stories.rememberFusion(task.key, task.parts);
    this.#setState(task, "forgotten");
  }

  /** Marks a task erred with `task.error`/`task.blamedKey`, and its dependents after it. */
  #toErred(task: TaskRecord): void {
    const state = task.state;
    if (state === "memory" || state === "erred" || state === "forgotten") return;
    this.#transition(task, "erred");
  }

  /** Performs released/waiting/queued/no-worker/processing → erred. */
  #enterErredFrom(task: TaskRecord): void {
    this.#leaveActiveState(task, true);
    this.#setState(task, "erred");
    if (task.blamedKey === task.key) task.prefix.erred++;
    this.#enterErred(task, true);
  }

  /** Performs memory → erred: the last copy is gone and the result cannot be computed again. */
  #memoryErred(task: TaskRecord): void {
    this.#replicas.dropAll(task);
    const error = lostDataError(task.key, !task.runnable);
    this.#log("task", error.message, task.key);
    for (const client of task.whoWants) {
      this.#outbox.toClient(client, { op: "lost", key: task.key, error });
    }
    task.error = error;
    task.blamedKey = task.key;
    this.#setState(task, "erred");
    this.#enterErred(task, false);
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
    if (report) { for (const client of task.whoWants) this.#outbox.reportErred(task, client); }
    this.#clients.releaseFireAndForget(task);
    if (task.whoWants.size === 0 && task.dependents.size === 0) {
      this.#recommend(task, "forgotten");
    }
  }

  /** Performs erred → released: the error is forgotten (retried, resubmitted, scattered). */
  #erredReleased(task: TaskRecord): void {
    if (task.erredOn !== null) this.#freeErrorRecord(task);
    task.error = null;
    task.blamedKey = null;
    this.#setState(task, "released");
  }

  /**
   * Leaves waiting/queued/no-worker/processing: out of its queue or off its worker (told to free
   * it when `freeOnWorker`), and no longer a waiter of its dependencies.
   */
  #leaveActiveState(task: TaskRecord, freeOnWorker: boolean): void {
    switch (task.state) {
      case "processing":
        this.#assignment.exitProcessing(task, freeOnWorker);
        break;
      case "queued":
        task.queue?.remove(task);
        task.queue = null;
        this.#retries.leave(task);
        break;
      case "no-worker":
        this.#queues.deleteUnrunnable(task);
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

  /**
   * Performs released/waiting/queued/no-worker/processing → memory. `value`: the tiny result a
   * worker sent along, passed on to the holders told now.
   */
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
      ) this.#assignment.markReady(dependent);
    }
    for (const client of task.whoWants) this.#outbox.reportInMemory(task, client, value);
    this.#clients.releaseFireAndForget(task);
    if (task.whoWants.size === 0 && task.waiters.size === 0) this.#recommend(task, "released");
  }

  /**
   * Scattered data lost its last copy. It has no lineage, so — as in Dask — its key and the
   * tasks that would read it are forgotten and their holders told `cancelled`, saying why;
   * results already computed from it stay (without lineage).
   */
  #scatteredDataLost(task: TaskRecord): void {
    const reason = lostDataError(task.key, true).message;
    this.#log("task", reason, task.key);
    this.#clients.cancelWithReaders(task, reason);
  }

  /** A task in memory has no copy left: computed again, or erred when it cannot be. */
  #dataLost(task: TaskRecord): void {
    if (!task.runnable) return this.#scatteredDataLost(task);
    this.#transition(task, task.lostLineage ? "erred" : "released");
  }

  #freeErrorRecord(task: TaskRecord): void {
    const worker = this.workers.get(task.erredOn!);
    if (worker !== undefined) this.#outbox.freeKeys(worker, task.key);
    task.erredOn = null;
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

  #newTask(submitted: NewTask): TaskRecord {
    const key = submitted.key;
    const last = this.#lastPrefix;
    const prefix = submitted.parts === undefined && last !== null && hasKeyPrefix(key, last.name)
      ? last
      : this.#prefixOf(key, submitted.parts);
    const task = TaskRecord.withOptions(prefix, submitted);
    this.#retries.setDelay(task, submitted.options?.retryDelay);
    if (submitted.options?.timeoutMs !== undefined) task.timeoutMs = submitted.options.timeoutMs;
    if (submitted.options?.actor === true) task.actor = true;
    if (this.stories.capacity > 0) task.storyTag = storyTag(key);
    this.tasks.set(key, task);
    this.stateCounts.released++;
    prefix.counts.released++;
    return task;
  }

  /** The statistics of `key`'s prefix, or of a fused task's made of `parts`, made on first use. */
  #prefixOf(key: Key, parts: readonly Key[] | undefined): TaskPrefixStats {
    // a fused task is grouped by its parts (`inc+add`), as Dask names it after them
    const name = parts === undefined ? keyPrefix(key) : fusedPrefix(parts);
    let prefix = this.prefixes.get(name);
    if (prefix === undefined) {
      prefix = new TaskPrefixStats(name);
      this.prefixes.set(name, prefix);
    }
    if (parts === undefined) this.#lastPrefix = prefix;
    return prefix;
  }

  #log(topic: EventTopic, message: string, key?: Key, worker?: WorkerAddress): void {
    const entry: SchedulerLogEntry = { time: this.now, topic, message };
    if (key !== undefined) entry.key = key;
    if (worker !== undefined) entry.worker = worker;
    this.eventLog.push(entry);
  }
}
