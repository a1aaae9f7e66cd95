/**
 * Reading one Parquet file inside a task: Polars scans it lazily with the projection and the row
 * filter, so only the needed columns (and, with statistics, row groups) are decoded.
 *
 * @module
 */

import type { ParquetSource } from "./partition_tasks.ts";
import { exprFromJson, type Frame, pl } from "./polars.ts";

/** The rows of `source.path` that pass its filter, in its columns. */
export function readParquetFile(source: ParquetSource): Frame {
  try {
    let scan = pl.scanParquet(source.path);
    if (source.filter !== null) scan = scan.filter(exprFromJson(source.filter));
    return scan.select(...source.columns).collectSync();
  } catch (error) {
    throw new Error(
      `readParquet: cannot read ${source.path}: ${(error as Error).message.split("\n")[0]}`,
      {
        cause: error,
      },
    );
  }
}
