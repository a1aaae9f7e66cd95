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

/**
 * Options of `merge`. The keys are `on` (columns both frames have), or one of `leftOn` /
 * `leftIndex` with one of `rightOn` / `rightIndex` (pandas' `left_on`, `left_index`, …).
 */
export interface MergeOptions {
  /** Key column(s), present in both frames under the same name. */
  on?: string | readonly string[];
  /** The left frame's key column(s), matched pairwise with `rightOn` (or the right's index). */
  leftOn?: string | readonly string[];
  /** The right frame's key column(s), matched pairwise with `leftOn` (or the left's index). */
  rightOn?: string | readonly string[];
  /** Join on the left frame's index: the column `setIndex` sorted it by. */
  leftIndex?: boolean;
  /** Join on the right frame's index: the column `setIndex` sorted it by. */
  rightIndex?: boolean;
  /** `"inner"` (default), `"left"`, `"right"` or `"outer"`. */
  how?: JoinHow;
  /** Added to the names of non-key columns both frames have. Default `["_x", "_y"]`. */
  suffixes?: [string, string];
  /** Output partitions of a shuffle join. Default: the larger side's partition count. */
  npartitions?: number;
  /** Send the whole of the smaller side to every partition of the other instead of shuffling. */
  broadcast?: boolean;
}

/**
 * Sub-pieces per output of a shuffle join: each side's partitions are hash-split into
 * `npartitions × JOIN_SUB_PIECES` pieces (one pass, as fast as into `npartitions`), and an output
 * joins its sub-pieces one by one (see `joinPieces`).
 */
const JOIN_SUB_PIECES = 8;

const HOWS = new Set<JoinHow>(["inner", "left", "right", "outer"]);

const names = (value: string | readonly string[] | undefined) =>
  value === undefined ? [] : typeof value === "string" ? [value] : [...value];

/** One side's key columns: its `…On` names or its index column. */
function sideKeys(
  frame: DataFrame,
  side: "left" | "right",
  on: string | readonly string[] | undefined,
  index: boolean | undefined,
): string[] {
  if (index === true) {
    if (on !== undefined) throw new Error(`merge: give ${side}On or ${side}Index, not both.`);
    if (frame.index === undefined) {
      throw new Error(
        `merge: ${side}Index needs the ${side} frame sorted by setIndex(column) first ` +
          `(a Polars frame has no index of its own); or join on ${side}On: "column".`,
      );
    }
    return [frame.index.column];
  }
  return names(on);
}

/** The pairs of key columns a merge matches (pandas' on / left_on / left_index / …). */
function joinKeys(left: DataFrame, right: DataFrame, options: MergeOptions): [string[], string[]] {
  const sided = options.leftOn !== undefined || options.rightOn !== undefined ||
    options.leftIndex === true || options.rightIndex === true;
  if (options.on !== undefined && sided) {
    throw new Error(
      "merge: give either `on` or leftOn/leftIndex with rightOn/rightIndex, not both.",
    );
  }
  if (!sided) {
    const on = names(options.on);
    if (on.length === 0) {
      throw new Error(
        "merge needs keys: `on` (columns both frames have) or leftOn/leftIndex with " +
          "rightOn/rightIndex.",
      );
    }
    return [on, on];
  }
  const leftOn = sideKeys(left, "left", options.leftOn, options.leftIndex);
  const rightOn = sideKeys(right, "right", options.rightOn, options.rightIndex);
  if (leftOn.length === 0 || rightOn.length === 0 || leftOn.length !== rightOn.length) {
    throw new Error(
      `merge: the left keys ${JSON.stringify(leftOn)} and right keys ${JSON.stringify(rightOn)} ` +
        `must be as many on each side (at least one).`,
    );
  }
  return [leftOn, rightOn];
}

/**
 * `left` merged with `right` on key columns (pandas' `merge`; see `DataFrame.merge`).
 *
 * @example
 * ```ts
 * import { dataframe as dd } from "../../dataframe.ts";
 *
 * const left = dd.fromRecords([{ k: 1, a: "x" }, { k: 2, a: "y" }]);
 * const right = dd.fromRecords([{ key: 2, b: true }]);
 * const joined = await dd.merge(left, right, { leftOn: "k", rightOn: "key" }).compute();
 * ```
 */
export function merge(left: DataFrame, right: DataFrame, options: MergeOptions): DataFrame {
  const [leftOn, rightOn] = joinKeys(left, right, options);
  const how = options.how ?? "inner";
  if (!HOWS.has(how)) {
    throw new Error(`merge: how must be inner, left, right or outer; got ${how}.`);
  }
  const [ltypes, rtypes] = [left.dtypes, right.dtypes];
  leftOn.forEach((lkey, i) => {
    const rkey = rightOn[i];
    for (const [key, types, side] of [[lkey, ltypes, "left"], [rkey, rtypes, "right"]] as const) {
      if (!(key in types)) {
        throw new Error(
          lkey === rkey
            ? `merge: key ${JSON.stringify(key)} must be a column of both frames.`
            : `merge: key ${JSON.stringify(key)} is not a column of the ${side} frame.`,
        );
      }
    }
    if (ltypes[lkey] !== rtypes[rkey]) {
      const [l, r] = [JSON.stringify(lkey), JSON.stringify(rkey)];
      throw new Error(
        `merge: key ${l} is ${ltypes[lkey]} on the left and ${r} is ${rtypes[rkey]} on the ` +
          `right; cast one side with astype({ ${lkey}: "..." }) so equal keys hash alike.`,
      );
    }
  });
  const spec: JoinSpec = { leftOn, rightOn, how, suffixes: options.suffixes ?? ["_x", "_y"] };
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
    const split = (keys: string[]) => ({
      kind: "hashSplit" as const,
      keys: keys.map((k) => exprToJson(pl.col(k))),
      n,
      sub: JOIN_SUB_PIECES,
    });
    const l = splitPartitions(left, `${name}-left`, split(leftOn), n);
    const r = splitPartitions(right, `${name}-right`, split(rightOn), n);
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
