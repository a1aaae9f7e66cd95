/**
 * `repartition(n)`: the same rows, in order, in `n` partitions. Fewer: each output concatenates
 * a run of neighbouring inputs. More: each input is cut into consecutive slices (its share of the
 * outputs), one small task per slice.
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { chunkKey, type Key, makeTask, type Task, TaskRef } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { type DataFrame, fromStored } from "./frame.ts";
import { concatTables, pickPiece } from "./partition_tasks.ts";
import { partitionTasks } from "./plan.ts";

/** `frame` in `n` partitions. */
export function repartition(frame: DataFrame, n: number): DataFrame {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`repartition: n must be a positive integer; got ${n}.`);
  }
  const name = `repartition-${tokenize(frame.name, n)}`;
  const inputs = frame.npartitions;
  const tasks: Task[] = [];
  const outputs: Key[] = [];
  let dependencies: Layer[];
  if (n <= inputs) {
    const keys = frame.partitionKeys();
    for (let j = 0; j < n; j++) {
      const from = Math.floor((j * inputs) / n);
      const to = Math.floor(((j + 1) * inputs) / n);
      const refs = keys.slice(from, to).map((k) => new TaskRef(k));
      const task = makeTask(chunkKey(name, j), concatTables, [refs]);
      tasks.push(task);
      outputs.push(task.key);
    }
    dependencies = [frame.layer()];
  } else {
    // input i gets outputs [floor(i n / N), floor((i + 1) n / N)): at least one each
    const share = (i: number) => Math.floor(((i + 1) * n) / inputs) - Math.floor((i * n) / inputs);
    const splits = partitionTasks(
      frame.plan,
      `${name}-split`,
      (i) => ({ kind: "slices", n: share(i) }),
    );
    tasks.push(...splits);
    splits.forEach((split, i) => {
      for (let k = 0; k < share(i); k++) {
        const task = makeTask(chunkKey(name, outputs.length), pickPiece, [
          new TaskRef(split.key),
          k,
        ]);
        tasks.push(task);
        outputs.push(task.key);
      }
    });
    dependencies = [...frame.plan.layers];
  }
  const layer: Layer = { id: name, tasks, dependencies };
  return fromStored(name, layer, outputs, frame.meta);
}
