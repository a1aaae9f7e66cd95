/**
 * Reductions along any axes (with `keepdims`), arg-reductions and cumulative sums/products.
 *
 * Every reduction accumulates in float64 and converts once at the end, except over int64 and
 * uint64, which accumulate in their own dtype (exact, wrapping at 64 bits as NumPy's). Result
 * dtypes: sum, prod, cumsum and cumprod keep float and 64-bit integer dtypes and give float64 for
 * narrower integers and bools (NumPy gives int64; float64 is exact up to 2^53 and does not
 * overflow); mean, var and std give float32 for float32 and float64 otherwise (over int64 too,
 * as NumPy); min and max keep the dtype; any and all give bool; argmin and argmax give int32.
 *
 * @module
 */
import {
  contiguousStrides,
  type DType,
  DTYPE_ARRAY,
  type Elements,
  isBigIntDType,
  NDArray,
  sizeOfShape,
} from "../../../core/ndarray.ts";
import { bigIntOf } from "./bigint_math.ts";
import { sumResultType } from "./dtype.ts";
import { astype } from "./elementwise.ts";
import { broadcastShapes, broadcastStrides } from "./broadcast.ts";
import {
  formatShape,
  normalizeAxes,
  normalizeAxis,
  offsetsOf,
  type Operand,
  operandArray,
} from "./layout.ts";
import { runMapReduce, runReduce } from "./loops.ts";

/** Which axes to reduce (`undefined`/`null`: all) and whether to keep them as length 1. */
export interface ReduceOptions {
  axis?: number | readonly number[] | null;
  keepdims?: boolean;
}

/** Options of var and std: `ddof` is subtracted from the element count in the divisor. */
export interface VarianceOptions extends ReduceOptions {
  ddof?: number;
}

interface Reduction {
  acc: Float64Array;
  /** The result shape as asked (`keepdims` or not). */
  shape: number[];
  /** Elements folded into each result. */
  count: number;
}

/** Folds `a` over the axes `options` names with `step`, starting each result at `init`. */
function fold(
  a: NDArray,
  options: ReduceOptions,
  step: string,
  init: number,
  aux?: Float64Array,
): Reduction {
  const { shape, keptShape, accStrides, count } = reductionLayout(a.shape, options);
  const acc = new Float64Array(sizeOfShape(keptShape)).fill(init);
  runReduce(step, acc, accStrides, a, a.shape, aux);
  return { acc, shape, count };
}

/**
 * The folds over numbers that {@link foldOfMap} fuses with an element-wise expression: each
 * one's step, start, and (without an identity) the name an empty reduction's error gives.
 */
const FLOAT_FOLDS = {
  sum: { step: "r + x", init: 0, empty: undefined },
  prod: { step: "r * x", init: 1, empty: undefined },
  min: { step: "(x < r || x !== x) ? x : r", init: Infinity, empty: "minimum" },
  max: { step: "(x > r || x !== x) ? x : r", init: -Infinity, empty: "maximum" },
} as const;

/** A reduction {@link foldOfMap} can fuse. */
export type FusedFold = keyof typeof FLOAT_FOLDS;

/** Folds `a` with `kind`, refusing an empty reduction of a kind without identity. */
function foldKind(a: NDArray, options: ReduceOptions, kind: FusedFold): Reduction {
  const { step, init, empty } = FLOAT_FOLDS[kind];
  const r = fold(a, options, step, init);
  if (empty !== undefined) requireNonEmpty(r, empty);
  return r;
}

/**
 * `sum` (or `prod`, `min`, `max`) of the float64 block that the element-wise `expr` over
 * `operands` (float64 arrays, broadcast together; `x0`, `x1`, ... in `expr`) would make, without
 * making it: one pass over the operands and no block-sized buffer. The elements fold in the
 * order that block's own reduction would take (loops.ts `runMapReduce`), so the result is the
 * same to the bit.
 */
export function foldOfMap(
  kind: FusedFold,
  expr: string,
  operands: readonly NDArray[],
  options: ReduceOptions = {},
): NDArray {
  for (const x of operands) {
    if (x.dtype !== "float64") {
      throw new TypeError(`internal: a fused reduction takes float64 operands, not ${x.dtype}`);
    }
  }
  const full = broadcastShapes(...operands.map((x) => x.shape));
  const { shape, keptShape, accStrides, count } = reductionLayout(full, options);
  const { step, init, empty } = FLOAT_FOLDS[kind];
  const acc = new Float64Array(sizeOfShape(keptShape)).fill(init);
  if (empty !== undefined) requireNonEmpty({ acc, shape, count }, empty);
  const inputs = operands.map((x) => ({
    data: x.data,
    offset: x.offset,
    strides: broadcastStrides(x, full),
  }));
  runMapReduce(step, acc, accStrides, expr, inputs, full);
  return finish(acc, shape, "float64");
}

/** Where each element of an array of shape `full` folds to, and how many fold into each result. */
function reductionLayout(full: readonly number[], options: ReduceOptions) {
  const axes = normalizeAxes(options.axis, full.length);
  const reduced = full.map((_, i) => axes.includes(i));
  const keptShape = full.map((n, i) => (reduced[i] ? 1 : n));
  const shape = options.keepdims ? keptShape : full.filter((_, i) => !reduced[i]);
  const accStrides = contiguousStrides(keptShape).map((s, i) => (reduced[i] ? 0 : s));
  const count = axes.reduce((n, i) => n * full[i], 1);
  return { shape, keptShape, accStrides, count };
}

/** The extreme values of the 64-bit dtypes: where min and max start. */
const BIG_LIMITS = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
} as const;

/**
 * Folds an int64/uint64 array in its own dtype with a bigint `step` (no float rounding); the
 * accumulator wraps at 64 bits on every store, as NumPy's.
 */
function foldBig(
  a: NDArray & { dtype: "int64" | "uint64" },
  options: ReduceOptions,
  step: string,
  init: bigint,
  name?: string,
): NDArray {
  const { shape, keptShape, accStrides, count } = reductionLayout(a.shape, options);
  const acc = new DTYPE_ARRAY[a.dtype](sizeOfShape(keptShape)).fill(init);
  if (name !== undefined && count === 0 && acc.length > 0) emptyReduction(name);
  runReduce(step, acc, accStrides, a, a.shape);
  return new NDArray(acc, shape, { dtype: a.dtype });
}

const isBig = (x: NDArray): x is NDArray & { dtype: "int64" | "uint64" } => isBigIntDType(x.dtype);

/** The accumulator as an array of `dtype` (no copy for float64). */
function finish(acc: Float64Array, shape: number[], dtype: DType): NDArray {
  if (isBigIntDType(dtype)) return astype(new NDArray(acc, shape), dtype);
  const data = dtype === "float64" ? acc : new DTYPE_ARRAY[dtype](acc as Float64Array);
  return new NDArray(data, shape, { dtype });
}

function emptyReduction(name: string): never {
  throw new RangeError(
    `zero-size array to reduction operation ${name} which has no identity; ` +
      "reduce over non-empty axes or check the array's shape",
  );
}

function requireNonEmpty(r: Reduction, name: string): void {
  if (r.count === 0 && r.acc.length > 0) emptyReduction(name);
}

/** Sum of elements. */
export function sum(a: Operand, options: ReduceOptions = {}): NDArray {
  const x = operandArray(a);
  if (isBig(x)) return foldBig(x, options, "r + x", 0n);
  const r = foldKind(x, options, "sum");
  return finish(r.acc, r.shape, sumResultType(x.dtype));
}

/** Product of elements. */
export function prod(a: Operand, options: ReduceOptions = {}): NDArray {
  const x = operandArray(a);
  // wrapped at every step: an unwrapped product of many int64s grows without bound
  if (isBig(x)) return foldBig(x, options, "BigInt.asUintN(64, r * x)", 1n);
  const r = foldKind(x, options, "prod");
  return finish(r.acc, r.shape, sumResultType(x.dtype));
}

/** Smallest element; NaN propagates; empty reductions throw. */
export function min(a: Operand, options: ReduceOptions = {}): NDArray {
  const x = operandArray(a);
  if (isBig(x)) return foldBig(x, options, "x < r ? x : r", BIG_LIMITS[x.dtype][1], "minimum");
  const r = foldKind(x, options, "min");
  return finish(r.acc, r.shape, x.dtype);
}

/** Largest element; NaN propagates; empty reductions throw. */
export function max(a: Operand, options: ReduceOptions = {}): NDArray {
  const x = operandArray(a);
  if (isBig(x)) return foldBig(x, options, "x > r ? x : r", BIG_LIMITS[x.dtype][0], "maximum");
  const r = foldKind(x, options, "max");
  return finish(r.acc, r.shape, x.dtype);
}

/** True where any element is non-zero (NaN counts as non-zero). */
export function any(a: Operand, options: ReduceOptions = {}): NDArray {
  const x = asNumbers(a);
  const r = fold(x, options, "(r !== 0 || x !== 0) ? 1 : 0", 0);
  return finish(r.acc, r.shape, "bool");
}

/** True where every element is non-zero. */
export function all(a: Operand, options: ReduceOptions = {}): NDArray {
  const x = asNumbers(a);
  const r = fold(x, options, "(r !== 0 && x !== 0) ? 1 : 0", 1);
  return finish(r.acc, r.shape, "bool");
}

/**
 * An operand whose elements are numbers: int64/uint64 become float64, as NumPy's mean and var
 * convert them (any and all only test for zero, which the conversion keeps).
 */
function asNumbers(a: Operand): NDArray {
  const x = operandArray(a);
  return isBigIntDType(x.dtype) ? astype(x, "float64") : x;
}

/** The dtype of mean, var and std. */
const meanType = (dtype: DType): DType => (dtype === "float32" ? "float32" : "float64");

/** Arithmetic mean (NaN over empty axes). */
export function mean(a: Operand, options: ReduceOptions = {}): NDArray {
  const x = asNumbers(a);
  const r = fold(x, options, "r + x", 0);
  for (let i = 0; i < r.acc.length; i++) r.acc[i] /= r.count;
  return finish(r.acc, r.shape, meanType(x.dtype));
}

/** Sum of squared deviations from the mean, divided by `count - ddof` (two passes, in float64). */
function varianceOf(x: NDArray, options: VarianceOptions): Reduction {
  const ddof = options.ddof ?? 0;
  const means = fold(x, options, "r + x", 0);
  for (let i = 0; i < means.acc.length; i++) means.acc[i] /= means.count;
  const r = fold(x, options, "r + (x - m) * (x - m)", 0, means.acc);
  const divisor = Math.max(r.count - ddof, 0);
  for (let i = 0; i < r.acc.length; i++) r.acc[i] /= divisor;
  return r;
}

/** Variance: mean squared deviation, divided by `N - ddof`. */
export function variance(a: Operand, options: VarianceOptions = {}): NDArray {
  const x = asNumbers(a);
  const r = varianceOf(x, options);
  return finish(r.acc, r.shape, meanType(x.dtype));
}

/** Standard deviation: the square root of {@link variance}. */
export function std(a: Operand, options: VarianceOptions = {}): NDArray {
  const x = asNumbers(a);
  const r = varianceOf(x, options);
  for (let i = 0; i < r.acc.length; i++) r.acc[i] = Math.sqrt(r.acc[i]);
  return finish(r.acc, r.shape, meanType(x.dtype));
}

export { variance as var };

/** Options of the arg-reductions and cumulative operations: one axis, or none (flattened). */
export interface AxisOption {
  axis?: number | null;
  keepdims?: boolean;
}

/** Index of the first smallest element along `axis` (flattened when none); NaN wins. */
export function argmin(a: Operand, options: AxisOption = {}): NDArray {
  return argReduce(operandArray(a), options, "argmin", (x, best) => x < best);
}

/** Index of the first largest element along `axis` (flattened when none); NaN wins. */
export function argmax(a: Operand, options: AxisOption = {}): NDArray {
  return argReduce(operandArray(a), options, "argmax", (x, best) => x > best);
}

function argReduce(
  a: NDArray,
  options: AxisOption,
  name: string,
  better: (x: number | bigint, best: number | bigint) => boolean,
): NDArray {
  const flat = options.axis === undefined || options.axis === null;
  const axis = flat ? 0 : normalizeAxis(options.axis!, a.ndim);
  // Flattening needs C order; a non-contiguous array is copied once for that.
  const src = flat ? new NDArray(a.contiguousData(), [a.size], { dtype: a.dtype }) : a;
  const len = src.shape[axis], stride = src.strides[axis];
  const outerShape = src.shape.filter((_, i) => i !== axis);
  const outer = offsetsOf(outerShape, src.strides.filter((_, i) => i !== axis), src.offset);
  if (len === 0 && outer.length > 0) {
    throw new RangeError(
      `attempt to get ${name} of an empty sequence (axis of length 0 in shape ${
        formatShape(a.shape)
      })`,
    );
  }
  const data = src.data, out = new Int32Array(outer.length);
  for (let o = 0; o < outer.length; o++) {
    let p = outer[o], best = data[p], at = 0;
    if (best === best) {
      for (let j = 1; j < len; j++) {
        p += stride;
        const x = data[p];
        if (better(x, best)) (best = x), (at = j);
        else if (x !== x) {
          at = j;
          break;
        }
      }
    }
    out[o] = at;
  }
  let shape = outerShape;
  if (options.keepdims) {
    shape = flat ? a.shape.map(() => 1) : a.shape.map((n, i) => (i === axis ? 1 : n));
  }
  return new NDArray(out, shape);
}

/** Options of the cumulative operations. */
export interface ScanOptions {
  axis?: number | null;
  /**
   * The running value before the first element (shape of the result with the axis' length 1):
   * a blocked scan continues from the previous block exactly as the sequential loop would.
   */
  seed?: NDArray;
}

/** Running sum along `axis` (flattened when none). */
export function cumsum(a: Operand, options: ScanOptions = {}): NDArray {
  return scan(operandArray(a), options, true);
}

/** Running product along `axis` (flattened when none). */
export function cumprod(a: Operand, options: ScanOptions = {}): NDArray {
  return scan(operandArray(a), options, false);
}

/** Copies `a` into the result dtype (C order), then accumulates in place along the axis. */
function scan(a: NDArray, options: ScanOptions, isSum: boolean): NDArray {
  const flat = options.axis === undefined || options.axis === null;
  const copy = astype(a, sumResultType(a.dtype));
  const out = flat ? new NDArray(copy.data, [a.size], { dtype: copy.dtype }) : copy;
  const axis = flat ? 0 : normalizeAxis(options.axis!, a.ndim);
  const len = out.shape[axis];
  const inner = sizeOfShape(out.shape.slice(axis + 1));
  const outer = sizeOfShape(out.shape.slice(0, axis));
  const big = isBigIntDType(out.dtype);
  // one dtype throughout, numbers or bigints alike
  const d = out.data as Elements & { [index: number]: number };
  const seed = options.seed?.contiguousData();
  if (seed !== undefined && seed.length !== outer * inner) {
    throw new RangeError(`scan: the seed has ${seed.length} values; ${outer * inner} expected.`);
  }
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    if (seed !== undefined && len > 0) {
      for (let j = 0; j < inner; j++) {
        const s0 = (big ? bigIntOf(seed[o * inner + j]) : Number(seed[o * inner + j])) as number;
        d[base + j] = isSum ? s0 + d[base + j] : s0 * d[base + j];
      }
    }
    for (let i = 1; i < len; i++) {
      const row = base + i * inner;
      if (isSum) { for (let j = row; j < row + inner; j++) d[j] += d[j - inner]; }
      else for (let j = row; j < row + inner; j++) d[j] *= d[j - inner];
    }
  }
  return out;
}
