/**
 * `accumulate`: running values of a binary function across the whole bag, in order (Dask's
 * `Bag.accumulate`). Each partition continues from the previous partition's last running
 * value, so the tasks form a chain along the partitions.
 *
 * @module
 */

import { bindFunctions, taskModule } from "../../core/function_tags.ts";
import { chunkKey, makeTask, type Task, type TaskFunction, TaskRef } from "../../core/task.ts";
import { tokenize } from "../../core/tokenize.ts";
import type { Layer } from "../collection.ts";
import { Bag } from "./bag.ts";

/** The carried running value: none yet (no initial, only empty partitions so far), or one. */
type Carry = { has: false } | { has: true; value: unknown };

/** One partition's running values and the carry it hands on. */
type Part = [unknown[], Carry];

/** The task function of one partition, with `binop` bound (see bindFunctions). */
export function accumulateFactory(binop: TaskFunction) {
  return (items: unknown[], before: Carry | Part, isFirst: boolean): Part => {
    let carry: Carry = Array.isArray(before) ? before[1] : before;
    const out: unknown[] = [];
    // the first partition starts with the initial value itself, as Dask (toolz.accumulate)
    if (isFirst && carry.has) out.push(carry.value);
    for (const x of items) {
      const value = carry.has ? binop(carry.value, x) : x;
      carry = { has: true, value };
      out.push(value);
    }
    return [out, carry];
  };
}

export function partValues(part: Part): unknown[] {
  return part[0];
}

taskModule(import.meta.url, { accumulateFactory, partValues });

/**
 * `[initial?, binop(initial, x0), binop(that, x1), …]` over the bag's elements in order; without
 * an initial value, the first element starts the running value.
 */
export function accumulate<T, A>(
  bag: Bag<T>,
  binop: (accumulator: A, element: T) => A,
  initial: { value: A } | undefined,
): Bag<A> {
  if (typeof binop !== "function") {
    throw new TypeError(`accumulate needs a function (accumulator, element) => accumulator.`);
  }
  const name = `accumulate-${tokenize(bag.name, binop, initial ?? null)}`;
  const fn = bindFunctions(accumulateFactory, binop as TaskFunction);
  const inputs = bag.partitionKeys();
  const tasks: Task[] = [];
  const start: Carry = initial === undefined ? { has: false } : { has: true, value: initial.value };
  inputs.forEach((key, i) => {
    const before = i === 0 ? start : new TaskRef(chunkKey(`${name}-running`, i - 1));
    tasks.push(
      makeTask(chunkKey(`${name}-running`, i), fn, [new TaskRef(key), before, i === 0]),
    );
  });
  const outputs = inputs.map((_, i) =>
    makeTask(chunkKey(name, i), partValues, [new TaskRef(chunkKey(`${name}-running`, i))])
  );
  const layer: Layer = { id: name, tasks: [...tasks, ...outputs], dependencies: [bag.layer()] };
  return new Bag<A>(name, inputs.length, {
    source: { kind: "partitions", keys: outputs.map((t) => t.key), layers: [layer], arrays: true },
    stages: [],
  });
}
