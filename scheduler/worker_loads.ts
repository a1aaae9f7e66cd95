/**
 * The running workers ordered by load, for work stealing (stealing.ts), kept up to date on every
 * change of a worker's load so that a balance finds its thieves and victims without walking the
 * workers (Dask keeps its idle and saturated workers in sets for the same reason):
 *
 * - `idle`: workers with a free thread (tasks on threads + steals coming in < threads), in a
 *   min-heap by queued work per thread: the thieves, the least loaded on top;
 * - `saturated`: workers with more tasks than threads (some are queued there), in a max-heap by
 *   queued work per thread: the victims, the most loaded on top;
 * - the queued work and threads of all running workers, whose ratio is the average load.
 *
 * "Load" is occupancy plus the occupancy moving in or out through unanswered steals. `update` is
 * called after every change of a worker's load or status (a task assigned, finished, seceded or
 * taken back, a duration estimate revised, a steal sent or settled, a worker joining, pausing,
 * resuming or leaving): it files the worker (`loadFiling`) and keeps the totals at once, O(1), and
 * moves it in the heaps when they are next read (a balance), O(log workers) once per worker whose
 * load changed; nothing else here walks the workers.
 *
 * @module
 */

import { Heap, HIGHEST_KEY, LOWEST_KEY, PositionedHeap } from "../core/priority_heap.ts";
import { tasksOnThreads, type WorkerRecord } from "./records.ts";

/** `WorkerRecord.loadFiling`: in neither heap, in `idle`, in `saturated`. */
export const UNFILED = 0, IDLE = 1, SATURATED = 2;

/** Queued work per thread, seconds (counting steals in flight). */
export function loadPerThread(worker: WorkerRecord): number {
  return (worker.occupancy + worker.inFlightOccupancy) / worker.nthreads;
}

export class WorkerLoads {
  /** Running workers with a free thread, least queued work per thread first. */
  readonly #idle: PositionedHeap<WorkerRecord> = new PositionedHeap(LOWEST_KEY);
  /** Running workers with more tasks than threads, most queued work per thread first. */
  readonly #saturated: PositionedHeap<WorkerRecord> = new PositionedHeap(HIGHEST_KEY);
  /** Running workers counted. */
  running = 0;
  /** Queued work (occupancy + in flight) of the running workers, seconds, and their threads. */
  totalLoad = 0;
  totalThreads = 0;
  /** Workers whose place in the heaps is not refiled yet since their load changed. */
  readonly #pending: WorkerRecord[] = [];
  /** Workers whose update waits for the end of a balance (the victims it visits in order). */
  #deferred: WorkerRecord[] | null = null;
  /** Heap moves made (refilings that moved a worker in or between heaps), for the benchmarks. */
  refiled = 0;

  /** The idle workers (thieves), filed up to date. */
  get idle(): PositionedHeap<WorkerRecord> {
    this.flush();
    return this.#idle;
  }

  /** The saturated workers (victims), filed up to date. */
  get saturated(): PositionedHeap<WorkerRecord> {
    this.flush();
    return this.#saturated;
  }

  /**
   * Notes that `worker`'s load or status (`takesTasks`) changed: its filing (`loadFiling`) and the
   * totals now, its place in the heaps when they are next read ({@link flush}). Outside a balance
   * that is O(1): a task assigned or finished no longer moves its worker through a heap of all
   * workers (O(log workers) per task, 1.3 µs per task of a shuffle on 1,000 workers); the heaps
   * are read once per balance, and each worker whose load changed is refiled once then.
   */
  update(worker: WorkerRecord): void {
    const running = worker.takesTasks;
    const load = running ? worker.occupancy + worker.inFlightOccupancy : 0;
    this.totalLoad += load - worker.countedLoad;
    worker.countedLoad = load;
    if (running !== worker.counted) {
      worker.counted = running;
      this.running += running ? 1 : -1;
      this.totalThreads += running ? worker.nthreads : -worker.nthreads;
      if (this.running === 0) this.totalLoad = 0; // drop accumulated float error
    }
    let filing = UNFILED;
    if (running) {
      const count = tasksOnThreads(worker) + worker.inFlightTasks;
      if (count < worker.nthreads) filing = IDLE;
      else if (count > worker.nthreads) filing = SATURATED;
    }
    worker.loadFiling = filing;
    if (this.#deferred === null) {
      if (!worker.loadPending) {
        worker.loadPending = true;
        this.#pending.push(worker);
      }
    } else if (worker.heapFiling === SATURATED) this.#deferred.push(worker);
    else this.#refile(worker);
  }

  /** Refiles the workers whose load changed since the heaps were last read. */
  flush(): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    for (let i = 0; i < pending.length; i++) {
      const worker = pending[i];
      worker.loadPending = false;
      this.#refile(worker);
    }
    pending.length = 0;
  }

  /** Moves `worker` to its place in the heaps by its filing and its load now. */
  #refile(worker: WorkerRecord): void {
    const filing = worker.loadFiling;
    const key = filing === UNFILED ? 0 : loadPerThread(worker);
    const was = worker.heapFiling;
    if (filing === was) {
      if (filing === UNFILED || key === worker.heapKey) return;
      worker.heapKey = key;
      this.refiled++;
      (filing === IDLE ? this.#idle : this.#saturated).update(worker);
      return;
    }
    this.refiled++;
    if (was === IDLE) this.#idle.remove(worker);
    else if (was === SATURATED) this.#saturated.remove(worker);
    worker.heapFiling = filing;
    worker.heapKey = key;
    if (filing === IDLE) this.#idle.push(worker);
    else if (filing === SATURATED) this.#saturated.push(worker);
  }

  /**
   * Refiles every worker, then holds the heap moves of saturated workers until {@link endBalance}:
   * a balance walks the saturated heap in order while it sends steals (which change the victims'
   * loads); the thieves' moves are made at once (the next task's thief is read from the top).
   */
  startBalance(): void {
    this.flush();
    this.#deferred = [];
  }

  endBalance(): void {
    const deferred = this.#deferred!;
    this.#deferred = null;
    for (const worker of deferred) this.#refile(worker);
  }

  /**
   * The saturated workers whose load per thread is above `floor`, most loaded first: a walk of
   * the heap's top, O(log k) per worker visited, the heap left as it is (nothing may change it
   * during the walk: see {@link startBalance}).
   */
  *victimsAbove(floor: number): Generator<WorkerRecord> {
    this.flush();
    const items = this.#saturated.values();
    // The frontier: workers not yet visited whose parents were, most loaded first.
    const frontier = new Heap<WorkerRecord>(HIGHEST_KEY);
    const push = (position: number) => {
      const worker = items[position];
      if (worker !== undefined && worker.heapKey > floor) frontier.push(worker);
    };
    push(0);
    for (let worker = frontier.pop(); worker !== undefined; worker = frontier.pop()) {
      yield worker;
      push(2 * worker.heapIndex + 1);
      push(2 * worker.heapIndex + 2);
    }
  }
}
