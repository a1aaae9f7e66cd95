/**
 * Tree reductions of dataframes: each partition's task ends in a partial (reduction_kernels.ts),
 * inner tasks merge `splitEvery` partials each, and the root answers — no task ever holds more
 * than `splitEvery` partials, however many partitions.
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { chunkKey, type Key, makeTask, TaskRef } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { Delayed } from "../delayed.ts";
import { finishReduce, mergeReduce, type ReduceAnswer } from "./partition_tasks.ts";
import { partitionTasks, type Plan } from "./plan.ts";
import type { ReduceSpec } from "./reduction_kernels.ts";

import type { ReductionOptions } from "../bag/bag.ts";
/** Options of tree reductions (the bag's: `splitEvery`, the fan-in, default 8 as in Dask). */
export type { ReductionOptions };

/** Dask's default fan-in. */
export const DEFAULT_SPLIT_EVERY = 8;

/** The fan-in of a tree, checked. */
export function splitEveryOf(options: ReductionOptions): number {
  const splitEvery = options.splitEvery ?? DEFAULT_SPLIT_EVERY;
  if (!Number.isInteger(splitEvery) || splitEvery < 2) {
    throw new RangeError(`splitEvery must be an integer of at least 2; got ${splitEvery}.`);
  }
  return splitEvery;
}

/**
 * Levels of a tree over `keys`: inner tasks of `splitEvery` inputs each, made by `inner`, until
 * at most `splitEvery` remain; returns the last level's keys.
 */
export function treeLevels(
  keys: readonly Key[],
  splitEvery: number,
  name: string,
  inner: (key: Key, inputs: TaskRef[]) => import("../../core/task.ts").Task,
  out: import("../../core/task.ts").Task[],
): Key[] {
  let level = [...keys];
  for (let depth = 0; level.length > splitEvery; depth++) {
    const next: Key[] = [];
    for (let start = 0; start < level.length; start += splitEvery) {
      const refs = level.slice(start, start + splitEvery).map((k) => new TaskRef(k));
      const task = inner(chunkKey(`${name}-combine`, [depth, next.length]), refs);
      out.push(task);
      next.push(task.key);
    }
    level = next;
  }
  return level;
}

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
    name,
    (key, refs) => makeTask(key, mergeReduce, [refs]),
    tasks,
  );
  const root = makeTask(name, finishReduce, [answer, last.map((k) => new TaskRef(k))]);
  const tree: Layer = { id: `${name}-tree`, tasks, dependencies: plan.layers };
  return new Delayed<R>(name, root, [tree]);
}
