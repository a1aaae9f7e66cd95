/**
 * `dataframe`: lazy partitioned tables with pandas-like semantics, as `dask.dataframe`; each
 * partition is a Polars DataFrame. See docs/dataframe.md for the pandas/Dask → ours name table.
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
export { type Frame, pl, type PlSeries } from "./polars.ts";
