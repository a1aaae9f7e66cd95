/**
 * A dataframe's schema without its data: an empty Polars frame (Dask's `_meta`) that every step
 * is applied to as it is added, so `columns` and `dtypes` are known lazily and a step that names
 * a missing column or mixes types fails when it is written, not inside a task. Also the dtype
 * names users write (pandas' and Polars') and how they map to Polars types.
 *
 * @module
 */

import type { TaskFunction } from "../../core/task.ts";
import type { Step } from "./partition_tasks.ts";
import { exprFromJson, type Frame, pl } from "./polars.ts";

/** The Polars type of a name users write: pandas' (`float64`, `int64`, `object`, `bool`,
 * `datetime64[ns]`, `category`) or Polars' (`Float64`, `Utf8`, ...). */
export function dtypeOf(name: string, what: string): pl.DataType {
  const key = name.toLowerCase().replace(/\[.*\]$/, "");
  const table: Record<string, pl.DataType> = {
    float: pl.Float64,
    float64: pl.Float64,
    float32: pl.Float32,
    int: pl.Int64,
    int64: pl.Int64,
    int32: pl.Int32,
    int16: pl.Int16,
    int8: pl.Int8,
    uint32: pl.UInt32,
    uint64: pl.UInt64,
    bool: pl.Bool,
    boolean: pl.Bool,
    object: pl.Utf8,
    str: pl.Utf8,
    string: pl.Utf8,
    utf8: pl.Utf8,
    category: pl.Categorical,
    categorical: pl.Categorical,
    date: pl.Date,
    datetime: pl.Datetime("ms"),
    datetime64: pl.Datetime("ms"),
  };
  const dtype = table[key];
  if (dtype === undefined) {
    throw new TypeError(
      `${what}: unknown dtype ${JSON.stringify(name)}; use one of ${
        Object.keys(table).join(", ")
      }.`,
    );
  }
  return dtype;
}

/** The name `dtypes` reports for a Polars type. */
export function dtypeName(dtype: pl.DataType): string {
  const variant = (dtype as { variant: string }).variant;
  return variant === "Utf8" ? "String" : variant === "Bool" ? "Boolean" : variant;
}

/** The schema after one more step (the step run on the empty meta frame). */
export function applyToMeta(meta: Frame, step: Step, fns: readonly TaskFunction[]): Frame {
  switch (step.op) {
    case "filter":
      return meta.filter(exprFromJson(step.predicate));
    case "withColumns":
      return meta.withColumns(...step.exprs.map(exprFromJson));
    case "select":
      return meta.select(...step.exprs.map(exprFromJson));
    case "dropNulls":
    case "sort":
    case "head":
    case "tail":
      return meta;
    case "map": {
      const out = fns[step.fn](meta.clone(), ...step.args);
      if (!pl.DataFrame.isDataFrame(out)) {
        throw new TypeError(
          "mapPartitions: the function must return a Polars DataFrame (given an empty partition " +
            "to learn the result's columns); pass { meta } when it cannot run on an empty frame.",
        );
      }
      return (out as Frame).head(0);
    }
  }
}
