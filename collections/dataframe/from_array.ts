/**
 * `fromArray`: a DataFrame over a 1-D or 2-D `DArray`, one partition per block of rows, as
 * `dask.dataframe.from_dask_array`. A 2-D array's columns must sit in one block per row block,
 * so it is rechunked to a single block along axis 1 first (as Dask does).
 *
 * @module
 */

import { TaskRef } from "../../core/task.ts";
import { tokenize } from "../../core/tokenize.ts";
import type { DArray } from "../array/darray.ts";
import { applySource } from "./creation.ts";
import type { DataFrame } from "./frame.ts";
import { POLARS_DTYPES } from "./array_block.ts";
import { pl } from "./polars.ts";

/**
 * A DataFrame whose partitions are the row blocks of a 1-D or 2-D array (Dask's
 * `dd.from_dask_array(x, columns=)`). `columns` names the columns (default `"0"`, `"1"`, …);
 * for a 1-D array a single name may be given. Each column has the array's dtype (`bool` as
 * Polars' Boolean).
 *
 * @example
 * ```ts
 * import { array as da } from "../../mod.ts";
 * import { dataframe as dd } from "../../dataframe.ts";
 *
 * const x = da.fromArray(new Float64Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2], chunks: [2, 2] });
 * const df = dd.fromArray(x, ["a", "b"]); // 2 partitions: rows [0, 2) and [2, 3)
 * const total = await df.col("b").sum().compute(); // 12
 * ```
 */
export function fromArray(array: DArray, columns?: string | readonly string[]): DataFrame {
  if (array.ndim !== 1 && array.ndim !== 2) {
    throw new RangeError(
      `fromArray: the array must be 1-D or 2-D (rows × columns); got ${array.ndim}-D ` +
        `(shape ${JSON.stringify(array.shape)}). Reshape it first.`,
    );
  }
  const width = array.ndim === 1 ? 1 : array.shape[1];
  if (Number.isNaN(width)) {
    throw new RangeError("fromArray: the number of columns (axis 1) must be known.");
  }
  const names = columns === undefined
    ? Array.from({ length: width }, (_, j) => String(j))
    : typeof columns === "string"
    ? [columns]
    : [...columns];
  if (names.length !== width) {
    throw new RangeError(
      `fromArray: ${names.length} column name(s) for an array with ${width} column(s) ` +
        `(shape ${JSON.stringify(array.shape)}).`,
    );
  }
  if (new Set(names).size !== names.length) {
    throw new Error(`fromArray: column names must differ; got ${JSON.stringify(names)}.`);
  }
  const rows = array.ndim === 2 && array.numblocks[1] !== 1 ? array.rechunk({ 1: -1 }) : array;
  const dtype = POLARS_DTYPES[rows.dtype]();
  const meta = pl.DataFrame(names.map((name) => pl.Series(name, [], dtype)));
  const name = `fromArray-${tokenize(rows.name, names)}`;
  const sources = rows.blockKeys().map((key) => ({
    arrayBlock: new TaskRef(key),
    arrayColumns: names,
  }));
  return applySource(name, sources, [rows.layer()], meta);
}
