/**
 * The worker's memory monitor (I/O: it samples the process's resident memory on a timer). Above
 * the spill threshold it spills values to make room and collects garbage; above the pause
 * threshold it reports `pause` until memory falls back (`resume`); while paused and idle it asks
 * for fresh threads, whose heaps start empty.
 *
 * @module
 */

import { garbageCollector } from "../core/garbage.ts";
import { trimNativeMemoryNow } from "../core/native_memory.ts";
import { formatBytes } from "./memory_limit.ts";
import type { DataStore } from "./store.ts";

/** Fractions of the memory limit where the worker acts (Dask's defaults). */
export interface MemoryThresholds {
  /** Values in memory beyond this are spilled, least recently used first. */
  target: number;
  /** Process memory beyond this spills more values, down to the target. */
  spill: number;
  /** Process memory beyond this pauses the worker until it falls back. */
  pause: number;
}

export const DEFAULT_MEMORY_THRESHOLDS: MemoryThresholds = { target: 0.6, spill: 0.7, pause: 0.8 };
/** Garbage is collected on demand at most this often (a full collection takes milliseconds). */
const MIN_COLLECTION_INTERVAL_MS = 250;
/** Idle threads are replaced at most this often while paused. */
const MIN_RECYCLE_INTERVAL_MS = 500;
/**
 * Paused, idle and unable to spill for this long (fresh threads and collections gave nothing
 * back): the waiting tasks fail instead of waiting forever.
 */
const EXHAUSTED_AFTER_MS = 2000;

/** The process's resident memory, bytes (0 where it cannot be read). */
export function residentMemory(): number {
  try {
    return Deno.memoryUsage().rss;
  } catch {
    return 0;
  }
}

/** What the monitor acts on. */
export interface MemoryMonitorHost {
  readonly store: DataStore;
  /** Memory crossed the pause threshold (true) or fell back below it (false). */
  setPaused(paused: boolean): void;
  /** Whether no task runs or waits to be posted (then threads may be replaced). */
  idle(): boolean;
  /** Replaces the task threads, giving back their heaps. */
  replaceThreads(): void;
  /**
   * Paused and idle while nothing can be spilled (`store.spillFull`): the tasks waiting here can
   * never run, and should fail.
   */
  memoryExhausted(reason: string, first: boolean): void;
  log(line: string): void;
}

export class MemoryMonitor {
  /** Resident memory at the last sample, bytes. */
  rss = 0;
  /** Highest resident memory sampled, bytes. */
  peakRss = 0;
  paused = false;
  #lastCollection = 0;
  #lastRecycle = 0;
  /** Since when the worker is paused, idle and unable to spill (0: it is not). */
  #stuckSince = 0;
  /** Paused, idle and unable to spill for a while (the scheduler is told so). */
  exhausted = false;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    readonly limit: number,
    readonly thresholds: Readonly<MemoryThresholds>,
    intervalMs: number,
    private readonly host: MemoryMonitorHost,
  ) {
    this.#timer = setInterval(() => this.check(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * Samples the process's memory: spills more when it is above the spill threshold, pauses above
   * the pause threshold and resumes once below it.
   */
  check(): void {
    const limit = this.limit;
    const store = this.host.store;
    const rss = residentMemory();
    if (rss <= 0) return;
    this.rss = rss;
    if (rss > this.peakRss) this.peakRss = rss;
    const { target, spill, pause } = this.thresholds;
    let current = rss;
    if (rss > spill * limit) {
      if (store.memoryBytes > 0) {
        // Values alone are under the target but the process is not: make room from the values.
        const excess = rss - target * limit;
        store.spillUntil(Math.max(0, store.memoryBytes - excess));
      }
      // Dropped buffers are freed only once collected (throttled: a full collection costs ms).
      const t = performance.now();
      const collect = garbageCollector();
      if (collect !== null && t - this.#lastCollection > MIN_COLLECTION_INTERVAL_MS) {
        this.#lastCollection = t;
        collect();
        trimNativeMemoryNow(); // glibc keeps freed native memory (replaced threads' too) otherwise
        current = residentMemory() || rss;
        this.rss = current;
      }
    }
    const shouldPause = current > pause * limit;
    if (shouldPause && this.paused) {
      // fresh threads were tried before it counted as exhausted: no need to go on replacing them
      if (!this.exhausted) this.#recycleIdleThreads();
      this.#checkExhausted();
    } else this.#stuckSince = 0;
    if (shouldPause === this.paused) return;
    this.paused = shouldPause;
    this.exhausted = false;
    this.host.log(
      shouldPause
        ? `paused: process memory ${formatBytes(current)} is above ${pause * 100}% of the memory ` +
          `limit ${formatBytes(limit)} (${formatBytes(store.memoryBytes)} of values in ` +
          `memory, ${formatBytes(store.spilledBytes)} spilled); no new tasks until it falls`
        : `resumed: process memory ${formatBytes(current)} is below ${pause * 100}% of the limit`,
    );
    this.host.setPaused(shouldPause);
  }

  /** Paused, idle and the spill directory full for a while: nothing here will change by itself. */
  #checkExhausted(): void {
    const full = this.host.store.spillFull;
    if (full === null || !this.host.idle()) {
      this.#stuckSince = 0;
      if (this.exhausted) {
        this.exhausted = false;
        this.host.setPaused(true); // paused still, but no longer stuck
      }
      return;
    }
    const t = performance.now();
    if (this.#stuckSince === 0) this.#stuckSince = t;
    if (t - this.#stuckSince < EXHAUSTED_AFTER_MS) return;
    this.#stuckSince = t; // again after as long, for tasks assigned meanwhile
    const first = !this.exhausted;
    this.exhausted = true;
    this.host.memoryExhausted(full, first);
  }

  /**
   * Still short of memory while paused and no task runs: the threads' heaps may hold garbage
   * (inputs and results of finished tasks) that an idle thread never collects. Fresh threads
   * give it back at once.
   */
  #recycleIdleThreads(): void {
    const t = performance.now();
    if (!this.host.idle()) return;
    // Threads that held live tables (dataframe partitions, native memory) are not replaced: the
    // tables are the data (they are spilled instead, and the thread frees their memory then),
    // and a terminated thread's native memory is never freed — measured: 8 spilled 33 MB
    // partitions, RSS stayed at 366 MB of a 400 MB limit with every value on disk, paused for
    // good; without the replacement it fell and the computation finished.
    if (this.host.store.heldLive) return;
    if (t - this.#lastRecycle < MIN_RECYCLE_INTERVAL_MS) return;
    this.#lastRecycle = t;
    this.host.log("paused and idle: replacing the task threads to free their memory");
    this.host.replaceThreads();
  }
}
