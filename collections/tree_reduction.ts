/**
 * The shape every tree reduction shares (bags, dataframes, groupby): partials are combined
 * `splitEvery` at a time, level after level, until at most `splitEvery` are left for the root, so
 * no task ever reads more than `splitEvery` inputs however many partitions there are.
 *
 * @module
 */

import { chunkKey, type Key, type Task, TaskRef } from "../core/task.ts";

/** Dask's default fan-in of tree reductions. */
export const DEFAULT_SPLIT_EVERY = 8;

/** The fan-in of a tree (`splitEvery`, default 8), checked. */
export function splitEveryOf(options: { splitEvery?: number }): number {
  const splitEvery = options.splitEvery ?? DEFAULT_SPLIT_EVERY;
  if (!Number.isInteger(splitEvery) || splitEvery < 2) {
    throw new RangeError(`splitEvery must be an integer of at least 2; got ${splitEvery}.`);
  }
  return splitEvery;
}

/**
 * Levels of a tree over `keys`: inner tasks of `splitEvery` inputs each, made by `inner` and
 * keyed `combineName[depth, i]`, appended to `out`, until at most `splitEvery` remain; returns the
 * last level's keys (the root's inputs).
 */
export function treeLevels(
  keys: readonly Key[],
  splitEvery: number,
  combineName: string,
  inner: (key: Key, inputs: TaskRef[]) => Task,
  out: Task[],
): Key[] {
  let level = [...keys];
  for (let depth = 0; level.length > splitEvery; depth++) {
    const next: Key[] = [];
    for (let start = 0; start < level.length; start += splitEvery) {
      const refs = level.slice(start, start + splitEvery).map((k) => new TaskRef(k));
      const task = inner(chunkKey(combineName, [depth, next.length]), refs);
      out.push(task);
      next.push(task.key);
    }
    level = next;
  }
  return level;
}
