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
 * resuming or leaving) and costs O(log workers); nothing else here walks the workers.
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
  readonly idle: PositionedHeap<WorkerRecord> = new PositionedHeap(LOWEST_KEY);
  /** Running workers with more tasks than threads, most queued work per thread first. */
  readonly saturated: PositionedHeap<WorkerRecord> = new PositionedHeap(HIGHEST_KEY);
  /** Running workers counted. */
  running = 0;
  /** Queued work (occupancy + in flight) of the running workers, seconds, and their threads. */
  totalLoad = 0;
  totalThreads = 0;
  /** Workers whose update waits for the end of a balance (the victims it visits in order). */
  #deferred: WorkerRecord[] | null = null;

  /** Refiles `worker` after its load or status (`takesTasks`) changed. */
  update(worker: WorkerRecord): void {
    const running = worker.takesTasks;
    if (this.#deferred !== null && worker.loadFiling === SATURATED) {
      this.#deferred.push(worker);
      return;
    }
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
    const key = load / worker.nthreads;
    const was = worker.loadFiling;
    if (filing === was) {
      if (filing === UNFILED || key === worker.heapKey) return;
      worker.heapKey = key;
      (filing === IDLE ? this.idle : this.saturated).update(worker);
      return;
    }
    if (was === IDLE) this.idle.remove(worker);
    else if (was === SATURATED) this.saturated.remove(worker);
    worker.loadFiling = filing;
    worker.heapKey = key;
    if (filing === IDLE) this.idle.push(worker);
    else if (filing === SATURATED) this.saturated.push(worker);
  }

  /**
   * Holds the updates of saturated workers until {@link endBalance}: a balance walks the
   * saturated heap in order while it sends steals (which change the victims' loads).
   */
  startBalance(): void {
    this.#deferred = [];
  }

  endBalance(): void {
    const deferred = this.#deferred!;
    this.#deferred = null;
    for (const worker of deferred) this.update(worker);
  }

  /**
   * The saturated workers whose load per thread is above `floor`, most loaded first: a walk of
   * the heap's top, O(log k) per worker visited, the heap left as it is (nothing may change it
   * during the walk: see {@link startBalance}).
   */
  *victimsAbove(floor: number): Generator<WorkerRecord> {
    const items = this.saturated.values();
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
