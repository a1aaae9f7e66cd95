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

import { tasksOnThreads, type WorkerRecord } from "./records.ts";

/** `WorkerRecord.loadFiling`: in neither heap, in `idle`, in `saturated`. */
export const UNFILED = 0, IDLE = 1, SATURATED = 2;

/** Queued work per thread, seconds (counting steals in flight). */
export function loadPerThread(worker: WorkerRecord): number {
  return (worker.occupancy + worker.inFlightOccupancy) / worker.nthreads;
}

/**
 * A binary min-heap of workers by a number; each worker remembers its position
 * (`WorkerRecord.loadIndex`), so a changed key moves it in O(log n). A worker is in at most one
 * such heap at a time.
 */
export class WorkerHeap {
  readonly items: WorkerRecord[] = [];
  readonly keys: number[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): WorkerRecord | undefined {
    return this.items[0];
  }

  push(worker: WorkerRecord, key: number): void {
    const i = this.items.length;
    this.items.push(worker);
    this.keys.push(key);
    worker.loadIndex = i;
    this.#up(i);
  }

  /** Moves `worker` (in this heap) to its place for `key`. */
  update(worker: WorkerRecord, key: number): void {
    const i = worker.loadIndex;
    const old = this.keys[i];
    if (key === old) return;
    this.keys[i] = key;
    if (key < old) this.#up(i);
    else this.#down(i);
  }

  remove(worker: WorkerRecord): void {
    const i = worker.loadIndex;
    const items = this.items, keys = this.keys;
    const last = items.pop()!, lastKey = keys.pop()!;
    worker.loadIndex = -1;
    if (last === worker) return;
    items[i] = last;
    keys[i] = lastKey;
    last.loadIndex = i;
    this.#up(i);
    this.#down(last.loadIndex);
  }

  #up(i: number): void {
    const items = this.items, keys = this.keys;
    const item = items[i], key = keys[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] <= key) break;
      items[i] = items[parent];
      keys[i] = keys[parent];
      items[i].loadIndex = i;
      i = parent;
    }
    items[i] = item;
    keys[i] = key;
    item.loadIndex = i;
  }

  #down(i: number): void {
    const items = this.items, keys = this.keys;
    const n = items.length;
    const item = items[i], key = keys[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[child + 1] < keys[child]) child++;
      if (keys[child] >= key) break;
      items[i] = items[child];
      keys[i] = keys[child];
      items[i].loadIndex = i;
      i = child;
    }
    items[i] = item;
    keys[i] = key;
    item.loadIndex = i;
  }
}

export class WorkerLoads {
  /** Running workers with a free thread, least queued work per thread first. */
  readonly idle = new WorkerHeap();
  /** Running workers with more tasks than threads, most queued work per thread first (keys negated). */
  readonly saturated = new WorkerHeap();
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
      if (filing === IDLE) this.idle.update(worker, key);
      else if (filing === SATURATED) this.saturated.update(worker, -key);
      return;
    }
    if (was === IDLE) this.idle.remove(worker);
    else if (was === SATURATED) this.saturated.remove(worker);
    worker.loadFiling = filing;
    if (filing === IDLE) this.idle.push(worker, key);
    else if (filing === SATURATED) this.saturated.push(worker, -key);
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
    const { items, keys } = this.saturated;
    // The frontier: positions not yet visited whose parents were, in a min-heap by key.
    const frontier: number[] = [];
    const push = (position: number) => {
      if (position >= items.length || -keys[position] <= floor) return;
      let i = frontier.length;
      frontier.push(position);
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (keys[frontier[parent]] <= keys[position]) break;
        frontier[i] = frontier[parent];
        i = parent;
      }
      frontier[i] = position;
    };
    push(0);
    while (frontier.length > 0) {
      const top = frontier[0];
      const last = frontier.pop()!;
      if (frontier.length > 0) {
        let i = 0;
        const n = frontier.length;
        for (;;) {
          let child = 2 * i + 1;
          if (child >= n) break;
          if (child + 1 < n && keys[frontier[child + 1]] < keys[frontier[child]]) child++;
          if (keys[frontier[child]] >= keys[last]) break;
          frontier[i] = frontier[child];
          i = child;
        }
        frontier[i] = last;
      }
      yield items[top];
      push(2 * top + 1);
      push(2 * top + 2);
    }
  }
}
