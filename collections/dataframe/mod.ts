/**
 * The `dataframe` namespace: lazy partitioned tables with pandas-like semantics, as
 * `dask.dataframe`; each partition is a Polars DataFrame (`npm:nodejs-polars`, which needs
 * `--allow-ffi`). docs/dataframe.md maps pandas/Dask names to these.
 *
 * @example
 * ```ts
 * import { dataframe as dd } from "../../dataframe.ts";
 *
 * const df = dd.readCsv("data/nycflights/*.csv", {
 *   parseDates: { Date: ["Year", "Month", "DayofMonth"] },
 *   dtype: { TailNum: "string", CRSElapsedTime: "float64", Cancelled: "bool" },
 * });
 * // pandas: df[~df.Cancelled].DepDelay.max()
 * const live = df.filter(df.col("Cancelled").not());
 * const largest = await live.col("DepDelay").max().compute();
 * // pandas: df.groupby(df.Date.dt.dayofweek).DepDelay.mean()
 * const byDay = await df.groupby(df.col("Date").dt.dayofweek()).col("DepDelay").mean().compute();
 * ```
 *
 * @module
 */

export { type ColumnValue, DataFrame, type HeadOptions, type ToCsvOptions } from "./frame.ts";
export { DatetimeAccessor, type Operand, Series, StringAccessor } from "./series.ts";
export { GroupBy, type GroupByOptions, type GroupKey } from "./groupby.ts";
export type { GroupAgg } from "./groupby_kernels.ts";
export { readCsv, type ReadCsvOptions } from "./csv_source.ts";
export { fromArrow, fromDelayed, fromRecords, type FromRecordsOptions } from "./creation.ts";
export type { ReductionOptions } from "./reductions.ts";
export { fromArray } from "./from_array.ts";
export { merge, type MergeOptions } from "./join.ts";
export { type ParquetFilter, readParquet, type ReadParquetOptions } from "./parquet.ts";
export type { ToDataframeOptions } from "./from_bag.ts";
export type { SortOptions } from "./sort.ts";
export type { SortedIndex } from "./frame.ts";
export type { JoinHow } from "./join_kernels.ts";
export { type Frame, pl, type PlSeries } from "./polars.ts";
