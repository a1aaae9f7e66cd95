/**
 * A dataframe's plan: each partition's source and the element-wise steps applied to it, kept
 * unexpanded so that `readCsv → filter → assign → select → groupby` becomes one task per
 * partition (partition_tasks.ts). Tasks are made only when something needs them: the frame's
 * own partitions (compute, persist, another frame's shuffle) or the first level of a reduction,
 * groupby or write, whose first step then runs inside the same task.
 *
 * @module
 */

import {
  chunkKey,
  type Key,
  makeTask,
  type Task,
  type TaskFunction,
  TaskRef,
} from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { boundPartition, type SourceSpec, type Step, type Terminal } from "./partition_tasks.ts";

/** Where partitions come from and what is applied to them. */
export interface Plan {
  /** One source per partition. */
  readonly sources: readonly SourceSpec[];
  /** Layers the sources read (other tasks' tables). */
  readonly layers: readonly Layer[];
  /** Fused element-wise steps. */
  readonly steps: readonly Step[];
  /** User functions the steps call, by index (`mapPartitions`). */
  readonly fns: readonly TaskFunction[];
}

/** The same plan with one more step (and the functions it calls). */
export function withStep(plan: Plan, step: Step, fns: readonly TaskFunction[] = []): Plan {
  return { ...plan, steps: [...plan.steps, step], fns: [...plan.fns, ...fns] };
}

/** One task per listed partition, named `name[i]`, ending in `terminal(i)`. */
export function partitionTasks(
  plan: Plan,
  name: string,
  terminal: (i: number) => Terminal,
  partitions: Iterable<number> = plan.sources.keys(),
): Task[] {
  const fn = boundPartition(plan.fns);
  const tasks: Task[] = [];
  for (const i of partitions) {
    tasks.push(makeTask(chunkKey(name, i), fn, [plan.sources[i], plan.steps, terminal(i)]));
  }
  return tasks;
}

/** True when the plan's partitions already exist as tables under other tasks' keys. */
export function storedKeys(plan: Plan): Key[] | undefined {
  if (plan.steps.length > 0) return undefined;
  const keys: Key[] = [];
  for (const source of plan.sources) {
    const table = "table" in source ? source.table : undefined;
    if (!(table instanceof TaskRef)) return undefined;
    keys.push(table.key);
  }
  return keys;
}
