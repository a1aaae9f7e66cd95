/**
 * Small layout helpers every kernel shares: shape formatting for error messages, axis
 * normalisation, views over the same buffer, and element offsets of a strided walk.
 *
 * @module
 */
import { NDArray } from "../../../core/ndarray.ts";

/** A kernel operand: an array, or a JS scalar that broadcasts. */
export type Operand = NDArray | number | boolean;

/** NumPy's tuple spelling of a shape, used in error messages: `(3,4)`, `(5,)`, `()`. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(",")})`;
}

/**
 * Refuses arrays to stack whose shapes differ (NumPy's message). An unknown length (NaN, a lazy
 * array's unknown chunk) matches another unknown length, as it may be the same.
 */
export function checkStackShapes(shapes: readonly (readonly number[])[]): void {
  const first = shapes[0];
  shapes.forEach((shape, k) => {
    if (
      shape.length !== first.length ||
      shape.some((n, d) => n !== first[d] && !(Number.isNaN(n) && Number.isNaN(first[d])))
    ) {
      throw new RangeError(
        `all input arrays must have the same shape, but the array at index 0 has shape ${
          formatShape(first)
        } and the array at index ${k} has shape ${formatShape(shape)}`,
      );
    }
  });
}

/** Checks an axis against `ndim` and turns a negative axis into its positive form. */
export function normalizeAxis(axis: number, ndim: number): number {
  if (!Number.isInteger(axis)) {
    throw new TypeError(`axis must be an integer, got ${axis}`);
  }
  if (axis < -ndim || axis >= ndim) {
    throw new RangeError(`axis ${axis} is out of bounds for array of dimension ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalises `axis` (one, several, or `null`/`undefined` for all) to sorted distinct axes. */
export function normalizeAxes(
  axis: number | readonly number[] | null | undefined,
  ndim: number,
): number[] {
  if (axis === null || axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === "number" ? [axis] : axis;
  const out = list.map((a) => normalizeAxis(a, ndim)).sort((x, y) => x - y);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) {
      throw new RangeError(`duplicate value in 'axis': [${list.join(", ")}]`);
    }
  }
  return out;
}

/** A view of `a`'s buffer with another shape, strides and offset (no copy). */
export function viewOf(
  a: NDArray,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): NDArray {
  return new NDArray(a.data, shape, { strides, offset, dtype: a.dtype });
}

/** A 0-d float64 array holding a JS scalar (booleans become 0/1), so kernels can read it. */
export function scalarArray(value: number | boolean): NDArray {
  return new NDArray(new Float64Array([+value]), []);
}

/** An operand as an array: NDArray unchanged, scalars as 0-d float64. */
export function operandArray(x: Operand): NDArray {
  return x instanceof NDArray ? x : scalarArray(x);
}

/**
 * The element offsets a C-order walk over `shape` with `strides` visits, starting at `base`.
 * Gather kernels (take, boolean masks) combine such tables instead of walking per element.
 */
export function offsetsOf(
  shape: readonly number[],
  strides: readonly number[],
  base = 0,
): Float64Array {
  let size = 1;
  for (const d of shape) size *= d;
  const out = new Float64Array(size);
  if (size === 0) return out;
  out[0] = base;
  let filled = 1;
  // Build from the last axis outwards: each axis repeats the table built so far.
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d], s = strides[d];
    for (let i = 1; i < n; i++) {
      const shift = i * s;
      for (let j = 0; j < filled; j++) out[i * filled + j] = out[j] + shift;
    }
    filled *= n;
  }
  return out;
}
