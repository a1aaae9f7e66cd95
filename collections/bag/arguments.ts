/**
 * The extra arguments of `map`, `starmap` and `mapPartitions`, and the keys of grouping
 * operations, turned into what travels in task data.
 *
 * @module
 */

import { type Key, type TaskFunction, TaskRef } from "../../core/task.ts";
import { isCollection, type Layer } from "../collection.ts";
import { Delayed } from "../delayed.ts";
import type { Field } from "./partition_ops.ts";
import type { SlotOf } from "../function_slots.ts";
import type { KeySpec } from "./reducers.ts";

/** A bag's partitions as another bag's operation reads them. */
export interface PartitionedInput {
  readonly npartitions: number;
  partitionKeys(): readonly Key[];
  layer(): Layer;
}

/** An extra argument: another bag's partitions, a lazy value, or a plain value. */
export type ExtraArgument =
  | { kind: "partitions"; keys: readonly Key[]; layer: Layer }
  | { kind: "lazy"; ref: TaskRef; layer: Layer }
  | { kind: "value"; value: unknown };

/** Tells apart the extra arguments of an operation on a bag of `npartitions` partitions. */
export function extraArguments(
  op: string,
  args: readonly unknown[],
  npartitions: number,
  isBag: (value: unknown) => value is PartitionedInput,
): ExtraArgument[] {
  return args.map((arg, i) => {
    if (isBag(arg)) {
      if (arg.npartitions !== npartitions) {
        throw new RangeError(
          `${op}: bag argument ${i} has ${arg.npartitions} partitions but this bag has ` +
            `${npartitions}. Bags combined element-wise need equal partitions: repartition one ` +
            `of them to match.`,
        );
      }
      return { kind: "partitions", keys: arg.partitionKeys(), layer: arg.layer() };
    }
    if (arg instanceof Delayed) return { kind: "lazy", ref: new TaskRef(arg.key), layer: arg };
    if (isCollection(arg)) {
      throw new TypeError(
        `${op}: argument ${i} is a lazy collection that is neither a Bag nor a Delayed value; ` +
          `convert it (e.g. with toDelayed()) first.`,
      );
    }
    if (typeof arg === "function") {
      throw new TypeError(
        `${op}: argument ${i} is a function. Functions cannot travel inside task data; call ` +
          `it inside the mapped function instead (or declare both with taskModule).`,
      );
    }
    return { kind: "value", value: arg };
  });
}

/** The layers extra arguments read. */
export function argumentLayers(args: readonly ExtraArgument[]): Layer[] {
  const layers: Layer[] = [];
  for (const a of args) if (a.kind !== "value") layers.push(a.layer);
  return layers;
}

/** What partition `i`'s task receives for each extra argument. */
export function argumentValues(args: readonly ExtraArgument[], i: number): unknown[] {
  return args.map((a) =>
    a.kind === "partitions" ? new TaskRef(a.keys[i]) : a.kind === "lazy" ? a.ref : a.value
  );
}

/** How to find an element's key: a function of the element, a field, or a tuple of fields. */
export type KeyArgument<T> = ((element: T) => unknown) | Field | readonly Field[];

/** The functions a key argument calls (none for fields). */
export function keyFunctions(key: KeyArgument<never> | undefined): TaskFunction[] {
  return typeof key === "function" ? [key as TaskFunction] : [];
}

/** The travelling form of a key argument. */
export function keySpec(key: KeyArgument<never> | undefined, slot: SlotOf): KeySpec {
  if (key === undefined) return null;
  if (typeof key === "function") return { fn: slot(key as TaskFunction) };
  if (Array.isArray(key)) return { fields: [...key] };
  if (typeof key === "string" || typeof key === "number") return { field: key };
  throw new TypeError(
    `A key must be a function of the element, a field name or index, or a list of them; ` +
      `got ${typeof key}.`,
  );
}

/** Throws unless `fn` is a function; `what` names it in the error. */
export function requireFunction(fn: unknown, what: string): TaskFunction {
  if (typeof fn !== "function") {
    throw new TypeError(`${what} must be a function; got ${fn === null ? "null" : typeof fn}.`);
  }
  return fn as TaskFunction;
}
