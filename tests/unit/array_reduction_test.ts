import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as k from "../../collections/array/kernels/mod.ts";
import { NDArray } from "../../core/ndarray.ts";
import { ALL_DTYPES, Random, randomShape } from "./ndarray_reference.ts";
import { assertComputes, randomChunks, randomData, taskCounts } from "./array_support.ts";

const KINDS = ["sum", "prod", "min", "max", "any", "all", "mean", "var", "std"] as const;

/** A random `axis` option: none, one axis (maybe negative) or several. */
function randomAxis(r: Random, ndim: number): number | number[] | undefined {
  if (ndim === 0 || r.bool(0.25)) return undefined;
  if (r.bool(0.5)) return r.int(-ndim, ndim - 1);
  return [...new Set(Array.from({ length: r.int(1, ndim) }, () => r.int(0, ndim - 1)))];
}

Deno.test("tree reductions match the kernels for every axis, keepdims and splitEvery", async () => {
  const r = new Random(21);
  try {
    for (let trial = 0; trial < 150; trial++) {
      // non-empty: min/max of nothing fail (in NumPy too); long axes make multi-level trees
      const shape = randomShape(r, 3).map((n) => Math.max(1, n) * r.int(1, 4));
      const dtype = r.pick(ALL_DTYPES);
      const a = randomData(r, shape, dtype);
      const x = array.fromArray(a, { chunks: shape.map((n) => r.int(1, Math.max(1, n))) });
      const kind = r.pick(KINDS);
      const axis = randomAxis(r, shape.length);
      const keepdims = r.bool(0.3);
      const splitEvery = r.pick([undefined, 2, 3, 16]);
      const ddof = kind === "var" || kind === "std" ? r.int(0, 1) : undefined;
      const kernelName = kind === "var" ? "variance" : kind;
      const expected = (k[kernelName] as (a: k.NDArray, o: unknown) => k.NDArray)(a, {
        axis,
        keepdims,
        ddof,
      });
      const result = kind === "var" || kind === "std"
        ? x[kind]({ axis, keepdims, splitEvery, ddof })
        : x[kind]({ axis, keepdims, splitEvery });
      const context = `${kind} ${dtype}${JSON.stringify(shape)} chunks ${
        JSON.stringify(x.chunks)
      } axis=${JSON.stringify(axis)} keepdims=${keepdims} split=${splitEvery}`;
      assert.deepEqual(result.shape, expected.shape, context);
      assert.equal(result.dtype, expected.dtype, context);
      await assertComputes(result, expected, context, {
        threads: trial % 15 === 0,
        rtol: dtype === "float32" ? 1e-5 : 1e-9,
      });
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("reductions build trees: splitEvery partials per task, levels until one", () => {
  // 64 partials, 16 groups of 4, 4 groups of 4, then the aggregate of 4
  const tree = array.ones([64], { chunks: 1 }).sum({ splitEvery: 4 });
  assert.deepEqual(taskCounts(tree), {
    "sum-chunk": 64,
    "sum-combine": 16 + 4,
    "sum-aggregate": 1,
  });
  // two axes share the default split of 16 as 4 × 4
  const grid = array.ones([8, 8], { chunks: 1 }).sum();
  assert.deepEqual(taskCounts(grid), { "sum-chunk": 64, "sum-combine": 4, "sum-aggregate": 1 });
  // one block: the whole reduction is one task
  assert.deepEqual(taskCounts(array.ones([8, 8]).mean()), { "mean-aggregate": 1 });
});

Deno.test("argmin and argmax: first occurrence, NaN wins, flat and per axis", async () => {
  const r = new Random(22);
  try {
    for (let trial = 0; trial < 80; trial++) {
      const shape = randomShape(r, 3).map((n) => Math.max(1, n) * r.int(1, 3));
      const dtype = r.pick(["float64", "int8", "uint16", "float32"] as const);
      const values = randomData(r, shape, dtype);
      // few distinct values make ties; a NaN sometimes
      const data = k.floorDivide(values, 4);
      if (dtype.startsWith("float") && r.bool(0.3)) {
        data.data[r.int(0, data.size - 1)] = NaN;
      }
      const x = array.fromArray(data, { chunks: randomChunks(r, shape) });
      const kind = r.pick(["argmin", "argmax"] as const);
      const axis = shape.length === 0 || r.bool(0.4) ? undefined : r.int(0, shape.length - 1);
      const keepdims = r.bool(0.3);
      const expected = k[kind](data, { axis, keepdims });
      const context = `${kind} ${JSON.stringify(shape)} ${JSON.stringify(x.chunks)} axis=${axis}`;
      await assertComputes(x[kind]({ axis, keepdims, splitEvery: 2 }), expected, context, {
        threads: trial % 20 === 0,
      });
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("cumsum and cumprod along each axis and flattened", async () => {
  const r = new Random(23);
  for (let trial = 0; trial < 60; trial++) {
    const shape = randomShape(r, 3).map((n) => Math.max(1, n) * r.int(1, 3));
    const dtype = r.pick(["float64", "int32", "uint8", "bool"] as const);
    const a = randomData(r, shape, dtype);
    const x = array.fromArray(a, { chunks: randomChunks(r, shape) });
    const kind = r.pick(["cumsum", "cumprod"] as const);
    const axis = shape.length === 0 || r.bool(0.3) ? undefined : r.int(0, shape.length - 1);
    const context = `${kind} ${dtype}${JSON.stringify(shape)} ${JSON.stringify(x.chunks)} ${axis}`;
    await assertComputes(x[kind]({ axis }), k[kind](a, { axis }), context);
  }
});

Deno.test("blocked cumsum and cumprod equal the sequential loop to the bit", async () => {
  // block 0's product underflows to 0 and block 1's own product overflows to Infinity: the
  // sequential loop gives 0 (NumPy: [1e-200, 0, 0, 0]); adding per-block totals gave NaN
  const values = [1e-200, 1e-200, 1e200, 1e200, 3, 0.1, 0.7, 1e-3];
  const sequential = (isSum: boolean) => {
    let acc = isSum ? 0 : 1;
    return values.map((v) => (acc = isSum ? acc + v : acc * v));
  };
  try {
    for (const chunks of [2, 3, 1]) {
      const x = array.fromArray(new NDArray(Float64Array.from(values), [values.length]), {
        chunks,
      });
      for (const scheduler of ["sync", "threads"] as const) {
        const prod = await x.cumprod().compute({ scheduler });
        assert.deepEqual(prod.toArray(), sequential(false), `cumprod chunks ${chunks}`);
        const sum = await x.reshape([2, 4]).cumsum().compute({ scheduler });
        assert.deepEqual(sum.toArray(), sequential(true), `cumsum chunks ${chunks}`);
      }
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("seed 001: random(20, { chunks: 5 }).sum() and (x + x.T).sum(axis 0).mean()", async () => {
  try {
    const x = array.random.random(20, { chunks: 5, seed: 7 });
    assert.deepEqual(x.chunks, [[5, 5, 5, 5]]);
    const values = await x.compute();
    assert.ok((values.toArray() as number[]).every((v) => v >= 0 && v < 1));
    await assertComputes(x.sum(), k.sum(values), "sum", { threads: true });

    const y = array.random.random([1000, 1000], { chunks: [250, 500], seed: 8 });
    assert.deepEqual(y.numblocks, [4, 2]);
    const whole = await y.compute();
    const expected = k.mean(k.sum(k.add(whole, k.transpose(whole)), { axis: 0 }));
    await assertComputes(y.add(y.T).sum({ axis: 0 }).mean(), expected, "(x + x.T)", {
      threads: true,
      rtol: 1e-12,
    });
  } finally {
    shutdownThreads();
  }
});
