/**
 * Which thread runs a task: an idle one (no task handed to it that is not over) first, else the
 * one with the least expected work (the scheduler's `duration` estimates of the tasks handed to
 * it and not finished). Idle first because the estimates are only estimates: one long call among
 * short ones of its prefix still counts as short, and a task queued behind it would wait while
 * another thread has nothing to do. A task reading live tables (dataframe partitions kept in the
 * thread that made them) goes where they are when that costs less than moving them, as the
 * local `threads` pool places its tasks. A collaborator of the worker state machine; no I/O.
 *
 * @module
 */

import { staysWithTables } from "../threads/live_tables.ts";

/** The load a task of unknown or zero duration adds to its thread, seconds. */
const MIN_TASK_LOAD_S = 1e-6;

export class ThreadLoads {
  readonly #load: number[];
  /** Tasks handed to each thread and not over. */
  readonly #runs: number[];

  constructor(nthreads: number) {
    this.#load = new Array(nthreads).fill(0);
    this.#runs = new Array(nthreads).fill(0);
  }

  /**
   * Picks the thread for a task expected to take `duration` s — the first idle one, else the
   * least loaded — and books it. `holder` (or -1) holds `holderBytes` of the task's inputs as
   * live tables: it is taken instead when it is idle, or when its queued work is no longer than
   * moving the tables would take (threads/live_tables.ts `staysWithTables`).
   */
  assign(duration: number, holder = -1, holderBytes = 0): number {
    const load = this.#load;
    let thread = this.#runs.indexOf(0);
    if (thread === -1) {
      thread = 0;
      for (let t = 1; t < load.length; t++) if (load[t] < load[thread]) thread = t;
    }
    if (
      holder >= 0 && holder < load.length && holder !== thread &&
      staysWithTables(this.#runs[holder] === 0, load[holder], load[thread], holderBytes)
    ) thread = holder;
    load[thread] += this.loadOf(duration);
    this.#runs[thread]++;
    return thread;
  }

  /** Books `thread` for a task that must run there (a seceded task taking its slot again). */
  book(thread: number, duration: number): void {
    this.#load[thread] += this.loadOf(duration);
    this.#runs[thread]++;
  }

  /** True when no task handed to `thread` is unfinished. */
  idle(thread: number): boolean {
    return this.#runs[thread] === 0;
  }

  /** A task on `thread` is over. `idle`: no task runs anywhere, so every load is zero. */
  release(thread: number, duration: number, idle: boolean): void {
    this.#runs[thread] = Math.max(0, this.#runs[thread] - 1);
    if (idle) this.#load.fill(0);
    else this.#load[thread] = Math.max(0, this.#load[thread] - this.loadOf(duration));
  }

  /** Unknown or zero estimates count a little, so that such tasks still spread. */
  loadOf(duration: number): number {
    return Math.max(duration, MIN_TASK_LOAD_S);
  }

  /** Expected seconds of work per thread (a copy). */
  get loads(): number[] {
    return [...this.#load];
  }
}
