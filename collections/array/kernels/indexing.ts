/**
 * Indexing. Basic indexing (integers, slices with any step, `null` for a new axis, `"..."`)
 * returns a view; `take` (integer lists along one axis) and `booleanMask` copy, as in NumPy.
 *
 * @module
 */
import { DTYPE_ARRAY, NDArray, type NumericArray } from "../../../core/ndarray.ts";
import { formatShape, normalizeAxis, offsetsOf, viewOf } from "./layout.ts";
import { ravel } from "./shape.ts";

/** A slice of one axis, with Python's meaning for missing or negative bounds and steps. */
export interface Slice {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/** One index item: an integer (drops the axis), a slice, `null` (new axis) or `"..."`. */
export type IndexItem = number | Slice | null | "...";

/** The items of a basic index, one per axis (missing trailing axes are taken whole). */
export type IndexSpec = readonly IndexItem[];

/** An axis index, negatives counting from the end; throws NumPy's message when out of range. */
export function normalizeIndex(index: number, size: number, axis: number): number {
  if (!Number.isInteger(index)) {
    throw new TypeError(`only integers can index an axis, got ${index} for axis ${axis}`);
  }
  if (index < -size || index >= size) {
    throw new RangeError(`index ${index} is out of bounds for axis ${axis} with size ${size}`);
  }
  return index < 0 ? index + size : index;
}

/** A slice resolved against an axis of length `size`: first index, step and count. */
export function resolveSlice(
  s: Slice,
  size: number,
): { start: number; step: number; length: number } {
  const step = s.step ?? 1;
  if (!Number.isInteger(step) || step === 0) {
    throw new RangeError(`slice step must be a non-zero integer, got ${step}`);
  }
  const bound = (value: number | null | undefined, fallback: number) => {
    if (value === null || value === undefined) return fallback;
    if (!Number.isInteger(value)) {
      throw new TypeError(`slice bounds must be integers, got ${value}`);
    }
    const v = value < 0 ? value + size : value;
    // Clamp as Python does: to [0, size] going forward, to [-1, size - 1] going backward.
    return step > 0 ? Math.min(Math.max(v, 0), size) : Math.min(Math.max(v, -1), size - 1);
  };
  const start = bound(s.start, step > 0 ? 0 : size - 1);
  const stop = bound(s.stop, step > 0 ? size : -1);
  const length = Math.max(0, Math.ceil((stop - start) / step));
  return { start, step, length };
}

/** A view of `a` selected by a basic index (see {@link IndexSpec}); never copies. */
export function slice(a: NDArray, spec: IndexSpec | IndexItem): NDArray {
  const items: readonly IndexItem[] = Array.isArray(spec) ? spec : [spec as IndexItem];
  const ellipses = items.filter((x) => x === "...").length;
  if (ellipses > 1) throw new RangeError("an index can only have a single ellipsis ('...')");
  const consumed = items.filter((x) => x !== null && x !== "...").length;
  if (consumed > a.ndim) {
    throw new RangeError(
      `too many indices for array: array is ${a.ndim}-dimensional, but ${consumed} were indexed`,
    );
  }
  const shape: number[] = [], strides: number[] = [];
  let offset = a.offset, axis = 0;
  const whole = () => {
    shape.push(a.shape[axis]);
    strides.push(a.strides[axis]);
    axis++;
  };
  for (const item of items) {
    if (item === "...") {
      for (let k = 0; k < a.ndim - consumed; k++) whole();
    } else if (item === null) {
      shape.push(1);
      strides.push(0);
    } else if (typeof item === "number") {
      offset += normalizeIndex(item, a.shape[axis], axis) * a.strides[axis];
      axis++;
    } else {
      const { start, step, length } = resolveSlice(item, a.shape[axis]);
      if (length > 0) offset += start * a.strides[axis];
      shape.push(length);
      strides.push(a.strides[axis] * step);
      axis++;
    }
  }
  while (axis < a.ndim) whole();
  return viewOf(a, shape, strides, offset);
}

/**
 * Parses NumPy index text such as `":100, 500:100:-2"`, `"..., 0"` or `"None, 1:"` into an
 * {@link IndexSpec}. Items are integers, `start:stop[:step]` with any part empty, `...`, and
 * `None` or `newaxis`.
 */
export function parseIndex(text: string): IndexItem[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  const parts = trimmed.split(",").map((p) => p.trim());
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop(); // "1," as in Python
  const integer = (t: string, item: string): number | null => {
    if (t === "") return null;
    if (!/^[+-]?\d+$/.test(t)) throw badItem(item, text);
    return Number(t);
  };
  return parts.map((item): IndexItem => {
    if (item === "...") return "...";
    if (item === "None" || item === "newaxis") return null;
    if (!item.includes(":")) {
      const n = integer(item, item);
      if (n === null) throw badItem(item, text);
      return n;
    }
    const fields = item.split(":");
    if (fields.length > 3) throw badItem(item, text);
    const [start, stop, step] = fields.map((f) => integer(f.trim(), item));
    const out: Slice = {};
    if (start !== null) out.start = start;
    if (stop !== null && stop !== undefined) out.stop = stop;
    if (step !== null && step !== undefined) out.step = step;
    return out;
  });
}

function badItem(item: string, text: string): SyntaxError {
  return new SyntaxError(
    `cannot parse index item '${item}' in '${text}': expected an integer, start:stop:step, ` +
      "'...' or 'None'",
  );
}

/**
 * Elements at integer `indices` along `axis` (negatives count from the end); with no axis, of
 * the flattened array. The result's axis is replaced by the indices' shape.
 */
export function take(
  a: NDArray,
  indices: readonly number[] | NumericArray | NDArray,
  axis?: number | null,
): NDArray {
  const src = axis === undefined || axis === null ? ravel(a) : a;
  const ax = axis === undefined || axis === null ? 0 : normalizeAxis(axis, a.ndim);
  const indexShape = indices instanceof NDArray ? [...indices.shape] : [indices.length];
  const list = indices instanceof NDArray
    ? indices.numbers()
    : indices instanceof BigInt64Array || indices instanceof BigUint64Array
    ? Array.from(indices, Number)
    : indices;
  const size = src.shape[ax], stride = src.strides[ax];
  const picked = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) picked[i] = normalizeIndex(list[i], size, ax) * stride;
  const others = (xs: readonly number[], from: number, to?: number) => xs.slice(from, to);
  const outer = offsetsOf(others(src.shape, 0, ax), others(src.strides, 0, ax), src.offset);
  const inner = offsetsOf(others(src.shape, ax + 1), others(src.strides, ax + 1));
  const shape = [...src.shape.slice(0, ax), ...indexShape, ...src.shape.slice(ax + 1)];
  return gather(src, shape, outer, picked, inner);
}

/**
 * Elements where the bool `mask` is true; `mask` covers the leading axes of `a` (its shape
 * must equal theirs), and the result has one axis for the selected positions followed by the
 * remaining axes of `a`.
 */
export function booleanMask(a: NDArray, mask: NDArray): NDArray {
  if (mask.dtype !== "bool") {
    throw new TypeError(
      `a boolean mask must have dtype bool, got ${mask.dtype}; use take for integer indices`,
    );
  }
  if (mask.ndim > a.ndim) {
    throw new RangeError(
      `too many indices for array: array is ${a.ndim}-dimensional, but ${mask.ndim} were indexed`,
    );
  }
  mask.shape.forEach((n, i) => {
    if (n !== a.shape[i]) {
      throw new RangeError(
        `boolean index did not match indexed array along axis ${i}; size of axis is ${
          a.shape[i]
        } but size of corresponding boolean axis is ${n} (mask ${formatShape(mask.shape)}, ` +
          `array ${formatShape(a.shape)})`,
      );
    }
  });
  const flags = mask.contiguousData();
  const lead = offsetsOf(a.shape.slice(0, mask.ndim), a.strides.slice(0, mask.ndim), a.offset);
  let count = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i] !== 0) count++;
  const picked = new Float64Array(count);
  for (let i = 0, k = 0; i < flags.length; i++) if (flags[i] !== 0) picked[k++] = lead[i];
  const inner = offsetsOf(a.shape.slice(mask.ndim), a.strides.slice(mask.ndim));
  return gather(a, [count, ...a.shape.slice(mask.ndim)], new Float64Array([0]), picked, inner);
}

/** Copies `a.data[o + p + i]` for every outer offset o, picked offset p and inner offset i. */
function gather(
  a: NDArray,
  shape: number[],
  outer: Float64Array,
  picked: Float64Array,
  inner: Float64Array,
): NDArray {
  const out = new DTYPE_ARRAY[a.dtype](outer.length * picked.length * inner.length);
  const data = a.data;
  let k = 0;
  for (let o = 0; o < outer.length; o++) {
    for (let p = 0; p < picked.length; p++) {
      const base = outer[o] + picked[p];
      for (let i = 0; i < inner.length; i++) out[k++] = data[base + inner[i]];
    }
  }
  return new NDArray(out, shape, { dtype: a.dtype });
}
