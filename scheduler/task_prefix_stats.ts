/**
 * Statistics per task prefix (`inc`, `sum`, `random_sample`...): how many tasks sit in each state
 * (the dashboard's progress bars) and how long such a task takes to run (placement's occupancy
 * estimates). Tasks of one prefix usually do the same work, so their durations predict each other.
 *
 * @module
 */

import type { TaskRecord } from "./records.ts";

/** The states of a task on the scheduler; see docs/protocol.md. */
export type SchedulerTaskState =
  | "released"
  | "waiting"
  | "queued"
  | "no-worker"
  | "processing"
  | "memory"
  | "erred"
  | "forgotten";

export const SCHEDULER_TASK_STATES: readonly SchedulerTaskState[] = [
  "released",
  "waiting",
  "queued",
  "no-worker",
  "processing",
  "memory",
  "erred",
  "forgotten",
];

/** Count of tasks per state. `forgotten` counts tasks that have ever been forgotten. */
export type StateCounts = Record<SchedulerTaskState, number>;

export function emptyStateCounts(): StateCounts {
  return {
    released: 0,
    waiting: 0,
    queued: 0,
    "no-worker": 0,
    processing: 0,
    memory: 0,
    erred: 0,
    forgotten: 0,
  };
}

/**
 * Moves one task's count from state `from` to state `to`. Each state is a named access: indexing
 * by the state's name goes through V8's megamorphic keyed path (eight names at one site), about
 * twice the cost, and it runs twice per transition (bench/state_machines.ts).
 */
export function moveCount(
  counts: StateCounts,
  from: SchedulerTaskState,
  to: SchedulerTaskState,
): void {
  addCount(counts, from, -1);
  addCount(counts, to, 1);
}

function addCount(counts: StateCounts, state: SchedulerTaskState, n: number): void {
  switch (state) {
    case "released":
      counts.released += n;
      return;
    case "waiting":
      counts.waiting += n;
      return;
    case "queued":
      counts.queued += n;
      return;
    case "no-worker":
      counts["no-worker"] += n;
      return;
    case "processing":
      counts.processing += n;
      return;
    case "memory":
      counts.memory += n;
      return;
    case "erred":
      counts.erred += n;
      return;
    case "forgotten":
      counts.forgotten += n;
      return;
  }
}

export class TaskPrefixStats {
  /** Tasks of this prefix per state. */
  readonly counts: StateCounts = emptyStateCounts();
  /** Exponential moving average of compute time in seconds; -1 until a task finished. */
  durationAverage = -1;
  /** Tasks finished (ever) and the sum of their compute times. */
  finished = 0;
  totalDuration = 0;
  /** Tasks erred (ever). */
  erred = 0;
  /** Bytes of results of this prefix currently in memory (one copy counted). */
  nbytesInMemory = 0;
  /**
   * Processing tasks whose occupancy used the default guess, so that the first measurement can
   * correct them (once per prefix).
   */
  readonly guessed = new Set<TaskRecord>();

  constructor(readonly name: string) {}

  /** Live tasks of this prefix (every state but forgotten). */
  get active(): number {
    const c = this.counts;
    return c.released + c.waiting + c.queued + c["no-worker"] + c.processing + c.memory +
      c.erred;
  }

  /** The compute time to expect, seconds. */
  estimate(unknownDuration: number): number {
    return this.durationAverage >= 0 ? this.durationAverage : unknownDuration;
  }

  /**
   * Records a measured compute time. `alpha` weighs the new sample (Dask uses 0.5). Returns true
   * when this was the first measurement (the caller then revises {@link guessed}).
   */
  recordDuration(seconds: number, alpha: number): boolean {
    this.finished++;
    this.totalDuration += seconds;
    if (this.durationAverage < 0) {
      this.durationAverage = seconds;
      return true;
    }
    this.durationAverage = alpha * seconds + (1 - alpha) * this.durationAverage;
    return false;
  }
}

/**
 * True when `keyPrefix(key)` (core/task.ts) is `prefix`, a prefix it gave for an earlier key, for
 * a key that continues it with a dash (`map-7` for `map`): found without making the substring. A
 * graph's keys mostly share their neighbour's prefix, and slicing each one out and hashing it to
 * find its statistics ran for every task of a graph. False says nothing: ask `keyPrefix`.
 */
export function hasKeyPrefix(key: string, prefix: string): boolean {
  const n = prefix.length;
  if (n === 0 || key.charCodeAt(n) !== 45 /* - */ || !key.startsWith(prefix)) return false;
  // `prefix` is the part before the name's last dash; the name ends at the first `[`
  const dash = key.indexOf("-", n + 1);
  if (dash < 0) return true;
  const bracket = key.indexOf("[", n + 1);
  return bracket >= 0 && bracket < dash;
}
