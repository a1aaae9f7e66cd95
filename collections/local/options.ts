/**
 * Options shared by the local schedulers, and how a local run function becomes a
 * `GraphExecutor` (the one interface `compute` runs graphs through, as the Client does).
 *
 * @module
 */

import type { Graph } from "../../core/graph.ts";
import { type Key, makeLiteral } from "../../core/task.ts";
import { type Layer, leafLayer } from "../collection.ts";
import type { GraphExecutor, RunOptions } from "../compute.ts";
import { progressReporter } from "../progress_bar.ts";
import { timeoutMsOf } from "../../core/timeout.ts";

/** How a local scheduler runs a graph. */
export interface LocalRunOptions {
  /** Threads (or processes) of the `threads` (`processes`) scheduler; default: the cores. */
  numWorkers?: number;
  /**
   * Called once with `(null, total)` before the first task, then with each finished task's key.
   * Used by progress displays.
   */
  onTaskDone?: (key: Key | null, total: number) => void;
  /** Milliseconds each task may run before it is stopped and the computation fails. */
  timeoutMs?: number;
}

/** Runs a graph in this process and resolves to the outputs' values in order. */
export type LocalRun = (
  graph: Graph,
  outputs: readonly Key[],
  options?: LocalRunOptions,
) => Promise<unknown[]>;

function localRunOptions(options: RunOptions): LocalRunOptions {
  const local: LocalRunOptions = {};
  if (options.numWorkers !== undefined) local.numWorkers = options.numWorkers;
  if (options.timeout !== undefined) local.timeoutMs = timeoutMsOf(options.timeout);
  if (options.onTaskDone !== undefined) local.onTaskDone = options.onTaskDone;
  else if (options.progress) local.onTaskDone = progressReporter();
  return local;
}

/**
 * The executor of a local scheduler: computing is `run`; persisting is computing and keeping
 * the values in this process, as literal tasks of a new layer (Dask's local persist).
 */
export function localExecutor(run: LocalRun): GraphExecutor {
  return {
    computeGraph: (graph, outputs, options) => run(graph, outputs, localRunOptions(options)),
    async persistGraph(graph, outputs, options): Promise<Layer> {
      const values = await run(graph, outputs, localRunOptions(options));
      const id = `persisted-${outputs[0] ?? "empty"}-${crypto.randomUUID()}`;
      return leafLayer(id, outputs.map((key, i) => makeLiteral(key, values[i])));
    },
  };
}
