/**
 * Products: matmul (with batch broadcasting), dot and tensordot. They accumulate in float64 and
 * store in the promoted dtype (bool results are "any product non-zero", as in NumPy). Integer
 * results are exact while partial sums stay below 2^53, then wrap to the dtype's width; int64
 * and uint64 results accumulate in 64-bit integers and wrap around as NumPy's do.
 *
 * @module
 */
import {
  type BigIntArray,
  type DType,
  DTYPE_ARRAY,
  isBigIntDType,
  NDArray,
  type NumberArray,
  sizeOfShape,
} from "../../../core/ndarray.ts";
import { broadcastShapes } from "./broadcast.ts";
import { promoteTypes } from "./dtype.ts";
import { astype, multiply } from "./elementwise.ts";
import { formatShape, normalizeAxis, offsetsOf, type Operand } from "./layout.ts";
import { expandDims, reshape, transpose } from "./shape.ts";
import { throwIfCancelled } from "../../../core/cancel_point.ts";

/**
 * The matrix product of the last two axes, broadcasting the leading (batch) axes; a 1-d operand
 * is a row (first) or column (second) vector whose axis is dropped from the result.
 */
export function matmul(a: NDArray, b: NDArray): NDArray {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(
      `matmul: input operand ${a.ndim === 0 ? 0 : 1} does not have enough dimensions ` +
        "(it is 0-d); use multiply for scalars",
    );
  }
  const dtype = promoteTypes(a.dtype, b.dtype);
  // a 64-bit integer operand of a float product (int64 with a float, or with uint64) is read as
  // float64, as NumPy casts it
  if (!isBigIntDType(dtype)) {
    if (isBigIntDType(a.dtype)) a = astype(a, "float64");
    if (isBigIntDType(b.dtype)) b = astype(b, "float64");
  }
  const left = a.ndim === 1 ? expandDims(a, 0) : a;
  const right = b.ndim === 1 ? expandDims(b, 1) : b;
  const [n, k] = left.shape.slice(-2), [k2, m] = right.shape.slice(-2);
  if (k !== k2) {
    throw new RangeError(
      `matmul: input operand 1 has a mismatch in its core dimension 0, with gufunc signature ` +
        `(n?,k),(k,m?)->(n?,m?) (size ${k2} is different from ${k}); shapes ${
          formatShape(a.shape)
        } and ${formatShape(b.shape)}`,
    );
  }
  const batch = broadcastShapes(left.shape.slice(0, -2), right.shape.slice(0, -2));
  const batchOffsets = (x: NDArray) => {
    const lead = x.ndim - 2;
    const strides = batch.map((_, i) => {
      const j = i - (batch.length - lead);
      return j < 0 || x.shape[j] === 1 ? 0 : x.strides[j];
    });
    return offsetsOf(batch, strides, x.offset);
  };
  const out = new DTYPE_ARRAY[dtype](sizeOfShape(batch) * n * m);
  const aOffsets = batchOffsets(left), bOffsets = batchOffsets(right);
  const [as0, as1] = left.strides.slice(-2), [bs0, bs1] = right.strides.slice(-2);
  const layout = { aOffsets, bOffsets, n, k, m, as0, as1, bs0, bs1 };
  if (isBigIntDType(dtype)) bigIntProducts(left, right, out as BigIntArray, layout);
  else numberProducts(left, right, out as NumberArray, dtype, layout);
  let shape = [...batch, n, m];
  if (b.ndim === 1) shape = shape.slice(0, -1);
  if (a.ndim === 1) shape.splice(shape.length - (b.ndim === 1 ? 1 : 2), 1);
  return new NDArray(out, shape, { dtype });
}

/**
 * Where each batch item's matrices start, the core sizes (n, k) × (k, m), and the strides of the
 * last two axes of the left (`as0`, `as1`) and right (`bs0`, `bs1`) operands.
 */
interface ProductLayout {
  aOffsets: ArrayLike<number>;
  bOffsets: ArrayLike<number>;
  n: number;
  k: number;
  m: number;
  as0: number;
  as1: number;
  bs0: number;
  bs1: number;
}

/**
 * The (n, k) × (k, m) products of every batch item, in float64, stored in `out`'s dtype (a
 * bool result is 1 where the sum is non-zero).
 */
function numberProducts(
  left: NDArray,
  right: NDArray,
  out: NumberArray,
  dtype: DType,
  { aOffsets, bOffsets, n, k, m, as0, as1, bs0, bs1 }: ProductLayout,
): void {
  // both operands hold numbers: 64-bit integer operands were cast by the caller
  const aData = left.data as NumberArray, rightData = right.data as NumberArray;
  const row = new Float64Array(m);
  // A right operand read across rows (bs1 !== 1) is copied to rows once per batch item.
  const bRows = bs1 === 1 ? undefined : new Float64Array(k * m);
  for (let t = 0; t < aOffsets.length; t++) {
    let bData = rightData, bBase = bOffsets[t], bStep = bs0;
    if (bRows !== undefined) {
      for (let p = 0; p < k; p++) {
        for (let j = 0; j < m; j++) bRows[p * m + j] = rightData[bBase + p * bs0 + j * bs1];
      }
      (bData = bRows), (bBase = 0), (bStep = m);
    }
    const outBase = t * n * m;
    for (let i = 0; i < n; i++) {
      throwIfCancelled();
      row.fill(0);
      const aRow = aOffsets[t] + i * as0;
      for (let p = 0; p < k; p++) {
        const x = aData[aRow + p * as1];
        const bRow = bBase + p * bStep;
        for (let j = 0; j < m; j++) row[j] += x * bData[bRow + j];
      }
      const o = outBase + i * m;
      if (dtype === "bool") { for (let j = 0; j < m; j++) out[o + j] = row[j] !== 0 ? 1 : 0; }
      else out.set(row, o);
    }
  }
}

/**
 * The products for an int64 or uint64 result, with NumPy's wrap-around arithmetic: every
 * partial sum is stored in a 64-bit row, which keeps it modulo 2^64 as NumPy's int64 does.
 */
function bigIntProducts(
  left: NDArray,
  right: NDArray,
  out: BigIntArray,
  { aOffsets, bOffsets, n, k, m, as0, as1, bs0, bs1 }: ProductLayout,
): void {
  // an operand of a narrower integer or bool dtype is widened once
  const wide = (x: NDArray) =>
    isBigIntDType(x.dtype) ? x.data as BigIntArray : BigInt64Array.from(
      x.data as NumberArray,
      (v) => BigInt(v),
    );
  const aData = wide(left), bData = wide(right);
  const row = out instanceof BigUint64Array ? new BigUint64Array(m) : new BigInt64Array(m);
  for (let t = 0; t < aOffsets.length; t++) {
    const outBase = t * n * m;
    for (let i = 0; i < n; i++) {
      throwIfCancelled();
      row.fill(0n);
      const aRow = aOffsets[t] + i * as0;
      for (let p = 0; p < k; p++) {
        const x = aData[aRow + p * as1];
        if (x === 0n) continue;
        const bRow = bOffsets[t] + p * bs0;
        for (let j = 0; j < m; j++) row[j] += x * bData[bRow + j * bs1];
      }
      out.set(row, outBase + i * m);
    }
  }
}

/**
 * Sums products over `axes` of `a` and `b`: a count N (last N of `a` with first N of `b`) or a
 * pair of axis lists. The result has `a`'s remaining axes followed by `b`'s.
 */
export function tensordot(
  a: NDArray,
  b: NDArray,
  axes: number | readonly [number | readonly number[], number | readonly number[]] = 2,
): NDArray {
  let axesA: number[], axesB: number[];
  if (typeof axes === "number") {
    if (!Number.isInteger(axes) || axes < 0 || axes > a.ndim || axes > b.ndim) {
      throw new RangeError(
        `tensordot: axes=${axes} must be an integer between 0 and the smaller ndim of ` +
          `${formatShape(a.shape)} and ${formatShape(b.shape)}`,
      );
    }
    axesA = Array.from({ length: axes }, (_, i) => a.ndim - axes + i);
    axesB = Array.from({ length: axes }, (_, i) => i);
  } else {
    const list = (x: number | readonly number[]) => (typeof x === "number" ? [x] : [...x]);
    axesA = list(axes[0]).map((x) => normalizeAxis(x, a.ndim));
    axesB = list(axes[1]).map((x) => normalizeAxis(x, b.ndim));
  }
  if (axesA.length !== axesB.length || axesA.some((x, i) => a.shape[x] !== b.shape[axesB[i]])) {
    throw new RangeError(
      `shape-mismatch for sum: axes [${axesA}] of ${formatShape(a.shape)} and [${axesB}] of ${
        formatShape(b.shape)
      } must have the same lengths`,
    );
  }
  const freeA = a.shape.map((_, i) => i).filter((i) => !axesA.includes(i));
  const freeB = b.shape.map((_, i) => i).filter((i) => !axesB.includes(i));
  const inner = axesA.reduce((n, i) => n * a.shape[i], 1);
  const shapeA = freeA.map((i) => a.shape[i]), shapeB = freeB.map((i) => b.shape[i]);
  const left = reshape(transpose(a, [...freeA, ...axesA]), [sizeOfShape(shapeA), inner]);
  const right = reshape(transpose(b, [...axesB, ...freeB]), [inner, sizeOfShape(shapeB)]);
  return reshape(matmul(left, right), [...shapeA, ...shapeB]);
}

/**
 * NumPy's dot: scalars multiply; 1-d with 1-d is the inner product; otherwise sums over the
 * last axis of `a` and the second-to-last of `b` (the only one when `b` is 1-d).
 */
export function dot(a: Operand, b: Operand): NDArray {
  if (!(a instanceof NDArray) || !(b instanceof NDArray) || a.ndim === 0 || b.ndim === 0) {
    return multiply(a, b);
  }
  const axisB = b.ndim === 1 ? 0 : b.ndim - 2;
  if (a.shape[a.ndim - 1] !== b.shape[axisB]) {
    throw new RangeError(
      `shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} not aligned: ${
        a.shape[a.ndim - 1]
      } (dim ${a.ndim - 1}) != ${b.shape[axisB]} (dim ${axisB})`,
    );
  }
  if (a.ndim <= 2 && b.ndim <= 2) return matmul(a, b);
  return tensordot(a, b, [[a.ndim - 1], [axisB]]);
}
