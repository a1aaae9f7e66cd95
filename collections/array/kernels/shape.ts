/**
 * Shape manipulation. reshape, transpose, swapaxes, moveaxis, expandDims, squeeze and ravel
 * return views whenever the layout allows (reshape copies only when no strides can express
 * the new shape, as NumPy does); concatenate and stack build new arrays.
 *
 * @module
 */
import { contiguousStrides, DTYPE_ARRAY, NDArray, sizeOfShape } from "../../../core/ndarray.ts";
import { promoteTypes } from "./dtype.ts";
import { assign } from "./elementwise.ts";
import { checkStackShapes, formatShape, normalizeAxes, normalizeAxis, viewOf } from "./layout.ts";

/**
 * `a` with a new shape of the same size; one entry may be -1 (inferred). A view when strides
 * can express it (always for contiguous arrays), else a C-order copy.
 */
export function reshape(a: NDArray, shape: readonly number[]): NDArray {
  const target = resolveShape(a.size, shape);
  const strides = a.size === 0 ? contiguousStrides(target) : viewStrides(a, target);
  if (strides !== undefined) return viewOf(a, target, strides, a.offset);
  return new NDArray(a.contiguousData(), target, { dtype: a.dtype });
}

/** `shape` with its -1 filled in; throws when the sizes cannot agree. */
function resolveShape(size: number, shape: readonly number[]): number[] {
  const unknown = shape.filter((n) => n === -1).length;
  if (unknown > 1) throw new RangeError("can only specify one unknown dimension (-1) in reshape");
  for (const n of shape) {
    if (!Number.isInteger(n) || n < -1) {
      throw new RangeError(`invalid shape ${formatShape(shape)}: sizes must be integers >= 0`);
    }
  }
  const known = shape.reduce((p, n) => (n === -1 ? p : p * n), 1);
  const out = [...shape];
  if (unknown === 1) {
    const i = shape.indexOf(-1);
    if (known !== 0 && size % known === 0) out[i] = size / known;
  }
  if (out.includes(-1) || sizeOfShape(out) !== size) {
    throw new RangeError(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
  }
  return out;
}

/**
 * Strides that read `a`'s elements in C order as `shape`, or undefined when none exist (NumPy's
 * attempt_nocopy_reshape): each group of old axes that multiplies to a group of new axes must
 * be contiguous within itself.
 */
function viewStrides(a: NDArray, shape: readonly number[]): number[] | undefined {
  const oldShape: number[] = [], oldStrides: number[] = [];
  a.shape.forEach((n, i) => {
    if (n !== 1) oldShape.push(n), oldStrides.push(a.strides[i]);
  });
  const strides = new Array<number>(shape.length).fill(1);
  let oi = 0, oj = 1, ni = 0, nj = 1;
  while (ni < shape.length && oi < oldShape.length) {
    let np = shape[ni], op = oldShape[oi];
    while (np !== op) {
      if (np < op) np *= shape[nj++];
      else op *= oldShape[oj++];
    }
    for (let k = oi; k < oj - 1; k++) {
      if (oldStrides[k] !== oldShape[k + 1] * oldStrides[k + 1]) return undefined;
    }
    strides[nj - 1] = oldStrides[oj - 1];
    for (let k = nj - 1; k > ni; k--) strides[k - 1] = strides[k] * shape[k];
    ni = nj++;
    oi = oj++;
  }
  // Trailing length-1 axes: any stride works; reuse the last one.
  for (let k = ni; k < shape.length; k++) strides[k] = ni > 0 ? strides[ni - 1] : 1;
  return strides;
}

/** `a` flattened to 1-d (a view when possible). */
export function ravel(a: NDArray): NDArray {
  return reshape(a, [a.size]);
}

/** A view with axes permuted (`axes[i]` is the old axis that becomes axis i; default: reversed). */
export function transpose(a: NDArray, axes?: readonly number[]): NDArray {
  const order = axes === undefined
    ? a.shape.map((_, i) => a.ndim - 1 - i)
    : axes.map((x) => normalizeAxis(x, a.ndim));
  if (order.length !== a.ndim || new Set(order).size !== a.ndim) {
    throw new RangeError(
      `axes [${axes}] don't match an array of ${a.ndim} dimensions: pass a permutation of 0..${
        a.ndim - 1
      }`,
    );
  }
  return viewOf(a, order.map((i) => a.shape[i]), order.map((i) => a.strides[i]), a.offset);
}

/** A view with axes `i` and `j` exchanged. */
export function swapaxes(a: NDArray, i: number, j: number): NDArray {
  const order = a.shape.map((_, k) => k);
  const x = normalizeAxis(i, a.ndim), y = normalizeAxis(j, a.ndim);
  [order[x], order[y]] = [order[y], order[x]];
  return transpose(a, order);
}

/** A view with axis `source` moved to position `destination`, the others keeping their order. */
export function moveaxis(a: NDArray, source: number, destination: number): NDArray {
  const from = normalizeAxis(source, a.ndim), to = normalizeAxis(destination, a.ndim);
  const order = a.shape.map((_, k) => k).filter((k) => k !== from);
  order.splice(to, 0, from);
  return transpose(a, order);
}

/** A view with a new length-1 axis at each of `axis` (positions in the result). */
export function expandDims(a: NDArray, axis: number | readonly number[]): NDArray {
  const count = typeof axis === "number" ? 1 : axis.length;
  const axes = normalizeAxes(axis, a.ndim + count);
  const shape = [...a.shape], strides = [...a.strides];
  for (const i of axes) {
    shape.splice(i, 0, 1);
    strides.splice(i, 0, 0);
  }
  return viewOf(a, shape, strides, a.offset);
}

/** A view without length-1 axes (all of them, or those named, which must have length 1). */
export function squeeze(a: NDArray, axis?: number | readonly number[] | null): NDArray {
  const axes = axis === undefined || axis === null
    ? a.shape.flatMap((n, i) => (n === 1 ? [i] : []))
    : normalizeAxes(axis, a.ndim);
  for (const i of axes) {
    if (a.shape[i] !== 1) {
      throw new RangeError(
        `cannot select an axis to squeeze out which has size not equal to one (axis ${i} of ${
          formatShape(a.shape)
        })`,
      );
    }
  }
  const keep = (_: number, i: number) => !axes.includes(i);
  return viewOf(a, a.shape.filter(keep), a.strides.filter(keep), a.offset);
}

/**
 * Joins arrays along an existing axis (`null`: flattens them first). The dtype is the promotion
 * of all inputs; every other axis must match.
 */
export function concatenate(arrays: readonly NDArray[], axis: number | null = 0): NDArray {
  if (arrays.length === 0) throw new RangeError("need at least one array to concatenate");
  const parts = axis === null ? arrays.map(ravel) : arrays;
  const first = parts[0];
  if (first.ndim === 0) throw new RangeError("zero-dimensional arrays cannot be concatenated");
  const ax = normalizeAxis(axis ?? 0, first.ndim);
  parts.forEach((p, k) => {
    if (p.ndim !== first.ndim) {
      throw new RangeError(
        "all the input arrays must have same number of dimensions, but the array at index 0 " +
          `has ${first.ndim} dimension(s) and the array at index ${k} has ${p.ndim} dimension(s)`,
      );
    }
    p.shape.forEach((n, d) => {
      if (d !== ax && n !== first.shape[d]) {
        throw new RangeError(
          "all the input array dimensions except for the concatenation axis must match " +
            `exactly, but along dimension ${d}, the array at index 0 has size ${
              first.shape[d]
            } and the array at index ${k} has size ${n}`,
        );
      }
    });
  });
  const dtype = parts.map((p) => p.dtype).reduce(promoteTypes);
  const shape = [...first.shape];
  shape[ax] = parts.reduce((n, p) => n + p.shape[ax], 0);
  const out = new NDArray(new DTYPE_ARRAY[dtype](sizeOfShape(shape)), shape, { dtype });
  let start = 0;
  for (const p of parts) {
    assign(viewOf(out, p.shape, out.strides, start * out.strides[ax]), p);
    start += p.shape[ax];
  }
  return out;
}

/** Joins same-shaped arrays along a new axis at position `axis` of the result. */
export function stack(arrays: readonly NDArray[], axis = 0): NDArray {
  if (arrays.length === 0) throw new RangeError("need at least one array to stack");
  const shape = arrays[0].shape;
  checkStackShapes(arrays.map((a) => a.shape));
  const ax = normalizeAxis(axis, shape.length + 1);
  return concatenate(arrays.map((a) => expandDims(a, ax)), ax);
}
