/**
 * A block of a 1-D or 2-D array as a partition's table, inside the partition's task
 * (`fromArray`'s source).
 *
 * @module
 */

import type { DType, NDArray } from "../../core/ndarray.ts";
import { type Frame, pl } from "./polars.ts";

/** Where a partition made of an array block comes from. */
export interface ArraySource {
  /** The block (an NDArray when the task runs). */
  arrayBlock: unknown;
  /** Column names, one per column of the block (one for a 1-D array). */
  arrayColumns: string[];
}

/** The Polars type of each array dtype. */
export const POLARS_DTYPES: Record<DType, () => pl.DataType> = {
  float64: () => pl.Float64,
  float32: () => pl.Float32,
  int32: () => pl.Int32,
  int16: () => pl.Int16,
  int8: () => pl.Int8,
  uint32: () => pl.UInt32,
  uint16: () => pl.UInt16,
  uint8: () => pl.UInt8,
  bool: () => pl.Bool,
};

/** A block's rows as a Polars frame: column j is the block's j-th column. */
export function arrayBlockFrame(source: ArraySource): Frame {
  const block = source.arrayBlock as NDArray;
  if (typeof block !== "object" || block === null || !("shape" in block)) {
    throw new TypeError(`fromArray: a block must be an NDArray; got ${typeof block}.`);
  }
  const data = block.toContiguous().data;
  const [rows, width] = block.shape.length === 1 ? [block.shape[0], 1] : block.shape;
  const dtype = POLARS_DTYPES[block.dtype]();
  const columns = source.arrayColumns.map((name, j) => {
    if (width === 1) return pl.Series(name, data).cast(dtype);
    const column = new (data.constructor as new (n: number) => typeof data)(rows);
    for (let i = 0; i < rows; i++) column[i] = data[i * width + j];
    return pl.Series(name, column).cast(dtype);
  });
  return pl.DataFrame(columns);
}
