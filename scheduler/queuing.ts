/**
 * Queuing: ready tasks that wait on the scheduler rather than on a worker, and which workers may
 * take more. Three kinds wait here:
 *
 * - root-ish tasks (placement.ts `isRootish`), in one priority queue, handed out as workers free
 *   their saturation slots (`workerSaturation`, Dask's `worker-saturation`): a worker is never
 *   flooded with more than it can start, so a burst spreads over the cluster as threads free up;
 * - tasks waiting for resources, one queue per kind of restriction, so the head of a queue decides
 *   for all of them, refilled when resources are freed;
 * - tasks no running worker may run (`no-worker`), placed again when a worker joins or resumes.
 *
 * State changes stay with the state machine: these books only say which task waits where and which
 * task goes to which worker, and hand each decision back through {@link QueueHost}.
 *
 * @module
 */

import { ScratchList } from "../core/scratch_list.ts";
import { IndexedHeap } from "../core/priority_heap.ts";
import {
  decideWorker,
  isRootish,
  type PlacementContext,
  rootishSlots,
  WAIT_FOR_RESOURCES,
} from "./placement.ts";
import { type TaskRecord, tasksOnThreads, type WorkerRecord } from "./records.ts";

/**
 * The moves the queues ask of the state machine when they hand a task on (it performs them
 * through its transitions table).
 */
export interface QueueHost {
  /** The running workers, as placement sees them. */
  readonly placement: PlacementContext;
  /** Sends `task` (already out of its queue) to `worker`: `queued → processing`. */
  toProcessing(task: TaskRecord, worker: WorkerRecord): void;
  /** No running worker may run `task` (already out of its queue): `queued → no-worker`. */
  toNoWorker(task: TaskRecord): void;
}

/** Least loaded first; among equally loaded workers, the one that joined first. */
const byLoad = (a: WorkerRecord, b: WorkerRecord): number =>
  tasksOnThreads(a) / a.nthreads - tasksOnThreads(b) / b.nthreads || a.serial - b.serial;

/** What readers see of a {@link WorkerList}. */
export interface ReadonlyWorkerList extends Iterable<WorkerRecord> {
  readonly size: number;
  has(worker: WorkerRecord): boolean;
}

/**
 * Workers in an array, each knowing its position there (a field of its record, one per list):
 * in and out in O(1) without allocating. Workers go in and out of these lists as they take and
 * finish tasks, and a `Set` of them reallocated its table as it grew and shrank (108 B per task
 * of a map on 10 workers in `bench/simulate.ts`). The order is none in particular: readers sort.
 */
class WorkerList implements ReadonlyWorkerList {
  readonly #members: WorkerRecord[] = [];
  /** Which position field of a worker this list keeps: `freeThreadAt`, else `slotsAt`. */
  readonly #freeThreads: boolean;
  constructor(freeThreads: boolean) {
    this.#freeThreads = freeThreads;
  }
  get size(): number {
    return this.#members.length;
  }
  at(index: number): WorkerRecord {
    return this.#members[index];
  }
  has(worker: WorkerRecord): boolean {
    const at = this.#position(worker);
    return at >= 0 && this.#members[at] === worker;
  }
  add(worker: WorkerRecord): void {
    if (this.#position(worker) >= 0) return;
    this.#place(worker, this.#members.length);
    this.#members.push(worker);
  }
  delete(worker: WorkerRecord): void {
    const at = this.#position(worker);
    if (at < 0) return;
    const last = this.#members.pop()!;
    if (last !== worker) {
      this.#members[at] = last;
      this.#place(last, at);
    }
    this.#place(worker, -1);
  }
  [Symbol.iterator](): Iterator<WorkerRecord> {
    return this.#members.values();
  }
  #position(worker: WorkerRecord): number {
    return this.#freeThreads ? worker.freeThreadAt : worker.slotsAt;
  }
  #place(worker: WorkerRecord, at: number): void {
    if (this.#freeThreads) worker.freeThreadAt = at;
    else worker.slotsAt = at;
  }
}

export class TaskQueues {
  /** Ready root-ish tasks waiting for a worker slot. */
  readonly root: IndexedHeap<TaskRecord> = new IndexedHeap<TaskRecord>(true);
  readonly #resourceQueues = new Map<string, IndexedHeap<TaskRecord>>();
  #resourcesChanged = false;
  readonly #unrunnable = new Set<TaskRecord>();
  readonly #workersWithSlots = new WorkerList(false);
  /** The workers of `#workersWithSlots` with a free thread (the only ones served near the end). */
  readonly #workersWithFreeThreads = new WorkerList(true);
  /** The workers `#fillRootSlots` hands tasks to, least loaded first (reused). */
  readonly #fillOrder = new ScratchList<WorkerRecord>();
  readonly #saturation: number;

  /** `saturation`: root-ish tasks a worker may hold per thread (Infinity: no root-ish queue). */
  constructor(saturation: number) {
    this.#saturation = saturation;
  }

  /** Tasks in state `no-worker`. */
  get unrunnable(): ReadonlySet<TaskRecord> {
    return this.#unrunnable;
  }

  /** Running workers that may take more root-ish tasks. */
  get workersWithSlots(): ReadonlyWorkerList {
    return this.#workersWithSlots;
  }

  /** Whether `task` waits in the root-ish queue instead of being placed by data locality. */
  queuesAsRootish(task: TaskRecord, totalThreads: number): boolean {
    return this.#saturation !== Infinity && isRootish(task, totalThreads);
  }

  /** Tasks with the same restrictions share a queue, so its head decides for all of them. */
  resourceQueue(task: TaskRecord): IndexedHeap<TaskRecord> {
    const signature = JSON.stringify([
      Object.entries(task.resources ?? {}).sort(),
      task.workers === null ? null : [...task.workers].sort(),
      task.looseRestrictions,
    ]);
    let queue = this.#resourceQueues.get(signature);
    if (queue === undefined) {
      queue = new IndexedHeap(true);
      this.#resourceQueues.set(signature, queue);
    }
    return queue;
  }

  /** Resources were freed (or may be, a worker joined or left): resource queues try again. */
  resourcesChanged(): void {
    this.#resourcesChanged = true;
  }

  /** `task` entered `no-worker`. */
  addUnrunnable(task: TaskRecord): void {
    this.#unrunnable.add(task);
  }

  /** `task` left `no-worker`. */
  deleteUnrunnable(task: TaskRecord): void {
    this.#unrunnable.delete(task);
  }

  /** Every `no-worker` task, to be placed again (a worker joined or resumed). */
  takeUnrunnable(): TaskRecord[] {
    const tasks = [...this.#unrunnable];
    this.#unrunnable.clear();
    this.#resourcesChanged = true;
    return tasks;
  }

  /** Running workers with free root-ish slots and a free thread. */
  get workersWithFreeThreads(): ReadonlyWorkerList {
    return this.#workersWithFreeThreads;
  }

  /** Files `worker` as having free root-ish slots (and threads) or not; `running`: it takes new tasks. */
  updateSlots(worker: WorkerRecord, running: boolean): void {
    const hasSlots = running && rootishSlots(worker, this.#saturation) > 0;
    const freeThread = hasSlots && tasksOnThreads(worker) < worker.nthreads;
    if (freeThread) this.#workersWithFreeThreads.add(worker);
    else this.#workersWithFreeThreads.delete(worker);
    if (hasSlots) this.#workersWithSlots.add(worker);
    else this.#workersWithSlots.delete(worker);
  }

  /** Up to `limit` tasks waiting here (queued or no-worker), for adaptive scaling's estimate. */
  *pendingSample(limit: number): Generator<TaskRecord> {
    let left = limit;
    for (const queue of [this.root, ...this.#resourceQueues.values()]) {
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

  /**
   * Hands queued tasks to workers that can take them now (end of every event); `threads`: the
   * running workers' threads.
   */
  fill(host: QueueHost, threads: number): void {
    if (this.root.size > 0) {
      // Near the end (fewer root-ish tasks left than threads) only free threads take one: a task
      // held ahead on one worker would wait there while threads elsewhere idle.
      const ending = this.root.size < threads;
      const workers = ending ? this.#workersWithFreeThreads : this.#workersWithSlots;
      if (workers.size > 0) this.#fillRootSlots(host, ending);
    }
    if (this.#resourcesChanged) {
      this.#resourcesChanged = false;
      for (const queue of this.#resourceQueues.values()) this.#fillResourceQueue(queue, host);
    }
  }

  /**
   * Hands queued root-ish tasks to workers with free slots, least loaded first: one task per
   * worker per round while they fill their saturation slots, so a burst spreads over the cluster.
   * Beyond those (short tasks, see rootishSlots) a worker takes a run of consecutive tasks, up to
   * an even share of the queue: neighbours in priority order usually feed the same later task (a
   * tree's sibling leaves), so they land on one worker and that task needs no transfer.
   * `ending`: fewer tasks are left than threads; only the workers with a free thread take tasks,
   * each for its free threads only (guided self-scheduling: what is held ahead shrinks with what
   * is left, so the last tasks go wherever a thread frees first). Those are read from their own
   * set, not filtered out of all the workers with slots: near the end nearly every worker has a
   * slot, and that walk, at every event, made the scheduler's cost per task grow with the number
   * of workers. Equally loaded workers are taken in the order they joined (the lists reorder as
   * workers take and finish tasks): a run of single tasks (one submit at a time) goes to the same
   * worker, not to each in turn, every one to a thread that had gone idle — the warm round trip
   * took twice as long that way.
   */
  #fillRootSlots(host: QueueHost, ending: boolean): void {
    const queue = this.root;
    const saturation = this.#saturation;
    // (a scratch list: this runs at the end of nearly every event while the root queue is full)
    const workers = this.#fillOrder;
    const candidates = ending ? this.#workersWithFreeThreads : this.#workersWithSlots;
    for (let i = 0; i < candidates.size; i++) workers.push(candidates.at(i));
    if (workers.size > 1) workers.sort(byLoad);
    while (queue.size > 0 && workers.size > 0) {
      const share = Math.ceil(queue.size / workers.size);
      let kept = 0;
      for (let i = 0; i < workers.size && queue.size > 0; i++) {
        const worker = workers.at(i);
        const saturated = Math.max(Math.ceil(saturation * worker.nthreads), 1);
        let open = true;
        for (let taken = 0; taken < share && queue.size > 0; taken++) {
          const task = queue.pop()!;
          task.queue = null;
          host.toProcessing(task, worker);
          if (
            rootishSlots(worker, saturation) <= 0 ||
            (ending && tasksOnThreads(worker) >= worker.nthreads)
          ) {
            open = false;
            break;
          }
          if (tasksOnThreads(worker) < saturated) break;
        }
        if (open) workers.set(kept++, worker);
      }
      workers.truncate(kept);
    }
    workers.clear(); // holds no worker between fills
  }

  #fillResourceQueue(queue: IndexedHeap<TaskRecord>, host: QueueHost): void {
    while (queue.size > 0) {
      const task = queue.peek()!;
      const decision = decideWorker(task, host.placement);
      if (decision === WAIT_FOR_RESOURCES) return;
      queue.pop();
      task.queue = null;
      if (decision === null) host.toNoWorker(task);
      else host.toProcessing(task, decision);
    }
  }
}
