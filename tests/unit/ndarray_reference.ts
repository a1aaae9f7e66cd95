/**
 * Test support for the NDArray kernel tests: a seeded random source, random arrays laid out as
 * arbitrary strided views, and naive reference computations over flat C-order value lists
 * (plain loops over multi-indices, no kernel code).
 */
import assert from "node:assert/strict";
import { type DType, DTYPE_ARRAY, NDArray } from "../../core/ndarray.ts";
import { full } from "../../collections/array/kernels/create.ts";

export const ALL_DTYPES: DType[] = [
  "float64",
  "float32",
  "int32",
  "int16",
  "int8",
  "uint32",
  "uint16",
  "uint8",
  "bool",
];

/** A deterministic random source (mulberry32). */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
}

/** A random shape of 0 to `maxNdim` axes, with lengths 0 to 4 (0 rarely). */
export function randomShape(r: Random, maxNdim = 4): number[] {
  const ndim = r.int(0, maxNdim);
  return Array.from({ length: ndim }, () => (r.bool(0.05) ? 0 : r.pick([1, 1, 2, 3, 4])));
}

/** A random value that `dtype` holds exactly, from a small range (so products stay exact). */
export function randomValue(r: Random, dtype: DType, range = 9): number {
  if (dtype === "bool") return r.int(0, 1);
  if (dtype.startsWith("uint")) return r.int(0, range);
  if (dtype.startsWith("int")) return r.int(-range, range);
  const v = r.int(-range * 4, range * 4) / 4;
  return dtype === "float32" ? Math.fround(v) : v;
}

/** Flat C-order values and their shape: what the reference computations work on. */
export interface Ref {
  shape: number[];
  values: number[];
}

/** All multi-indices of `shape` in C order. */
export function indicesOf(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const walk = (prefix: number[]) => {
    if (prefix.length === shape.length) {
      out.push(prefix);
      return;
    }
    for (let i = 0; i < shape[prefix.length]; i++) walk([...prefix, i]);
  };
  walk([]);
  return out;
}

/** The C-order position of a multi-index. */
export function flatIndex(index: readonly number[], shape: readonly number[]): number {
  let p = 0;
  for (let i = 0; i < shape.length; i++) p = p * shape[i] + index[i];
  return p;
}

/** The values of `a` read element by element through `get` (independent of the kernels). */
export function refOf(a: NDArray): Ref {
  return { shape: [...a.shape], values: indicesOf(a.shape).map((ix) => a.get(...ix)) };
}

/**
 * An array of `shape` and `dtype` holding `values` (C order) in a random strided layout:
 * axes permuted in memory, steps of ±1 or ±2, and a random offset into a larger buffer.
 */
export function layoutArray(
  r: Random,
  shape: readonly number[],
  dtype: DType,
  values: number[],
): NDArray {
  const ndim = shape.length;
  const order = Array.from({ length: ndim }, (_, i) => i);
  if (r.bool(0.5)) order.sort(() => r.next() - 0.5);
  const steps = shape.map(() => (r.bool(0.6) ? 1 : r.pick([-1, 2, -2])));
  // Memory strides: the axis last in `order` varies fastest.
  const strides = new Array<number>(ndim).fill(0);
  let span = 1;
  for (let k = ndim - 1; k >= 0; k--) {
    const axis = order[k];
    strides[axis] = span * steps[axis];
    span *= Math.max(shape[axis], 1) * Math.abs(steps[axis]);
  }
  const pad = r.int(0, 3);
  let offset = pad;
  shape.forEach((n, i) => {
    if (strides[i] < 0 && n > 0) offset += -strides[i] * (n - 1);
  });
  const data = full([span + 2 * pad + 1], dtype === "bool" ? 0 : 77, dtype).data;
  const a = new NDArray(data, [...shape], { strides, offset, dtype });
  indicesOf(shape).forEach((ix, k) => {
    let p = offset;
    ix.forEach((v, i) => (p += v * strides[i]));
    data[p] = values[k];
  });
  return a;
}

/** A random array of `shape` (values from {@link randomValue}) in a random layout. */
export function randomArray(r: Random, shape: readonly number[], dtype: DType, range = 9): NDArray {
  const n = shape.reduce((p, d) => p * d, 1);
  const values = Array.from({ length: n }, () => randomValue(r, dtype, range));
  return layoutArray(r, shape, dtype, values);
}

/** `v` as stored in `dtype` (wrap-around for integers, rounding for float32, 0/1 for bool). */
export function coerce(v: number, dtype: DType): number {
  if (dtype === "bool") return v !== 0 ? 1 : 0;
  if (dtype === "int64" || dtype === "uint64") {
    if (!Number.isFinite(v)) return v;
    const wrap = dtype === "int64" ? BigInt.asIntN : BigInt.asUintN;
    return Number(wrap(64, BigInt(Math.trunc(v))));
  }
  const cell = new DTYPE_ARRAY[dtype](1);
  cell[0] = v;
  return cell[0];
}

/** NumPy broadcasting, spelled out naively. */
export function refBroadcastShape(shapes: number[][]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let k = 0; k < ndim; k++) {
    const sizes = shapes.map((s) => s[s.length - ndim + k] ?? 1).filter((n) => n !== 1);
    out.push(sizes.length === 0 ? 1 : sizes[0]);
  }
  return out;
}

/** The value of `ref` seen at `index` of a broadcast result. */
export function refAt(ref: Ref, index: readonly number[]): number {
  const lead = index.length - ref.shape.length;
  const own = ref.shape.map((n, i) => (n === 1 ? 0 : index[lead + i]));
  return ref.values[flatIndex(own, ref.shape)];
}

/** Asserts `actual` has `shape`, `dtype` and values close to `values` (NaN equals NaN). */
export function assertArray(
  actual: NDArray,
  expected: { shape: readonly number[]; values: readonly number[]; dtype?: DType },
  context: string,
  rtol = 1e-12,
): void {
  assert.deepEqual(actual.shape, expected.shape, `${context}: shape`);
  if (expected.dtype !== undefined) assert.equal(actual.dtype, expected.dtype, `${context}: dtype`);
  const got = refOf(actual).values;
  const tol = actual.dtype === "float32" ? Math.max(rtol, 1e-6) : rtol;
  got.forEach((g, i) => {
    const e = expected.values[i];
    const ok = Object.is(g, e) || g === e || (Number.isNaN(g) && Number.isNaN(e)) ||
      Math.abs(g - e) <= tol * Math.max(1, Math.abs(e));
    assert.ok(ok, `${context}: element ${i} is ${g}, expected ${e}`);
  });
}
