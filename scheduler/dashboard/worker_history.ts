/**
 * Memory by kind, occupancy and processing per worker over time, for the Workers page's charts.
 * Sampled from what the scheduler already holds (heartbeat metrics and its own books) at most once
 * per `intervalS`, so the cost is O(workers) a second whatever the cluster does. Memory kinds are
 * Dask's: managed (values in the worker's store), unmanaged (the rest of the process's resident
 * memory) and spilled (bytes on disk).
 *
 * @module
 */

import type { SchedulerState } from "../state.ts";
import { memoryByKind } from "./views.ts";

/** `[worker, time, managed, unmanaged, spilled, processing, occupancy]`. */
export type WorkerSample = [string, number, number, number, number, number, number];

export class WorkerHistory {
  readonly #samples: WorkerSample[] = [];
  #last = -Infinity;

  /**
   * @param intervalS least time between two samples, seconds
   * @param capacity samples kept (per worker: capacity / workers); 10 minutes of 2 workers at 1 s
   */
  constructor(readonly intervalS = 1, readonly capacity = 4800) {}

  /** Samples every worker when `intervalS` passed since the last sample; returns the new rows. */
  sample(state: SchedulerState, now: number): WorkerSample[] {
    if (now - this.#last < this.intervalS) return [];
    this.#last = now;
    const rows: WorkerSample[] = [];
    for (const w of state.workers.values()) {
      const m = memoryByKind(w.metrics, w.nbytes);
      rows.push([
        w.address,
        now,
        m.managed,
        m.unmanaged,
        m.spilled,
        w.processing.size,
        w.occupancy,
      ]);
    }
    for (const row of rows) this.#samples.push(row);
    // Trim in batches: one shift per sample would cost O(capacity) each time.
    if (this.#samples.length >= 2 * this.capacity) this.#samples.splice(0, this.capacity);
    return rows;
  }

  /** The newest `capacity` samples, oldest first. */
  toArray(): WorkerSample[] {
    return this.#samples.slice(-this.capacity);
  }
}
