/**
 * Giving a task's dropped tables back to the operating system. Polars frees a table's native
 * memory in the finalizer of its JS wrapper, which runs only after V8 has collected the wrapper
 * and the thread has returned to its event loop; and glibc keeps what Polars frees in its heaps.
 * Measured (10 reads and sorts of a 1,000,000-row CSV in one thread, 2026-12-04): resident memory
 * 421 MB; after `gc()` 378 MB; after `gc()`, a turn of the event loop and `malloc_trim` 99 MB.
 * With that after each read it stays at 99–115 MB where it grew to 687 MB without.
 *
 * A full collection costs milliseconds, so it runs once a task thread has handled a few
 * megabytes of rows since the last one (a 16 MiB CSV block of two
 * columns is about 400,000 cells), not after every tiny task. The trim runs only when the
 * process's resident memory is high (half a worker's memory limit): freed memory that glibc keeps
 * is reused by the next task, where a trimmed page costs a page fault again
 * (core/native_memory.ts, `trimNativeMemoryIfHigh`).
 *
 * @module
 */

import { trimNativeMemoryIfHigh } from "../../core/native_memory.ts";
import { garbageCollector } from "../../core/garbage.ts";
import type { Frame } from "./polars.ts";

/** Cells (rows × columns) handled between collections: about 2 MB of 8-byte values. */
const CELLS_BETWEEN_COLLECTIONS = 1 << 18;

let cellsSinceCollection = 0;

/** Counts the rows a task handled (its inputs or its source). */
export function handled(frames: readonly Frame[]): void {
  for (const frame of frames) cellsSinceCollection += frame.height * Math.max(1, frame.width);
}

/**
 * At the end of a dataframe task: when enough rows went through since the last time, collects
 * garbage, lets the finalizers run, and trims the native heap.
 */
export async function releaseNativeMemory(): Promise<void> {
  if (cellsSinceCollection < CELLS_BETWEEN_COLLECTIONS) return;
  cellsSinceCollection = 0;
  const gc = garbageCollector();
  if (gc === null) return;
  gc();
  await new Promise((resolve) => setTimeout(resolve, 0)); // Polars' finalizers run here
  trimNativeMemoryIfHigh();
}
