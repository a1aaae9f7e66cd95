/**
 * The `array` collection: lazy n-dimensional arrays cut into blocks, computed with blocked
 * algorithms, as `dask.array`. The top-level mod.ts re-exports this module as `array`.
 *
 * @example
 * ```ts
 * import { array } from "./mod.ts";
 *
 * const x = array.random.random([1000, 1000], { chunks: [250, 500], seed: 1 });
 * const y = x.add(x.T).sum({ axis: 0 }).mean(); // a Scalar: all axes reduced
 * console.log(await y.compute()); // about 1000, a number
 * ```
 *
 * @module
 */
import type { NDArray } from "../../core/ndarray.ts";
import type { ElementwiseName } from "./chunk_tasks.ts";
import type { DArray, Scalar } from "./darray.ts";
import { type ArrayLike, elementwise } from "./elementwise.ts";
import * as randomModule from "./random.ts";
import * as linalgModule from "./linalg.ts";
import {
  reduce,
  type ReductionOptions,
  type VarianceOptions,
  type WholeReductionOptions,
  type WholeVarianceOptions,
} from "./reductions.ts";

export { DArray, Scalar, type ScalarBinary, type ScalarOperand } from "./darray.ts";
export type { ScalarValue, ScalarValueOf } from "./scalar_value.ts";
export type { BlockInfo } from "./chunk_tasks.ts";
export { type AxisChunks, type Chunks, type ChunksSpec, normalizeChunks } from "./chunks.ts";
export {
  arange,
  type ArrayData,
  type CreationOptions,
  eye,
  type EyeOptions,
  fromArray,
  type FromArrayOptions,
  fromDelayed,
  type FromDelayedOptions,
  full,
  fullLike,
  linspace,
  type LinspaceOptions,
  ones,
  onesLike,
  type RemoteValue,
  type ShapeLike,
  zeros,
  zerosLike,
} from "./creation.ts";
export { type ArrayLike, astype, round, where } from "./elementwise.ts";
export { concatenate, stack } from "./join.ts";
export { expandDims, moveaxis, squeeze, swapaxes, transpose } from "./axes.ts";
export { type Index, type IndexItemLike, take } from "./indexing.ts";
export {
  blockwise,
  type BlockwiseOptions,
  mapBlocks,
  type MapBlocksOptions,
} from "./map_blocks.ts";
export { dot, matmul, tensordot } from "./products.ts";
export { argtopk, topk } from "./topk.ts";
export { rechunk, type RechunkOptions } from "./rechunk.ts";
export type {
  ArgReductionOptions,
  ReductionOptions,
  VarianceOptions,
  WholeArgReductionOptions,
  WholeReductionOptions,
  WholeVarianceOptions,
} from "./reductions.ts";
export { ravel, reshape, type ReshapeOptions } from "./reshape.ts";
export type { RandomOptions } from "./random.ts";

/** Random arrays: `random`, `uniform`, `normal`, `randint` (seeded; each block independent). */
export const random = {
  random: randomModule.random,
  uniform: randomModule.uniform,
  normal: randomModule.normal,
  randint: randomModule.randint,
} as const;

/** Linear algebra for tall-and-skinny matrices: `qr`, `svd` (TSQR), `solve`, `lstsq`. */
export const linalg = {
  qr: linalgModule.qr,
  svd: linalgModule.svd,
  solve: linalgModule.solve,
  lstsq: linalgModule.lstsq,
} as const;

const binary = (fn: ElementwiseName) => (a: ArrayLike, b: ArrayLike): DArray =>
  elementwise(fn, [a, b]);
const unary = (fn: ElementwiseName) => (a: ArrayLike): DArray => elementwise(fn, [a]);

/** `a + b`, broadcasting. */
export const add: (a: ArrayLike, b: ArrayLike) => DArray = binary("add");
/** `a - b`. */
export const subtract: (a: ArrayLike, b: ArrayLike) => DArray = binary("subtract");
/** `a * b`. */
export const multiply: (a: ArrayLike, b: ArrayLike) => DArray = binary("multiply");
/** True division. */
export const divide: (a: ArrayLike, b: ArrayLike) => DArray = binary("divide");
/** Floor division. */
export const floorDivide: (a: ArrayLike, b: ArrayLike) => DArray = binary("floorDivide");
/** Remainder with the sign of the divisor. */
export const mod: (a: ArrayLike, b: ArrayLike) => DArray = binary("mod");
/** `a ** b`. */
export const pow: (a: ArrayLike, b: ArrayLike) => DArray = binary("pow");
/** Element-wise maximum. */
export const maximum: (a: ArrayLike, b: ArrayLike) => DArray = binary("maximum");
/** Element-wise minimum. */
export const minimum: (a: ArrayLike, b: ArrayLike) => DArray = binary("minimum");
/** `a == b`. */
export const equal: (a: ArrayLike, b: ArrayLike) => DArray = binary("equal");
/** `a != b`. */
export const notEqual: (a: ArrayLike, b: ArrayLike) => DArray = binary("notEqual");
/** `a < b`. */
export const less: (a: ArrayLike, b: ArrayLike) => DArray = binary("less");
/** `a <= b`. */
export const lessEqual: (a: ArrayLike, b: ArrayLike) => DArray = binary("lessEqual");
/** `a > b`. */
export const greater: (a: ArrayLike, b: ArrayLike) => DArray = binary("greater");
/** `a >= b`. */
export const greaterEqual: (a: ArrayLike, b: ArrayLike) => DArray = binary("greaterEqual");
/** Both non-zero. */
export const logicalAnd: (a: ArrayLike, b: ArrayLike) => DArray = binary("logicalAnd");
/** Either non-zero. */
export const logicalOr: (a: ArrayLike, b: ArrayLike) => DArray = binary("logicalOr");
/** Exactly one non-zero. */
export const logicalXor: (a: ArrayLike, b: ArrayLike) => DArray = binary("logicalXor");
/** Zero elements. */
export const logicalNot: (a: ArrayLike) => DArray = unary("logicalNot");
/** NaN elements. */
export const isnan: (a: ArrayLike) => DArray = unary("isnan");
/** Finite elements. */
export const isfinite: (a: ArrayLike) => DArray = unary("isfinite");
/** Infinite elements. */
export const isinf: (a: ArrayLike) => DArray = unary("isinf");
/** `-a`. */
export const negative: (a: ArrayLike) => DArray = unary("negative");
/** Absolute values. */
export const abs: (a: ArrayLike) => DArray = unary("abs");
/** -1, 0 or 1 by sign. */
export const sign: (a: ArrayLike) => DArray = unary("sign");
/** `a * a`. */
export const square: (a: ArrayLike) => DArray = unary("square");
/** Largest whole numbers not above the elements. */
export const floor: (a: ArrayLike) => DArray = unary("floor");
/** Smallest whole numbers not below the elements. */
export const ceil: (a: ArrayLike) => DArray = unary("ceil");
/** Whole parts, towards zero. */
export const trunc: (a: ArrayLike) => DArray = unary("trunc");
/** e to the elements. */
export const exp: (a: ArrayLike) => DArray = unary("exp");
/** e to the elements, minus 1. */
export const expm1: (a: ArrayLike) => DArray = unary("expm1");
/** Natural logarithms. */
export const log: (a: ArrayLike) => DArray = unary("log");
/** Base-2 logarithms. */
export const log2: (a: ArrayLike) => DArray = unary("log2");
/** Base-10 logarithms. */
export const log10: (a: ArrayLike) => DArray = unary("log10");
/** log(1 + a). */
export const log1p: (a: ArrayLike) => DArray = unary("log1p");
/** Square roots. */
export const sqrt: (a: ArrayLike) => DArray = unary("sqrt");
/** Sines. */
export const sin: (a: ArrayLike) => DArray = unary("sin");
/** Cosines. */
export const cos: (a: ArrayLike) => DArray = unary("cos");
/** Tangents. */
export const tan: (a: ArrayLike) => DArray = unary("tan");
/** Inverse sines. */
export const arcsin: (a: ArrayLike) => DArray = unary("arcsin");
/** Inverse cosines. */
export const arccos: (a: ArrayLike) => DArray = unary("arccos");
/** Inverse tangents. */
export const arctan: (a: ArrayLike) => DArray = unary("arctan");
/** Hyperbolic sines. */
export const sinh: (a: ArrayLike) => DArray = unary("sinh");
/** Hyperbolic cosines. */
export const cosh: (a: ArrayLike) => DArray = unary("cosh");
/** Hyperbolic tangents. */
export const tanh: (a: ArrayLike) => DArray = unary("tanh");

/** Limits `a` to `[lo, hi]` (either may be null). */
export function clip(a: ArrayLike, lo: ArrayLike | null, hi: ArrayLike | null = null): DArray {
  return elementwise("clip", [a, lo, hi]);
}

/** Sum of all elements: a {@link Scalar}. */
export function sum(x: DArray, options?: WholeReductionOptions): Scalar;
/** Sum over `axis` (all by default). */
export function sum(x: DArray, options: ReductionOptions): DArray;
export function sum(x: DArray, options: ReductionOptions = {}): DArray {
  return reduce(x, "sum", options);
}
/** Mean of all elements: a {@link Scalar}. */
export function mean(x: DArray, options?: WholeReductionOptions): Scalar;
/** Mean over `axis`. */
export function mean(x: DArray, options: ReductionOptions): DArray;
export function mean(x: DArray, options: ReductionOptions = {}): DArray {
  return reduce(x, "mean", options);
}
/** Standard deviation of all elements: a {@link Scalar}. */
export function std(x: DArray, options?: WholeVarianceOptions): Scalar;
/** Standard deviation over `axis`. */
export function std(x: DArray, options: VarianceOptions): DArray;
export function std(x: DArray, options: VarianceOptions = {}): DArray {
  return reduce(x, "var", { ...options, sqrt: true });
}
/** Variance of all elements: a {@link Scalar}. */
export function variance(x: DArray, options?: WholeVarianceOptions): Scalar;
/** Variance over `axis`. */
export function variance(x: DArray, options: VarianceOptions): DArray;
export function variance(x: DArray, options: VarianceOptions = {}): DArray {
  return reduce(x, "var", options);
}

export * from "./math.ts";
export * from "./nan_reductions.ts";

/** An NDArray (a computed block or result) — re-exported for type positions. */
export type { NDArray };
