/**
 * The task stream: the last task runs (which task, where, when), for the dashboard and
 * performance reports. It records one entry per finished task on the scheduler's hottest path, so
 * entries are kept in columns (typed arrays for the numbers) rather than as one object each: an
 * object per task would be kept for 100,000 tasks, outlive the young generation and cost the
 * garbage collector's old generation work for every task. Readers get objects built on demand.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { TaskStreamEntry } from "../protocol/task_stream_entry.ts";

export type { TaskStreamEntry };

const NO_THREAD = -1;

/** A ring of the last `capacity` task runs, numbered from 0 in the order they were recorded. */
export class TaskStream {
  readonly #keys: Key[];
  readonly #prefixes: string[];
  readonly #workers: string[];
  readonly #threads: Int32Array;
  readonly #starts: Float64Array;
  readonly #stops: Float64Array;
  readonly #erred: Uint8Array;
  #next = 0;
  #total = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`TaskStream capacity must be a positive integer, got ${capacity}.`);
    }
    this.#keys = new Array(capacity).fill("");
    this.#prefixes = new Array(capacity).fill("");
    this.#workers = new Array(capacity).fill("");
    this.#threads = new Int32Array(capacity);
    this.#starts = new Float64Array(capacity);
    this.#stops = new Float64Array(capacity);
    this.#erred = new Uint8Array(capacity);
  }

  /** Entries held now (at most `capacity`). */
  get size(): number {
    return Math.min(this.#total, this.capacity);
  }

  /** Entries ever recorded; the sequence number of the next one. */
  get total(): number {
    return this.#total;
  }

  /** Records one run (times in seconds). */
  record(
    key: Key,
    prefix: string,
    worker: string,
    thread: number | undefined,
    start: number,
    stop: number,
    erred: boolean,
  ): void {
    const i = this.#next;
    this.#keys[i] = key;
    this.#prefixes[i] = prefix;
    this.#workers[i] = worker;
    this.#threads[i] = thread ?? NO_THREAD;
    this.#starts[i] = start;
    this.#stops[i] = stop;
    this.#erred[i] = erred ? 1 : 0;
    this.#next = i + 1 === this.capacity ? 0 : i + 1;
    this.#total++;
  }

  /**
   * Entries with sequence number `>= since`, oldest first (entries that fell out of the ring are
   * skipped). `since(0)` gives everything held.
   */
  since(since: number): TaskStreamEntry[] {
    const first = Math.max(since, this.#total - this.size);
    const out: TaskStreamEntry[] = [];
    for (let seq = first; seq < this.#total; seq++) {
      const i = seq % this.capacity;
      const thread = this.#threads[i];
      out.push({
        key: this.#keys[i],
        prefix: this.#prefixes[i],
        worker: this.#workers[i],
        thread: thread === NO_THREAD ? undefined : thread,
        start: this.#starts[i],
        stop: this.#stops[i],
        status: this.#erred[i] === 1 ? "erred" : "memory",
      });
    }
    return out;
  }

  /** Everything held, oldest first. */
  toArray(): TaskStreamEntry[] {
    return this.since(0);
  }
}
