/**
 * Gives memory the process no longer uses back to the operating system after a burst of
 * connections (many rejected ones, large messages). Two things keep it otherwise, measured with
 * tests/fuzz/ (100,000 hostile inputs: resident memory +86..+114 MB although nothing was held):
 *
 * - V8 grows its heap under a burst (the young generation to its maximum, old-generation pages
 *   for the garbage of the burst) and an idle process neither collects nor shrinks it: a full
 *   collection brings the committed heap back to its live size (a 150 MB burst's heap: 77 → 5 MB).
 * - glibc's malloc keeps freed native memory (socket buffers, decoding temporaries, large
 *   strings) in its heap: `malloc_trim(0)` returns those pages, as Dask's workers do
 *   (`trim_memory`).
 *
 * A full collection costs time in proportion to the live heap, so it runs only when resident
 * memory grew by {@link GROWTH_BYTES} since the last one, at most every {@link MIN_INTERVAL_MS}:
 * connections that come and go without growth cost a trim a second at most. The collector is V8's own
 * (core/garbage.ts); the trim needs FFI permission (granted to `-A` processes; never prompted
 * for) and glibc on Linux, and is skipped elsewhere.
 *
 * @module
 */

import { garbageCollector } from "../core/garbage.ts";

/** A burst's collection waits this long after the connection that ended it (one pending). */
const DELAY_MS = 1000;
/** Collections are this far apart at least. */
const MIN_INTERVAL_MS = 5000;
/** Below this growth of resident memory since the last collection, none is made. */
const GROWTH_BYTES = 32 * 1024 * 1024;

let trim: (() => void) | null | undefined;
let pending: ReturnType<typeof setTimeout> | undefined;
let lastAt = -Infinity;
/** Resident memory right after the last collection (or when first asked). */
let baseline: number | undefined;

function loadTrim(): (() => void) | null {
  if (Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    const libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return () => void libc.symbols.malloc_trim(0n);
  } catch {
    return null; // not glibc (musl), or no such library: nothing to trim
  }
}

function giveBack(): void {
  pending = undefined;
  const grown = Deno.memoryUsage().rss - baseline! >= GROWTH_BYTES;
  if (grown) {
    lastAt = performance.now();
    garbageCollector()?.();
  }
  trim ??= loadTrim();
  trim?.();
  const rss = Deno.memoryUsage().rss;
  baseline = grown ? rss : Math.min(baseline!, rss);
}

/**
 * Gives memory back a second from now (a burst of calls makes one trim), collecting first if
 * resident memory grew enough to be worth it and {@link MIN_INTERVAL_MS} passed since the last
 * collection (else the collection waits for that). Does not keep the process alive.
 */
export function returnMemorySoon(): void {
  baseline ??= Deno.memoryUsage().rss;
  if (pending !== undefined) return;
  const wait = Math.max(DELAY_MS, lastAt + MIN_INTERVAL_MS - performance.now());
  const timer = setTimeout(giveBack, wait);
  Deno.unrefTimer(timer);
  pending = timer;
}

/**
 * Trims the native heap now (the worker's memory monitor does when memory passes its spill
 * threshold: the native memory of dropped tables goes back to the operating system at once).
 */
export function trimNativeMemoryNow(): void {
  trim ??= loadTrim();
  trim?.();
}

/**
 * Resident memory of the process above which {@link trimNativeMemoryIfHigh} trims: by default
 * {@link DEFAULT_TRIM_ABOVE_BYTES}; a worker sets half its memory limit in its task threads.
 */
let trimAboveBytes: number | undefined;

/** Without a memory limit, freed native memory is kept for reuse up to this resident size. */
export const DEFAULT_TRIM_ABOVE_BYTES = 2 * 2 ** 30;

/** Sets the resident size above which {@link trimNativeMemoryIfHigh} trims (undefined: default). */
export function setNativeTrimThreshold(bytes: number | undefined): void {
  trimAboveBytes = bytes;
}

/**
 * Trims the native heap when the process's resident memory is above the threshold (a dataframe
 * task ends with this after its garbage collection). Below it, glibc keeps the freed memory and
 * the next task reuses it: measured 2026-12-05 in a task thread (read and hash-split a 500,000-row
 * CSV, 12 times), 140–150 ms a time with a trim after each against 71–93 ms without, because every
 * trimmed page is faulted in again by the next task (+44 MB resident kept).
 */
export function trimNativeMemoryIfHigh(): void {
  if (Deno.memoryUsage().rss <= (trimAboveBytes ?? DEFAULT_TRIM_ABOVE_BYTES)) return;
  trimNativeMemoryNow();
}
