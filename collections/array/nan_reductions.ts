/**
 * NumPy's NaN-ignoring reductions (`nansum`, `nanmean`, `nanmin`, …): each is the ordinary
 * blocked reduction over the array with NaN replaced by the reduction's neutral element, fused
 * into the same tasks; counts of the non-NaN elements give the means and variances.
 *
 * An all-NaN slice gives NaN for `nanmin`, `nanmax`, `nanmean`, `nanvar` and `nanstd` (NumPy
 * warns and gives NaN too); `nanargmin`/`nanargmax` of an all-NaN slice give the index NumPy
 * refuses with an error (here: the first position), and where NaN shares a slice with
 * ±Infinity the index may be the NaN's when it comes first (NaN is replaced by ±Infinity).
 *
 * @module
 */
import type { DArray, Scalar } from "./darray.ts";
import { elementwise } from "./elementwise.ts";
import {
  argReduce,
  type ArgReductionOptions,
  cumulative,
  reduce,
  type ReductionOptions,
  type VarianceOptions,
  type WholeArgReductionOptions,
  type WholeReductionOptions,
  type WholeVarianceOptions,
} from "./reductions.ts";

/** `x` with NaN replaced by `fill` (integers and bools hold no NaN: as they are). */
function nanTo(x: DArray, fill: number): DArray {
  if (!isFloat(x)) return x;
  return elementwise("where", [elementwise("isnan", [x]), fill, x]);
}

function isFloat(x: DArray): boolean {
  return x.dtype === "float64" || x.dtype === "float32";
}

/** How many elements are not NaN, per reduced slice. */
function countValid(x: DArray, options: ReductionOptions): DArray {
  const { dtype: _dtype, ...rest } = options;
  return reduce(elementwise("logicalNot", [elementwise("isnan", [x])]), "sum", rest);
}

/** Sum of all elements ignoring NaN: a {@link Scalar}. */
export function nansum(x: DArray, options?: WholeReductionOptions): Scalar;
/** Sum ignoring NaN (0 for an all-NaN slice). */
export function nansum(x: DArray, options: ReductionOptions): DArray;
export function nansum(x: DArray, options: ReductionOptions = {}): DArray {
  return reduce(nanTo(x, 0), "sum", options);
}

/** Product of all elements ignoring NaN: a {@link Scalar}. */
export function nanprod(x: DArray, options?: WholeReductionOptions): Scalar;
/** Product ignoring NaN (1 for an all-NaN slice). */
export function nanprod(x: DArray, options: ReductionOptions): DArray;
export function nanprod(x: DArray, options: ReductionOptions = {}): DArray {
  return reduce(nanTo(x, 1), "prod", options);
}

/** Mean of all non-NaN elements: a {@link Scalar}. */
export function nanmean(x: DArray, options?: WholeReductionOptions): Scalar;
/** Mean of the non-NaN elements. */
export function nanmean(x: DArray, options: ReductionOptions): DArray;
export function nanmean(x: DArray, options: ReductionOptions = {}): DArray {
  const total = nansum(x, { ...options, dtype: options.dtype ?? "float64" });
  return elementwise("divide", [total, countValid(x, options)]);
}

/** Variance of all non-NaN elements: a {@link Scalar}. */
export function nanvar(x: DArray, options?: WholeVarianceOptions): Scalar;
/** Variance of the non-NaN elements (divisor: their count minus `ddof`). */
export function nanvar(x: DArray, options: VarianceOptions): DArray;
export function nanvar(x: DArray, options: VarianceOptions = {}): DArray {
  const { ddof = 0, keepdims = false, ...rest } = options;
  const mean = nanmean(x, { ...rest, keepdims: true });
  const deviation = elementwise("subtract", [x, mean]);
  const squares = nansum(elementwise("multiply", [deviation, deviation]), { ...rest, keepdims });
  const count = countValid(x, { ...rest, keepdims });
  return elementwise("divide", [squares, elementwise("subtract", [count, ddof])]);
}

/** Standard deviation of all non-NaN elements: a {@link Scalar}. */
export function nanstd(x: DArray, options?: WholeVarianceOptions): Scalar;
/** Standard deviation of the non-NaN elements. */
export function nanstd(x: DArray, options: VarianceOptions): DArray;
export function nanstd(x: DArray, options: VarianceOptions = {}): DArray {
  return elementwise("sqrt", [nanvar(x, options)]);
}

/** Smallest element ignoring NaN: a {@link Scalar}. */
export function nanmin(x: DArray, options?: WholeReductionOptions): Scalar;
/** Smallest element ignoring NaN (NaN for an all-NaN slice). */
export function nanmin(x: DArray, options: ReductionOptions): DArray;
export function nanmin(x: DArray, options: ReductionOptions = {}): DArray {
  return allNaNGivesNaN(x, reduce(nanTo(x, Infinity), "min", options), options);
}

/** Largest element ignoring NaN: a {@link Scalar}. */
export function nanmax(x: DArray, options?: WholeReductionOptions): Scalar;
/** Largest element ignoring NaN (NaN for an all-NaN slice). */
export function nanmax(x: DArray, options: ReductionOptions): DArray;
export function nanmax(x: DArray, options: ReductionOptions = {}): DArray {
  return allNaNGivesNaN(x, reduce(nanTo(x, -Infinity), "max", options), options);
}

function allNaNGivesNaN(x: DArray, result: DArray, options: ReductionOptions): DArray {
  if (!isFloat(x)) return result;
  const empty = elementwise("equal", [countValid(x, options), 0]);
  return elementwise("where", [empty, NaN, result]);
}

/** Running sum treating NaN as 0. */
export function nancumsum(x: DArray, options: { axis?: number | null } = {}): DArray {
  return cumulative(nanTo(x, 0), "cumsum", options.axis ?? null);
}

/** Running product treating NaN as 1. */
export function nancumprod(x: DArray, options: { axis?: number | null } = {}): DArray {
  return cumulative(nanTo(x, 1), "cumprod", options.axis ?? null);
}

/** Index of the smallest non-NaN element in the flattened array: a {@link Scalar}. */
export function nanargmin(x: DArray, options?: WholeArgReductionOptions): Scalar;
/** Index of the smallest non-NaN element. */
export function nanargmin(x: DArray, options: ArgReductionOptions): DArray;
export function nanargmin(x: DArray, options: ArgReductionOptions = {}): DArray {
  return argReduce(nanTo(x, Infinity), "argmin", options);
}

/** Index of the largest non-NaN element in the flattened array: a {@link Scalar}. */
export function nanargmax(x: DArray, options?: WholeArgReductionOptions): Scalar;
/** Index of the largest non-NaN element. */
export function nanargmax(x: DArray, options: ArgReductionOptions): DArray;
export function nanargmax(x: DArray, options: ArgReductionOptions = {}): DArray {
  return argReduce(nanTo(x, -Infinity), "argmax", options);
}
