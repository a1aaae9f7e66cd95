/**
 * Tree reductions of dataframes: each partition's task ends in a partial (reduction_kernels.ts),
 * inner tasks merge `splitEvery` partials each, and the root answers — no task ever holds more
 * than `splitEvery` partials, however many partitions.
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { makeTask, TaskRef } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { Delayed } from "../delayed.ts";
import { finishReduce, mergeReduce, type ReduceAnswer } from "./partition_tasks.ts";
import { partitionTasks, type Plan } from "./plan.ts";
import type { ReduceSpec } from "./reduction_kernels.ts";
import { splitEveryOf, treeLevels } from "../tree_reduction.ts";

import type { ReductionOptions } from "../bag/bag.ts";
/** Options of tree reductions (the bag's: `splitEvery`, the fan-in, default 8 as in Dask). */
export type { ReductionOptions };

/** A reduction of a plan's partitions: a Delayed whose value is the root's answer. */
export function reduce<R>(
  frameName: string,
  plan: Plan,
  spec: ReduceSpec,
  answer: ReduceAnswer,
  options: ReductionOptions,
): Delayed<R> {
  const splitEvery = splitEveryOf(options);
  const op = answer.shape === "describe" ? "describe" : answer.stat;
  const token = tokenize(frameName, spec, answer, splitEvery);
  const name = `${op}-${token}`;
  const tasks = partitionTasks(plan, `${name}-partial`, () => ({ kind: "reduce", spec }));
  const last = treeLevels(
    tasks.map((t) => t.key),
    splitEvery,
    `${name}-combine`,
    (key, refs) => makeTask(key, mergeReduce, [refs]),
    tasks,
  );
  const root = makeTask(name, finishReduce, [answer, last.map((k) => new TaskRef(k))]);
  const tree: Layer = { id: `${name}-tree`, tasks, dependencies: plan.layers };
  return new Delayed<R>(name, root, [tree]);
}
