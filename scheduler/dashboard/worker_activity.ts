/**
 * Transfers and spills for the task stream. Workers do not report each transfer to the scheduler;
 * their heartbeats say how many transfers are in flight (`inFlight`) and how many bytes sit on
 * disk (`spilled`). Sampling those gives intervals during which a worker was receiving data and
 * the moments it spilled or read back — as precise as the heartbeat interval (0.5 s by default).
 *
 * @module
 */

import type { SchedulerState } from "../state.ts";
import { metric } from "./views.ts";

/** `[id, worker, kind, start, stop, detail]`; `detail` is transfers in flight or bytes moved. */
export type ActivityMark = [
  number,
  string,
  "transfer" | "spill" | "unspill",
  number,
  number,
  number,
];

interface WorkerSample {
  /** The open transfer mark, while transfers are in flight. */
  transfer: ActivityMark | null;
  spilled: number;
}

export class WorkerActivity {
  readonly #samples = new Map<string, WorkerSample>();
  readonly #marks: ActivityMark[] = [];
  #nextId = 0;

  constructor(readonly capacity = 2000) {}

  /**
   * Samples every worker's metrics (O(workers)); returns the marks that are new or were extended
   * (an open transfer grows until its worker reports none in flight).
   */
  sample(state: SchedulerState, now: number): ActivityMark[] {
    const changed: ActivityMark[] = [];
    for (const worker of state.workers.values()) {
      let sample = this.#samples.get(worker.address);
      const spilled = metric(worker.metrics, "spilled") ?? 0;
      if (sample === undefined) {
        sample = { transfer: null, spilled };
        this.#samples.set(worker.address, sample);
      }
      const inFlight = metric(worker.metrics, "inFlight") ?? 0;
      if (inFlight > 0) {
        if (sample.transfer === null) {
          sample.transfer = this.#add([this.#nextId++, worker.address, "transfer", now, now, 0]);
        }
        sample.transfer[4] = now;
        sample.transfer[5] = Math.max(sample.transfer[5], inFlight);
        changed.push(sample.transfer);
      } else if (sample.transfer !== null) {
        sample.transfer = null;
      }
      if (spilled !== sample.spilled) {
        const kind = spilled > sample.spilled ? "spill" : "unspill";
        const moved = Math.abs(spilled - sample.spilled);
        changed.push(this.#add([this.#nextId++, worker.address, kind, now, now, moved]));
        sample.spilled = spilled;
      }
    }
    if (this.#samples.size > state.workers.size) {
      for (const address of this.#samples.keys()) {
        if (!state.workers.has(address)) this.#samples.delete(address);
      }
    }
    return changed;
  }

  /** The newest `capacity` marks, oldest first. */
  toArray(): ActivityMark[] {
    return this.#marks.slice(-this.capacity);
  }

  #add(mark: ActivityMark): ActivityMark {
    this.#marks.push(mark);
    // Trim in batches: one shift per mark would cost O(capacity) each time.
    if (this.#marks.length >= 2 * this.capacity) this.#marks.splice(0, this.capacity);
    return mark;
  }
}
