/**
 * The dataframe types that both entry points export — `dataframe.ts` beside the functions, and
 * `mod.ts` for the type links of `Bag.toDataframe` (types only: no Polars is loaded) — listed
 * once, here.
 *
 * @module
 */

export type {
  ColumnValue,
  DataFrame,
  DatetimeAccessor,
  Frame,
  FromRecordsOptions,
  GroupAgg,
  GroupBy,
  GroupByOptions,
  GroupKey,
  HeadOptions,
  JoinHow,
  MergeOptions,
  Operand,
  ParquetFilter,
  PlSeries,
  ReadCsvOptions,
  ReadParquetOptions,
  Series,
  SortedIndex,
  SortOptions,
  StringAccessor,
  ToCsvOptions,
  ToDataframeOptions,
} from "./mod.ts";
