/**
 * A bag's plan: where its partitions come from and the element-wise stages applied to them,
 * kept unexpanded so that a chain such as `readText → map → filter → pluck → frequencies`
 * becomes one task per partition (see partition_ops.ts) instead of one task per operation.
 *
 * Stages are turned into tasks only when something needs them: the bag's own partitions
 * (compute, persist, or another bag reading them), or the first level of a reduction, shuffle
 * or write, whose terminal then runs inside the same task.
 *
 * @module
 */

import { type Key, makeTask, type Task, type TaskFunction, TaskRef } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { FunctionSlots, type SlotOf } from "../function_slots.ts";
import {
  type InputSpec,
  pipelineFactory,
  plainPipeline,
  type StageSpec,
  type TerminalSpec,
} from "./partition_ops.ts";

/** Where a bag's partitions come from. */
export type Source =
  | {
    /** Values of other tasks, one key per partition. */
    kind: "partitions";
    keys: readonly Key[];
    layers: readonly Layer[];
    /** True when each value is an array (false: any iterable, e.g. from `fromDelayed`). */
    arrays: boolean;
  }
  | {
    /** A source function `fn(sink, ...args[i])` that pushes partition i's elements. */
    kind: "call";
    fn: TaskFunction;
    args: readonly (readonly unknown[])[];
    layers: readonly Layer[];
  };

/** One element-wise operation, as it will appear in each partition's task. */
export interface StageDef {
  /** The functions the stage calls (user functions travel this way, never in data). */
  readonly fns: readonly TaskFunction[];
  /** Layers the stage reads: other bags' partitions, Delayed values. */
  readonly layers: readonly Layer[];
  /** The stage's spec for partition `i`. */
  spec(i: number, slot: SlotOf): StageSpec;
}

/** What ends each partition's task: the functions it calls and its spec per partition. */
export interface TerminalDef {
  readonly fns: readonly TaskFunction[];
  spec(i: number, slot: SlotOf): TerminalSpec;
}

export interface Plan {
  readonly source: Source;
  readonly stages: readonly StageDef[];
}

/** The terminal that makes the partition itself (an array). */
export const COLLECT: TerminalDef = { fns: [], spec: () => ({ op: "collect" }) };

/** Every layer a plan reads. */
export function planLayers(plan: Plan): Layer[] {
  const layers = [...plan.source.layers];
  for (const stage of plan.stages) layers.push(...stage.layers);
  return layers;
}

/** True when the plan's partitions already exist as arrays under the source's keys. */
export function isMaterialized(plan: Plan): boolean {
  return plan.stages.length === 0 && plan.source.kind === "partitions" && plan.source.arrays;
}

/**
 * One task per listed partition: input, then every stage, then `terminal`, fused. Task `i` is
 * named `keyOf(i)`.
 */
export function pipelineTasks(
  plan: Plan,
  keyOf: (i: number) => Key,
  terminal: TerminalDef,
  partitions: Iterable<number>,
): Task[] {
  const { source, stages } = plan;
  const slots = new FunctionSlots(
    source.kind === "call" ? [source.fn] : [],
    ...stages.map((s) => s.fns),
    terminal.fns,
  );
  const fn = slots.bind(pipelineFactory, plainPipeline);
  const tasks: Task[] = [];
  for (const i of partitions) {
    const input: InputSpec = source.kind === "call"
      ? { call: slots.slot(source.fn), args: source.args[i] as unknown[] }
      : { value: new TaskRef(source.keys[i]) };
    const stageSpecs = stages.map((s) => s.spec(i, slots.slot));
    tasks.push(makeTask(keyOf(i), fn, [input, stageSpecs, terminal.spec(i, slots.slot)]));
  }
  return tasks;
}

/** `[0, 1, ..., n - 1]`. */
export function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
