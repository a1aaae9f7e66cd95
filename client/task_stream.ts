/**
 * The task stream through the client (Dask's `get_task_stream`): the scheduler keeps the last
 * runs in a ring (scheduler/task_stream.ts) numbered by a running count; the client asks for
 * the runs after a count it saw, and filters by time and number here.
 *
 * @module
 */

import type { TaskStreamEntry } from "../protocol/task_stream_entry.ts";

/** What the scheduler's `task-stream` request answers. */
export interface TaskStreamPage {
  /** Runs recorded since the scheduler started (the next run's sequence number). */
  total: number;
  /** The runs numbered `since` and after that the ring still holds, oldest first. */
  entries: TaskStreamEntry[];
}

/** Asks the scheduler for the runs numbered `since` and after. */
export type TaskStreamSource = (since: number) => Promise<TaskStreamPage>;

/**
 * Which runs `client.getTaskStream` keeps. Times are seconds since the epoch, or Dates.
 *
 * ```ts
 * import { Client } from "./mod.ts";
 * await using client = await Client.local();
 * const last10 = await client.getTaskStream({ count: 10, start: new Date(Date.now() - 60_000) });
 * ```
 */
export interface TaskStreamQuery {
  /** Runs that ended at or after this time. */
  start?: number | Date;
  /** Runs that started at or before this time. */
  stop?: number | Date;
  /** Only the last `count` of the runs left. */
  count?: number;
}

const seconds = (t: number | Date) => t instanceof Date ? t.getTime() / 1000 : t;

/** The runs of `entries` (oldest first) that `query` keeps. */
export function selectTaskStream(
  entries: readonly TaskStreamEntry[],
  query: TaskStreamQuery = {},
): TaskStreamEntry[] {
  const { count } = query;
  if (count !== undefined && (!Number.isInteger(count) || count < 0)) {
    throw new RangeError(`getTaskStream: count must be a whole number ≥ 0; got ${count}.`);
  }
  for (const name of ["start", "stop"] as const) {
    const t = query[name];
    if (t !== undefined && !Number.isFinite(seconds(t))) {
      throw new TypeError(
        `getTaskStream: ${name} must be seconds since the epoch or a Date; got ${String(t)}.`,
      );
    }
  }
  const start = query.start === undefined ? -Infinity : seconds(query.start);
  const stop = query.stop === undefined ? Infinity : seconds(query.stop);
  const kept = entries.filter((e) => e.stop >= start && e.start <= stop);
  return count === undefined ? kept : kept.slice(Math.max(0, kept.length - count));
}

/**
 * Collects the task runs that happen while it is in scope (Dask's `get_task_stream()` context
 * manager). Made by `client.taskStream()`; `data` is filled when the scope ends (or by
 * {@link TaskStreamRecorder.collect}).
 *
 * ```ts
 * import { Client } from "./mod.ts";
 * await using client = await Client.local();
 * const ts = await client.taskStream();
 * {
 *   await using _ = ts;
 *   await client.gather(client.map((x: number) => x * 2, [1, 2, 3]));
 * }
 * console.log(ts.data.length); // 3
 * ```
 */
export class TaskStreamRecorder implements AsyncDisposable {
  /** The runs recorded so far, oldest first. */
  data: TaskStreamEntry[] = [];
  readonly #source: TaskStreamSource;
  #since: number;

  private constructor(source: TaskStreamSource, since: number) {
    this.#source = source;
    this.#since = since;
  }

  /** Starts recording from the scheduler's current count. */
  static async start(source: TaskStreamSource): Promise<TaskStreamRecorder> {
    return new TaskStreamRecorder(source, (await source(Number.MAX_SAFE_INTEGER)).total);
  }

  /** Adds the runs finished since the last collection to `data`, and returns `data`. */
  async collect(): Promise<TaskStreamEntry[]> {
    const { total, entries } = await this.#source(this.#since);
    this.#since = total;
    this.data.push(...entries);
    return this.data;
  }

  /** The scope ended: collects what ran in it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.collect();
  }
}
