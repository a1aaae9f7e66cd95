/**
 * Operations that change how a bag's elements are partitioned: `repartition`, `product`, and
 * `take` (which reads only the partitions it needs).
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { chunkKey, type Key, makeTask, type Task, TaskRef } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import type { ComputeOptions } from "../compute.ts";
import { Delayed } from "../delayed.ts";
import { Bag } from "./bag.ts";
import { concatPartitions, productOf, slicePartition } from "./partition_ops.ts";
import { pipelineTasks, planLayers, upTo } from "./plan.ts";

/** A bag over tasks of a new layer, one task per partition. */
function bagOver<T>(name: string, tasks: Task[], dependencies: Layer[]): Bag<T> {
  const layer: Layer = { id: name, tasks, dependencies };
  return new Bag<T>(name, tasks.length, {
    source: { kind: "partitions", keys: tasks.map((t) => t.key), layers: [layer], arrays: true },
    stages: [],
  });
}

function refs(keys: readonly Key[]): TaskRef[] {
  return keys.map((k) => new TaskRef(k));
}

/**
 * The same elements in `n` partitions: fewer by joining neighbours (output `j` holds inputs
 * `⌊j·m/n⌋ .. ⌊(j+1)·m/n⌋ - 1`), more by cutting each input into near-equal pieces.
 */
export function repartition<T>(bag: Bag<T>, n: number): Bag<T> {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`repartition: the number of partitions must be an integer ≥ 1; got ${n}.`);
  }
  const m = bag.npartitions;
  if (n === m) return bag;
  const name = `repartition-${tokenize(bag.name, n)}`;
  const keys = bag.partitionKeys();
  const tasks: Task[] = [];
  if (n < m) {
    for (let j = 0; j < n; j++) {
      const inputs = keys.slice(Math.floor((j * m) / n), Math.floor(((j + 1) * m) / n));
      tasks.push(makeTask(chunkKey(name, j), concatPartitions, [Infinity, ...refs(inputs)]));
    }
  } else {
    for (let i = 0; i < m; i++) {
      const pieces = Math.floor(((i + 1) * n) / m) - Math.floor((i * n) / m);
      for (let p = 0; p < pieces; p++) {
        tasks.push(
          makeTask(chunkKey(name, tasks.length), slicePartition, [new TaskRef(keys[i]), p, pieces]),
        );
      }
    }
  }
  return bagOver(name, tasks, [bag.layer()]);
}

/** Every pair `[a, b]`: partition `i·m + j` pairs partition i of `left` with j of `right`. */
export function product<T, U>(left: Bag<T>, right: Bag<U>): Bag<[T, U]> {
  const name = `product-${tokenize(left.name, right.name)}`;
  const leftKeys = left.partitionKeys();
  const rightKeys = right.partitionKeys();
  const tasks: Task[] = [];
  for (const a of leftKeys) {
    for (const b of rightKeys) {
      tasks.push(
        makeTask(chunkKey(name, tasks.length), productOf, [new TaskRef(a), new TaskRef(b)]),
      );
    }
  }
  return bagOver(name, tasks, [left.layer(), right.layer()]);
}

/** Options of {@link take}. */
export interface TakeOptions extends ComputeOptions {
  /** How many leading partitions to read: default 1; -1 reads all of them. */
  npartitions?: number;
  /** Warn when the partitions read hold fewer than `k` elements and others were left unread. */
  warn?: boolean;
}

/**
 * The first `k` elements of the first `npartitions` partitions, computed now. Only those
 * partitions' tasks (and what they need) are in the graph; each keeps at most `k` elements.
 */
export async function take<T>(bag: Bag<T>, k: number, options: TakeOptions): Promise<T[]> {
  const { npartitions = 1, warn = true, ...computeOptions } = options;
  if (!Number.isInteger(k) || k < 0) {
    throw new RangeError(`take: k must be a non-negative integer; got ${k}.`);
  }
  const count = npartitions === -1 ? bag.npartitions : npartitions;
  if (!Number.isInteger(count) || count < 1 || count > bag.npartitions) {
    throw new RangeError(
      `take: npartitions is ${npartitions} but the bag has ${bag.npartitions} partitions; ` +
        `use a number from 1 to ${bag.npartitions}, or -1 for all.`,
    );
  }
  const token = tokenize(bag.name, k, count);
  const partialName = `take-partial-${token}`;
  const partials = pipelineTasks(
    bag.plan,
    (i) => chunkKey(partialName, i),
    { fns: [], spec: () => ({ op: "take", k }) },
    upTo(count),
  );
  const key = `take-${token}`;
  const root = makeTask(key, concatPartitions, [k, ...refs(partials.map((t) => t.key))]);
  const layer: Layer = { id: partialName, tasks: partials, dependencies: planLayers(bag.plan) };
  const result = await new Delayed<T[]>(key, root, [layer]).compute(computeOptions);
  // with partitions left unread, the shortfall may be the caller's surprise (as Dask warns)
  if (warn && result.length < k && count < bag.npartitions) {
    console.warn(
      `take(${k}): only ${result.length} elements in the first ${count} of ${bag.npartitions} ` +
        `partitions. Pass { npartitions: -1 } to search all of them (or a larger number).`,
    );
  }
  return result;
}
