/**
 * Array creation: filled arrays, ranges, identity matrices, and conversion from nested JS
 * arrays or scalars.
 *
 * @module
 */
import {
  type DType,
  DTYPE_ARRAY,
  type Elements,
  NDArray,
  type NumericArray,
  sizeOfShape,
} from "../../../core/ndarray.ts";
import { elementOf } from "./bigint_math.ts";
import { resultType, scalarDType } from "./dtype.ts";
import { astype } from "./elementwise.ts";
import { formatShape } from "./layout.ts";

function checkShape(shape: readonly number[]): number[] {
  for (const n of shape) {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`invalid shape ${formatShape(shape)}: sizes must be integers >= 0`);
    }
  }
  return [...shape];
}

/**
 * An array of `shape` filled with `value` (default dtype: bool, int32 or float64 by value; int64
 * for a bigint).
 */
export function full(
  shape: readonly number[],
  value: number | boolean | bigint,
  dtype: DType = typeof value === "bigint" ? "int64" : scalarDType(value),
): NDArray {
  const s = checkShape(shape);
  const data = new DTYPE_ARRAY[dtype](sizeOfShape(s));
  const v = elementOf(dtype)(value);
  if (v !== 0 && v !== 0n) (data as { fill(v: number | bigint): unknown }).fill(v);
  return new NDArray(data, s, { dtype });
}

/** An array of zeros. */
export function zeros(shape: readonly number[], dtype: DType = "float64"): NDArray {
  return full(shape, 0, dtype);
}

/** An array of ones. */
export function ones(shape: readonly number[], dtype: DType = "float64"): NDArray {
  return full(shape, 1, dtype);
}

/**
 * Evenly spaced values in `[start, stop)` by `step` (with one argument, `[0, start)`). The
 * default dtype is int32 when every argument is an integer, else float64.
 */
export function arange(start: number, stop?: number, step = 1, dtype?: DType): NDArray {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(`arange step must be finite and non-zero, got ${step}`);
  }
  const length = Math.max(0, Math.ceil((to - from) / step));
  const type = dtype ?? resultType(from, to, step);
  const data = new DTYPE_ARRAY[type](length) as Elements;
  const element = elementOf(type);
  for (let i = 0; i < length; i++) data[i] = element(from + i * step);
  return new NDArray(data as NumericArray, [length], { dtype: type });
}

/**
 * The spacing of `linspace(start, stop, num)`, shared by the in-memory kernel and the chunked
 * array so both space values alike; fails on a count that is not a whole number >= 0.
 */
export function linspaceStep(start: number, stop: number, num: number, endpoint: boolean): number {
  if (!Number.isInteger(num) || num < 0) {
    throw new RangeError(`linspace needs a count num >= 0, got ${num}`);
  }
  const div = endpoint ? num - 1 : num;
  return div > 0 ? (stop - start) / div : 0;
}

/** `num` evenly spaced values from `start` to `stop` (included unless `endpoint` is false). */
export function linspace(
  start: number,
  stop: number,
  num = 50,
  options: { endpoint?: boolean; dtype?: DType } = {},
): NDArray {
  const endpoint = options.endpoint ?? true;
  const dtype = options.dtype ?? "float64";
  const step = linspaceStep(start, stop, num, endpoint);
  const data = new DTYPE_ARRAY[dtype](num) as Elements;
  const element = elementOf(dtype);
  for (let i = 0; i < num; i++) data[i] = element(start + i * step);
  if (endpoint && num > 1) data[num - 1] = element(stop);
  return new NDArray(data as NumericArray, [num], { dtype });
}

/** A 2-d array with ones on diagonal `k` (0: main, >0: above, <0: below). */
export function eye(n: number, m = n, k = 0, dtype: DType = "float64"): NDArray {
  const out = zeros([n, m], dtype);
  const data = out.data as Elements, one = elementOf(dtype)(1);
  for (let i = Math.max(0, -k); i < n && i + k < m; i++) data[i * m + i + k] = one;
  return out;
}

/**
 * An array from nested JS arrays of numbers or booleans (or a scalar, giving a 0-d array). The
 * nesting must be rectangular. The default dtype is bool when every leaf is a boolean, int64
 * when a leaf is a bigint, int32 when every leaf is an integer that fits, else float64.
 */
export function fromNested(value: unknown, dtype?: DType): NDArray {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  const leaves: (number | boolean | bigint)[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth === shape.length) {
      if (typeof v !== "number" && typeof v !== "boolean" && typeof v !== "bigint") {
        throw new TypeError(
          `fromNested expects numbers, bigints or booleans, got ${
            Array.isArray(v) ? "an array" : typeof v
          }` +
            ` at depth ${depth} (shape ${formatShape(shape)} inferred from the first elements)`,
        );
      }
      leaves.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new RangeError(
        `the nested arrays have an inhomogeneous shape after ${depth} dimensions: expected ` +
          `length ${shape[depth]} at depth ${depth} (shape ${formatShape(shape)})`,
      );
    }
    for (const item of v) walk(item, depth + 1);
  };
  walk(value, 0);
  const type = dtype ?? inferDType(leaves);
  const data = new DTYPE_ARRAY[type](leaves.length) as Elements;
  const element = elementOf(type);
  for (let i = 0; i < leaves.length; i++) data[i] = element(leaves[i]);
  return new NDArray(data as NumericArray, shape, { dtype: type });
}

function inferDType(leaves: readonly (number | boolean | bigint)[]): DType {
  if (leaves.length === 0) return "float64";
  if (leaves.every((v) => typeof v === "boolean")) return "bool";
  // a bigint asks for 64 bits; fractions beside it still need float64
  if (leaves.some((v) => typeof v === "bigint")) {
    return leaves.every((v) => typeof v !== "number" || Number.isInteger(v)) ? "int64" : "float64";
  }
  const numbers = leaves.filter((v) => typeof v === "number") as number[];
  return numbers.every((v) => scalarDType(v) === "int32") ? "int32" : "float64";
}

/** `x` as an array: an NDArray (converted when `dtype` differs), a scalar, or nested arrays. */
export function asArray(x: unknown, dtype?: DType): NDArray {
  if (x instanceof NDArray) return dtype === undefined ? x : astype(x, dtype, { copy: false });
  return fromNested(x, dtype);
}
