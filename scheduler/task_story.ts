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
 * keeps each live key's latest sequence number (TaskRecord.storySeq), passes the move as its
 * index in the transition table and the stimulus as the event's name, which with the entry's time
 * makes the stimulus id (`task-erred-<time>`) only when a story is read. Nothing is kept per
 * forgotten key: reading the story of a key that is not live (or of an earlier life of a key
 * submitted again) searches the ring backwards for the key's latest entry, a cost paid by the
 * rare reader (O(capacity)) instead of by every task's life. Entries name their key by a 53-bit
 * hash ({@link storyTag}, computed once per task), not by the key string: a ring holding 100,000
 * key strings kept them alive past the young generation and made each task's life 1.3× dearer
 * (bench/state_machines.ts); two keys of one ring share a tag once in ~10^11 reads.
 *
 * A fused task's parts never had a life of their own: the scheduler only saw the fused task.
 * When a fused task is forgotten, its parts are remembered by their tags (at most half the ring's
 * capacity of them, oldest dropped first), so a part's story still tells the fused task's
 * transitions while those are in the ring. Only fused tasks pay for it, once, when forgotten.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { StoryEntry } from "../protocol/story.ts";
import { SCHEDULER_TASK_STATES } from "./task_prefix_stats.ts";

const STATES = SCHEDULER_TASK_STATES.length;

/** A fused task: its key and the keys of the tasks it ran as one. */
export interface Fusion {
  key: Key;
  parts: readonly Key[];
}

/**
 * A 53-bit hash of `key` that names it in the ring: cyrb53's mixing (two 32-bit multiplicative
 * hashes, cross-mixed at the end), each lane reading every other character — one multiply per
 * character instead of two (~2× faster; it runs once per task on the hot path). A change of any
 * character still changes its lane and, through the final mix, both halves of the tag.
 */
export function storyTag(key: Key): number {
  let h1 = 0xdeadbeef ^ key.length;
  let h2 = 0x41c6ce57;
  const even = key.length & ~1;
  for (let i = 0; i < even; i += 2) {
    h1 = Math.imul(h1 ^ key.charCodeAt(i), 2654435761);
    h2 = Math.imul(h2 ^ key.charCodeAt(i + 1), 1597334677);
  }
  if (even < key.length) h1 = Math.imul(h1 ^ key.charCodeAt(even), 2654435761);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Numbers per entry: tag, time, previous entry, and move + cause + worker packed in one. */
const WIDTH = 4;
/** Packing of the last number: move (< 64) + 64 × cause (< 1024) + 65536 × worker. */
const MOVES = 64;
const CAUSES = 1024;

/**
 * The ring, one row of {@link WIDTH} numbers per entry: a transition writes one cache line rather
 * than one in each of six column arrays — with columns, the misses of a 100,000-entry ring made
 * each task's life ~1.2× dearer (bench/state_machines.ts). Causes and workers are numbered in
 * small tables: event names are a fixed set, worker addresses are few.
 */
export class TaskStories {
  readonly capacity: number;
  readonly #rows: Float64Array;
  readonly #causeNames: string[] = [];
  readonly #causeIds = new Map<string, number>();
  readonly #workerNames: (string | null)[] = [null];
  readonly #workerIds = new Map<string, number>();
  /** Forgotten fused tasks by the tag of each of their parts, oldest first. */
  readonly #fusions = new Map<number, Fusion>();
  /** Transitions recorded so far (the next entry's sequence number). */
  #total = 0;
  /** Where the next entry goes in `#rows` (`#total` modulo capacity, times WIDTH: no division). */
  #next = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.#rows = new Float64Array(this.capacity * WIDTH);
  }

  /** Transitions recorded since the start (also those overwritten since). */
  get total(): number {
    return this.#total;
  }

  /**
   * Records one transition of the key tagged `tag` ({@link storyTag}; `move`: its index from
   * `transitionIndex`), whose latest entry in this life of the key is `previous` (-1: none yet);
   * returns the new entry's sequence number (the key's latest from now on). `cause` and `worker`
   * are numbers from {@link causeId} and {@link workerId}, which the caller looks up once per
   * event and once per worker rather than once per transition.
   */
  record(
    tag: number,
    previous: number,
    cause: number,
    move: number,
    worker: number,
    time: number,
  ): number {
    const capacity = this.capacity;
    if (capacity === 0) return -1;
    const seq = this.#total++;
    const at = this.#next;
    this.#next = at + WIDTH === capacity * WIDTH ? 0 : at + WIDTH;
    const rows = this.#rows;
    rows[at] = tag;
    rows[at + 1] = time;
    rows[at + 2] = previous;
    rows[at + 3] = move + MOVES * cause + MOVES * CAUSES * worker;
    return seq;
  }

  /**
   * The transitions of `key` still in the ring, oldest first, over all its lives (`latest`: a live
   * key's latest entry; without it the ring is searched for the key's latest). A fused task's
   * entries name its `parts`.
   */
  story(key: Key, latest = -1, parts: readonly Key[] | null = null): StoryEntry[] {
    const out: StoryEntry[] = [];
    const oldest = this.#total - this.capacity;
    const tag = storyTag(key);
    const rows = this.#rows;
    let seq = latest >= 0 ? latest : this.#latestBefore(tag, this.#total);
    while (seq >= 0 && seq >= oldest) {
      const at = (seq % this.capacity) * WIDTH;
      const time = rows[at + 1];
      const packed = rows[at + 3];
      const move = packed % MOVES;
      out.push({
        key,
        stimulus: `${this.#causeNames[Math.floor(packed / MOVES) % CAUSES]}-${time}`,
        start: SCHEDULER_TASK_STATES[Math.floor(move / STATES)],
        finish: SCHEDULER_TASK_STATES[move % STATES],
        worker: this.#workerNames[Math.floor(packed / (MOVES * CAUSES))],
        time,
        ...(parts === null ? {} : { parts: [...parts] }),
      });
      const previous = rows[at + 2];
      // The first entry of a life: an earlier life of the key may still be in the ring.
      seq = previous >= 0 ? previous : this.#latestBefore(tag, seq);
    }
    return out.reverse();
  }

  /**
   * The fused task `key` (of `parts`) is forgotten: its parts' stories resolve to its entries
   * from now on, as long as the ring and the remembered parts hold them.
   */
  rememberFusion(key: Key, parts: readonly Key[]): void {
    const limit = Math.floor(this.capacity / 2);
    if (limit === 0) return;
    const fusion: Fusion = { key, parts };
    // the fused task keeps its chain's last key: remembered too, so its story names its parts
    for (const part of parts.includes(key) ? parts : [...parts, key]) {
      const tag = storyTag(part);
      this.#fusions.delete(tag); // re-inserted: the newest
      this.#fusions.set(tag, fusion);
    }
    for (const tag of this.#fusions.keys()) {
      if (this.#fusions.size <= limit) break;
      this.#fusions.delete(tag);
    }
  }

  /** The forgotten fused task that ran `part` (or is `part`), if still remembered. */
  fusionOf(part: Key): Fusion | undefined {
    return this.#fusions.get(storyTag(part));
  }

  /** The sequence number of the latest entry tagged `tag` before `before` still in the ring, or -1. */
  #latestBefore(tag: number, before: number): number {
    const oldest = Math.max(0, this.#total - this.capacity);
    for (let seq = before - 1; seq >= oldest; seq--) {
      if (this.#rows[(seq % this.capacity) * WIDTH] === tag) return seq;
    }
    return -1;
  }

  /** The number naming the stimulus `cause` (an event's name) in {@link record}. */
  causeId(cause: string): number {
    let id = this.#causeIds.get(cause);
    if (id === undefined) {
      // Event names are a fixed set; past the table's room, later ones read as "other".
      id = Math.min(this.#causeNames.length, CAUSES - 1);
      if (id === this.#causeNames.length) {
        this.#causeNames.push(id === CAUSES - 1 ? "other" : cause);
      }
      this.#causeIds.set(cause, id);
    }
    return id;
  }

  /** The number naming the worker at `address` (0: none) in {@link record}. */
  workerId(address: string | null): number {
    if (address === null) return 0;
    let id = this.#workerIds.get(address);
    if (id === undefined) {
      id = this.#workerNames.length;
      this.#workerNames.push(address);
      this.#workerIds.set(address, id);
    }
    return id;
  }
}
