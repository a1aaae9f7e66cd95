/**
 * One transition of a key's story, as the scheduler records it and the `story` request answers
 * (docs/protocol.md §8): why a task moved from one state to another.
 *
 * @module
 */

import type { Key } from "../core/task.ts";

/**
 * One transition of one key on the scheduler, as `client.story(key)` returns them.
 *
 * ```ts
 * const story: StoryEntry[] = await client.story(future);
 * const retried = story.some((t) => t.stimulus.startsWith("task-erred") && t.finish === "waiting");
 * ```
 */
export interface StoryEntry {
  /** The key that moved. */
  key: Key;
  /**
   * What caused it: the event's name and the scheduler's time, e.g. `task-erred-1733300000.25`
   * (a worker reported a failure) or `worker-lost-…` (its worker died); every transition one
   * event caused carries the same stimulus.
   */
  stimulus: string;
  /** The state it left: `released`, `waiting`, `queued`, `no-worker`, `processing`, `memory`, `erred`. */
  start: string;
  /** The state it entered (the same names, or `forgotten`). */
  finish: string;
  /** The worker involved (the one reporting, lost, or now running it), or null. */
  worker: string | null;
  /** Scheduler time, seconds since the epoch. */
  time: number;
  /**
   * A task that graph optimization fused from a linear chain: the keys of its parts in the
   * order they ran, the last being `key` (its prefix, e.g. `inc+add`, names them too).
   */
  parts?: Key[];
  /**
   * Set when the key asked about was one of a fused task's parts rather than a task of its own:
   * the fused task's key (also `key`), whose transitions these are.
   */
  fusedInto?: Key;
}
