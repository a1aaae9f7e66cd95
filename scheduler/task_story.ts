/**
 * A key's story: every transition the scheduler made for it — the stimulus that caused it, the
 * start and finish states, the worker involved and the time — so `client.story(key)` and the
 * dashboard's task page can tell why a task is where it is (Dask's `Scheduler.story`).
 *
 * Memory stays bounded whatever the graph's size: the transitions of all keys share one ring of
 * `capacity` entries held column-wise, and each entry links to the key's previous one, so a key's
 * story is its chain of entries still in the ring (the oldest transitions go first).
 *
 * Recording is on the per-task hot path, so it allocates nothing and looks nothing up: the caller
 * keeps each live key's latest sequence number (TaskRecord.storySeq) and passes the stimulus as
 * the event's name, which with the entry's time makes the stimulus id (`task-erred-<time>`) only
 * when a story is read. Keys that were forgotten keep their latest number here, in the order they
 * were forgotten, until the ring has overwritten their last entry.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { StoryEntry } from "../protocol/story.ts";
import { SCHEDULER_TASK_STATES, type SchedulerTaskState } from "./task_prefix_stats.ts";
import { STATE_INDEX } from "./transitions.ts";

/** Forgotten keys whose story left the ring are pruned every this many transitions. */
const PRUNE_EVERY = 4096;

export class TaskStories {
  readonly capacity: number;
  readonly #keys: (Key | undefined)[];
  /** The name of the event that caused each transition (its stimulus without the time). */
  readonly #causes: (string | undefined)[];
  readonly #workers: (string | null)[];
  readonly #times: Float64Array;
  readonly #starts: Uint8Array;
  readonly #finishes: Uint8Array;
  /** Sequence number of the key's previous entry, or -1. */
  readonly #previous: Float64Array;
  /** Latest sequence number of each forgotten key, oldest first. */
  readonly #forgotten = new Map<Key, number>();
  /** Transitions recorded so far (the next entry's sequence number). */
  #total = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.#keys = new Array(this.capacity).fill(undefined);
    this.#causes = new Array(this.capacity).fill(undefined);
    this.#workers = new Array(this.capacity).fill(null);
    this.#times = new Float64Array(this.capacity);
    this.#starts = new Uint8Array(this.capacity);
    this.#finishes = new Uint8Array(this.capacity);
    this.#previous = new Float64Array(this.capacity);
  }

  /** Transitions recorded since the start (also those overwritten since). */
  get total(): number {
    return this.#total;
  }

  /**
   * Records one transition of `key`, whose latest entry so far is `previous` (-1: none);
   * returns the new entry's sequence number (the key's latest from now on).
   */
  record(
    key: Key,
    previous: number,
    cause: string,
    start: SchedulerTaskState,
    finish: SchedulerTaskState,
    worker: string | null,
    time: number,
  ): number {
    const capacity = this.capacity;
    if (capacity === 0) return -1;
    const seq = this.#total++;
    const slot = seq % capacity;
    this.#keys[slot] = key;
    this.#causes[slot] = cause;
    this.#workers[slot] = worker;
    this.#times[slot] = time;
    this.#starts[slot] = STATE_INDEX[start];
    this.#finishes[slot] = STATE_INDEX[finish];
    this.#previous[slot] = previous;
    if (seq % PRUNE_EVERY === 0 && this.#forgotten.size > 0) this.#pruneForgotten();
    return seq;
  }

  /** `key` was forgotten with `latest` as its last entry: its story stays readable. */
  forget(key: Key, latest: number): void {
    if (latest < 0) return;
    this.#forgotten.delete(key); // re-inserted at the end, keeping the order of forgetting
    this.#forgotten.set(key, latest);
  }

  /**
   * A key is known again (resubmitted after it was forgotten): its latest entry, to continue
   * its story from, or -1.
   */
  revive(key: Key): number {
    if (this.#forgotten.size === 0) return -1;
    const latest = this.#forgotten.get(key);
    if (latest === undefined) return -1;
    this.#forgotten.delete(key);
    return latest;
  }

  /** The transitions of `key` still in the ring, oldest first (`latest`: a live key's). */
  story(key: Key, latest = this.#forgotten.get(key) ?? -1): StoryEntry[] {
    const out: StoryEntry[] = [];
    const oldest = this.#total - this.capacity;
    let seq = latest;
    while (seq >= 0 && seq >= oldest) {
      const slot = seq % this.capacity;
      if (this.#keys[slot] !== key) break;
      const time = this.#times[slot];
      out.push({
        key,
        stimulus: `${this.#causes[slot]}-${time}`,
        start: SCHEDULER_TASK_STATES[this.#starts[slot]],
        finish: SCHEDULER_TASK_STATES[this.#finishes[slot]],
        worker: this.#workers[slot],
        time,
      });
      seq = this.#previous[slot];
    }
    return out.reverse();
  }

  /** Forgotten keys are in the order they were forgotten, so those left behind come first. */
  #pruneForgotten(): void {
    const oldest = this.#total - this.capacity;
    for (const [key, latest] of this.#forgotten) {
      if (latest >= oldest) return;
      this.#forgotten.delete(key);
    }
  }
}
