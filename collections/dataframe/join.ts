/**
 * `merge`: joins of two DataFrames on key columns, as `dask.dataframe.merge`. When one side has a
 * single partition (or `broadcast` asks for it) every partition of the other side is joined with
 * all of it — no shuffle (for inner and left joins the right side can be broadcast, for inner and
 * right joins the left). Otherwise both sides are hash-partitioned by key into the same number of
 * outputs and output j joins the left's j-th pieces with the right's.
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { chunkKey, type Key, makeTask, type Task } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { type DataFrame, fromStored } from "./frame.ts";
import { joinFrames, type JoinHow, type JoinSpec } from "./join_kernels.ts";
import { joinTables } from "./partition_tasks.ts";
import { exprToJson, pl } from "./polars.ts";
import { refs, splitPartitions } from "./shuffle.ts";

/** Options of `merge`. */
export interface MergeOptions {
  /** Key column(s), present in both frames under the same name. */
  on: string | readonly string[];
  /** `"inner"` (default), `"left"`, `"right"` or `"outer"`. */
  how?: JoinHow;
  /** Added to the names of non-key columns both frames have. Default `["_x", "_y"]`. */
  suffixes?: [string, string];
  /** Output partitions of a shuffle join. Default: the larger side's partition count. */
  npartitions?: number;
  /** Send the whole of the smaller side to every partition of the other instead of shuffling. */
  broadcast?: boolean;
}

const HOWS = new Set<JoinHow>(["inner", "left", "right", "outer"]);

/** `left` merged with `right` on key columns (pandas' `merge`). */
export function merge(left: DataFrame, right: DataFrame, options: MergeOptions): DataFrame {
  const on = typeof options.on === "string" ? [options.on] : [...(options.on ?? [])];
  if (on.length === 0) throw new Error("merge needs `on`: the key column(s) both frames have.");
  const how = options.how ?? "inner";
  if (!HOWS.has(how)) {
    throw new Error(`merge: how must be inner, left, right or outer; got ${how}.`);
  }
  const [ltypes, rtypes] = [left.dtypes, right.dtypes];
  for (const key of on) {
    if (!(key in ltypes) || !(key in rtypes)) {
      throw new Error(`merge: key ${JSON.stringify(key)} must be a column of both frames.`);
    }
    if (ltypes[key] !== rtypes[key]) {
      throw new Error(
        `merge: key ${JSON.stringify(key)} is ${ltypes[key]} on the left and ${rtypes[key]} on ` +
          `the right; cast one side with astype({ ${key}: "..." }) so equal keys hash alike.`,
      );
    }
  }
  const spec: JoinSpec = { on, how, suffixes: options.suffixes ?? ["_x", "_y"] };
  const meta = joinFrames(left.meta, right.meta, spec);
  const name = `merge-${
    tokenize(left.name, right.name, spec, options.npartitions ?? null, options.broadcast ?? null)
  }`;
  const broadcastRight = (how === "inner" || how === "left") &&
    (right.npartitions === 1 ||
      (options.broadcast === true && right.npartitions <= left.npartitions));
  const broadcastLeft = !broadcastRight && (how === "inner" || how === "right") &&
    (left.npartitions === 1 || options.broadcast === true);
  const tasks: Task[] = [];
  const outputs: Key[] = [];
  let dependencies: Layer[];
  if (broadcastRight || broadcastLeft) {
    const [many, few] = broadcastRight ? [left, right] : [right, left];
    const whole = refs(few.partitionKeys());
    many.partitionKeys().forEach((key, i) => {
      const mine = refs([key]);
      const args = broadcastRight ? [spec, mine, whole] : [spec, whole, mine];
      const task = makeTask(chunkKey(name, i), joinTables, args);
      tasks.push(task);
      outputs.push(task.key);
    });
    dependencies = [left.layer(), right.layer()];
  } else {
    const n = options.npartitions ?? Math.max(left.npartitions, right.npartitions);
    const keys = on.map((k) => exprToJson(pl.col(k)));
    const l = splitPartitions(left, `${name}-left`, { kind: "hashSplit", keys, n }, n);
    const r = splitPartitions(right, `${name}-right`, { kind: "hashSplit", keys, n }, n);
    tasks.push(...l.tasks, ...r.tasks);
    for (let j = 0; j < n; j++) {
      const task = makeTask(chunkKey(name, j), joinTables, [
        spec,
        refs(l.pieces[j]),
        refs(r.pieces[j]),
      ]);
      tasks.push(task);
      outputs.push(task.key);
    }
    dependencies = [...left.plan.layers, ...right.plan.layers];
  }
  const layer: Layer = { id: name, tasks, dependencies };
  return fromStored(name, layer, outputs, meta);
}
