/**
 * Products: matmul (with batch broadcasting), dot and tensordot. They accumulate in float64 and
 * store in the promoted dtype (bool results are "any product non-zero", as in NumPy). Integer
 * results are exact while partial sums stay below 2^53, then wrap to the dtype's width.
 *
 * @module
 */
import {
  DTYPE_ARRAY,
  isBigIntDType,
  NDArray,
  type NumberArray,
  sizeOfShape,
} from "../../../core/ndarray.ts";
import { broadcastShapes } from "./broadcast.ts";
import { promoteTypes } from "./dtype.ts";
import { multiply } from "./elementwise.ts";
import { formatShape, normalizeAxis, offsetsOf, type Operand } from "./layout.ts";
import { expandDims, reshape, transpose } from "./shape.ts";

/**
 * The matrix product of the last two axes, broadcasting the leading (batch) axes; a 1-d operand
 * is a row (first) or column (second) vector whose axis is dropped from the result.
 */
export function matmul(a: NDArray, b: NDArray): NDArray {
  if (isBigIntDType(a.dtype) || isBigIntDType(b.dtype)) {
    throw new TypeError(
      `matmul of ${a.dtype} and ${b.dtype} is not supported yet (64-bit integer products are ` +
        'not built); convert with astype("float64") first',
    );
  }
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(
      `matmul: input operand ${a.ndim === 0 ? 0 : 1} does not have enough dimensions ` +
        "(it is 0-d); use multiply for scalars",
    );
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
  const dtype = promoteTypes(a.dtype, b.dtype);
  const out = new DTYPE_ARRAY[dtype](sizeOfShape(batch) * n * m);
  const aOffsets = batchOffsets(left), bOffsets = batchOffsets(right);
  // 64-bit integers were refused above: every element here is a number
  const aData = left.data as NumberArray, rightData = right.data as NumberArray;
  const outData = out as NumberArray;
  const [as0, as1] = left.strides.slice(-2), [bs0, bs1] = right.strides.slice(-2);
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
      row.fill(0);
      const aRow = aOffsets[t] + i * as0;
      for (let p = 0; p < k; p++) {
        const x = aData[aRow + p * as1];
        const bRow = bBase + p * bStep;
        for (let j = 0; j < m; j++) row[j] += x * bData[bRow + j];
      }
      const o = outBase + i * m;
      if (dtype === "bool") { for (let j = 0; j < m; j++) outData[o + j] = row[j] !== 0 ? 1 : 0; }
      else outData.set(row, o);
    }
  }
  let shape = [...batch, n, m];
  if (b.ndim === 1) shape = shape.slice(0, -1);
  if (a.ndim === 1) shape.splice(shape.length - (b.ndim === 1 ? 1 : 2), 1);
  return new NDArray(out, shape, { dtype });
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
