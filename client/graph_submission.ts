/**
 * How the client turns calls and graphs into the `GraphTaskSpec`s of an `update-graph`
 * (docs/protocol.md §2, §8): functions described once (a function that cannot travel fails
 * here, before anything is sent), arguments encoded with `TaskRef`s where Futures were, and
 * graph tasks listed in the order they should run.
 *
 * Futures found in arguments become references to their keys: their data then moves from
 * worker to worker, never through the client or the scheduler.
 *
 * @module
 */

import { describeFunction } from "../core/function_codec.ts";
import { type Graph, indexGraph, orderIndexed } from "../core/graph.ts";
import {
  DESCEND,
  findRefs,
  type Key,
  rewriteData,
  type Task,
  type TaskFunction,
  type TaskOptions,
  TaskRef,
} from "../core/task.ts";
import { encode } from "../core/value_codec.ts";
import type { Layer } from "../collections/collection.ts";
import { Delayed } from "../collections/delayed.ts";
import type { GraphTaskSpec } from "../protocol/messages.ts";
import { Future } from "./future.ts";

/** Checks that a Future may be used by this client and gives its key. */
export type FutureKey = (future: Future) => Key;

/**
 * Replaces each Future inside arrays and plain objects by a `TaskRef` to its key, and each
 * Delayed by a `TaskRef` too, collecting its layer in `layers` (so its graph is submitted
 * along). Containers without any are returned as they are (no copy).
 */
export function replaceFutures(value: unknown, futureKey: FutureKey, layers: Layer[]): unknown {
  if (value === null || typeof value !== "object") return value;
  // the common call, submit(fn, 1, "a"): arguments that hold nothing are not walked
  if (Array.isArray(value) && value.every(isPrimitive)) return value;
  return rewriteData(value, (v) => {
    if (v instanceof Future) return new TaskRef(futureKey(v));
    if (!(v instanceof Delayed)) return DESCEND;
    layers.push(v);
    return new TaskRef(v.key);
  }, "args");
}

/** True for a value that is no object (and so holds no Future or Delayed). */
function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== "object" && typeof value !== "function");
}

/**
 * The spec of one call `fn(...args)`, `args` already holding `TaskRef`s.
 *
 * @throws {FreeVariableError} when `fn` reads variables it does not define.
 * @throws {UnserializableError} when an argument cannot travel; its path says where.
 */
export function callSpec(
  key: Key,
  fn: TaskFunction,
  args: readonly unknown[],
  options: TaskOptions | undefined,
): GraphTaskSpec {
  const spec: GraphTaskSpec = {
    key,
    fn: describeFunction(fn),
    args: encode(args, { rootName: "args" }),
    deps: findRefs(args) as Key[],
  };
  if (options !== undefined) spec.options = options;
  return spec;
}

/** Passes a value through: the task behind a graph literal that holds Futures. */
const identity = (value: unknown) => value;

/**
 * The specs of a graph's tasks, in the order they should run (core/graph.ts `order`).
 *
 * A literal whose value is a Future with the task's own key stands for a result already on the
 * cluster (a persisted collection, see `Client.persistGraph`): it is left out, since the
 * client holds that key and the scheduler knows it. Other Futures inside tasks become
 * references, as in `submit`.
 *
 * @throws {GraphError} for a missing dependency or a cycle, before anything is sent.
 */
export function graphSpecs(
  graph: Graph,
  outputs: readonly Key[],
  futureKey: FutureKey,
  options: TaskOptions | undefined,
): GraphTaskSpec[] {
  const indexed = indexGraph(graph);
  const runOrder = orderIndexed(indexed, outputs);
  const specs: GraphTaskSpec[] = [];
  const noLayers: Layer[] = [];
  for (let i = 0; i < runOrder.length; i++) {
    const task = graph.get(indexed.keys[runOrder[i]])!;
    const spec = taskSpec(task, futureKey, options, noLayers);
    if (spec !== null) specs.push(spec);
  }
  return specs;
}

function taskSpec(
  task: Task,
  futureKey: FutureKey,
  options: TaskOptions | undefined,
  noLayers: Layer[],
): GraphTaskSpec | null {
  const taskOptions = task.options === undefined
    ? options
    : options === undefined
    ? task.options
    : { ...options, ...task.options };
  if (task.fn === null) {
    const value = task.args[0];
    if (value instanceof Future && futureKey(value) === task.key) return null;
    const replaced = replaceFutures(value, futureKey, noLayers);
    if (replaced === value) {
      return { key: task.key, fn: null, args: encode(value, { rootName: task.key }), deps: [] };
    }
    return callSpec(task.key, identity, [replaced], taskOptions);
  }
  const args = replaceFutures(task.args, futureKey, noLayers) as unknown[];
  const spec = callSpec(task.key, task.fn, args, taskOptions);
  if (task.parts !== undefined) spec.parts = task.parts as Key[];
  return spec;
}
