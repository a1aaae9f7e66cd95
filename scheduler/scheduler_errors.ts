/**
 * Errors the scheduler itself raises for a task, as records sent to clients (core/errors.ts
 * turns them back into Errors with the same name). Each says what happened and what to do.
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import { cycleMessage } from "../core/graph.ts";
import type { Key } from "../core/task.ts";
import type { WorkerAddress } from "../protocol/messages.ts";

/** The task was running on too many workers that died: it probably kills them. */
export function killedWorkerError(
  key: Key,
  workers: readonly WorkerAddress[],
  causes: ReadonlyMap<WorkerAddress, string> = new Map(),
): ErrorRecord {
  const named = workers.map((w) => causes.has(w) ? `${w} (${causes.get(w)})` : w);
  return {
    name: "KilledWorker",
    message: `Task '${key}' was running on ${workers.length} workers that died while running ` +
      `it: ${named.join(", ")}. The task may be what kills them (out of memory, a crash in ` +
      `native code, an endless allocation). Check those workers' logs, run the task alone to ` +
      `reproduce, or raise the scheduler's allowedFailures if the workers died for other reasons.`,
    key,
  };
}

/** The only copy of data that cannot be recomputed is gone. */
export function lostDataError(key: Key, scattered: boolean): ErrorRecord {
  return {
    name: "LostDataError",
    message: scattered
      ? `The data of '${key}' was scattered to workers that have all left the cluster, so it ` +
        `cannot be recomputed. Scatter the data again and resubmit the tasks that need it.`
      : `The result of '${key}' was lost and cannot be recomputed because data it was computed ` +
        `from is gone (scattered data that was released or lost). Scatter that data again and ` +
        `resubmit the tasks.`,
    key,
  };
}

/** A submitted task reads a key the scheduler does not know. */
export function missingDependencyError(key: Key, dependency: Key): ErrorRecord {
  return {
    name: "GraphError",
    message: `Task '${key}' depends on '${dependency}', which is neither in the submitted graph ` +
      `nor held by the scheduler (it may have been released). Submit the graph again including ` +
      `'${dependency}', or keep a future for it while its dependents are submitted.`,
    key,
  };
}

/** Submitted tasks depend on each other in a loop (`cycle` in order): none of them can run. */
export function cycleError(cycle: readonly Key[]): ErrorRecord {
  return { name: "GraphError", message: cycleMessage(cycle), key: cycle[0] };
}

/** A client asked for a key that the scheduler does not know. */
export function unknownKeyError(key: Key): ErrorRecord {
  return {
    name: "LostDataError",
    message: `The scheduler does not know '${key}': it was released by every client or never ` +
      `submitted. Submit the computation again.`,
    key,
  };
}
