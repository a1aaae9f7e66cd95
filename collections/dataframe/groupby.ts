/**
 * `groupby`: grouped aggregations as Dask does them — each partition's task ends in a chunk
 * aggregation (one row per group it holds), a tree of combine tasks merges `splitEvery` chunks
 * at a time, and the root finishes the answers. With `splitOut: n` each chunk is split by a
 * hash of its keys into n pieces and each of the n outputs reduces its own pieces: many groups
 * then spread over n partitions instead of funnelling through one task.
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { chunkKey, type Key, makeTask, TaskRef } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import type { DataFrame } from "./frame.ts";
import { fromStored, isNumeric } from "./frame.ts";
import {
  type GroupAgg,
  groupChunk,
  groupCombine,
  groupFinish,
  type GroupSpec,
} from "./groupby_kernels.ts";
import { combineGroups, groupApplyFactory, pickPiece } from "./partition_tasks.ts";
import { refs, splitPartitions } from "./shuffle.ts";
import { bindFunctions } from "../../core/function_tags.ts";
import { partitionTasks } from "./plan.ts";
import { exprToJson, type Frame, pl } from "./polars.ts";
import { splitEveryOf, treeLevels } from "../tree_reduction.ts";
import { Series } from "./series.ts";

/** A group key: a column name, or a Series of the grouped frame (`df.col("Date").dt.dayofweek()`). */
export type GroupKey = string | Series;

/** Options of a groupby. */
export interface GroupByOptions {
  /** Output partitions (hash-partitioned by key). Default 1. */
  splitOut?: number;
  /** Fan-in of the combine tree. Default 8. */
  splitEvery?: number;
}

const AGGS = new Set<GroupAgg>([
  "count",
  "sum",
  "mean",
  "min",
  "max",
  "first",
  "last",
  "size",
  "nunique",
  "var",
  "std",
]);

/** Rows grouped by keys, waiting for an aggregation. */
export class GroupBy {
  readonly #keys: { expr: string; name: string }[];

  /** @internal Use `df.groupby(keys)`. */
  constructor(
    readonly frame: DataFrame,
    keys: readonly GroupKey[],
    readonly options: GroupByOptions,
    /** The columns aggregated (all but the keys, unless narrowed with `col`). */
    readonly selected?: readonly string[],
    resolved?: { expr: string; name: string }[],
  ) {
    if (resolved !== undefined) {
      this.#keys = resolved;
      return;
    }
    if (keys.length === 0) throw new Error("groupby needs at least one key.");
    this.#keys = keys.map((key) => {
      if (typeof key === "string") {
        if (!frame.columns.includes(key)) {
          throw new Error(
            `groupby: no column ${JSON.stringify(key)}; the frame has ${frame.columns.join(", ")}.`,
          );
        }
        return { expr: exprToJson(pl.col(key)), name: key };
      }
      if (!(key instanceof Series) || key.frame.name !== frame.name) {
        throw new Error("groupby: a key must be a column name or a Series of the same DataFrame.");
      }
      return { expr: exprToJson(key.expr), name: key.name };
    });
  }

  /** The key columns' names in the result. */
  get keyNames(): string[] {
    return this.#keys.map((k) => k.name);
  }

  #valueColumns(numericOnly: boolean): string[] {
    const dtypes = this.frame.dtypes;
    const keys = new Set(this.keyNames);
    if (this.selected !== undefined) return [...this.selected];
    return this.frame.columns.filter((c) => !keys.has(c) && (!numericOnly || isNumeric(dtypes[c])));
  }

  /** Narrows the aggregation to one column (pandas' `df.groupby("k").x`): a frame `[keys, x]`. */
  col(name: string): GroupBy {
    if (!this.frame.columns.includes(name)) {
      throw new Error(`groupby().col: no column ${JSON.stringify(name)}.`);
    }
    return new GroupBy(this.frame, [], this.options, [name], this.#keys);
  }

  /**
   * Several aggregations: `{ DepDelay: ["mean", "max"], Origin: "count" }`. Result columns are
   * the keys, then `column_agg` for lists and `column` for a single aggregation.
   */
  agg(
    spec: Record<string, GroupAgg | readonly GroupAgg[]>,
    options: GroupByOptions = {},
  ): DataFrame {
    const outputs = Object.entries(spec).flatMap(([column, hows]) => {
      const list = typeof hows === "string" ? [hows] : [...hows];
      if (!this.frame.columns.includes(column)) {
        throw new Error(`agg: no column ${JSON.stringify(column)}.`);
      }
      return list.map((how) => {
        if (!AGGS.has(how)) {
          throw new Error(
            `agg: unknown aggregation ${JSON.stringify(how)}; use ${[...AGGS].join(", ")}.`,
          );
        }
        return { column, how, name: typeof hows === "string" ? column : `${column}_${how}` };
      });
    });
    return this.#aggregate(outputs, { ...this.options, ...options });
  }

  #each(how: GroupAgg, numericOnly: boolean, options: GroupByOptions): DataFrame {
    // a column that is also a key (`groupby("Origin").col("Origin").count()`) is named `Origin_count`
    const keys = new Set(this.keyNames);
    const outputs = this.#valueColumns(numericOnly).map((column) => ({
      column,
      how,
      name: keys.has(column) ? `${column}_${how}` : column,
    }));
    return this.#aggregate(outputs, { ...this.options, ...options });
  }

  /** Mean of each numeric column per group. */
  mean(options: GroupByOptions = {}): DataFrame {
    return this.#each("mean", true, options);
  }
  /** Sum of each numeric column per group. */
  sum(options: GroupByOptions = {}): DataFrame {
    return this.#each("sum", true, options);
  }
  /** Non-null values of each column per group. */
  count(options: GroupByOptions = {}): DataFrame {
    return this.#each("count", false, options);
  }
  /** Smallest value of each column per group. */
  min(options: GroupByOptions = {}): DataFrame {
    return this.#each("min", false, options);
  }
  /** Largest value of each column per group. */
  max(options: GroupByOptions = {}): DataFrame {
    return this.#each("max", false, options);
  }
  /** First value (in row order) of each column per group. */
  first(options: GroupByOptions = {}): DataFrame {
    return this.#each("first", false, options);
  }
  /** Last value (in row order) of each column per group. */
  last(options: GroupByOptions = {}): DataFrame {
    return this.#each("last", false, options);
  }
  /** Distinct non-null values of each column per group. */
  nunique(options: GroupByOptions = {}): DataFrame {
    return this.#each("nunique", false, options);
  }
  /** Variance (ddof 1) of each numeric column per group. */
  var(options: GroupByOptions = {}): DataFrame {
    return this.#each("var", true, options);
  }
  /** Standard deviation (ddof 1) of each numeric column per group. */
  std(options: GroupByOptions = {}): DataFrame {
    return this.#each("std", true, options);
  }
  /** Rows per group: a frame `[keys, "size"]`. */
  size(options: GroupByOptions = {}): DataFrame {
    return this.#aggregate([{ column: "", how: "size", name: "size" }], {
      ...this.options,
      ...options,
    });
  }

  /**
   * `fn(group)` for every group (a Polars frame of the group's rows, keys included); the results
   * are concatenated. Rows are first hash-shuffled by key into `splitOut` (default: the frame's
   * partition count) partitions, so every group is whole in one task — pandas' `apply` through
   * Dask's shuffle. `meta` (an empty frame of the result's schema) spares calling `fn` on an empty
   * group to learn it.
   */
  apply(fn: (group: Frame) => Frame, options: GroupByOptions & { meta?: Frame } = {}): DataFrame {
    if (typeof fn !== "function") throw new TypeError("groupby().apply needs a function.");
    if (this.#keys.some((k) => !this.frame.columns.includes(k.name))) {
      throw new Error(
        "groupby().apply groups by columns: name the key columns (assign Series first).",
      );
    }
    const frame = this.frame;
    const keys = this.keyNames;
    const n = options.splitOut ?? this.options.splitOut ?? frame.npartitions;
    const name = `groupbyApply-${tokenize(frame.name, keys, fn, n)}`;
    const split = splitPartitions(frame, name, {
      kind: "hashSplit",
      keys: keys.map((k) => exprToJson(pl.col(k))),
      n,
    }, n);
    const task = bindFunctions(groupApplyFactory, fn);
    const outputs: Key[] = [];
    for (let j = 0; j < n; j++) {
      const out = makeTask(chunkKey(name, j), task, [keys, refs(split.pieces[j])]);
      split.tasks.push(out);
      outputs.push(out.key);
    }
    let meta = options.meta;
    if (meta === undefined) {
      const result = fn(frame.meta.clone());
      if (!pl.DataFrame.isDataFrame(result)) {
        throw new TypeError(
          "groupby().apply: fn must return a Polars DataFrame; pass { meta } if it cannot run on an empty group.",
        );
      }
      meta = result;
    }
    const layer: Layer = { id: name, tasks: split.tasks, dependencies: frame.plan.layers };
    return fromStored(name, layer, outputs, meta.head(0));
  }

  #aggregate(outputs: GroupSpec["outputs"], options: GroupByOptions): DataFrame {
    if (outputs.length === 0) {
      throw new Error("groupby: nothing to aggregate (no value columns of that type).");
    }
    const splitEvery = splitEveryOf(options);
    const splitOut = options.splitOut ?? 1;
    if (!Number.isInteger(splitOut) || splitOut < 1) {
      throw new RangeError(`splitOut must be a positive integer; got ${splitOut}.`);
    }
    const spec: GroupSpec = {
      keys: this.#keys.map((k) => k.expr),
      keyNames: this.keyNames,
      outputs,
      ddof: 1,
    };
    const frame = this.frame;
    const meta = groupFinish(groupCombine([groupChunk(frame.meta, spec)], spec), spec);
    const name = `groupby-${tokenize(frame.name, spec, splitOut, splitEvery)}`;
    const tasks = partitionTasks(
      frame.plan,
      `${name}-chunk`,
      () => ({ kind: "groupChunk", spec, splitOut }),
    );
    const roots: Key[] = [];
    for (let j = 0; j < splitOut; j++) {
      let inputs = tasks.slice(0, frame.npartitions).map((t) => t.key);
      if (splitOut > 1) {
        inputs = inputs.map((key, i) => {
          const piece = makeTask(chunkKey(`${name}-piece`, [i, j]), pickPiece, [
            new TaskRef(key),
            j,
          ]);
          tasks.push(piece);
          return piece.key;
        });
      }
      const last = treeLevels(
        inputs,
        splitEvery,
        `${name}-${j}-combine`,
        (key, refs) => makeTask(key, combineGroups, [spec, false, refs]),
        tasks,
      );
      const root = makeTask(chunkKey(name, j), combineGroups, [
        spec,
        true,
        last.map((k) => new TaskRef(k)),
      ]);
      tasks.push(root);
      roots.push(root.key);
    }
    const layer: Layer = { id: name, tasks, dependencies: frame.plan.layers };
    return fromStored(name, layer, roots, meta);
  }
}
