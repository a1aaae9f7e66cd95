/**
 * NumPy broadcasting: shapes align on their last axes; an axis of length 1 (or a missing one)
 * stretches to the other's length by reading with stride 0, so nothing is copied.
 *
 * @module
 */
import type { NDArray } from "../../../core/ndarray.ts";
import { formatShape, viewOf } from "./layout.ts";

/** The shape `shapes` broadcast to; throws a RangeError naming all shapes when they cannot. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  let ndim = 0;
  for (const s of shapes) ndim = Math.max(ndim, s.length);
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const axis = ndim - s.length + i, n = s[i];
      if (n === out[axis] || n === 1) continue;
      if (out[axis] !== 1) {
        throw new RangeError(
          `operands could not be broadcast together with shapes ${
            shapes.map(formatShape).join(" ")
          }`,
        );
      }
      out[axis] = n;
    }
  }
  return out;
}

/** The strides that read `a` as if it had `shape` (which `a.shape` must broadcast to). */
export function broadcastStrides(a: NDArray, shape: readonly number[]): number[] {
  const lead = shape.length - a.ndim;
  return shape.map((n, axis) => {
    const i = axis - lead;
    return i < 0 || (a.shape[i] === 1 && n !== 1) ? 0 : a.strides[i];
  });
}

/** A read-only-by-convention view of `a` stretched to `shape`; throws when it cannot stretch. */
export function broadcastTo(a: NDArray, shape: readonly number[]): NDArray {
  const lead = shape.length - a.ndim;
  const ok = lead >= 0 && a.shape.every((n, i) => n === shape[i + lead] || n === 1);
  if (!ok) {
    throw new RangeError(
      `cannot broadcast an array of shape ${formatShape(a.shape)} to shape ${formatShape(shape)}`,
    );
  }
  return viewOf(a, [...shape], broadcastStrides(a, shape), a.offset);
}
