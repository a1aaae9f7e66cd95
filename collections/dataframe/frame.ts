/**
 * `DataFrame`: a lazy table split into partitions along its rows, each partition a Polars
 * DataFrame — as `dask.dataframe`. Its schema (`columns`, `dtypes`) is known without computing:
 * every step is applied to an empty frame of the same schema (the "meta", as Dask's `_meta`).
 *
 * Element-wise steps (filter, assign, select, rename, astype, fillna, dropna, mapPartitions)
 * do not make tasks of their own; they are fused into one task per partition (plan.ts).
 *
 * @module
 */

import type { Graph } from "../../core/graph.ts";
import { tokenize } from "../../core/tokenize.ts";
import { type Key, type TaskFunction, TaskRef } from "../../core/task.ts";
import {
  collectGraph,
  type Collection,
  type CollectionSpec,
  collectionSymbol,
  type Layer,
} from "../collection.ts";
import { computeCollections, type ComputeOptions, persistCollection } from "../compute.ts";
import { Delayed } from "../delayed.ts";
import { Bag } from "../bag/bag.ts";
import { GroupBy, type GroupKey } from "./groupby.ts";
import { merge, type MergeOptions } from "./join.ts";
import { listCollection } from "./list_collection.ts";
import { toParquet } from "./parquet.ts";
import { repartition } from "./repartition.ts";
import { sortableValue, type SortOptions, sortValues } from "./sort.ts";
import { applyToMeta, dtypeName, dtypeOf } from "./meta.ts";
import type { Step } from "./partition_tasks.ts";
import { partitionTasks, type Plan, storedKeys, withStep } from "./plan.ts";
import { asFrame, concatFrames, type Expr, exprToJson, type Frame, pl } from "./polars.ts";
import { reduce, type ReductionOptions } from "./reductions.ts";
import type { ReduceSpec, Stat } from "./reduction_kernels.ts";
import { Series } from "./series.ts";
import { dataframeRepr, inspectSymbol } from "../display/repr.ts";
import { dataframeDisplay, jupyterDisplay, type MimeBundle } from "../display/notebook.ts";

/** A value `assign` and `fillna` accept: a Series of this frame, or a scalar. */
export type ColumnValue = Series | number | string | boolean | Date | null;

/** Options of `head` and `tail`. */
export interface HeadOptions extends ComputeOptions {
  /** Partitions to read (default 1; -1 for as many as needed to find `n` rows). */
  npartitions?: number;
}

/** Options of `toCsv`. */
export interface ToCsvOptions extends ComputeOptions {
  /** Field separator. Default `","`. */
  sep?: string;
}

/** A lazy, partitioned table. Make one with `readCsv`, `fromRecords`, `fromDelayed`, ... */
export class DataFrame implements Collection<Frame> {
  #materialized: { layer: Layer; keys: readonly Key[] } | undefined;

  /** @internal Use the creation functions. */
  constructor(
    /** `op-token`: a content address of how the frame is made. */
    readonly name: string,
    /** @internal Partitions' sources and fused steps. */
    readonly plan: Plan,
    /** @internal An empty Polars frame with this frame's schema. */
    readonly meta: Frame,
    /** @internal The column the partitions are sorted by, and their boundaries. */
    readonly index?: SortedIndex,
  ) {}

  /** @internal The same frame, known to be sorted by `index.column` within `index.divisions`. */
  withIndex(index: SortedIndex): DataFrame {
    return new DataFrame(this.name, this.plan, this.meta, index);
  }

  /** The number of partitions. */
  get npartitions(): number {
    return this.plan.sources.length;
  }

  /** Column names, in order. */
  get columns(): string[] {
    return this.meta.columns;
  }

  /** Each column's type, by name (Polars' names: `Float64`, `String`, `Datetime`, ...). */
  get dtypes(): Record<string, string> {
    return Object.fromEntries(this.meta.getColumns().map((s) => [s.name, dtypeName(s.dtype)]));
  }

  /**
   * Boundaries of the partitions (`npartitions + 1` values) in the column they are sorted by —
   * Dask's `divisions` — known after `setIndex`/`sortValues`, `null` where unknown. Date columns
   * give their boundaries as numbers (the column's time unit since the epoch).
   */
  get divisions(): unknown[] {
    return this.index?.divisions ?? new Array(this.npartitions + 1).fill(null);
  }

  /** How `console.log` shows a frame: Dask's structure table (columns, dtypes, partitions). */
  [inspectSymbol](): string {
    return dataframeRepr(this);
  }

  /** How a notebook shows a frame: its columns, dtypes and partitions as an HTML table. */
  [jupyterDisplay](): MimeBundle {
    return dataframeDisplay(this, dataframeRepr(this));
  }

  /** True when `divisions` are known. */
  get knownDivisions(): boolean {
    return this.index !== undefined;
  }

  /** The keys of the partitions' tasks, in order. */
  partitionKeys(): readonly Key[] {
    return this.#materialize().keys;
  }

  /** The layer whose tasks produce the partitions (a DataFrame speaks the collection protocol). */
  layer(): Layer {
    return this.#materialize().layer;
  }

  #materialize(): { layer: Layer; keys: readonly Key[] } {
    if (this.#materialized !== undefined) return this.#materialized;
    const stored = storedKeys(this.plan);
    if (stored !== undefined) {
      const layers = this.plan.layers;
      const layer = layers.length === 1
        ? layers[0]
        : { id: this.name, tasks: [], dependencies: layers };
      this.#materialized = { layer, keys: stored };
    } else {
      const tasks = partitionTasks(this.plan, this.name, () => ({ kind: "frame" }));
      const layer = { id: this.name, tasks, dependencies: this.plan.layers };
      this.#materialized = { layer, keys: tasks.map((t) => t.key) };
    }
    return this.#materialized;
  }

  /** @internal A frame with one more fused step. */
  addStep(
    op: string,
    step: Step,
    fns: readonly TaskFunction[] = [],
    token: unknown[] = [],
  ): DataFrame {
    const meta = applyToMeta(this.meta, step, fns);
    // row filters keep the partitions' sort order and ranges; other steps may not
    const keeps = step.op === "filter" || step.op === "dropNulls" ||
      (step.op === "select" && this.index !== undefined &&
        step.exprs.includes(exprToJson(pl.col(this.index.column))));
    return new DataFrame(
      `${op}-${tokenize(this.name, step, ...token)}`,
      withStep(this.plan, step, fns),
      meta,
      keeps ? this.index : undefined,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Selection

  /** One column, as a lazy Series (pandas' `df.DepDelay` / `df["DepDelay"]`). */
  col(name: string): Series {
    this.#requireColumns([name], "col");
    return new Series(this, pl.col(name), name);
  }

  /** These columns, in this order (pandas' `df[["a", "b"]]`). */
  select(columns: readonly string[]): DataFrame {
    this.#requireColumns(columns, "select");
    return this.addStep("select", {
      op: "select",
      exprs: columns.map((c) => exprToJson(pl.col(c))),
    });
  }

  /**
   * The rows where `mask` (a boolean Series of this frame) is true; null counts as false.
   * pandas' `df[df.x > 0]` is `df.filter(df.col("x").gt(0))`, and `df[~df.Cancelled]` is
   * `df.filter(df.col("Cancelled").not())`.
   */
  filter(mask: Series): DataFrame {
    this.#requireOwn(mask, "filter");
    return this.addStep("filter", { op: "filter", predicate: exprToJson(mask.expr) });
  }

  /** Same as {@link DataFrame.filter} (Dask's boolean indexing). */
  where(mask: Series): DataFrame {
    return this.filter(mask);
  }

  /** New or replaced columns from Series of this frame or scalars (pandas' `assign`). */
  assign(columns: Record<string, ColumnValue>): DataFrame {
    const exprs = Object.entries(columns).map(([name, value]) =>
      this.#valueExpr(value, "assign").alias(name)
    );
    return this.addStep("assign", { op: "withColumns", exprs: exprs.map(exprToJson) });
  }

  /** The frame without these columns. */
  drop(columns: string | readonly string[]): DataFrame {
    const list = typeof columns === "string" ? [columns] : [...columns];
    this.#requireColumns(list, "drop");
    return this.select(this.columns.filter((c) => !list.includes(c)));
  }

  /** Columns renamed by `{ old: new }`. */
  rename(mapping: Record<string, string>): DataFrame {
    this.#requireColumns(Object.keys(mapping), "rename");
    const exprs = this.columns.map((c) => pl.col(c).alias(mapping[c] ?? c));
    return this.addStep("rename", { op: "select", exprs: exprs.map(exprToJson) });
  }

  /** Columns cast to other types: `{ col: "float64" | "int64" | "string" | "bool" | ... }`. */
  astype(types: Record<string, string>): DataFrame {
    this.#requireColumns(Object.keys(types), "astype");
    const exprs = Object.entries(types).map(([c, t]) =>
      pl.col(c).cast(dtypeOf(t, "astype")).alias(c)
    );
    return this.addStep("astype", { op: "withColumns", exprs: exprs.map(exprToJson) });
  }

  /** Nulls replaced: by one value in every column it fits, or per column `{ col: value }`. */
  fillna(value: ColumnValue | Record<string, ColumnValue>): DataFrame {
    const perColumn = value !== null && typeof value === "object" && !(value instanceof Series) &&
        !(value instanceof Date)
      ? value as Record<string, ColumnValue>
      : Object.fromEntries(this.#fillableColumns(value as ColumnValue).map((c) => [c, value]));
    this.#requireColumns(Object.keys(perColumn), "fillna");
    const exprs = Object.entries(perColumn).map(([c, v]) =>
      pl.col(c).fillNull(this.#valueExpr(v as ColumnValue, "fillna")).alias(c)
    );
    return this.addStep("fillna", { op: "withColumns", exprs: exprs.map(exprToJson) });
  }

  #fillableColumns(value: ColumnValue): string[] {
    const dtypes = this.dtypes;
    const numeric = typeof value === "number";
    return this.columns.filter((c) => {
      const t = dtypes[c];
      if (typeof value === "string") return t === "String";
      if (numeric) return isNumeric(t);
      if (typeof value === "boolean") return t === "Boolean";
      return true;
    });
  }

  /** The rows without nulls (in `subset`'s columns when given). */
  dropna(options: { subset?: readonly string[] } = {}): DataFrame {
    const subset = options.subset === undefined ? null : [...options.subset];
    if (subset !== null) this.#requireColumns(subset, "dropna");
    return this.addStep("dropna", { op: "dropNulls", subset });
  }

  /** A frame of booleans: true where a value is null. */
  isna(): DataFrame {
    const exprs = this.columns.map((c) => pl.col(c).isNull().alias(c));
    return this.addStep("isna", { op: "select", exprs: exprs.map(exprToJson) });
  }

  /**
   * `fn(partition, ...args)` on every partition; it must return a Polars DataFrame. `meta` (an
   * empty frame with the result's schema) spares running `fn` on an empty partition to find it.
   */
  mapPartitions(
    fn: (partition: Frame, ...args: never[]) => Frame,
    options: { meta?: Frame; args?: readonly unknown[] } = {},
  ): DataFrame {
    if (typeof fn !== "function") throw new TypeError("mapPartitions needs a function.");
    const step: Step = { op: "map", fn: this.plan.fns.length, args: [...(options.args ?? [])] };
    const next = new DataFrame(
      `mapPartitions-${tokenize(this.name, fn, step)}`,
      withStep(this.plan, step, [fn]),
      options.meta ?? applyToMeta(this.meta, step, [...this.plan.fns, fn]),
    );
    return next;
  }

  #valueExpr(value: ColumnValue, what: string): Expr {
    if (value instanceof Series) {
      this.#requireOwn(value, what);
      return value.expr;
    }
    return pl.lit(value as never);
  }

  #requireOwn(series: Series, what: string): void {
    if (!(series instanceof Series)) {
      throw new TypeError(`${what}: expected a Series of this DataFrame (from df.col(...)).`);
    }
    if (series.frame.name !== this.name) {
      throw new Error(
        `${what}: the Series comes from another DataFrame (${series.frame.name}); row-aligned ` +
          `operations need Series made from this frame (df.col(...)), because partitions are ` +
          `aligned by position, not by an index.`,
      );
    }
  }

  #requireColumns(columns: readonly string[], what: string): void {
    const known = new Set(this.columns);
    const missing = columns.filter((c) => !known.has(c));
    if (missing.length > 0) {
      throw new Error(
        `${what}: no column ${missing.map((c) => JSON.stringify(c)).join(", ")}; the frame has ` +
          `${this.columns.map((c) => JSON.stringify(c)).join(", ")}.`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reductions

  /** @internal A tree reduction of `columns`. */
  reduce<R>(
    columns: readonly string[],
    stats: Stat[],
    answer: Parameters<typeof reduce>[3],
    options: ReductionOptions,
  ): Delayed<R> {
    const spec: ReduceSpec = { columns: [...columns], stats };
    return reduce<R>(this.name, this.plan, spec, answer, options);
  }

  #numericColumns(): string[] {
    const dtypes = this.dtypes;
    return this.columns.filter((c) => isNumeric(dtypes[c]));
  }

  #orderedColumns(): string[] {
    const dtypes = this.dtypes;
    return this.columns.filter((c) =>
      isNumeric(dtypes[c]) || dtypes[c].startsWith("Date") || dtypes[c] === "String"
    );
  }

  /** The number of rows (pandas' `len(df)`). */
  length(options: ReductionOptions = {}): Delayed<number> {
    return this.reduce([], [], { shape: "scalar", stat: "length" }, options);
  }

  /** Non-null values per column, as a one-row frame. */
  count(options: ReductionOptions = {}): Delayed<Frame> {
    return this.reduce(this.columns, ["count"], { shape: "row", stat: "count" }, options);
  }

  /** Sums of the numeric columns, as a one-row frame. */
  sum(options: ReductionOptions = {}): Delayed<Frame> {
    return this.reduce(this.#numericColumns(), ["sum"], { shape: "row", stat: "sum" }, options);
  }

  /** Means of the numeric columns (nulls skipped), as a one-row frame. */
  mean(options: ReductionOptions = {}): Delayed<Frame> {
    return this.reduce(this.#numericColumns(), ["mean"], { shape: "row", stat: "mean" }, options);
  }

  /** Minimums of the numeric, date and string columns, as a one-row frame. */
  min(options: ReductionOptions = {}): Delayed<Frame> {
    return this.reduce(this.#orderedColumns(), ["min"], { shape: "row", stat: "min" }, options);
  }

  /** Maximums of the numeric, date and string columns, as a one-row frame. */
  max(options: ReductionOptions = {}): Delayed<Frame> {
    return this.reduce(this.#orderedColumns(), ["max"], { shape: "row", stat: "max" }, options);
  }

  /** Variances of the numeric columns (divided by `n - ddof`, default 1 as pandas). */
  var(options: ReductionOptions & { ddof?: number } = {}): Delayed<Frame> {
    return this.reduce(this.#numericColumns(), ["var"], {
      shape: "row",
      stat: "var",
      ddof: options.ddof ?? 1,
    }, options);
  }

  /** Standard deviations of the numeric columns (see {@link DataFrame.var}). */
  std(options: ReductionOptions & { ddof?: number } = {}): Delayed<Frame> {
    return this.reduce(this.#numericColumns(), ["var"], {
      shape: "row",
      stat: "var",
      ddof: options.ddof ?? 1,
      sqrt: true,
    }, options);
  }

  /** Distinct non-null values per column. */
  nunique(options: ReductionOptions = {}): Delayed<Frame> {
    return this.reduce(this.columns, ["nunique"], { shape: "row", stat: "nunique" }, options);
  }

  /** The `q` quantile of the numeric columns (approximate: see reduction_kernels.ts). */
  quantile(q = 0.5, options: ReductionOptions = {}): Delayed<Frame> {
    return this.reduce(
      this.#numericColumns(),
      ["quantile"],
      { shape: "row", stat: "quantile", q },
      options,
    );
  }

  /** pandas' `describe()` of the numeric columns: count, mean, std, min, quartiles, max. */
  describe(options: ReductionOptions = {}): Delayed<Frame> {
    const stats: Stat[] = ["count", "sum", "mean", "var", "min", "max", "quantile"];
    return this.reduce(
      this.#numericColumns(),
      stats,
      { shape: "describe", stat: "count", ddof: 1 },
      options,
    );
  }

  /**
   * The first `n` rows, computed now, reading only the first `npartitions` partitions (default
   * 1, as Dask; -1 reads further partitions only while fewer than `n` rows were found).
   */
  async head(n = 5, options: HeadOptions = {}): Promise<Frame> {
    return await this.#edge(n, options, "head");
  }

  /** The last `n` rows, computed now, reading only the last partition(s) (see `head`). */
  async tail(n = 5, options: HeadOptions = {}): Promise<Frame> {
    return await this.#edge(n, options, "tail");
  }

  async #edge(n: number, options: HeadOptions, op: "head" | "tail"): Promise<Frame> {
    const { npartitions: wanted = 1, ...computeOptions } = options;
    const limit = wanted === -1 ? this.npartitions : Math.min(wanted, this.npartitions);
    const frames: Frame[] = [];
    let rows = 0;
    // with -1, read 1, 2, 4, ... more partitions until n rows are found
    for (let done = 0, batch = 1; done < limit && rows < n; batch *= 2) {
      const count = wanted === -1 ? Math.min(batch, limit - done) : limit - done;
      const indices = Array.from(
        { length: count },
        (_, k) => op === "head" ? done + k : this.npartitions - 1 - done - k,
      );
      const name = `${op}-${tokenize(this.name, n, indices)}`;
      const plan = withStep(this.plan, { op, n });
      const tasks = partitionTasks(plan, name, () => ({ kind: "frame" }), indices);
      const layer: Layer = { id: name, tasks, dependencies: plan.layers };
      const collection = listCollection(layer, tasks.map((t) => t.key));
      const [parts] = await computeCollections([collection], computeOptions) as Frame[][];
      for (const part of parts) {
        frames.push(part);
        rows += part.height;
      }
      done += count;
    }
    if (op === "tail") frames.reverse();
    const all = frames.length === 0 ? this.meta : concatFrames(frames);
    return op === "head" ? all.head(n) : all.tail(n);
  }

  // -------------------------------------------------------------------------------------------
  // Grouping

  /**
   * Groups rows by columns or Series of this frame (pandas' `groupby`). Aggregations are tree
   * reductions; `splitOut` hash-partitions the groups over that many output partitions for
   * results with many groups.
   */
  groupby(
    keys: GroupKey | readonly GroupKey[],
    options: { splitOut?: number; splitEvery?: number } = {},
  ): GroupBy {
    return new GroupBy(this, Array.isArray(keys) ? [...keys] : [keys as GroupKey], options);
  }

  // -------------------------------------------------------------------------------------------
  // Sorting and partitions

  /**
   * The frame sorted by `by` (computes approximate quantiles of the first column now, to choose
   * the partitions' boundaries; see sort.ts). Ascending sorts know their `divisions`.
   */
  sortValues(by: string | readonly string[], options: SortOptions = {}): Promise<DataFrame> {
    return sortValues(this, by, options);
  }

  /**
   * Dask's `set_index(column)`: the frame sorted by `column` with known `divisions`, so `loc`
   * reads only the partitions a range can be in. Polars frames have no index: the column stays
   * a column.
   */
  setIndex(column: string, options: Omit<SortOptions, "ascending"> = {}): Promise<DataFrame> {
    return sortValues(this, column, { ...options, ascending: true });
  }

  /**
   * The rows whose index column (from `setIndex`) lies in `[start, stop]`, both ends included as
   * pandas' `df.loc[start:stop]`; `null` leaves an end open. Only the partitions whose divisions
   * overlap the range are read.
   */
  loc(start: unknown, stop: unknown): DataFrame {
    if (this.index === undefined) {
      throw new Error("loc needs known divisions: call setIndex(column) (or sortValues) first.");
    }
    const { column, divisions } = this.index;
    const lo = start === null ? null : sortableValue(this.meta, column, start);
    const hi = stop === null ? null : sortableValue(this.meta, column, stop);
    const keep: number[] = [];
    for (let j = 0; j < this.npartitions; j++) {
      const [from, to] = [divisions[j], divisions[j + 1]];
      // partition j holds (from, to] (the first also from itself); null bounds mean "unknown"
      const belowStop = hi === null || from === null || !((from as number) > (hi as number));
      const aboveStart = lo === null || to === null || !((to as number) < (lo as number));
      if (belowStop && aboveStart) keep.push(j);
    }
    if (keep.length === 0) keep.push(0);
    let predicate = pl.lit(true);
    if (start !== null) predicate = predicate.and(pl.col(column).gtEq(pl.lit(start as never)));
    if (stop !== null) predicate = predicate.and(pl.col(column).ltEq(pl.lit(stop as never)));
    const step: Step = { op: "filter", predicate: exprToJson(predicate) };
    const plan = withStep({ ...this.plan, sources: keep.map((j) => this.plan.sources[j]) }, step);
    const kept = [...keep.map((j) => divisions[j]), divisions[keep[keep.length - 1] + 1]];
    return new DataFrame(`loc-${tokenize(this.name, keep, step)}`, plan, this.meta, {
      column,
      divisions: kept,
    });
  }

  /**
   * The same rows in `n` partitions: neighbouring partitions concatenated (fewer), or each
   * partition cut into consecutive slices (more). Row order is kept.
   */
  repartition(n: number): DataFrame {
    return repartition(this, n);
  }

  /** Partition `i` (or several) as a frame of its own (Dask's `get_partition` / `partitions[i]`). */
  partitions(indices: number | readonly number[]): DataFrame {
    const list = typeof indices === "number" ? [indices] : [...indices];
    for (const i of list) {
      if (!Number.isInteger(i) || i < 0 || i >= this.npartitions) {
        throw new RangeError(`partitions: ${i} is not a partition (0..${this.npartitions - 1}).`);
      }
    }
    const plan = { ...this.plan, sources: list.map((i) => this.plan.sources[i]) };
    return new DataFrame(`partitions-${tokenize(this.name, list)}`, plan, this.meta);
  }

  // -------------------------------------------------------------------------------------------
  // Joins

  /**
   * This frame joined with `other` on key columns (pandas' `merge`): a broadcast join when one
   * side has one partition (or `broadcast: true`), a hash-shuffle join otherwise. Keys are `on`
   * (same names on both sides), or `leftOn`/`leftIndex` with `rightOn`/`rightIndex` (the index
   * being the column `setIndex` sorted the frame by).
   *
   * @example
   * ```ts
   * import { dataframe as dd } from "../../dataframe.ts";
   *
   * const flights = dd.readCsv("data/nycflights/*.csv");
   * const airports = dd.fromRecords([{ code: "JFK", city: "New York" }]);
   * // pandas: flights.merge(airports, left_on="Origin", right_on="code", how="left")
   * const named = flights.merge(airports, { leftOn: "Origin", rightOn: "code", how: "left" });
   * ```
   */
  merge(other: DataFrame, options: MergeOptions): DataFrame {
    return merge(this, other, options);
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** One Delayed per partition (each computes to that partition's Polars DataFrame). */
  toDelayed(): Delayed<Frame>[] {
    const { layer, keys } = this.#materialize();
    return keys.map((key) => new Delayed<Frame>(key, null, [layer]));
  }

  /**
   * Writes one CSV file per partition: `pattern` holds a `*`, replaced by the partition number
   * (`out/part-*.csv`). Returns the paths written.
   */
  async toCsv(pattern: string, options: ToCsvOptions = {}): Promise<string[]> {
    if (!pattern.includes("*")) {
      throw new Error(
        `toCsv: the pattern ${JSON.stringify(pattern)} needs a "*" for the partition number.`,
      );
    }
    const sep = options.sep ?? ",";
    const name = `toCsv-${tokenize(this.name, pattern, sep)}`;
    const tasks = partitionTasks(
      this.plan,
      name,
      (i) => ({ kind: "writeCsv", path: pattern.replace("*", String(i)), sep }),
    );
    const layer: Layer = { id: name, tasks, dependencies: this.plan.layers };
    const { sep: _sep, ...computeOptions } = options;
    const [paths] = await computeCollections(
      [listCollection(layer, tasks.map((t) => t.key))],
      computeOptions,
    );
    return paths as string[];
  }

  /** Writes one Parquet file per partition, `dir/part.{i}.parquet`; returns the paths. */
  toParquet(dir: string, options: ComputeOptions = {}): Promise<string[]> {
    return toParquet(this, dir, options);
  }

  /** A Bag of the rows as plain objects (one bag partition per partition). */
  toBag(): Bag<Record<string, unknown>> {
    const name = `toBag-${tokenize(this.name)}`;
    const tasks = partitionTasks(this.plan, name, () => ({ kind: "records" }));
    const layer: Layer = { id: name, tasks, dependencies: this.plan.layers };
    return new Bag(name, tasks.length, {
      source: { kind: "partitions", keys: tasks.map((t) => t.key), layers: [layer], arrays: true },
      stages: [],
    });
  }

  /** Computes the frame: one Polars DataFrame, the partitions concatenated in order. */
  async compute(options: ComputeOptions = {}): Promise<Frame> {
    const [value] = await computeCollections([this], options);
    return value as Frame;
  }

  /** Computes the partitions and keeps them (in workers' memory on a cluster). */
  persist(options: ComputeOptions = {}): Promise<DataFrame> {
    return persistCollection(this, options);
  }

  /** How compute and persist see a DataFrame: one key per partition, concatenated at the end. */
  get [collectionSymbol](): CollectionSpec<Frame> {
    return {
      layer: () => this.#materialize().layer,
      keys: () => this.#materialize().keys,
      finalize: (values) => values.length === 0 ? this.meta : concatFrames(values.map(asFrame)),
      rebuild: (layer) => {
        const stored = fromStored(this.name, layer, this.#materialize().keys, this.meta);
        return this.index === undefined ? stored : stored.withIndex(this.index);
      },
    };
  }

  /** The task graph of the partitions. */
  get graph(): Graph {
    return collectGraph([this.#materialize().layer]);
  }

  /** A short description: partitions and schema. */
  toString(): string {
    const schema = Object.entries(this.dtypes).map(([c, t]) => `${c}: ${t}`).join(", ");
    return `DataFrame<${this.name}, ${this.npartitions} partitions, { ${schema} }>`;
  }
}

/** The column a frame's partitions are sorted by, and their boundaries in it. */
export interface SortedIndex {
  /** The column the partitions are sorted by. */
  column: string;
  /** `npartitions + 1` boundaries in that column (sortable form: dates as numbers). */
  divisions: unknown[];
}

/** A frame over tables that other tasks (a layer) hold. */
export function fromStored(
  name: string,
  layer: Layer,
  keys: readonly Key[],
  meta: Frame,
): DataFrame {
  return new DataFrame(name, {
    sources: keys.map((key) => ({ table: new TaskRef(key) })),
    layers: [layer],
    steps: [],
    fns: [],
  }, meta);
}

/** True for numeric dtype names. */
export function isNumeric(dtype: string): boolean {
  return /^(U?Int|Float)/.test(dtype);
}
