/**
 * `sortValues` and `setIndex`, as Dask does them: approximate quantiles of the sort column
 * (computed now, one tree reduction) give `npartitions - 1` boundaries; every partition is split by
 * those value ranges, and output j gathers and sorts its pieces. The result's `divisions` are the
 * boundaries (with the minimum and maximum at the ends), so `loc` reads only the partitions that
 * can hold a range.
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { chunkKey, type Key, makeTask, type Task } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import type { ComputeOptions } from "../compute.ts";
import { type DataFrame, fromStored } from "./frame.ts";
import { sortTables } from "./partition_tasks.ts";
import { type Frame, pl } from "./polars.ts";
import { sortableKey } from "./reduction_kernels.ts";
import { refs, splitPartitions } from "./shuffle.ts";

/** Options of `sortValues` and `setIndex`. */
export interface SortOptions extends ComputeOptions {
  /** Ascending (default) or descending. */
  ascending?: boolean;
  /** Output partitions. Default: as many as the input has. */
  npartitions?: number;
}

/** A column's value in the sortable form its partitions were split by (numbers for dates). */
export function sortableValue(meta: Frame, column: string, value: unknown): unknown {
  const series = meta.getColumn(column);
  const variant = (series.dtype as { variant: string }).variant;
  const one = pl.DataFrame([pl.Series("v", [value as never])]);
  return one.select(sortableKey(pl.col("v").cast(series.dtype), variant).alias("v"))
    .getColumn("v").toArray()[0];
}

/** `frame` sorted by `by` (the first column decides the partitions). */
export async function sortValues(
  frame: DataFrame,
  by: string | readonly string[],
  options: SortOptions = {},
): Promise<DataFrame> {
  const columns = typeof by === "string" ? [by] : [...by];
  if (columns.length === 0) throw new Error("sortValues needs at least one column.");
  for (const c of columns) {
    if (!frame.columns.includes(c)) throw new Error(`sortValues: no column ${JSON.stringify(c)}.`);
  }
  const { ascending, npartitions, ...computeOptions } = options;
  const descending = ascending === false;
  const n = npartitions ?? frame.npartitions;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`sortValues: npartitions must be a positive integer; got ${n}.`);
  }
  const column = columns[0];
  const qs = Array.from({ length: n - 1 }, (_, k) => (k + 1) / n);
  const summary = await frame.reduce<{ quantiles: unknown[]; min: unknown; max: unknown }>(
    [column],
    ["quantile", "min", "max"],
    { shape: "scalar", stat: "quantile", qs },
    {},
  ).compute(computeOptions);
  const boundaries = descending ? [...summary.quantiles].reverse() : summary.quantiles;
  const name = `sortValues-${tokenize(frame.name, columns, descending, boundaries)}`;
  const split = splitPartitions(
    frame,
    name,
    { kind: "rangeSplit", column, boundaries, descending },
    n,
  );
  const tasks: Task[] = split.tasks;
  const outputs: Key[] = [];
  for (let j = 0; j < n; j++) {
    const task = makeTask(chunkKey(name, j), sortTables, [
      columns,
      descending,
      refs(split.pieces[j]),
    ]);
    tasks.push(task);
    outputs.push(task.key);
  }
  const layer: Layer = { id: name, tasks, dependencies: frame.plan.layers };
  const sorted = fromStored(name, layer, outputs, frame.meta);
  if (descending) return sorted;
  const lowest = summary.min === null ? null : sortableValue(frame.meta, column, summary.min);
  const highest = summary.max === null ? null : sortableValue(frame.meta, column, summary.max);
  return sorted.withIndex({ column, divisions: [lowest, ...boundaries, highest] });
}
