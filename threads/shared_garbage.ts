/**
 * A tally of shared memory let go of, for a worker and its threads to know when to collect
 * garbage (worker/garbage.ts does the collecting).
 *
 * @module
 */

import type { Key } from "../core/task.ts";

/** Shared memory dropped (by the store, or by a thread) that makes it worth a collection. */
export const SHARED_GARBAGE_BYTES = 128 * 1024 * 1024;

/**
 * Shared memory let go of, and when to collect it. V8 does not count `SharedArrayBuffer` memory
 * towards the external memory that makes it collect garbage, so shared buffers that the store
 * or a thread no longer uses stay allocated until something else makes V8 collect — without
 * this tally, a worker receiving 100 MB a round grew by 100 MB a round.
 */
export class SharedGarbage {
  #bytes = 0;
  /**
   * Values counted since the last collection, by key: a value many tasks read (a broadcast
   * table) counts once, not once a task — each task's message brings a new wrapper of the same
   * shared memory, and counting those would collect after every other task.
   */
  #counted = new Set<Key>();

  constructor(readonly thresholdBytes: number) {}

  /** Counts the shared buffers of value `key` (its `frames`) as no longer used here. */
  drop(key: Key, frames: readonly Uint8Array[]): void {
    if (frames.length === 0 || this.#counted.has(key)) return;
    let bytes = 0;
    for (const frame of frames) {
      if (frame.buffer instanceof SharedArrayBuffer) bytes += frame.buffer.byteLength;
    }
    if (bytes === 0) return;
    this.#counted.add(key);
    this.#bytes += bytes;
  }

  /** True (and the tally starts again) once enough shared memory was dropped to collect. */
  due(): boolean {
    if (this.#bytes < this.thresholdBytes) return false;
    this.#bytes = 0;
    this.#counted.clear();
    return true;
  }
}
