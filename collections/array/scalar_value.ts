/**
 * What an array of shape () computes to: its one element as a JS value, as Dask gives a NumPy
 * scalar for a full reduction (`x.sum().compute()`) or an index that picks one element. The
 * run-time conversion and its static type live here together, so a new dtype adds one case to
 * each.
 *
 * @module
 */
import type { DType, NDArray } from "../../core/ndarray.ts";

/** The JS value of one array element: a number, a boolean (`bool`), or a bigint (64-bit ints). */
export type ScalarValue = number | boolean | bigint;

/** The JS value of an element of dtype `D`. */
export type ScalarValueOf<D extends DType> = D extends "bool" ? boolean
  : D extends "int64" | "uint64" ? bigint
  : number;

/**
 * The JS value of a sum or product of an array of dtype `D`: a bigint for int64 and uint64 (they
 * accumulate in 64 bits), else a number (sums of bools and narrower integers are numbers). An
 * array whose dtype the types do not follow (`DType`: most operations' results) is taken for a
 * number, as JS numbers make int32 and float64 arrays; 64-bit ones are asked for by dtype.
 */
export type SumValueOf<D extends DType> = [D] extends ["int64" | "uint64"] ? bigint : number;

/**
 * The JS value of the min or max of an array of dtype `D`: its element's (a boolean for bool,
 * a bigint for int64 and uint64), and a number where the dtype is not followed (`DType`).
 */
export type ExtremeValueOf<D extends DType> = [D] extends ["bool"] ? boolean
  : [D] extends ["int64" | "uint64"] ? bigint
  : number;

/**
 * The element of a one-element block as a JS value: a typed array's own element type (a number,
 * or a bigint from a 64-bit integer array), and a boolean for `bool`.
 */
export function scalarValue(block: NDArray): ScalarValue {
  if (block.size !== 1) {
    // the operations that make blocks check their shapes; this guards against a new one that
    // does not, rather than give the first element of a wrong block
    throw new RangeError(
      `an array of shape () computed to a block of shape (${block.shape.join(", ")}); ` +
        "its block must hold one element",
    );
  }
  const element = block.data[block.offset];
  return block.dtype === "bool" ? element !== 0 : element;
}
