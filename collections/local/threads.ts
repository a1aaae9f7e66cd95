/**
 * The `threads` scheduler: runs a graph on a pool of Web Workers in this process (the run loop
 * is pool_run.ts, shared with the `processes` scheduler).
 *
 * @module
 */

import { ThreadPool } from "../../threads/thread_pool.ts";
import { THREAD_DIED, TIMED_OUT } from "../../threads/thread_end_errors.ts";
import type { GraphExecutor } from "../compute.ts";
import type { LocalRun } from "./options.ts";
import { poolExecutor, type PoolKind, poolRun } from "./pool_run.ts";
import { SharedPools } from "./shared_pool.ts";

/** Idle thread pools are stopped after this long, so scripts can exit. */
const IDLE_SHUTDOWN_MS = 100;

/** The default number of threads: the machine's cores. */
export function defaultThreadCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

const threads: PoolKind = {
  pools: new SharedPools(
    // the pool knows which run a thread was executing when it ended (pool_run.ts words it)
    (size, onResults, onFailure) =>
      new ThreadPool(size, onResults, (end) =>
        onFailure(end.thread, {
          error: Object.assign(new Error(end.reason), {
            name: end.cause === "timeout" ? TIMED_OUT : THREAD_DIED,
            thread: end.thread,
          }),
          suspects: end.runId === null ? undefined : [end.runId],
        })),
    IDLE_SHUTDOWN_MS,
  ),
  defaultSize: defaultThreadCount,
  transfers: true,
  noun: "thread",
};

/** Stops every idle thread pool now (tests and embedders that want a clean exit at once). */
export function shutdownThreads(): void {
  void threads.pools.closeAll();
}

/** Computes `outputs` of `graph` on a pool of Web Workers; resolves to their values in order. */
export const runThreads: LocalRun = poolRun(threads);

/** The `threads` scheduler as a `GraphExecutor` (`compute(x, { scheduler: "threads" })`). */
export const threadsExecutor: GraphExecutor = poolExecutor(threads);
