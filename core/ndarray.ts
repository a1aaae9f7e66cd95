/**
 * The chunk type of the array collection: an n-dimensional view over a typed array.
 *
 * It lives in core because every side handles it: the value codec sends it (dtype, shape and
 * one buffer, without copying), workers store it, and the array kernels compute with it.
 * Kernels live in collections/array/.
 *
 * @module
 */

/** The element types an {@link NDArray} can hold. */
export type DType =
  | "float64"
  | "float32"
  | "int32"
  | "int16"
  | "int8"
  | "uint32"
  | "uint16"
  | "uint8"
  | "int64"
  | "uint64"
  | "bool";

/** The typed array that stores each dtype (`bool` is stored as bytes 0/1). */
export type TypedArrayFor<D extends DType> = D extends "float64" ? Float64Array
  : D extends "float32" ? Float32Array
  : D extends "int32" ? Int32Array
  : D extends "int16" ? Int16Array
  : D extends "int8" ? Int8Array
  : D extends "uint32" ? Uint32Array
  : D extends "uint16" ? Uint16Array
  : D extends "int64" ? BigInt64Array
  : D extends "uint64" ? BigUint64Array
  : Uint8Array;

/** The typed arrays whose elements are JS numbers. */
export type NumberArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array;

/** The typed arrays of the 64-bit integer dtypes, whose elements are JS bigints. */
export type BigIntArray = BigInt64Array | BigUint64Array;

/** Any typed array an NDArray may be backed by. */
export type NumericArray = NumberArray | BigIntArray;

/**
 * A typed array seen as slots of either element kind: for copies between arrays of one dtype
 * (number or bigint alike), which TypeScript cannot follow through the union.
 */
export type Elements = { [index: number]: number | bigint; readonly length: number };

/** The constructor of the typed array backing a dtype. */
export const DTYPE_ARRAY = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint32: Uint32Array,
  uint16: Uint16Array,
  uint8: Uint8Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
} as const;

/** True for the 64-bit integer dtypes, whose elements are JS `bigint`s. */
export function isBigIntDType(dtype: DType): dtype is "int64" | "uint64" {
  return dtype === "int64" || dtype === "uint64";
}

/** The dtype a typed array holds (a `Uint8Array` is `uint8` unless said to be `bool`). */
export function dtypeOf(data: NumericArray): DType {
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof BigUint64Array) return "uint64";
  return "uint8";
}

/** Row-major (C order) strides, in elements, for a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i];
  }
  return strides;
}

/** The number of elements of a shape. */
export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * An n-dimensional array: `data` read through `shape`, `strides` (in elements, may be negative)
 * and `offset`. Views (transpose, basic slicing) share `data`.
 */
export class NDArray {
  /** The element type. */
  readonly dtype: DType;
  /** Length along each axis. */
  readonly shape: readonly number[];
  /** Elements to step in `data` per step along each axis (may be negative). */
  readonly strides: readonly number[];
  /** Index in `data` of the first element. */
  readonly offset: number;
  /** The backing typed array (shared by views). */
  readonly data: NumericArray;
  /** Number of elements. */
  readonly size: number;

  /**
   * Wraps `data` as an array of `shape` (row-major unless `strides` say otherwise).
   *
   * @example
   * ```ts
   * import { NDArray } from "./mod.ts";
   * const m = new NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
   * m.get(1, 2); // 6
   * ```
   */
  constructor(
    data: NumericArray,
    shape: readonly number[] = [data.length],
    options: { strides?: readonly number[]; offset?: number; dtype?: DType } = {},
  ) {
    this.data = data;
    this.shape = shape;
    this.strides = options.strides ?? contiguousStrides(shape);
    this.offset = options.offset ?? 0;
    this.dtype = options.dtype ?? dtypeOf(data);
    this.size = sizeOfShape(shape);
    if (this.dtype === "bool" && !(data instanceof Uint8Array)) {
      throw new TypeError("A bool NDArray must be backed by a Uint8Array of 0 and 1.");
    }
  }

  /** The number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Bytes of the elements this array spans (not of the whole backing buffer). */
  get nbytes(): number {
    return this.size * this.data.BYTES_PER_ELEMENT;
  }

  /** True when the elements are laid out row-major from `offset` with no gaps. */
  get isContiguous(): boolean {
    let step = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== step) return false;
      step *= this.shape[i];
    }
    return true;
  }

  /** The elements in row-major order as a typed array of exactly `size` elements (a view when possible). */
  contiguousData(): NumericArray {
    if (this.isContiguous) {
      return this.offset === 0 && this.data.length === this.size
        ? this.data
        : this.data.subarray(this.offset, this.offset + this.size) as NumericArray;
    }
    const Ctor = DTYPE_ARRAY[this.dtype];
    const out = new Ctor(this.size);
    const ndim = this.shape.length;
    if (ndim === 0) {
      (out as Elements)[0] = this.data[this.offset];
      return out;
    }
    const index = new Array<number>(ndim).fill(0);
    let src = this.offset;
    const last = ndim - 1;
    const lastLen = this.shape[last];
    const lastStride = this.strides[last];
    for (let o = 0; o < this.size;) {
      for (let j = 0, s = src; j < lastLen; j++, s += lastStride) {
        (out as Elements)[o++] = this.data[s];
      }
      // advance the outer index like an odometer
      let d = last - 1;
      for (; d >= 0; d--) {
        index[d]++;
        src += this.strides[d];
        if (index[d] < this.shape[d]) break;
        src -= this.strides[d] * this.shape[d];
        index[d] = 0;
      }
      if (d < 0) break;
    }
    return out;
  }

  /** A contiguous copy-or-self of this array. */
  toContiguous(): NDArray {
    if (this.isContiguous && this.offset === 0 && this.data.length === this.size) return this;
    return new NDArray(this.contiguousData(), this.shape, { dtype: this.dtype });
  }

  /**
   * The element at a full index as a number (int64/uint64 elements converted, exact up to 2^53;
   * read `data` for the bigint itself).
   */
  get(...index: number[]): number {
    let p = this.offset;
    for (let i = 0; i < index.length; i++) p += index[i] * this.strides[i];
    return Number(this.data[p]);
  }

  /**
   * The elements in row-major order as JS numbers: {@link contiguousData}, with 64-bit integers
   * converted (exact up to 2^53). For positions, counts and other values that are numbers.
   */
  numbers(): NumberArray {
    const flat = this.contiguousData();
    if (!(flat instanceof BigInt64Array || flat instanceof BigUint64Array)) return flat;
    const out = new Float64Array(flat.length);
    for (let i = 0; i < flat.length; i++) out[i] = Number(flat[i]);
    return out;
  }

  /**
   * The element of a one-element array (a full reduction's 0-d result) as a JS number, as
   * NumPy's `item()`; `bool` gives 0 or 1.
   */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(
        `item() needs an array of one element; this one has shape (${this.shape.join(", ")}) ` +
          `and ${this.size} elements. Use get(...index) or toArray().`,
      );
    }
    return Number(this.data[this.offset]);
  }

  /**
   * A 0-d array reads as its number (`${total}`, `+total`, `total > 3`), as NumPy's scalars do;
   * other arrays as their short description.
   */
  [Symbol.toPrimitive](hint: string): number | string {
    if (this.shape.length === 0) return hint === "string" ? String(this.item()) : this.item();
    return `NDArray<${this.dtype}, shape=(${this.shape.join(", ")}${
      this.shape.length === 1 ? "," : ""
    })>`;
  }

  /** `console.log` shows a 0-d array as its number; other arrays as usual. */
  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options?: unknown) => string,
    options: unknown,
  ): string {
    if (this.shape.length === 0) return inspect(this.item(), options);
    return `NDArray ${inspect({ ...this }, options)}`;
  }

  /** Nested JS arrays (a number for 0-d arrays); `bool` gives booleans, int64/uint64 bigints. */
  toArray(): unknown {
    const flat = this.contiguousData();
    const asBool = this.dtype === "bool";
    const build = (dim: number, start: number): unknown => {
      if (dim === this.shape.length) return asBool ? flat[start] !== 0 : flat[start];
      const n = this.shape[dim];
      let step = 1;
      for (let d = dim + 1; d < this.shape.length; d++) step *= this.shape[d];
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = build(dim + 1, start + i * step);
      return out;
    };
    return build(0, 0);
  }
}
