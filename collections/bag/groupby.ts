/**
 * `groupby` as a shuffle in tasks, the same graph on every scheduler:
 *
 * 1. split: each input partition's task (its fused pipeline) hashes each element's key into one
 *    of `n` buckets and returns the buckets, each already encoded;
 * 2. bucket: task `(i, j)` takes bucket `j` out of split `i` (on a cluster it runs where split
 *    `i` is, so only that bucket travels);
 * 3. group: output `j` gathers bucket `j` of every split and groups its elements by key.
 *
 * No task ever holds all the data: each output task holds one hash bucket.
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { chunkKey, type Key, makeTask, type Task, TaskRef } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { type KeyArgument, keyFunctions, keySpec } from "./arguments.ts";
import { Bag } from "./bag.ts";
import { groupBuckets, shuffleBucket } from "./partition_ops.ts";
import { pipelineTasks, planLayers, upTo } from "./plan.ts";

/** `[key, elements]` pairs, one per distinct key, over `npartitions` partitions. */
export function groupby<T, K>(
  bag: Bag<T>,
  key: KeyArgument<T>,
  npartitions: number,
): Bag<[K, T[]]> {
  if (!Number.isInteger(npartitions) || npartitions < 1) {
    throw new RangeError(`groupby: npartitions must be an integer ≥ 1; got ${npartitions}.`);
  }
  const token = tokenize(bag.name, key, npartitions);
  const splitName = `groupby-split-${token}`;
  const bucketName = `groupby-bucket-${token}`;
  const name = `groupby-${token}`;
  const splits = pipelineTasks(bag.plan, (i) => chunkKey(splitName, i), {
    fns: keyFunctions(key as KeyArgument<never>),
    spec: (_i, slot) => ({
      op: "split",
      key: keySpec(key as KeyArgument<never>, slot),
      buckets: npartitions,
    }),
  }, upTo(bag.npartitions));
  const tasks: Task[] = [...splits];
  const bucketKeys: Key[][] = Array.from({ length: npartitions }, () => []);
  splits.forEach((split, i) => {
    for (let j = 0; j < npartitions; j++) {
      const task = makeTask(chunkKey(bucketName, [i, j]), shuffleBucket, [
        new TaskRef(split.key),
        j,
      ]);
      tasks.push(task);
      bucketKeys[j].push(task.key);
    }
  });
  const outputs: Key[] = [];
  for (let j = 0; j < npartitions; j++) {
    const task = makeTask(
      chunkKey(name, j),
      groupBuckets,
      bucketKeys[j].map((k) => new TaskRef(k)),
    );
    tasks.push(task);
    outputs.push(task.key);
  }
  const layer: Layer = { id: name, tasks, dependencies: planLayers(bag.plan) };
  return new Bag<[K, T[]]>(name, npartitions, {
    source: { kind: "partitions", keys: outputs, layers: [layer], arrays: true },
    stages: [],
  });
}
