/**
 * The Client as a `GraphExecutor`: what collections' `compute()` and `persist()` do once a
 * client is the default. A graph's outputs are submitted as Futures and gathered (with a
 * progress bar counting every task of the graph when asked), or kept on the cluster as a layer
 * of literal tasks holding their Futures.
 *
 * @module
 */

import type { Layer } from "../collections/collection.ts";
import type { ComputeOptions } from "../collections/compute.ts";
import { progressReporter } from "../collections/progress_bar.ts";
import { followTasks } from "../collections/task_progress.ts";
import type { Graph } from "../core/graph.ts";
import type { Key } from "../core/task.ts";
import type { Future } from "./future.ts";
import type { Submission } from "./submission.ts";
import type { SubmitOptions } from "./submit_options.ts";

/** What computing a graph on the cluster needs of the client. */
export interface ClusterComputeHost {
  readonly submission: Submission;
  /** Waits for the futures and fetches their values. */
  gather(futures: readonly Future[]): Promise<unknown[]>;
  /** Where each of `keys` stands on the scheduler (for the progress bar). */
  taskProgress(keys: readonly Key[]): Promise<Uint8Array>;
}

/** No submit options (frozen: shared by every client). */
export const NO_OPTIONS: Readonly<SubmitOptions> = Object.freeze({});

/** The submit options that `compute` / `persist` options stand for (their `timeout`). */
function submitOptionsOf(options: ComputeOptions): Readonly<SubmitOptions> {
  return options.timeout === undefined ? NO_OPTIONS : { timeout: options.timeout };
}

/** Computes a graph's outputs on the cluster and gives their values (releasing their Futures). */
export async function computeOnCluster(
  host: ClusterComputeHost,
  graph: Graph,
  outputs: readonly Key[],
  options: ComputeOptions,
): Promise<unknown[]> {
  const futures = host.submission.submitGraph(graph, outputs, submitOptionsOf(options));
  try {
    const values = host.gather(futures);
    if (options.progress) {
      // The outputs alone report back here; the bar counts every task of the graph.
      const report = progressReporter();
      const total = graph.size;
      await followTasks(
        (keys) => host.taskProgress(keys),
        graph.keys(),
        (key) => report(key, total),
        values,
      );
    }
    return await values;
  } finally {
    for (const future of futures) future.release();
  }
}

/**
 * Starts computing a graph's outputs; gives a layer of literal tasks whose values are the
 * outputs' Futures (each under its own key), so the results stay on the cluster while the
 * layer is referenced (client/graph_submission.ts does not send such a literal again).
 */
export function persistOnCluster(
  submission: Submission,
  graph: Graph,
  outputs: readonly Key[],
  options: ComputeOptions,
): Layer {
  return submission.persistLayer(graph, outputs, submitOptionsOf(options));
}
