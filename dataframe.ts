/**
 * Partitioned tables with pandas-like semantics — Dask's `dask.dataframe` — on Polars partitions.
 *
 * A separate entry point from `mod.ts`, as `dask.dataframe` is a separate import in Python:
 * Polars is native code loaded over FFI, so importing this module needs `--allow-ffi` (and
 * `--allow-sys`), while `mod.ts` alone needs neither. Everything else (Client, compute, delayed,
 * bag, array) comes from `mod.ts`; a DataFrame computes on the same schedulers.
 *
 * @example
 * ```ts
 * import { dataframe as dd } from "./dataframe.ts";
 *
 * const df = dd.readCsv("data/nycflights/*.csv", {
 *   parseDates: { Date: ["Year", "Month", "DayofMonth"] },
 * });
 * // pandas: df[~df.Cancelled].DepDelay.max()
 * const largest = await df.filter(df.col("Cancelled").not()).col("DepDelay").max().compute();
 * // pandas: df.groupby("Origin").DepDelay.mean()
 * const byOrigin = await df.groupby("Origin").col("DepDelay").mean().compute();
 * ```
 *
 * @module
 */

export * as dataframe from "./collections/dataframe/mod.ts";
export type * from "./collections/dataframe/public_types.ts";
