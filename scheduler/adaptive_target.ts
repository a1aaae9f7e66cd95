/**
 * How many workers the cluster should have, and which can go: Dask's `adaptive_target` and
 * `workers_to_close`, as pure functions of a snapshot of the scheduler's books.
 *
 * - **Enough workers to finish the known work in `targetDuration`.** The work is the occupancy of
 *   every worker (expected seconds of the tasks they hold) plus the tasks waiting on the scheduler
 *   (queued, or no worker fits them), estimated from up to 100 of them by their prefixes' measured
 *   durations and scaled to all of them. Threads wanted = ceil(work / targetDuration), but never
 *   more than there are tasks to run (a few long tasks do not ask for many threads).
 * - **More memory**: when the workers hold over 60 % of their memory limits, twice the workers.
 * - **Fewer**: idle workers holding the least data go first, while those left keep at least twice
 *   the memory the data needs; the manager retires them (their unique data moves first).
 *
 * @module
 */

import type { SchedulerState } from "./state.ts";

/** What the target needs to know about a worker. */
export interface AdaptiveWorker {
  address: string;
  name: string;
  nthreads: number;
  /** Bytes it may hold; 0 for no limit. */
  memoryLimit: number;
  /** Bytes it holds. */
  nbytes: number;
  /** Tasks assigned to it and not finished. */
  processing: number;
  /** Expected seconds of work in `processing`. */
  occupancy: number;
}

/** The scheduler's books as the target reads them. */
export interface AdaptiveSnapshot {
  workers: AdaptiveWorker[];
  /** Tasks waiting on the scheduler for a worker (queued or no-worker). */
  pending: number;
  /** Expected seconds of up to 100 of those tasks. */
  pendingSample: number[];
}

/** What the cluster manager asks for. */
export interface AdaptiveTargetOptions {
  /** Seconds the known work should take on the cluster (Dask's default: 5). */
  targetDuration: number;
  /** Threads a new worker would bring; default: the current workers' average, else 1. */
  threadsPerWorker?: number;
  /** Never recommend closing workers below this many. Default 0. */
  minimum?: number;
}

/** The answer: how many workers, and which (by name) to close to get there. */
export interface AdaptiveTarget {
  /** Workers wanted. */
  target: number;
  /** Threads the work asks for. */
  threads: number;
  /** Names of workers to close, least useful first (empty when growing or none can go). */
  toClose: string[];
}

/** How many pending tasks are sampled for their durations (as Dask). */
export const PENDING_SAMPLE = 100;
/** Memory use beyond this fraction of the limits asks for more workers (as Dask). */
const MEMORY_PRESSURE = 0.6;

/** Reads the snapshot from the scheduler's state machine: O(workers + 100). */
export function adaptiveSnapshot(state: SchedulerState): AdaptiveSnapshot {
  // A worker summary has every field the target reads.
  const workers: AdaptiveWorker[] = state.workerSummaries();
  const pendingSample: number[] = [];
  for (const task of state.pendingSample(PENDING_SAMPLE)) {
    pendingSample.push(state.taskDuration(task));
  }
  return {
    workers,
    pending: state.stateCounts.queued + state.stateCounts["no-worker"],
    pendingSample,
  };
}

/** Workers wanted for the work in `snapshot`, and which to close when that is fewer. */
export function adaptiveTarget(
  snapshot: AdaptiveSnapshot,
  options: AdaptiveTargetOptions,
): AdaptiveTarget {
  if (!(options.targetDuration > 0)) {
    throw new RangeError(`targetDuration must be a positive number of seconds`);
  }
  const { workers, pending, pendingSample } = snapshot;
  let pendingWork = pendingSample.reduce((a, b) => a + b, 0);
  if (pendingSample.length > 0 && pending > pendingSample.length) {
    pendingWork *= pending / pendingSample.length;
  }
  const occupancy = workers.reduce((sum, w) => sum + w.occupancy, 0);
  let threads = Math.ceil((occupancy + pendingWork) / options.targetDuration);
  // Never more threads than tasks to run.
  const tasks = pending + workers.reduce((sum, w) => sum + w.processing, 0);
  threads = Math.min(threads, tasks);
  if (pending > 0) threads = Math.max(1, threads);

  const totalThreads = workers.reduce((sum, w) => sum + w.nthreads, 0);
  const perWorker = options.threadsPerWorker ??
    (workers.length > 0 ? totalThreads / workers.length : 1);
  let target = Math.ceil(threads / Math.max(1, perWorker));

  const limit = workers.every((w) => w.memoryLimit > 0)
    ? workers.reduce((sum, w) => sum + w.memoryLimit, 0)
    : 0;
  const used = workers.reduce((sum, w) => sum + w.nbytes, 0);
  if (limit > 0 && used > MEMORY_PRESSURE * limit) target = Math.max(target, 2 * workers.length);

  if (target >= workers.length) return { target, threads, toClose: [] };
  const toClose = workersToClose(workers, { target, minimum: options.minimum });
  return { target: workers.length - toClose.length, threads, toClose: toClose.map((w) => w.name) };
}

/**
 * Which workers can close (Dask's `workers_to_close`): idle ones, holding the least data first,
 * while at least `target` (and `minimum`) remain and the memory limits of those that remain are
 * at least `memoryRatio` (2) times the data held.
 */
export function workersToClose(
  workers: AdaptiveWorker[],
  options: { target?: number; minimum?: number; memoryRatio?: number } = {},
): AdaptiveWorker[] {
  const ratio = options.memoryRatio ?? 2;
  const floor = Math.max(options.target ?? 0, options.minimum ?? 0);
  const held = workers.reduce((sum, w) => sum + w.nbytes, 0);
  // Memory of the workers that would remain: limits summed, workers without one counted apart.
  let limited = workers.reduce((sum, w) => sum + w.memoryLimit, 0);
  let unlimited = workers.filter((w) => w.memoryLimit <= 0).length;
  const idle = workers.filter((w) => w.processing === 0).sort((a, b) =>
    a.nbytes - b.nbytes || a.name.localeCompare(b.name)
  );
  const closing: AdaptiveWorker[] = [];
  let remaining = workers.length;
  for (const worker of idle) {
    if (remaining - 1 < floor) break;
    const nextLimited = limited - Math.max(0, worker.memoryLimit);
    const nextUnlimited = unlimited - (worker.memoryLimit <= 0 ? 1 : 0);
    if (nextUnlimited === 0 && nextLimited < ratio * held) break;
    limited = nextLimited;
    unlimited = nextUnlimited;
    closing.push(worker);
    remaining--;
  }
  return closing;
}
