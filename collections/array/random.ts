/**
 * Random arrays. Block `i` draws from its own stream of the seed (stream `i`, the block's
 * position in C order), so every block is reproducible alone and blocks are independent. The
 * same seed and the same blocks give the same values on any scheduler and thread.
 *
 * @module
 */
import type { DType } from "../../core/ndarray.ts";
import { blockExpr } from "./block_expr.ts";
import { type ChunksSpec, flatIndex, normalizeChunks, numblocksOf } from "./chunks.ts";
import { createArray, type ShapeLike, toShape } from "./creation.ts";
import type { DArray } from "./darray.ts";
import type { RandomDistribution } from "./kernels/random.ts";

/** Options of the random array functions. */
export interface RandomOptions {
  /** Block layout; default `"auto"`. */
  chunks?: ChunksSpec;
  /** Seed (any safe integer); default: a fresh random seed, so results differ run to run. */
  seed?: number;
  /** Element type (floats: float64 or float32; integers: int32 by default). */
  dtype?: DType;
}

function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

function randomArray(
  shapeLike: ShapeLike,
  distribution: RandomDistribution,
  options: RandomOptions,
): DArray {
  const shape = toShape(shapeLike);
  const seed = options.seed ?? freshSeed();
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`a random seed must be a safe integer, got ${seed}`);
  }
  const dtype = options.dtype ?? (distribution.kind === "integers" ? "int32" : "float64");
  const grid = numblocksOf(normalizeChunks(options.chunks ?? "auto", shape, { dtype }));
  const prefix = distribution.kind === "uniform" ? "random_sample" : distribution.kind;
  return createArray(
    prefix,
    shape,
    dtype,
    options.chunks,
    [distribution, seed],
    (index, blockShape) =>
      blockExpr("random", {
        shape: blockShape,
        distribution,
        seed,
        stream: flatIndex(index, grid),
        dtype,
      }, []),
  );
}

/**
 * Uniform values in `[0, 1)`.
 *
 * @example
 * ```ts
 * import { array } from "./mod.ts";
 * const x = array.random.random([4000, 4000], { chunks: [500, 500], seed: 42 });
 * ```
 */
export function random(shape: ShapeLike, options: RandomOptions = {}): DArray {
  return randomArray(shape, { kind: "uniform", low: 0, high: 1 }, options);
}

/** Uniform values in `[low, high)`. */
export function uniform(
  low: number,
  high: number,
  shape: ShapeLike,
  options: RandomOptions = {},
): DArray {
  return randomArray(shape, { kind: "uniform", low, high }, options);
}

/** Normally distributed values with mean `loc` and standard deviation `scale`. */
export function normal(
  loc: number,
  scale: number,
  shape: ShapeLike,
  options: RandomOptions = {},
): DArray {
  if (!(scale >= 0)) throw new RangeError(`normal needs scale >= 0, got ${scale}`);
  return randomArray(shape, { kind: "normal", loc, scale }, options);
}

/** Integers drawn uniformly from `[low, high)` (int32 by default). */
export function randint(
  low: number,
  high: number,
  shape: ShapeLike,
  options: RandomOptions = {},
): DArray {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`randint needs integers low < high, got low=${low}, high=${high}`);
  }
  return randomArray(shape, { kind: "integers", low, high }, options);
}
