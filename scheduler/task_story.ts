/**
 * A key's story: every transition the scheduler made for it — the stimulus that caused it, the
 * start and finish states, the worker involved and the time — so `client.story(key)` and the
 * dashboard's task page can tell why a task is where it is (Dask's `Scheduler.story`).
 *
 * Memory stays bounded whatever the graph's size: the transitions of all keys share one ring of
 * `capacity` entries held column-wise in typed arrays, and each entry links to the key's previous
 * one, so a key's story is its chain of entries still in the ring (the oldest transitions of the
 * oldest keys are overwritten first). Keys whose every entry was overwritten leave the index.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { StoryEntry } from "../protocol/story.ts";
import { SCHEDULER_TASK_STATES, type SchedulerTaskState } from "./task_prefix_stats.ts";
import { STATE_INDEX } from "./transitions.ts";

export class TaskStories {
  readonly capacity: number;
  readonly #keys: (Key | undefined)[];
  readonly #stimuli: (string | undefined)[];
  readonly #workers: (string | null)[];
  readonly #times: Float64Array;
  readonly #starts: Uint8Array;
  readonly #finishes: Uint8Array;
  /** Sequence number of the key's previous entry, or -1. */
  readonly #previous: Float64Array;
  /** Sequence number of each key's latest entry still in the ring. */
  readonly #latest = new Map<Key, number>();
  /** Transitions recorded so far (the next entry's sequence number). */
  #total = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.#keys = new Array(this.capacity).fill(undefined);
    this.#stimuli = new Array(this.capacity).fill(undefined);
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

  record(
    key: Key,
    stimulus: string,
    start: SchedulerTaskState,
    finish: SchedulerTaskState,
    worker: string | null,
    time: number,
  ): void {
    const capacity = this.capacity;
    if (capacity === 0) return;
    const seq = this.#total++;
    const slot = seq % capacity;
    const evicted = this.#keys[slot];
    // The overwritten entry was the evicted key's latest: nothing of its story is left.
    if (evicted !== undefined && this.#latest.get(evicted) === seq - capacity) {
      this.#latest.delete(evicted);
    }
    this.#keys[slot] = key;
    this.#stimuli[slot] = stimulus;
    this.#workers[slot] = worker;
    this.#times[slot] = time;
    this.#starts[slot] = STATE_INDEX[start];
    this.#finishes[slot] = STATE_INDEX[finish];
    this.#previous[slot] = this.#latest.get(key) ?? -1;
    this.#latest.set(key, seq);
  }

  /** The transitions of `key` still in the ring, oldest first. */
  story(key: Key): StoryEntry[] {
    const out: StoryEntry[] = [];
    const oldest = this.#total - this.capacity;
    let seq = this.#latest.get(key) ?? -1;
    while (seq >= 0 && seq >= oldest) {
      const slot = seq % this.capacity;
      out.push({
        key,
        stimulus: this.#stimuli[slot]!,
        start: SCHEDULER_TASK_STATES[this.#starts[slot]],
        finish: SCHEDULER_TASK_STATES[this.#finishes[slot]],
        worker: this.#workers[slot],
        time: this.#times[slot],
      });
      seq = this.#previous[slot];
    }
    return out.reverse();
  }
}
