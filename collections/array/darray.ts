/**
 * `DArray`: a lazy n-dimensional array cut into blocks, each block an NDArray computed by a
 * task, as in `dask.array`. Operations build new arrays (and their task graphs) without
 * computing; `compute()` runs the graph and joins the blocks into one NDArray. An array of
 * shape () is a {@link Scalar}: it computes to its element as a JS value.
 *
 * Scalar lives in this module (about 800 lines with it) because it extends DArray and DArray's
 * constructor makes it: in a module of its own, the import cycle would reach `class Scalar
 * extends DArray` before DArray exists.
 *
 * @module
 */
import { type DType, DTYPE_ARRAY, type NDArray } from "../../core/ndarray.ts";
import { chunkKey, type Key, makeTask, type TaskFunction, TaskRef } from "../../core/task.ts";
import { tokenize, tokenizeSymbol } from "../../core/tokenize.ts";
import {
  collectGraph,
  type Collection,
  type CollectionSpec,
  collectionSymbol,
  type Layer,
  resultType,
} from "../collection.ts";
import { computeCollections, type ComputeOptions, persistCollection } from "../compute.ts";
import { Delayed } from "../delayed.ts";
import { type GraphPicture, visualizeGraph, type VisualizeOptions } from "../visualize.ts";
import { arrayResult, arrayResultTask } from "./assemble.ts";
import { arrayRepr, inspectSymbol } from "../display/repr.ts";
import { arrayDisplay, jupyterDisplay, type MimeBundle } from "../display/notebook.ts";
import { blockExpr } from "./block_expr.ts";
import { type Chunks, type ChunksSpec, forEachIndex, numblocksOf, shapeOf } from "./chunks.ts";
import { type BlockInfo, evalBlock } from "./chunk_tasks.ts";
import { type ArrayLike, astype, elementwise, round } from "./elementwise.ts";
import { getItem, type Index, take } from "./indexing.ts";
import { expandDims, moveaxis, squeeze, swapaxes, transpose } from "./axes.ts";
import { mapBlocks, type MapBlocksOptions } from "./map_blocks.ts";
import { dot, matmul } from "./products.ts";
import { rechunk, type RechunkOptions } from "./rechunk.ts";
import {
  argReduce,
  type ArgReductionOptions,
  cumulative,
  reduce,
  type ReductionOptions,
  type VarianceOptions,
  type WholeArgReductionOptions,
  type WholeReductionOptions,
  type WholeVarianceOptions,
} from "./reductions.ts";
import type { ExtremeValueOf, ScalarValue, ScalarValueOf, SumValueOf } from "./scalar_value.ts";
import { ravel, reshape, type ReshapeOptions } from "./reshape.ts";
import { type ArrayNode, type ArraySource, planLayer } from "./plan.ts";
import { argtopk, topk } from "./topk.ts";

/** A lazy chunked n-dimensional array. */
export class DArray<D extends DType = DType> implements Collection<NDArray>, ArraySource {
  /** Block lengths along each axis (`NaN` where unknown until computed). */
  readonly chunks: readonly (readonly number[])[];
  #layer: Layer | undefined;

  /**
   * @internal Arrays are made by the creation functions (`array.fromArray`, `array.ones`, ...)
   * and by operations on other arrays.
   */
  constructor(
    /** The array's key prefix and token: block `i` is the task `name[i]`. */
    readonly name: string,
    chunks: Chunks,
    /** The element type. */
    readonly dtype: D,
    /** How the blocks are made. */
    readonly node: ArrayNode,
  ) {
    this.chunks = Object.freeze(chunks.map((c) => Object.freeze([...c])));
    // whichever operation makes an array of shape () (a reduction, an index, a product, a
    // reshape), it is a Scalar, so that it computes to a JS value and `instanceof` tells
    if (chunks.length === 0 && new.target === DArray) {
      return new Scalar(name, chunks, dtype, node) as unknown as DArray<D>;
    }
  }

  // ---- attributes ------------------------------------------------------------------------

  /** Length along each axis (`NaN` where unknown). */
  get shape(): number[] {
    return shapeOf(this.chunks);
  }

  /** Number of axes. */
  get ndim(): number {
    return this.chunks.length;
  }

  /** Number of elements (`NaN` when some length is unknown). */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Bytes per element. */
  get itemsize(): number {
    return DTYPE_ARRAY[this.dtype].BYTES_PER_ELEMENT;
  }

  /** Bytes of the whole array (`NaN` when some length is unknown). */
  get nbytes(): number {
    return this.size * this.itemsize;
  }

  /** Number of blocks along each axis. */
  get numblocks(): number[] {
    return numblocksOf(this.chunks);
  }

  /** Total number of blocks. */
  get npartitions(): number {
    return this.numblocks.reduce((a, b) => a * b, 1);
  }

  /** The largest block length along each axis. */
  get chunksize(): number[] {
    return this.chunks.map((c) => Math.max(...c));
  }

  /** The keys of the blocks, in C order of the block grid. */
  blockKeys(): Key[] {
    const keys: Key[] = [];
    forEachIndex(this.numblocks, (index) => keys.push(chunkKey(this.name, index)));
    return keys;
  }

  // ---- computing -------------------------------------------------------------------------

  /** The layer of tasks that make this array's blocks (planned once, with fusion). */
  layer(): Layer {
    return this.#layer ??= planLayer(this);
  }

  /**
   * Computes a {@link Scalar} (an array of shape ()): its element as a JS value, as Dask gives a
   * NumPy scalar.
   */
  compute<V extends ScalarValue>(this: Scalar<V>, options?: ComputeOptions): Promise<V>;
  /**
   * Computes the array: an NDArray of its whole shape. An array of shape () is a {@link Scalar}
   * and gives its element; an operation whose result's shape depends on its arguments (an index,
   * `dot`, a reduction over a list of axes) is typed DArray even when it gives shape (), so
   * narrow it with `instanceof Scalar` first.
   */
  compute(options?: ComputeOptions): Promise<NDArray>;
  async compute(options: ComputeOptions = {}): Promise<NDArray | ScalarValue> {
    const [value] = await computeCollections([this], options);
    return value as NDArray | ScalarValue;
  }

  /** Computes the blocks and keeps them (in memory here, or on the cluster): an array over them. */
  persist(options: ComputeOptions = {}): Promise<this> {
    return persistCollection(this, options);
  }

  /**
   * The task graph as a picture: DOT (default) or SVG text, drawn as SVG in a notebook; with
   * `filename`, also written there.
   */
  visualize(options: VisualizeOptions = {}): Promise<GraphPicture> {
    return visualizeGraph(collectGraph([this.layer()]), { name: this.name, ...options });
  }

  /** One Delayed per block, in C order of the block grid. */
  toDelayed(): Delayed<NDArray>[] {
    const layer = this.layer();
    return this.blockKeys().map((key) => new Delayed<NDArray>(key, null, [layer]));
  }

  /**
   * The array with its unknown block lengths measured (computes the blocks; persist first to
   * keep them).
   */
  async computeChunkSizes(options: ComputeOptions = {}): Promise<DArray> {
    const keys = this.blockKeys();
    const name = `chunk-shapes-${tokenize(this.name)}`;
    const layer = this.layer();
    const tasks = keys.map((key, i) =>
      makeTask(chunkKey(name, i), evalBlock, [blockExpr("shape", null, [new TaskRef(key)])])
    );
    const shapes = new ShapesCollection(keys.map((_, i) => chunkKey(name, i)), {
      id: name,
      tasks,
      dependencies: [layer],
    });
    const [values] = await computeCollections([shapes], options);
    const grid = this.numblocks;
    const list = values as number[][];
    const chunks = grid.map((n, axis) =>
      Array.from({ length: n }, (_, i) => {
        const index = grid.map((_, d) => (d === axis ? i : 0));
        let flat = 0;
        for (let d = 0; d < grid.length; d++) flat = flat * grid[d] + index[d];
        return list[flat][axis];
      })
    );
    return new DArray(this.name, chunks, this.dtype, this.node);
  }

  /** A DArray is named by its name. */
  [tokenizeSymbol](): string {
    return this.name;
  }

  /**
   * How compute and persist see an array: one key per block, joined by `finalize` (a Scalar's
   * JS value is its declared {@link resultType}; the spec's type covers the arrays).
   */
  get [collectionSymbol](): CollectionSpec<NDArray> {
    return {
      layer: () => this.layer(),
      keys: () => this.blockKeys(),
      finalize: (values) => arrayResult(values, this.numblocks, this.dtype) as NDArray,
      finalizeTask: () => ({ fn: arrayResultTask, args: [this.numblocks, this.dtype] }),
      rebuild: (layer) => new DArray(this.name, this.chunks, this.dtype, { kind: "tasks", layer }),
    };
  }

  /** `DArray<name, shape=(…), dtype=…, chunksize=(…), numblocks=(…)>`. */
  toString(): string {
    const tuple = (xs: readonly number[]) =>
      `(${xs.map((n) => (Number.isNaN(n) ? "nan" : String(n))).join(", ")}${
        xs.length === 1 ? "," : ""
      })`;
    return `DArray<${this.name}, shape=${tuple(this.shape)}, dtype=${this.dtype}, ` +
      `chunksize=${tuple(this.chunksize)}, numblocks=${tuple(this.numblocks)}>`;
  }

  /** How `console.log` shows an array: Dask's one-line repr, not its plan. */
  [inspectSymbol](): string {
    return arrayRepr(this);
  }

  /** How a notebook shows an array: Dask's table of bytes, shape, chunks, dtype and chunk grid. */
  [jupyterDisplay](): MimeBundle {
    return arrayDisplay(this, arrayRepr(this));
  }

  // ---- element-wise ----------------------------------------------------------------------

  /** `this + other` (broadcasting; blocks are aligned, rechunking when they differ). */
  add(other: ArrayLike): DArray {
    return elementwise("add", [this, other]);
  }
  /** `this - other`. */
  subtract(other: ArrayLike): DArray {
    return elementwise("subtract", [this, other]);
  }
  /** `this - other` (alias of subtract). */
  sub(other: ArrayLike): DArray {
    return this.subtract(other);
  }
  /** `this * other`. */
  multiply(other: ArrayLike): DArray {
    return elementwise("multiply", [this, other]);
  }
  /** `this * other` (alias of multiply). */
  mul(other: ArrayLike): DArray {
    return this.multiply(other);
  }
  /** True division. */
  divide(other: ArrayLike): DArray {
    return elementwise("divide", [this, other]);
  }
  /** True division (alias of divide). */
  div(other: ArrayLike): DArray {
    return this.divide(other);
  }
  /** Floor division. */
  floorDivide(other: ArrayLike): DArray {
    return elementwise("floorDivide", [this, other]);
  }
  /** Remainder with the sign of the divisor. */
  mod(other: ArrayLike): DArray {
    return elementwise("mod", [this, other]);
  }
  /** `this ** other`. */
  pow(other: ArrayLike): DArray {
    return elementwise("pow", [this, other]);
  }
  /** Element-wise maximum (NaN propagates). */
  maximum(other: ArrayLike): DArray {
    return elementwise("maximum", [this, other]);
  }
  /** Element-wise minimum (NaN propagates). */
  minimum(other: ArrayLike): DArray {
    return elementwise("minimum", [this, other]);
  }
  /** `this == other`. */
  equal(other: ArrayLike): DArray {
    return elementwise("equal", [this, other]);
  }
  /** `this != other`. */
  notEqual(other: ArrayLike): DArray {
    return elementwise("notEqual", [this, other]);
  }
  /** `this < other`. */
  less(other: ArrayLike): DArray {
    return elementwise("less", [this, other]);
  }
  /** `this <= other`. */
  lessEqual(other: ArrayLike): DArray {
    return elementwise("lessEqual", [this, other]);
  }
  /** `this > other`. */
  greater(other: ArrayLike): DArray {
    return elementwise("greater", [this, other]);
  }
  /** `this >= other`. */
  greaterEqual(other: ArrayLike): DArray {
    return elementwise("greaterEqual", [this, other]);
  }
  /** Both non-zero. */
  logicalAnd(other: ArrayLike): DArray {
    return elementwise("logicalAnd", [this, other]);
  }
  /** Either non-zero. */
  logicalOr(other: ArrayLike): DArray {
    return elementwise("logicalOr", [this, other]);
  }
  /** Exactly one non-zero. */
  logicalXor(other: ArrayLike): DArray {
    return elementwise("logicalXor", [this, other]);
  }
  /** Zero elements. */
  logicalNot(): DArray {
    return elementwise("logicalNot", [this]);
  }
  /** NaN elements. */
  isnan(): DArray {
    return elementwise("isnan", [this]);
  }
  /** Finite elements. */
  isfinite(): DArray {
    return elementwise("isfinite", [this]);
  }
  /** Infinite elements. */
  isinf(): DArray {
    return elementwise("isinf", [this]);
  }
  /** `-this`. */
  negative(): DArray {
    return elementwise("negative", [this]);
  }
  /** `-this` (alias of negative). */
  neg(): DArray {
    return this.negative();
  }
  /** Absolute values. */
  abs(): DArray {
    return elementwise("abs", [this]);
  }
  /** -1, 0 or 1 by sign. */
  sign(): DArray {
    return elementwise("sign", [this]);
  }
  /** `this * this`. */
  square(): DArray {
    return elementwise("square", [this]);
  }
  /** Square roots. */
  sqrt(): DArray {
    return elementwise("sqrt", [this]);
  }
  /** e to the elements. */
  exp(): DArray {
    return elementwise("exp", [this]);
  }
  /** Natural logarithms. */
  log(): DArray {
    return elementwise("log", [this]);
  }
  /** e to the elements, minus 1 (accurate near 0). */
  expm1(): DArray {
    return elementwise("expm1", [this]);
  }
  /** Base-2 logarithms. */
  log2(): DArray {
    return elementwise("log2", [this]);
  }
  /** Base-10 logarithms. */
  log10(): DArray {
    return elementwise("log10", [this]);
  }
  /** log(1 + x), accurate near 0. */
  log1p(): DArray {
    return elementwise("log1p", [this]);
  }
  /** Sines (radians). */
  sin(): DArray {
    return elementwise("sin", [this]);
  }
  /** Cosines (radians). */
  cos(): DArray {
    return elementwise("cos", [this]);
  }
  /** Tangents (radians). */
  tan(): DArray {
    return elementwise("tan", [this]);
  }
  /** Inverse sines. */
  arcsin(): DArray {
    return elementwise("arcsin", [this]);
  }
  /** Inverse cosines. */
  arccos(): DArray {
    return elementwise("arccos", [this]);
  }
  /** Inverse tangents. */
  arctan(): DArray {
    return elementwise("arctan", [this]);
  }
  /** Hyperbolic sines. */
  sinh(): DArray {
    return elementwise("sinh", [this]);
  }
  /** Hyperbolic cosines. */
  cosh(): DArray {
    return elementwise("cosh", [this]);
  }
  /** Hyperbolic tangents. */
  tanh(): DArray {
    return elementwise("tanh", [this]);
  }
  /** Largest whole numbers not above the elements. */
  floor(): DArray {
    return elementwise("floor", [this]);
  }
  /** Smallest whole numbers not below the elements. */
  ceil(): DArray {
    return elementwise("ceil", [this]);
  }
  /** Whole parts, towards zero. */
  trunc(): DArray {
    return elementwise("trunc", [this]);
  }
  /** Rounded to `decimals` places, halves to even. */
  round(decimals = 0): DArray {
    return round(this, decimals);
  }
  /** Limited to `[lo, hi]` (either may be null). */
  clip(lo: ArrayLike | null, hi: ArrayLike | null = null): DArray {
    return elementwise("clip", [this, lo, hi]);
  }
  /** Converted to `dtype`. */
  astype<T extends DType>(dtype: T): DArray<T> {
    return astype(this, dtype) as DArray<T>;
  }

  // ---- reductions ------------------------------------------------------------------------

  /**
   * Sum of all elements: a {@link Scalar}, a bigint for an int64 or uint64 array, else a number.
   */
  sum(options?: WholeReductionOptions & { dtype?: undefined }): Scalar<SumValueOf<D>>;
  /** Sum of all elements in `dtype`: a {@link Scalar} of that dtype's JS value. */
  sum<R extends DType>(options: WholeReductionOptions & { dtype: R }): Scalar<SumValueOf<R>>;
  sum(options: ReductionOptions): DArray;
  sum(options: ReductionOptions = {}): DArray {
    return reduce(this, "sum", options);
  }
  /**
   * Product of all elements: a {@link Scalar}, a bigint for an int64 or uint64 array, else a number.
   */
  prod(options?: WholeReductionOptions & { dtype?: undefined }): Scalar<SumValueOf<D>>;
  /** Product of all elements in `dtype`: a {@link Scalar} of that dtype's JS value. */
  prod<R extends DType>(options: WholeReductionOptions & { dtype: R }): Scalar<SumValueOf<R>>;
  prod(options: ReductionOptions): DArray;
  prod(options: ReductionOptions = {}): DArray {
    return reduce(this, "prod", options);
  }
  /** Smallest element: a {@link Scalar} of the array's JS element type (a bigint for int64/uint64). */
  min(options?: WholeReductionOptions & { dtype?: undefined }): Scalar<ExtremeValueOf<D>>;
  /** Smallest element in `dtype`: a {@link Scalar} of that dtype's JS value. */
  min<R extends DType>(options: WholeReductionOptions & { dtype: R }): Scalar<ExtremeValueOf<R>>;
  /** Smallest element over `axis`. */
  min(options: ReductionOptions): DArray;
  min(options: ReductionOptions = {}): DArray {
    return reduce(this, "min", options);
  }
  /** Largest element: a {@link Scalar} of the array's JS element type (a bigint for int64/uint64). */
  max(options?: WholeReductionOptions & { dtype?: undefined }): Scalar<ExtremeValueOf<D>>;
  /** Largest element in `dtype`: a {@link Scalar} of that dtype's JS value. */
  max<R extends DType>(options: WholeReductionOptions & { dtype: R }): Scalar<ExtremeValueOf<R>>;
  /** Largest element over `axis`. */
  max(options: ReductionOptions): DArray;
  max(options: ReductionOptions = {}): DArray {
    return reduce(this, "max", options);
  }
  /** True when any element is non-zero: a {@link Scalar}. */
  any(options?: WholeReductionOptions): Scalar<boolean>;
  /** True where any element over `axis` is non-zero. */
  any(options: ReductionOptions): DArray;
  any(options: ReductionOptions = {}): DArray {
    return reduce(this, "any", options);
  }
  /** True when every element is non-zero: a {@link Scalar}. */
  all(options?: WholeReductionOptions): Scalar<boolean>;
  /** True where every element over `axis` is non-zero. */
  all(options: ReductionOptions): DArray;
  all(options: ReductionOptions = {}): DArray {
    return reduce(this, "all", options);
  }
  /** Arithmetic mean of all elements: a {@link Scalar}. */
  mean(options?: WholeReductionOptions): Scalar;
  /** Arithmetic mean over `axis`. */
  mean(options: ReductionOptions): DArray;
  mean(options: ReductionOptions = {}): DArray {
    return reduce(this, "mean", options);
  }
  /** Variance of all elements (divisor `N - ddof`): a {@link Scalar}. */
  var(options?: WholeVarianceOptions): Scalar;
  /** Variance over `axis` (divisor `N - ddof`). */
  var(options: VarianceOptions): DArray;
  var(options: VarianceOptions = {}): DArray {
    return reduce(this, "var", options);
  }
  /** Standard deviation of all elements (divisor `N - ddof`): a {@link Scalar}. */
  std(options?: WholeVarianceOptions): Scalar;
  /** Standard deviation over `axis` (divisor `N - ddof`). */
  std(options: VarianceOptions): DArray;
  std(options: VarianceOptions = {}): DArray {
    return reduce(this, "var", { ...options, sqrt: true });
  }
  /** Index of the smallest element in the flattened array: a {@link Scalar}. */
  argmin(options?: WholeArgReductionOptions): Scalar;
  /** Index of the smallest element along `axis` (of the flattened array when none). */
  argmin(options: ArgReductionOptions): DArray;
  argmin(options: ArgReductionOptions = {}): DArray {
    return argReduce(this, "argmin", options);
  }
  /** Index of the largest element in the flattened array: a {@link Scalar}. */
  argmax(options?: WholeArgReductionOptions): Scalar;
  /** Index of the largest element along `axis` (of the flattened array when none). */
  argmax(options: ArgReductionOptions): DArray;
  argmax(options: ArgReductionOptions = {}): DArray {
    return argReduce(this, "argmax", options);
  }
  /** Running sums along `axis` (of the flattened array when none). */
  cumsum(options: { axis?: number | null } = {}): DArray {
    return cumulative(this, "cumsum", options.axis ?? null);
  }
  /** Running products along `axis` (of the flattened array when none). */
  cumprod(options: { axis?: number | null } = {}): DArray {
    return cumulative(this, "cumprod", options.axis ?? null);
  }

  // ---- shape and layout --------------------------------------------------------------------

  /** The transpose (axes reversed). */
  get T(): DArray {
    return transpose(this);
  }
  /** Axes permuted: `axes[i]` is the old axis that becomes axis i (default: reversed). */
  transpose(axes?: readonly number[]): DArray {
    return transpose(this, axes);
  }
  /** Axes `i` and `j` exchanged. */
  swapaxes(i: number, j: number): DArray {
    return swapaxes(this, i, j);
  }
  /** Axis `source` moved to position `destination`. */
  moveaxis(source: number, destination: number): DArray {
    return moveaxis(this, source, destination);
  }
  /** Without length-1 axes (all, or those named). */
  squeeze(axis?: number | readonly number[]): DArray {
    return squeeze(this, axis);
  }
  /** With new length-1 axes at `axis` (positions in the result). */
  expandDims(axis: number | readonly number[]): DArray {
    return expandDims(this, axis);
  }
  /** The same elements in another shape (rechunking as needed; see {@link ReshapeOptions}). */
  reshape(shape: readonly number[], options: ReshapeOptions = {}): DArray {
    return reshape(this, shape, options);
  }
  /** Flattened to one axis. */
  ravel(): DArray {
    return ravel(this);
  }
  /** The same array cut into other blocks. */
  rechunk(chunks: ChunksSpec, options: RechunkOptions = {}): DArray {
    return rechunk(this, chunks, options);
  }

  // ---- indexing --------------------------------------------------------------------------

  /**
   * Elements selected by an index, as NumPy's `x[...]`: text such as `":100, 500:100:-2"`,
   * `"0, ..., [3, 1, 2]"`, or a list of items (integers, `{ start, stop, step }`, `null` for a
   * new axis, `"..."`, an integer list or NDArray along one axis), or a boolean DArray/NDArray
   * mask (the result has blocks of unknown length).
   */
  get(index: Index): DArray {
    return getItem(this, index);
  }
  /** Elements at integer `indices` along `axis` (default 0). */
  take(indices: readonly number[] | NDArray, axis = 0): DArray {
    return take(this, indices, axis);
  }

  // ---- blocks and products ------------------------------------------------------------------

  /**
   * Applies `fn` to every block: `fn(block, blockInfo)` must return the output block (see
   * {@link MapBlocksOptions} for blocks that change shape or dtype).
   */
  mapBlocks(
    fn: (block: NDArray, info: BlockInfo) => unknown,
    options: MapBlocksOptions = {},
  ): DArray {
    return mapBlocks(fn as TaskFunction, [this], options);
  }
  /**
   * The `k` largest elements along `axis` (default the last), largest first; a negative `k`
   * gives the `|k|` smallest, smallest first (Dask's `topk`).
   */
  topk(k: number, axis = -1): DArray {
    return topk(this, k, axis);
  }

  /** The indices along `axis` of {@link topk}'s elements (Dask's `argtopk`). */
  argtopk(k: number, axis = -1): DArray {
    return argtopk(this, k, axis);
  }

  /** Matrix product (NumPy's matmul). */
  matmul(other: DArray | NDArray): DArray {
    return matmul(this, other);
  }
  /** NumPy's dot. */
  dot(other: DArray | NDArray): DArray {
    return dot(this, other);
  }
}

/**
 * A lazy single value: an array of shape (), made by a reduction over every axis (`x.sum()`,
 * `x.mean()`, `x.any()`), an index that picks one element, or a dot product of two vectors. It
 * computes to its element as a JS value — a `number`, or a `boolean` for dtype `bool` — as Dask
 * gives a NumPy scalar, on every scheduler and on a cluster. It is still an array: it mixes with
 * arrays in arithmetic (`x.sub(x.mean())` is a DArray) and with numbers and other scalars
 * (`x.max().sub(x.min())` is a Scalar), persists, and can be an argument of a delayed call
 * (which receives the value).
 *
 * @example
 * ```ts
 * import { array } from "./mod.ts";
 *
 * const x = array.arange(10, { chunks: 5 });
 * const total: number = await x.sum().compute(); // 45
 * const range: array.Scalar = x.max().sub(x.min());
 * console.log(await range.compute()); // 9
 * console.log(await x.sub(x.mean()).compute()); // an NDArray from -4.5 to 4.5
 * ```
 */
export class Scalar<V extends ScalarValue = number> extends DArray {
  /** Types only: what `compute()` gives (this property holds nothing at run time). */
  declare readonly [resultType]: V;

  /** No axes. */
  override get ndim(): 0 {
    return 0;
  }

  /** No axes. */
  override get shape(): [] {
    return [];
  }
}

/** What makes a Scalar with a Scalar in element-wise operations: JS values and other Scalars. */
export type ScalarOperand = number | boolean | Scalar<ScalarValue>;

/** A binary operation of a Scalar: a Scalar with a JS value or a Scalar, else an array. */
export interface ScalarBinary<R extends ScalarValue> {
  /** With a JS value or a Scalar: a Scalar. */
  (other: ScalarOperand): Scalar<R>;
  /** With an array: the array's shape (broadcasting). */
  (other: ArrayLike): DArray;
}

/**
 * Element-wise operations on a Scalar give a Scalar when every operand is one (a JS value or a
 * Scalar), and an array otherwise (the methods are DArray's; these declarations narrow types).
 */
export interface Scalar<V extends ScalarValue = number> {
  /** `this + other`. */
  add: ScalarBinary<number>;
  /** `this - other`. */
  subtract: ScalarBinary<number>;
  /** `this - other`. */
  sub: ScalarBinary<number>;
  /** `this * other`. */
  multiply: ScalarBinary<number>;
  /** `this * other`. */
  mul: ScalarBinary<number>;
  /** True division. */
  divide: ScalarBinary<number>;
  /** True division. */
  div: ScalarBinary<number>;
  /** Floor division. */
  floorDivide: ScalarBinary<number>;
  /** Remainder with the sign of the divisor. */
  mod: ScalarBinary<number>;
  /** `this ** other`. */
  pow: ScalarBinary<number>;
  /** The larger (NaN propagates). */
  maximum: ScalarBinary<number>;
  /** The smaller (NaN propagates). */
  minimum: ScalarBinary<number>;
  /** `this == other`. */
  equal: ScalarBinary<boolean>;
  /** `this != other`. */
  notEqual: ScalarBinary<boolean>;
  /** `this < other`. */
  less: ScalarBinary<boolean>;
  /** `this <= other`. */
  lessEqual: ScalarBinary<boolean>;
  /** `this > other`. */
  greater: ScalarBinary<boolean>;
  /** `this >= other`. */
  greaterEqual: ScalarBinary<boolean>;
  /** Both non-zero. */
  logicalAnd: ScalarBinary<boolean>;
  /** Either non-zero. */
  logicalOr: ScalarBinary<boolean>;
  /** Exactly one non-zero. */
  logicalXor: ScalarBinary<boolean>;
  /** Zero. */
  logicalNot(): Scalar<boolean>;
  /** NaN. */
  isnan(): Scalar<boolean>;
  /** Finite. */
  isfinite(): Scalar<boolean>;
  /** Infinite. */
  isinf(): Scalar<boolean>;
  /** `-this`. */
  negative(): Scalar;
  /** `-this`. */
  neg(): Scalar;
  /** Absolute value. */
  abs(): Scalar;
  /** -1, 0 or 1 by sign. */
  sign(): Scalar;
  /** `this * this`. */
  square(): Scalar;
  /** Square root. */
  sqrt(): Scalar;
  /** e to this. */
  exp(): Scalar;
  /** Natural logarithm. */
  log(): Scalar;
  /** e to this, minus 1. */
  expm1(): Scalar;
  /** Base-2 logarithm. */
  log2(): Scalar;
  /** Base-10 logarithm. */
  log10(): Scalar;
  /** log(1 + this). */
  log1p(): Scalar;
  /** Sine (radians). */
  sin(): Scalar;
  /** Cosine (radians). */
  cos(): Scalar;
  /** Tangent (radians). */
  tan(): Scalar;
  /** Inverse sine. */
  arcsin(): Scalar;
  /** Inverse cosine. */
  arccos(): Scalar;
  /** Inverse tangent. */
  arctan(): Scalar;
  /** Hyperbolic sine. */
  sinh(): Scalar;
  /** Hyperbolic cosine. */
  cosh(): Scalar;
  /** Hyperbolic tangent. */
  tanh(): Scalar;
  /** Largest whole number not above. */
  floor(): Scalar;
  /** Smallest whole number not below. */
  ceil(): Scalar;
  /** Whole part, towards zero. */
  trunc(): Scalar;
  /** Rounded to `decimals` places, halves to even. */
  round(decimals?: number): Scalar;
  /** Limited to `[lo, hi]` (either may be null). */
  clip(lo: ScalarOperand | null, hi?: ScalarOperand | null): Scalar;
  /** Limited to `[lo, hi]` (broadcast to the arrays). */
  clip(lo: ArrayLike | null, hi?: ArrayLike | null): DArray;
  /** Converted to `dtype`. */
  astype<D extends DType>(dtype: D): Scalar<ScalarValueOf<D>>;
}

/** A one-off collection of small per-block values (block shapes). */
class ShapesCollection implements Collection<unknown[]> {
  constructor(readonly keys: Key[], readonly layerValue: Layer) {}
  get [collectionSymbol](): CollectionSpec<unknown[]> {
    return {
      layer: () => this.layerValue,
      keys: () => this.keys,
      finalize: (values) => values,
      rebuild: () => this,
    };
  }
}
