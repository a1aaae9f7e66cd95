/**
 * The scheduler's bookkeeping: one record per task, per worker and per client. The state machine
 * (state.ts) keeps every cross-reference between them consistent; policies (placement.ts,
 * stealing.ts) and the dashboard read them. Treat records as read-only outside state.ts.
 *
 * @module
 */

import { FunctionSender } from "../core/function_link.ts";
import type { Key, TaskOptions } from "../core/task.ts";
import { resourcesFree } from "../core/resources.ts";
import type { ErrorRecord } from "../core/errors.ts";
import { CompactSet, type ReadonlyCompactSet } from "../core/compact_set.ts";
import type { HeapItem, IndexedHeap } from "../core/priority_heap.ts";
import { RecentLines } from "../core/recent_lines.ts";
import type {
  ClientId,
  FreeKeysMsg,
  KeyLocation,
  Priority,
  WorkerAddress,
} from "../protocol/messages.ts";
import type { SchedulerTaskState, TaskPrefixStats } from "./task_prefix_stats.ts";

/** A task entering the scheduler's books: a graph's task, or data scattered (not `runnable`). */
export interface NewTask {
  key: Key;
  /** Encoded function; null for data. */
  fn: unknown;
  args: unknown;
  /** False for data that was scattered: it cannot be recomputed. */
  runnable: boolean;
  priority: Priority;
  options?: TaskOptions;
  /** A fused task's parts (GraphTaskSpec.parts): it is grouped by their prefixes. */
  parts?: readonly Key[];
}

/** Number of stealing cost levels (Dask's 15 `cost_multipliers`). */
export const STEAL_LEVELS = 15;
/** Log lines the scheduler keeps per worker. */
const WORKER_LOG_LINES = 500;

/** What a pending recommendation asks of a task; see SchedulerState. */
export type Recommendation = "waiting" | "released" | "forgotten" | "erred";

/**
 * Shared stand-in for a set that was never filled: most tasks never fill most of their sets. A
 * `CompactSet` like the filled ones, so the readers' call sites see one class (one shape).
 */
const EMPTY: ReadonlyCompactSet<never> = new CompactSet<never>();
/** Shared stand-in for the dependencies of a task that reads none (most of a big map). */
const NO_TASKS: readonly TaskRecord[] = Object.freeze([]);

/** Bits of `TaskRecord`'s flags. */
const RUNNABLE = 1, RETURN_VALUE = 2, LONG_RUNNING = 4, ACTOR = 8, LOST_LINEAGE = 16;
const PENDING_PLACEMENT = 32, LOOSE_RESTRICTIONS = 64;

/** A task's fields that most tasks leave at their defaults (see `TaskRecord`'s flags). */
class RareTaskFields {
  retries = 0;
  timeoutMs = 0;
  diedOn: WorkerAddress[] | null = null;
  error: ErrorRecord | null = null;
  blamedKey: Key | null = null;
  erredOn: WorkerAddress | null = null;
  parts: readonly Key[] | null = null;
  workers: ReadonlySet<string> | null = null;
  resources: Readonly<Record<string, number>> | null = null;
}

export class TaskRecord implements HeapItem {
  state: SchedulerTaskState = "released";
  #dependencies: TaskRecord[] | null = null;
  /** Allocated with the first copy, like the sets below (a graph's tasks wait without one). */
  #whoHas: CompactSet<WorkerRecord> | null = null;
  // Allocated on first use (most tasks leave most of these empty), and compact: in trees and
  // chains most tasks have one dependent, one waiter and one input to wait on, and a `Set` per
  // member costs ~130 bytes and the collections that free it (~400 B/task of a tree's graph).
  #dependents: CompactSet<TaskRecord> | null = null;
  #waitingOn: CompactSet<TaskRecord> | null = null;
  #waiters: CompactSet<TaskRecord> | null = null;
  /** Mostly one client: a compact set, allocated on first use like the sets above. */
  #whoWants: CompactSet<ClientRecord> | null = null;

  /** Workers holding a copy of the result (mostly one: a compact set). */
  get whoHas(): ReadonlyCompactSet<WorkerRecord> {
    return this.#whoHas ?? EMPTY;
  }
  /** The tasks whose results this one reads. */
  get dependencies(): readonly TaskRecord[] {
    return this.#dependencies ?? NO_TASKS;
  }
  /** The tasks that read this one's result. */
  get dependents(): ReadonlyCompactSet<TaskRecord> {
    return this.#dependents ?? EMPTY;
  }
  /** While `waiting`: the dependencies not yet in memory. */
  get waitingOn(): ReadonlyCompactSet<TaskRecord> {
    return this.#waitingOn ?? EMPTY;
  }
  /** Dependents that still need this result (waiting, queued, no-worker or processing). */
  get waiters(): ReadonlyCompactSet<TaskRecord> {
    return this.#waiters ?? EMPTY;
  }
  /** Clients holding a future for this key. */
  get whoWants(): ReadonlyCompactSet<ClientRecord> {
    return this.#whoWants ?? EMPTY;
  }

  /** Only replicas.ts calls these three: it keeps `worker.hasWhat` in step. */
  addHolder(worker: WorkerRecord): void {
    (this.#whoHas ??= new CompactSet()).add(worker);
    this.#location = null;
  }
  deleteHolder(worker: WorkerRecord): boolean {
    this.#location = null;
    return this.#whoHas !== null && this.#whoHas.delete(worker);
  }
  clearHolders(): void {
    this.#whoHas = null;
    this.#location = null;
  }
  /**
   * Where the result can be fetched, made once per set of holders and size: every dependent's
   * `compute-task` names it (a shuffle output's 8 inputs are each read by 8 outputs), and made
   * per input per message it was a sixth of the bytes the scheduler allocated per task in
   * `bench/simulate.ts`'s shuffle. Never changed once made (a change of holders makes a new one),
   * so messages already in the outbox may share it.
   */
  location(): KeyLocation {
    const made = this.#location;
    if (made !== null && made.nbytes === this.nbytes) return made;
    return this.#location = { key: this.key, nbytes: this.nbytes, workers: this.holderAddresses() };
  }
  #location: KeyLocation | null = null;
  /**
   * Adds `tasks` to the dependencies. The first ones are copied into an array of their exact
   * length: one grown by `push` from empty holds 17 slots (~150 bytes) for a task of one input.
   */
  addDependencies(tasks: readonly TaskRecord[]): void {
    if (tasks.length === 0) return;
    if (this.#dependencies === null) this.#dependencies = tasks.slice();
    else for (let i = 0; i < tasks.length; i++) this.#dependencies.push(tasks[i]);
  }
  deleteDependency(task: TaskRecord): void {
    const index = this.#dependencies?.indexOf(task) ?? -1;
    if (index >= 0) this.#dependencies!.splice(index, 1);
  }
  clearDependencies(): void {
    this.#dependencies = null;
  }
  addDependent(task: TaskRecord): void {
    (this.#dependents ??= new CompactSet()).add(task);
  }
  deleteDependent(task: TaskRecord): boolean {
    return this.#dependents !== null && this.#dependents.delete(task);
  }
  clearDependents(): void {
    this.#dependents = null;
  }
  addWaitingOn(task: TaskRecord): void {
    (this.#waitingOn ??= new CompactSet()).add(task);
  }
  deleteWaitingOn(task: TaskRecord): boolean {
    return this.#waitingOn !== null && this.#waitingOn.delete(task);
  }
  clearWaitingOn(): void {
    this.#waitingOn?.clear();
  }
  addWaiter(task: TaskRecord): void {
    (this.#waiters ??= new CompactSet()).add(task);
  }
  deleteWaiter(task: TaskRecord): boolean {
    return this.#waiters !== null && this.#waiters.delete(task);
  }
  addWant(client: ClientRecord): void {
    (this.#whoWants ??= new CompactSet()).add(client);
  }
  deleteWant(client: ClientRecord): boolean {
    return this.#whoWants !== null && this.#whoWants.delete(client);
  }
  clearWants(): void {
    this.#whoWants = null;
  }
  /**
   * Addresses of the workers holding a copy: an array of their exact number (one grown by `push`
   * from empty reserves 17 slots; this runs for every `key-in-memory` and every input of every
   * `compute-task`), filled by a loop (`Array.from` over a CompactSet is slow).
   */
  holderAddresses(): WorkerAddress[] {
    const addresses = new Array<WorkerAddress>(this.whoHas.size);
    let i = 0;
    for (const worker of this.whoHas) addresses[i++] = worker.address;
    return addresses;
  }

  processingOn: WorkerRecord | null = null;
  /** Identifies the current assignment; results of older assignments are stale. */
  runId = 0;
  /** Compute time counted in the worker's occupancy while processing, seconds. */
  estimate = 0;
  nbytes = -1;
  typeName = "";
  /**
   * Seven booleans in one number, and the fields most tasks never set in one object made on the
   * first write of a value other than the default ({@link RareTaskFields}); the accessors below
   * read them as fields. Each field costs 8 bytes in every task of a graph: with all of them in
   * the record it took 344 bytes (now 232), copied by the collector as a graph comes in.
   */
  #flags = 0;
  #rare: RareTaskFields | null = null;

  #flag(bit: number): boolean {
    return (this.#flags & bit) !== 0;
  }
  #setFlag(bit: number, on: boolean): void {
    this.#flags = on ? this.#flags | bit : this.#flags & ~bit;
  }
  #more(): RareTaskFields {
    return this.#rare ??= new RareTaskFields();
  }

  /** False for data that was scattered: it cannot be recomputed. */
  get runnable(): boolean {
    return this.#flag(RUNNABLE);
  }
  set runnable(on: boolean) {
    this.#setFlag(RUNNABLE, on);
  }
  /** A client waits for the value: a tiny result comes back with task-finished. */
  get returnValue(): boolean {
    return this.#flag(RETURN_VALUE);
  }
  set returnValue(on: boolean) {
    this.#setFlag(RETURN_VALUE, on);
  }
  /** Processing, but seceded from its worker's threads (counted in `longRunning` there). */
  get longRunning(): boolean {
    return this.#flag(LONG_RUNNING);
  }
  set longRunning(on: boolean) {
    this.#setFlag(LONG_RUNNING, on);
  }
  /** It builds an actor, which stays on the worker that built it. */
  get actor(): boolean {
    return this.#flag(ACTOR);
  }
  set actor(on: boolean) {
    this.#setFlag(ACTOR, on);
  }
  /** A dependency was forgotten without being recomputable: this task cannot be recomputed. */
  get lostLineage(): boolean {
    return this.#flag(LOST_LINEAGE);
  }
  set lostLineage(on: boolean) {
    this.#setFlag(LOST_LINEAGE, on);
  }
  /** Waiting to be placed at the end of the current event. */
  get pendingPlacement(): boolean {
    return this.#flag(PENDING_PLACEMENT);
  }
  set pendingPlacement(on: boolean) {
    this.#setFlag(PENDING_PLACEMENT, on);
  }
  /** With `workers`: when none of them is alive, run anywhere. */
  get looseRestrictions(): boolean {
    return this.#flag(LOOSE_RESTRICTIONS);
  }
  set looseRestrictions(on: boolean) {
    this.#setFlag(LOOSE_RESTRICTIONS, on);
  }

  /** Reruns left after a failure. */
  get retries(): number {
    return this.#rare === null ? 0 : this.#rare.retries;
  }
  set retries(n: number) {
    if (n !== 0 || this.#rare !== null) this.#more().retries = n;
  }
  /** Milliseconds one run may take (0: no limit); the worker stops a run past it. */
  get timeoutMs(): number {
    return this.#rare === null ? 0 : this.#rare.timeoutMs;
  }
  set timeoutMs(ms: number) {
    if (ms !== 0 || this.#rare !== null) this.#more().timeoutMs = ms;
  }
  /** Workers that died while running this task. */
  get diedOn(): WorkerAddress[] | null {
    return this.#rare === null ? null : this.#rare.diedOn;
  }
  set diedOn(workers: WorkerAddress[] | null) {
    if (workers !== null || this.#rare !== null) this.#more().diedOn = workers;
  }
  /** The error of an erred task: its own, or that of the dependency in `blamedKey`. */
  get error(): ErrorRecord | null {
    return this.#rare === null ? null : this.#rare.error;
  }
  set error(error: ErrorRecord | null) {
    if (error !== null || this.#rare !== null) this.#more().error = error;
  }
  get blamedKey(): Key | null {
    return this.#rare === null ? null : this.#rare.blamedKey;
  }
  set blamedKey(key: Key | null) {
    if (key !== null || this.#rare !== null) this.#more().blamedKey = key;
  }
  /** The worker that reported this task's own error (it keeps an error record to free). */
  get erredOn(): WorkerAddress | null {
    return this.#rare === null ? null : this.#rare.erredOn;
  }
  set erredOn(worker: WorkerAddress | null) {
    if (worker !== null || this.#rare !== null) this.#more().erredOn = worker;
  }
  /** A fused task's parts (their keys, in the order they run); null for any other task. */
  get parts(): readonly Key[] | null {
    return this.#rare === null ? null : this.#rare.parts;
  }
  set parts(parts: readonly Key[] | null) {
    if (parts !== null || this.#rare !== null) this.#more().parts = parts;
  }
  /** Names or addresses this task may run on, or null for any. */
  get workers(): ReadonlySet<string> | null {
    return this.#rare === null ? null : this.#rare.workers;
  }
  set workers(workers: ReadonlySet<string> | null) {
    if (workers !== null || this.#rare !== null) this.#more().workers = workers;
  }
  /** Resources one run holds on its worker (amounts above 0), or null for none. */
  get resources(): Readonly<Record<string, number>> | null {
    return this.#rare === null ? null : this.#rare.resources;
  }
  set resources(resources: Readonly<Record<string, number>> | null) {
    if (resources !== null || this.#rare !== null) this.#more().resources = resources;
  }

  /** Position in the queue it sits in (`queued` state), -1 otherwise. */
  heapIndex = -1;
  queue: IndexedHeap<TaskRecord> | null = null;
  /** Stealing cost level while processing and stealable, -1 otherwise. */
  stealLevel = -1;
  /** Pending recommendation (deduplicated: the latest wins). */
  recommendation: Recommendation | null = null;
  /**
   * The priority, `[-user priority, generation, order in the graph]`, as three numbers (core/
   * priority.ts `FlatPriority`): the scheduler's queues compare them at every step, and a tuple
   * kept per task was 72 bytes more and one more pointer to follow per comparison.
   */
  readonly priority0: number;
  readonly priority1: number;
  readonly priority2: number;
  /** Sequence number of this key's latest entry in the story ring (task_story.ts), or -1. */
  storySeq = -1;
  /** The key's hash that names it in the story ring (task_story.ts `storyTag`). */
  storyTag = 0;
  /** Where the cycle search of a graph intake stands with this task (cycles.ts). */
  cycleMark = -1;

  constructor(
    readonly key: Key,
    readonly prefix: TaskPrefixStats,
    /** Encoded function; unused when `runnable` is false. */
    public fn: unknown,
    public args: unknown,
    runnable: boolean,
    priority: Priority,
    retries: number,
    workers: ReadonlySet<string> | null,
    looseRestrictions: boolean,
    resources: Readonly<Record<string, number>> | null,
  ) {
    this.priority0 = priority[0];
    this.priority1 = priority[1];
    this.priority2 = priority[2];
    this.runnable = runnable;
    this.retries = retries;
    this.workers = workers;
    this.looseRestrictions = looseRestrictions;
    this.resources = resources;
  }

  /** The priority as a tuple (a new one: for messages and readers of a tuple). */
  get priority(): Priority {
    return [this.priority0, this.priority1, this.priority2];
  }

  /** A task as submitted with `options`: its retries and restrictions (resources above 0). */
  static withOptions(prefix: TaskPrefixStats, submitted: NewTask): TaskRecord {
    const { key, fn, args, runnable, priority, options } = submitted;
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
    if (submitted.parts !== undefined) task.parts = submitted.parts;
    return task;
  }
}

export class WorkerRecord {
  /**
   * Tasks assigned to this worker and not yet finished. A CompactSet: on many workers each holds a
   * few tasks, which a `Set` hashed and reallocated its table for as they came and went.
   */
  readonly processing = new CompactSet<TaskRecord>();
  /** Expected seconds of work in `processing` (sum of their estimates). */
  occupancy = 0;
  /**
   * Processing tasks that gave their thread slot back (`secede` in the task, Dask's
   * `long-running`): they hold no thread, so they do not count as the worker's load.
   */
  longRunning = 0;
  /** Tasks whose result this worker holds. */
  readonly hasWhat = new Set<TaskRecord>();
  /** Bytes held (sum of `hasWhat` sizes). */
  nbytes = 0;
  /** Resources held by processing tasks. */
  readonly usedResources: Record<string, number> = {};
  /**
   * Processing tasks by stealing cost level (cheapest to move first); a level's set is made with
   * its first task (most workers use one or two of the 15: a worker's join made 15 sets).
   */
  readonly stealable: (CompactSet<TaskRecord> | undefined)[] = [];
  /** Occupancy and task count moving in or out through steals that are not answered yet. */
  inFlightOccupancy = 0;
  inFlightTasks = 0;
  /**
   * Where worker_loads.ts files this worker by its load now (UNFILED, IDLE, SATURATED); which load
   * heap it is in, its position there and the key it is filed by there (queued work per thread,
   * seconds), as of the heaps' last refiling; whether it waits to be refiled.
   */
  loadFiling = 0;
  heapFiling = 0;
  heapIndex = -1;
  heapKey = 0;
  loadPending = false;
  /** The load and whether its threads are counted in worker_loads.ts's totals. */
  countedLoad = 0;
  counted = false;
  /** Tasks this worker finished (ever). */
  finished = 0;
  lastSeen: number;
  metrics: Record<string, number> = {};
  /** The worker's newest log lines, as its heartbeats brought them (the dashboard shows them). */
  readonly logs = new RecentLines(WORKER_LOG_LINES);
  /** Bytes this worker received from each peer (ever), as its heartbeats report them. */
  readonly received = new Map<string, number>();
  /** The same bytes by the values' type names. */
  readonly receivedByType = new Map<string, number>();
  /** The `free-keys` message of the current outbox that later keys for this worker may join. */
  openFreeKeys: FreeKeysMsg | null = null;
  openFreeKeysEpoch = -1;
  /** Marks visits by placement (avoids allocating a set per decision). */
  visitMark = 0;
  /** Counts the workers in the order their records were made (a tie-break for placement). */
  readonly serial: number = nextWorkerSerial++;
  /** The number naming this worker in the story ring (task_story.ts `workerId`), -1 until used. */
  storyId = -1;
  // Mirrors of membership.ts and queuing.ts books, read on every task's path where a lookup by
  // address or a Set operation cost more (those books stay the truth; validation.ts compares).
  /** Registered: in `WorkerMembership.workers`. */
  member = false;
  /** Takes new tasks: in `WorkerMembership.running`. */
  takesTasks = false;
  /** Position in `TaskQueues.workersWithSlots` and in `workersWithFreeThreads`, -1 when out. */
  slotsAt = -1;
  freeThreadAt = -1;
  /** In `TaskQueues.workersWithSlots`. */
  get hasSlots(): boolean {
    return this.slotsAt >= 0;
  }
  /** In `TaskQueues.workersWithFreeThreads`. */
  get hasFreeThread(): boolean {
    return this.freeThreadAt >= 0;
  }
  /** This worker's end of the function link: later tasks carry a spec's id alone. */
  readonly #functions = new FunctionSender();

  constructor(
    readonly address: WorkerAddress,
    readonly name: string,
    readonly nthreads: number,
    readonly memoryLimit: number,
    readonly resources: Readonly<Record<string, number>>,
    readonly addedAt: number,
  ) {
    this.lastSeen = addedAt;
  }
  /**
   * The form of a task's function for a `compute-task` to this worker: the whole spec the first
   * time, then only its id (the worker keeps the specs it was sent; docs/protocol.md §3).
   */
  functionFor(fn: unknown): unknown {
    return this.#functions.shrink(fn);
  }
}

let nextWorkerSerial = 0;

/** Tasks holding one of `worker`'s threads: processing ones but those that seceded. */
export function tasksOnThreads(worker: WorkerRecord): number {
  return worker.processing.size - worker.longRunning;
}

export class ClientRecord {
  readonly wantsWhat = new Set<TaskRecord>();
  /**
   * @param identity the client identity it authenticated as (tenancy.ts): `cluster` for the
   *   cluster's token, `*` for the scheduler's own shared holders, "" for none
   */
  constructor(readonly id: ClientId, readonly connectedAt: number, readonly identity = "") {}
}

/** True when `worker`'s total resources can ever hold `required`. */
export function hasResourceCapacity(
  worker: WorkerRecord,
  required: Readonly<Record<string, number>>,
): boolean {
  for (const name in required) {
    if ((worker.resources[name] ?? 0) < required[name]) return false;
  }
  return true;
}

/** True when `worker` has `required` free right now. */
export function hasFreeResources(
  worker: WorkerRecord,
  required: Readonly<Record<string, number>>,
): boolean {
  return resourcesFree(worker.resources, worker.usedResources, required);
}
