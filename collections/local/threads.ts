/**
 * The `threads` scheduler: runs a graph on a pool of Web Workers in this process (the run loop
 * is pool_run.ts, shared with the `processes` scheduler).
 *
 * @module
 */

import { emptyProfile, mergeProfile, type ProfileNode } from "../../core/profile_tree.ts";
import { ThreadPool } from "../../threads/thread_pool.ts";
import { DEFAULT_SAMPLE_INTERVAL_MS } from "../../threads/sampler.ts";
import type { LiveTablesAnswer, ProfileQuery } from "../../threads/thread_protocol.ts";
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
  subgraphs: true,
};

/** Stops every idle thread pool now (tests and embedders that want a clean exit at once). */
export function shutdownThreads(): void {
  void threads.pools.closeAll();
}

/** Computes `outputs` of `graph` on a pool of Web Workers; resolves to their values in order. */
export const runThreads: LocalRun = poolRun(threads);

/** The `threads` scheduler as a `GraphExecutor` (`compute(x, { scheduler: "threads" })`). */
export const threadsExecutor: GraphExecutor = poolExecutor(threads);

/**
 * Starts sampling the stacks of the tasks on the `threads` scheduler's pool of `size` threads
 * (every `intervalMs`), as Dask's local `Profiler` diagnostic is opt-in: a pool samples nothing
 * unless asked, since a recording profiler in every thread costs a graph of tiny tasks about a
 * third more CPU. Hold the pool with `threadsExecutor.prepare` first (an idle pool stops, and its
 * samples with it); false when no such pool runs.
 */
export function sampleThreads(size: number, intervalMs = DEFAULT_SAMPLE_INTERVAL_MS): boolean {
  const pool = threads.pools.running(size)?.pool;
  if (!(pool instanceof ThreadPool)) return false;
  pool.sample(intervalMs);
  return true;
}

/**
 * The sampled call tree (threads/sampler.ts) of the `threads` scheduler's pool of `size` threads
 * while it runs (after {@link sampleThreads}) — hold it with `threadsExecutor.prepare` past a
 * computation's end — merged over its threads; empty when no such pool runs. With `byPrefix`,
 * the root's children are the task prefixes, a fused task's named by its parts (`inc×2+add`) as
 * on a cluster.
 */
export async function threadsProfile(
  size: number,
  query: Partial<Omit<ProfileQuery, "type" | "id">> = {},
  waitMs = 1000,
): Promise<ProfileNode> {
  const pool = threads.pools.running(size)?.pool;
  if (!(pool instanceof ThreadPool)) return emptyProfile();
  const answers = await pool.profile(
    { start: null, stop: null, prefix: null, ...query },
    waitMs,
  );
  return answers.map((a) => a.tree).reduce(mergeProfile, emptyProfile());
}

/** What the threads of a `threads` pool did and keep of dataframe tables ({@link threadsTables}). */
export interface ThreadsTables {
  /**
   * Tables the pool's threads converted to or from Arrow IPC since it started (each export of a
   * live table, each table result encoded, each table input decoded): what keeping tables in
   * their thread saves.
   */
  conversions: number;
  /** Live results the threads exported since the pool started (each when it moved, once). */
  exports: number;
  /** What each thread's live tables hold now, by thread; null for one that did not answer. */
  threads: (LiveTablesAnswer | null)[];
}

/**
 * The tables of the `threads` scheduler's pool of `size` threads (hold it with
 * `threadsExecutor.prepare` past a computation's end): conversions so far and what each thread
 * keeps live now (answered between tasks, within `waitMs`); null when no such pool runs.
 */
export async function threadsTables(size: number, waitMs = 1000): Promise<ThreadsTables | null> {
  const pool = threads.pools.running(size)?.pool;
  if (!(pool instanceof ThreadPool)) return null;
  const answers = await pool.liveTables(waitMs);
  return { conversions: pool.tableConversions, exports: pool.tablesExported, threads: answers };
}
