/**
 * Making arrays: from data in memory, from Delayed values, and filled, ranged or identity
 * arrays. Filled and ranged blocks are made inside whichever task first needs them (they are
 * cheaper to make than to move).
 *
 * @module
 */
import { linspaceStep } from "./kernels/create.ts";
import { type DType, NDArray, type NumericArray } from "../../core/ndarray.ts";
import { chunkKey, type Key, makeLiteral, makeTask, TaskRef } from "../../core/task.ts";
import { tokenize } from "../../core/tokenize.ts";
import { Delayed } from "../delayed.ts";
import type { Layer } from "../collection.ts";
import { blockExpr } from "./block_expr.ts";
import { blockShape, type ChunksSpec, normalizeChunks, offsetsOf } from "./chunks.ts";
import { evalBlock } from "./chunk_tasks.ts";
import { DArray } from "./darray.ts";
import { astype, formatShape, fromNested, resultType, scalarDType, slice } from "./kernels/mod.ts";

/** Options of the creation functions: how to cut the array, and its dtype. */
export interface CreationOptions {
  /** Block layout (see {@link ChunksSpec}); default `"auto"` (blocks of about 128 MiB). */
  chunks?: ChunksSpec;
  /** Element type. */
  dtype?: DType;
}

/** A shape given as one length or a list of lengths. */
export type ShapeLike = number | readonly number[];

/** A shape as a list, checked. */
export function toShape(shape: ShapeLike): number[] {
  const list = typeof shape === "number" ? [shape] : [...shape];
  for (const n of list) {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`invalid shape ${formatShape(list)}: lengths must be integers >= 0`);
    }
  }
  return list;
}

/** An array whose block `index` is `make(index, shape, offsets)`, made where it is needed. */
export function createArray(
  prefix: string,
  shape: readonly number[],
  dtype: DType,
  chunksSpec: ChunksSpec | undefined,
  token: unknown,
  make: (index: readonly number[], shape: number[], start: number[]) => unknown,
): DArray {
  const chunks = normalizeChunks(chunksSpec ?? "auto", shape, { dtype });
  const starts = chunks.map(offsetsOf);
  const name = `${prefix}-${tokenize(prefix, token, chunks, dtype)}`;
  return new DArray(name, chunks, dtype, {
    kind: "blocks",
    inputs: [],
    oneToOne: [],
    inline: true,
    block: (index) =>
      make(index, blockShape(chunks, index), index.map((i, axis) => starts[axis][i])),
  });
}

/** Options of {@link fromArray}. */
export interface FromArrayOptions extends CreationOptions {
  /** The shape of a flat typed array's elements (row-major); default: one axis. */
  shape?: readonly number[];
}

/** The data `fromArray` accepts: an NDArray, a typed array, nested JS arrays, or a scalar. */
export type ArrayData = NDArray | NumericArray | unknown[] | number | boolean;

/**
 * An array over data in memory, cut into blocks.
 *
 * @example
 * ```ts
 * import { array } from "./mod.ts";
 * const x = array.fromArray([[1, 2, 3], [4, 5, 6]], { chunks: [1, 3] });
 * x.numblocks; // [2, 1]
 * ```
 */
export function fromArray<T extends DType>(
  data: ArrayData,
  options: FromArrayOptions & { dtype: T },
): DArray<T>;
/** An int64 array over a BigInt64Array (its sums are bigints). */
export function fromArray(
  data: BigInt64Array,
  options?: FromArrayOptions & { dtype?: undefined },
): DArray<"int64">;
/** A uint64 array over a BigUint64Array (its sums are bigints). */
export function fromArray(
  data: BigUint64Array,
  options?: FromArrayOptions & { dtype?: undefined },
): DArray<"uint64">;
/** An array over `data`, of its dtype. */
export function fromArray(data: ArrayData, options?: FromArrayOptions): DArray;
export function fromArray(data: ArrayData, options: FromArrayOptions = {}): DArray {
  let value: NDArray;
  if (data instanceof NDArray) value = data;
  else if (ArrayBuffer.isView(data)) {
    const typed = data as NumericArray;
    value = new NDArray(typed, options.shape ?? [typed.length]);
    if (value.size !== typed.length) {
      throw new RangeError(
        `a typed array of ${typed.length} elements cannot have shape ` +
          `${formatShape(options.shape ?? [])}`,
      );
    }
  } else value = fromNested(data);
  if (options.dtype !== undefined) value = astype(value, options.dtype, { copy: false });
  const dtype = value.dtype;
  const chunks = normalizeChunks(options.chunks ?? "auto", value.shape, { dtype });
  const starts = chunks.map(offsetsOf);
  const name = `array-${tokenize(value, chunks, dtype)}`;
  return new DArray(name, chunks, dtype, {
    kind: "blocks",
    inputs: [],
    oneToOne: [],
    block: (index) => {
      // a view: encoding copies only the block's own elements
      return slice(
        value,
        index.map((i, axis) => ({ start: starts[axis][i], stop: starts[axis][i + 1] })),
      );
    },
  });
}

/** Splits `args` into leading numbers and a trailing options object. */
function splitOptions<O extends object>(
  args: readonly unknown[],
): { numbers: number[]; options: O } {
  const last = args[args.length - 1];
  const hasOptions = typeof last === "object" && last !== null;
  const numbers = (hasOptions ? args.slice(0, -1) : args) as number[];
  return { numbers, options: (hasOptions ? last : {}) as O };
}

/**
 * Evenly spaced values in `[start, stop)` by `step`, as NumPy's arange: `arange(stop)`,
 * `arange(start, stop)`, `arange(start, stop, step)`, each with optional trailing options. The
 * dtype is int32 when every argument is an integer, else float64.
 *
 * @example
 * ```ts
 * import { array } from "./mod.ts";
 * const x = array.arange(1, 50, 3, { chunks: 5 }); // 17 values in 4 blocks
 * ```
 */
export function arange<T extends DType>(
  stop: number,
  options: CreationOptions & { dtype: T },
): DArray<T>;
export function arange(stop: number, options?: CreationOptions): DArray;
export function arange(start: number, stop: number, options?: CreationOptions): DArray;
export function arange(
  start: number,
  stop: number,
  step: number,
  options?: CreationOptions,
): DArray;
export function arange(...args: unknown[]): DArray {
  const { numbers, options } = splitOptions<CreationOptions>(args);
  if (numbers.length < 1 || numbers.length > 3 || numbers.some((n) => typeof n !== "number")) {
    throw new TypeError("arange takes (stop), (start, stop) or (start, stop, step), then options");
  }
  const [start, stop] = numbers.length === 1 ? [0, numbers[0]] : [numbers[0], numbers[1]];
  const step = numbers[2] ?? 1;
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(`arange step must be finite and non-zero, got ${step}`);
  }
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = options.dtype ?? resultType(start, stop, step);
  return createArray(
    "arange",
    [length],
    dtype,
    options.chunks,
    [start, step],
    (_, [n], [from]) => blockExpr("range", { start, step, from, length: n, dtype }, []),
  );
}

/** Options of {@link linspace}. */
export interface LinspaceOptions extends CreationOptions {
  /** Whether `stop` is the last value (default true). */
  endpoint?: boolean;
}

/** `num` evenly spaced values from `start` to `stop` (included unless `endpoint` is false). */
export function linspace(
  start: number,
  stop: number,
  num = 50,
  options: LinspaceOptions = {},
): DArray {
  const endpoint = options.endpoint ?? true;
  const dtype = options.dtype ?? "float64";
  const step = linspaceStep(start, stop, num, endpoint);
  return createArray(
    "linspace",
    [num],
    dtype,
    options.chunks,
    [start, stop, endpoint],
    (_, [n], [from]) => {
      const last = endpoint && num > 1 && from + n === num ? stop : null;
      return blockExpr("linspace", { start, step, from, length: n, last, dtype }, []);
    },
  );
}

/**
 * An array of `shape` filled with `value` (default dtype: bool, int32 or float64 by value; int64
 * for a bigint).
 */
export function full<T extends DType>(
  shape: ShapeLike,
  value: number | boolean | bigint,
  options: CreationOptions & { dtype: T },
): DArray<T>;
/** A bigint fills an int64 array. */
export function full(
  shape: ShapeLike,
  value: bigint,
  options?: CreationOptions & { dtype?: undefined },
): DArray<"int64">;
/** `value` fills an array of its dtype. */
export function full(
  shape: ShapeLike,
  value: number | boolean | bigint,
  options?: CreationOptions,
): DArray;
export function full(
  shape: ShapeLike,
  value: number | boolean | bigint,
  options: CreationOptions = {},
): DArray {
  const dtype = options.dtype ?? (typeof value === "bigint" ? "int64" : scalarDType(value));
  const fill = typeof value === "boolean" ? (value ? 1 : 0) : value;
  return createArray(
    "full",
    toShape(shape),
    dtype,
    options.chunks,
    fill,
    (_, blockShape) => blockExpr("full", { shape: blockShape, value: fill, dtype }, []),
  );
}

/** An array of ones of `dtype`. */
export function ones<T extends DType>(
  shape: ShapeLike,
  options: CreationOptions & { dtype: T },
): DArray<T>;
/** An array of ones in float64. */
export function ones(
  shape: ShapeLike,
  options?: CreationOptions & { dtype?: undefined },
): DArray<"float64">;
/** An array of ones (default float64). */
export function ones(shape: ShapeLike, options?: CreationOptions): DArray;
export function ones(shape: ShapeLike, options: CreationOptions = {}): DArray {
  return full(shape, 1, { dtype: "float64", ...options });
}

/** An array of zeros of `dtype`. */
export function zeros<T extends DType>(
  shape: ShapeLike,
  options: CreationOptions & { dtype: T },
): DArray<T>;
/** An array of zeros in float64. */
export function zeros(
  shape: ShapeLike,
  options?: CreationOptions & { dtype?: undefined },
): DArray<"float64">;
/** An array of zeros (default float64). */
export function zeros(shape: ShapeLike, options?: CreationOptions): DArray;
export function zeros(shape: ShapeLike, options: CreationOptions = {}): DArray {
  return full(shape, 0, { dtype: "float64", ...options });
}

/** Ones in the shape, blocks and dtype of `like` (options override). */
export function onesLike(like: DArray, options: CreationOptions = {}): DArray {
  return full(like.shape, 1, { chunks: like.chunks, dtype: like.dtype, ...options });
}

/** Zeros in the shape, blocks and dtype of `like`. */
export function zerosLike(like: DArray, options: CreationOptions = {}): DArray {
  return full(like.shape, 0, { chunks: like.chunks, dtype: like.dtype, ...options });
}

/** `value` in the shape, blocks and dtype of `like`. */
export function fullLike(
  like: DArray,
  value: number | boolean | bigint,
  options: CreationOptions = {},
): DArray {
  return full(like.shape, value, { chunks: like.chunks, dtype: like.dtype, ...options });
}

/** Options of {@link eye}. */
export interface EyeOptions extends CreationOptions {
  /** Columns (default: `n`). */
  m?: number;
  /** The diagonal: 0 main, > 0 above, < 0 below. */
  k?: number;
}

/** A 2-d array with ones on diagonal `k`. */
export function eye(n: number, options: EyeOptions = {}): DArray {
  const m = options.m ?? n, k = options.k ?? 0;
  const dtype = options.dtype ?? "float64";
  return createArray(
    "eye",
    toShape([n, m]),
    dtype,
    options.chunks,
    k,
    (_, [rows, cols], [row, col]) =>
      blockExpr("eye", { shape: [rows, cols], row, col, k, dtype }, []),
  );
}

/** Options of {@link fromDelayed}. */
export interface FromDelayedOptions {
  /** Element type the value has (it is converted to it); default float64. */
  dtype?: DType;
}

/**
 * A one-block array whose block is the value of a Delayed (an NDArray, a typed array of the
 * declared size, or nested arrays of numbers), checked against `shape` when it is computed.
 * Join many with `concatenate` or `stack` to assemble an array from pieces computed anywhere.
 *
 * A cluster `Future` works too (`array.fromDelayed(client.submit(load, d), [1, 2, 3])`): the
 * piece stays on the worker that holds it and tasks read it from there.
 *
 * @example
 * ```ts
 * import { array, delayed } from "./mod.ts";
 * const load = (day: number) => new Float64Array(6).fill(day); // one day: 2×3 values
 * const days = [0, 1, 2].map((d) => array.fromDelayed(delayed(load)(d), [1, 2, 3]));
 * const x = array.concatenate(days, 0); // shape [3, 2, 3], one block per day
 * ```
 */
export function fromDelayed(
  value: Delayed<unknown> | RemoteValue,
  shape: ShapeLike,
  options: FromDelayedOptions = {},
): DArray {
  const dims = toShape(shape);
  const dtype = options.dtype ?? "float64";
  const name = `from-delayed-${tokenize(value.key, dims, dtype)}`;
  const key = chunkKey(name, dims.map(() => 0));
  const task = makeTask(key, evalBlock, [
    blockExpr("check", { shape: dims, dtype, name: value.key }, [new TaskRef(value.key)]),
  ]);
  return new DArray(name, dims.map((n) => [n]), dtype, {
    kind: "tasks",
    layer: {
      id: name,
      tasks: [task],
      dependencies: [value instanceof Delayed ? value : remoteLayer(value)],
    },
  });
}

/** A result already held on a cluster (a Client's `Future`): only its key matters here. */
export interface RemoteValue {
  /** The key under which the cluster holds the value. */
  readonly key: Key;
}

/**
 * A layer standing for a value a cluster holds: a literal whose value is the Future itself
 * under its own key, which the Client submits as "already there" (see client/graph_submission.ts).
 */
function remoteLayer(value: RemoteValue): Layer {
  return { id: `remote-${value.key}`, tasks: [makeLiteral(value.key, value)], dependencies: [] };
}
