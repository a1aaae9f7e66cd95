/**
 * The `sync` scheduler: runs every task in the calling thread, one after another, in the order
 * that keeps memory low. For debugging: stacks are local and closures work.
 *
 * @module
 */

import type { Graph } from "../../core/graph.ts";
import type { Key } from "../../core/task.ts";
import { substituteRefs, TaskRef } from "../../core/task.ts";
import { errorFromThrown } from "../../core/errors.ts";
import { RunState } from "./run_state.ts";
import { localExecutor, type LocalRunOptions } from "./options.ts";
import type { GraphExecutor } from "../compute.ts";

/** The Error a task threw (a non-Error wrapped, see errorFromThrown) with the task's key attached. */
export function withTaskKey(thrown: unknown, key: Key): Error {
  const error = errorFromThrown(thrown);
  if ((error as { key?: unknown }).key === undefined) {
    try {
      Object.defineProperty(error, "key", { value: key, enumerable: true, writable: true });
    } catch { /* frozen errors keep their own shape */ }
  }
  return error;
}

/** Computes `outputs` of `graph` in this thread; resolves to their values in order. */
export async function runSync(
  graph: Graph,
  outputs: readonly Key[],
  options: LocalRunOptions = {},
): Promise<unknown[]> {
  const run = new RunState(graph, outputs);
  const tasks = run.tasks;
  const lookup = (key: Key) => run.value(key);
  const onTaskDone = options.onTaskDone;
  onTaskDone?.(null, run.total);
  for (let t = run.popReady(); t >= 0; t = run.popReady()) {
    const task = tasks[t];
    let value: unknown;
    if (task.fn === null) {
      value = task.args[0];
    } else {
      const args = task.args;
      const n = args.length;
      const resolved = new Array(n);
      if (task.deps.length === 0) { for (let i = 0; i < n; i++) resolved[i] = args[i]; }
      else {
        for (let i = 0; i < n; i++) {
          const arg = args[i];
          // a reference or a plain value as the argument itself needs no walk
          resolved[i] = arg instanceof TaskRef
            ? run.valueAt(run.dependencyIndex(t, arg.key))
            : arg === null || typeof arg !== "object"
            ? arg
            : substituteRefs(arg, lookup);
        }
      }
      try {
        value = task.fn(...resolved);
        if (value !== null && typeof (value as PromiseLike<unknown>)?.then === "function") {
          value = await value;
        }
      } catch (error) {
        throw withTaskKey(error, task.key);
      }
    }
    run.finish(t, value);
    onTaskDone?.(task.key, run.total);
  }
  return run.outputValues();
}

/** The `sync` scheduler as a `GraphExecutor` (`compute(x, { scheduler: "sync" })`). */
export const syncExecutor: GraphExecutor = localExecutor(runSync);
