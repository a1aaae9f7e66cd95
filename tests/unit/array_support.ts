/**
 * Test support for the array collection tests: random block layouts, and computing an array on
 * the `sync` and `threads` schedulers against a reference NDArray (the reference is the chunk
 * kernel applied to the whole array, the kernels themselves being checked against naive loops
 * in the ndarray_* tests).
 */
import assert from "node:assert/strict";
import { type DType, NDArray } from "../../core/ndarray.ts";
import { taskModule } from "../../core/function_codec.ts";
import { multiply } from "../../collections/array/kernels/mod.ts";
import type { DArray } from "../../collections/array/mod.ts";
import { collectGraph } from "../../collections/collection.ts";
import { keyPrefix } from "../../core/task.ts";
import { type BlockExpr, blockExpr } from "../../collections/array/block_expr.ts";
import { assertArray, type Random, randomArray, refOf } from "./ndarray_reference.ts";

/** Random block lengths for `shape`: a block size per axis, or explicit uneven lengths. */
export function randomChunks(r: Random, shape: readonly number[]): (number | number[])[] {
  return shape.map((n) => {
    if (n === 0) return [0];
    if (r.bool(0.5)) return r.int(1, Math.max(1, n));
    const out: number[] = [];
    let left = n;
    while (left > 0) {
      const take = Math.min(left, r.int(1, Math.max(1, Math.ceil(n / 2))));
      out.push(take);
      left -= take;
    }
    return out;
  });
}

/** A random contiguous NDArray (values that every dtype holds exactly). */
export function randomData(r: Random, shape: readonly number[], dtype: DType): NDArray {
  return randomArray(r, shape, dtype).toContiguous();
}

/**
 * Computes `x` on `sync` (and on `threads` when asked) and compares with `expected`; an array of
 * shape () must compute to `expected`'s element as a JS value (see {@link assertResult}).
 */
export async function assertComputes(
  x: DArray,
  expected: NDArray,
  context: string,
  options: { threads?: boolean; rtol?: number } = {},
): Promise<void> {
  const got = await x.compute({ scheduler: "sync" });
  assertResult(got, expected, `${context} [sync]`, options.rtol);
  if (options.threads) {
    const got = await x.compute({ scheduler: "threads", numWorkers: 2 });
    assertResult(got, expected, `${context} [threads]`, options.rtol);
  }
}

/**
 * What computing an array gave, against the reference NDArray: for shape () a JS value (a
 * boolean for `bool`, else a number) equal to the reference's element, otherwise an NDArray.
 */
export function assertResult(
  actual: unknown,
  expected: NDArray,
  context: string,
  rtol = 1e-12,
): void {
  if (expected.ndim === 0) {
    const element = expected.get();
    const value = expected.dtype === "bool" ? element !== 0 : element;
    assert.equal(typeof actual, typeof value, `${context}: a ${typeof value}, got ${actual}`);
    assertArray(scalarBlock(actual as number | boolean), refOf(expected), context, rtol);
    return;
  }
  assertArray(actual as NDArray, { ...refOf(expected), dtype: expected.dtype }, context, rtol);
}

function scalarBlock(value: number | boolean): NDArray {
  return new NDArray(new Float64Array([Number(value)]), []);
}

/** Shape, dtype and block layout of an array, checked together. */
export function describeLayout(x: DArray): { shape: number[]; dtype: DType; chunks: number[][] } {
  return { shape: x.shape, dtype: x.dtype, chunks: x.chunks.map((c) => [...c]) };
}

/** A block function declared as a task module function: it may use what this module imports. */
export const { scaleBlock } = taskModule(import.meta.url, {
  scaleBlock: (block: NDArray, factor: number): NDArray => multiply(block, factor),
});

/** Tasks of an array's graph, counted by key prefix. */
export function taskCounts(x: DArray): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of collectGraph([x.layer()]).keys()) {
    const prefix = keyPrefix(key);
    counts[prefix] = (counts[prefix] ?? 0) + 1;
  }
  return counts;
}

/** The block expression of a uniform random block: stream `stream` of `seed`. */
export function randomBlockExpr(stream: number, shape: number[], seed: number): BlockExpr {
  return blockExpr("random", {
    shape,
    distribution: { kind: "uniform", low: 0, high: 1 },
    seed,
    stream,
    dtype: "float64",
  }, []);
}
