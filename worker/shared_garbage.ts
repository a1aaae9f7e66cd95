/**
 * A tally of shared memory let go of, for a worker and its threads to know when to collect
 * garbage (worker/garbage.ts does the collecting).
 *
 * @module
 */

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

  constructor(readonly thresholdBytes: number) {}

  /** Counts the shared buffers under `frames` as no longer used here. */
  drop(frames: readonly Uint8Array[]): void {
    for (const frame of frames) {
      if (frame.buffer instanceof SharedArrayBuffer) this.#bytes += frame.buffer.byteLength;
    }
  }

  /** True (and the tally starts again) once enough shared memory was dropped to collect. */
  due(): boolean {
    if (this.#bytes < this.thresholdBytes) return false;
    this.#bytes = 0;
    return true;
  }
}
