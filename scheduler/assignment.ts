/**
 * Assignment: ready tasks go to workers. A task that became ready is placed at the end of the
 * event in priority order: sent to the worker where it starts earliest (placement.ts), held in a
 * queue on the scheduler (queuing.ts: root-ish tasks for a free slot, restricted tasks for their
 * resources) or marked `no-worker`. Sending a task to a worker and taking it back keep that
 * worker's processing books (occupancy, resources in use, steal candidates, root-ish slots) in
 * step. Placement asks the state machine for each move ({@link AssignmentHost}), which performs it
 * through its transitions table with the functions here (`toQueued`, `toNoWorker`, `assign`).
 *
 * @module
 */

import { ScratchList } from "../core/scratch_list.ts";
import type { IndexedHeap } from "../core/priority_heap.ts";
import type { ComputeTaskMsg, KeyLocation } from "../protocol/messages.ts";
import { compareFlatPriority } from "../core/priority.ts";
import { unpackArgs } from "./args_arena.ts";
import { decideWorker, type PlacementContext, WAIT_FOR_RESOURCES } from "./placement.ts";
import type { TaskRecord, WorkerRecord } from "./records.ts";
import type { SchedulerConfig } from "./config.ts";
import type { SchedulerTaskState, TaskPrefixStats } from "./task_prefix_stats.ts";
import type { StealHost, WorkStealing } from "./stealing.ts";
import type { SchedulerOutbox } from "./outbox.ts";
import type { Replicas } from "./replicas.ts";
import type { QueueHost, TaskQueues } from "./queuing.ts";
import type { WorkerMembership } from "./membership.ts";

/** What assignment asks of the state machine. */
export interface AssignmentHost {
  /** The one place a task's state changes (state.ts). */
  setState(task: TaskRecord, state: SchedulerTaskState): void;
  /** The placement moves, asked of the state machine (waiting → processing/queued/no-worker). */
  readonly moves: Omit<QueueHost, "placement"> & {
    toQueued(task: TaskRecord, queue: IndexedHeap<TaskRecord>): void;
  };
  /** Expected compute time of `task`, seconds. */
  taskDuration(task: TaskRecord): number;
}

/** The books assignment keeps in step. */
export interface AssignmentBooks {
  config: Readonly<SchedulerConfig>;
  members: WorkerMembership;
  queues: TaskQueues;
  replicas: Replicas;
  outbox: SchedulerOutbox;
  stealing: WorkStealing;
}

const byPriority = (a: TaskRecord, b: TaskRecord): number => compareFlatPriority(a, b);

const NO_DEPS: KeyLocation[] = [];

export class Assignment {
  /** The running workers, as placement sees them. */
  readonly placement: PlacementContext;
  /** The running workers, as stealing sees them. */
  readonly stealHost: StealHost;
  readonly #host: AssignmentHost;
  readonly #config: Readonly<SchedulerConfig>;
  readonly #members: WorkerMembership;
  readonly #queues: TaskQueues;
  readonly #replicas: Replicas;
  readonly #outbox: SchedulerOutbox;
  readonly #stealing: WorkStealing;
  /** Tasks that became ready during this event. */
  readonly #ready = new ScratchList<TaskRecord>();
  #runIds = 0;

  constructor(host: AssignmentHost, books: AssignmentBooks) {
    this.#host = host;
    this.#config = books.config;
    const members = this.#members = books.members;
    this.#queues = books.queues;
    this.#replicas = books.replicas;
    this.#outbox = books.outbox;
    this.#stealing = books.stealing;
    this.placement = {
      workers: members.running,
      workersByName: members.runningByName,
      get bandwidth() {
        return members.bandwidth;
      },
    };
    const outbox = this.#outbox;
    this.stealHost = {
      workers: members.running,
      workersByName: members.runningByName,
      get bandwidth() {
        return members.bandwidth;
      },
      taskDuration: (task) => host.taskDuration(task),
      sendStealRequest: (victim, task, stealId) =>
        outbox.toWorker(victim, { op: "steal-request", key: task.key, stealId }),
    };
  }

  /** `task` is ready: it is placed at the end of the event, in priority order. */
  markReady(task: TaskRecord): void {
    if (task.pendingPlacement) return;
    task.pendingPlacement = true;
    this.#ready.push(task);
  }

  /** Places the tasks that became ready, highest priority first (end of every event). */
  placeReady(): void {
    const ready = this.#ready;
    if (ready.size === 0) return;
    if (ready.size > 1) ready.sort(byPriority);
    for (let i = 0; i < ready.size; i++) {
      const task = ready.at(i);
      task.pendingPlacement = false;
      // (a waiting task is in the books: only #forget takes a task out, and makes it forgotten)
      if (task.state !== "waiting" || task.waitingOn.size > 0) continue;
      this.#place(task);
    }
    ready.clear();
  }

  #place(task: TaskRecord): void {
    const queues = this.#queues;
    const moves = this.#host.moves;
    if (this.#members.running.size === 0) return moves.toNoWorker(task);
    if (queues.queuesAsRootish(task, this.#members.totalThreads)) {
      return moves.toQueued(task, queues.root);
    }
    const decision = decideWorker(task, this.placement);
    if (decision === null) moves.toNoWorker(task);
    else if (decision === WAIT_FOR_RESOURCES) moves.toQueued(task, queues.resourceQueue(task));
    else moves.toProcessing(task, decision);
  }

  /** No running worker may run `task`: state `no-worker` until one joins or resumes. */
  toNoWorker(task: TaskRecord): void {
    this.#host.setState(task, "no-worker");
    this.#queues.addUnrunnable(task);
  }

  /** Holds a ready task in `queue` on the scheduler: state `queued`. */
  toQueued(task: TaskRecord, queue: IndexedHeap<TaskRecord>): void {
    queue.push(task);
    task.queue = queue;
    this.#host.setState(task, "queued");
  }

  /** Sends `task` to `worker` (`compute-task`, with where its inputs are): state `processing`. */
  assign(task: TaskRecord, worker: WorkerRecord): void {
    const prefix = task.prefix;
    const estimate = prefix.estimate(this.#config.unknownTaskDuration);
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
    this.#queues.updateSlots(worker, worker.takesTasks);
    this.#stealing.loads.update(worker);
    if (this.#config.stealing) this.#stealing.add(task, estimate, this.#members.bandwidth);
    this.#host.setState(task, "processing");
    const deps = task.dependencies;
    let locations = NO_DEPS;
    if (deps.length > 0) {
      locations = new Array(deps.length);
      for (let i = 0; i < deps.length; i++) locations[i] = this.#replicas.location(deps[i]);
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
    if (task.actor) msg.actor = true;
    if (task.parts !== null) msg.group = task.prefix.name;
    this.#outbox.toWorker(worker, msg);
  }

  /** Takes a task off its worker's books (does not change its state). */
  exitProcessing(task: TaskRecord, freeOnWorker: boolean): void {
    const worker = task.processingOn;
    if (worker === null) return;
    task.processingOn = null;
    worker.processing.delete(task);
    if (task.longRunning) {
      task.longRunning = false;
      worker.longRunning--;
    }
    worker.occupancy = worker.processing.size === 0 ? 0 : worker.occupancy - task.estimate;
    const guessed = task.prefix.guessed;
    if (guessed.size > 0) guessed.delete(task);
    const resources = task.resources;
    if (resources !== null) {
      const used = worker.usedResources;
      for (const name in resources) used[name] -= resources[name];
      this.#queues.resourcesChanged();
    }
    this.#stealing.remove(task, worker);
    this.#stealing.loads.update(worker);
    if (worker.member) {
      this.#queues.updateSlots(worker, worker.takesTasks);
      if (freeOnWorker) this.#outbox.freeKeys(worker, task.key);
    }
  }

  /** The first measured duration of a prefix corrects the guesses counted in occupancy. */
  reviseGuesses(prefix: TaskPrefixStats): void {
    const estimate = prefix.durationAverage;
    for (const task of prefix.guessed) {
      const worker = task.processingOn;
      if (worker === null) continue;
      worker.occupancy += estimate - task.estimate;
      task.estimate = estimate;
      this.#stealing.loads.update(worker);
      if (this.#config.stealing && !this.#stealing.inFlight.has(task)) {
        this.#stealing.refile(task, estimate, this.#members.bandwidth);
      }
    }
    prefix.guessed.clear();
  }
}
