/**
 * The `processes` scheduler: runs a graph on a pool of Deno subprocesses (Dask's
 * `scheduler="processes"`). Tasks, batches and results are the `threads` scheduler's (the run
 * loop is pool_run.ts); each process runs the thread entry's task runner. A task that ends its
 * process (`Deno.exit`, an uncaught error, running out of memory) fails with a
 * {@link ProcessDiedError}; the pool replaces the process and other computations go on. Tasks
 * in separate processes also share no process-wide state (working directory, environment,
 * globals of native libraries).
 *
 * The pool is kept for later computations, one per size; while idle it does not keep the script
 * alive, and its processes exit when the script ends.
 *
 * @module
 */

import { ProcessPool } from "../../threads/process_pool.ts";
import type { GraphExecutor } from "../compute.ts";
import type { LocalRun } from "./options.ts";
import { poolExecutor, type PoolKind, poolRun } from "./pool_run.ts";
import { SharedPools } from "./shared_pool.ts";
import { defaultThreadCount } from "./threads.ts";

const processes: PoolKind = {
  pools: new SharedPools(
    (size, onResults, onFailure) => new ProcessPool(size, onResults, onFailure),
    undefined,
  ),
  defaultSize: defaultThreadCount,
  transfers: false,
  noun: "process",
  subgraphs: true,
};

/**
 * Ends the worker processes of the `processes` scheduler now, and settles once they have exited
 * (tests, and embedders that want them gone before the script ends). A later computation starts
 * new ones.
 *
 * @example
 * ```ts
 * import { delayed, shutdownProcesses } from "./mod.ts";
 *
 * const pid = await delayed(() => Deno.pid)().compute({ scheduler: "processes" });
 * console.log(pid !== Deno.pid); // true: the task ran in a worker process
 * await shutdownProcesses();
 * ```
 */
export function shutdownProcesses(): Promise<void> {
  return processes.pools.closeAll();
}

/** Computes `outputs` of `graph` on a pool of Deno subprocesses; resolves to their values. */
export const runProcesses: LocalRun = poolRun(processes);

/** The `processes` scheduler as a `GraphExecutor` (`compute(x, { scheduler: "processes" })`). */
export const processesExecutor: GraphExecutor = poolExecutor(processes);
