import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as k from "../../collections/array/kernels/mod.ts";
import { ALL_DTYPES, Random, randomShape } from "./ndarray_reference.ts";
import { assertComputes, randomChunks, randomData, taskCounts } from "./array_support.ts";

const BINARY = [
  "add",
  "subtract",
  "multiply",
  "divide",
  "maximum",
  "minimum",
  "equal",
  "less",
  "greaterEqual",
  "logicalAnd",
  "logicalXor",
] as const;
const UNARY = ["negative", "abs", "square", "sqrt", "exp", "floor", "isnan", "logicalNot"] as const;

/** A shape that broadcasts with `shape`: some axes set to 1, some leading axes dropped. */
function broadcastPartner(r: Random, shape: readonly number[]): number[] {
  const dropped = r.int(0, shape.length);
  return shape.slice(dropped).map((n) => (r.bool(0.3) ? 1 : n));
}

Deno.test("element-wise binary ops match the kernels on random shapes, chunkings and dtypes", async () => {
  const r = new Random(11);
  try {
    for (let trial = 0; trial < 120; trial++) {
      const shape = randomShape(r, 3).map((n) => n * r.int(1, 3));
      const other = broadcastPartner(r, shape);
      const [left, right] = r.bool(0.5) ? [shape, other] : [other, shape];
      const ta = r.pick(ALL_DTYPES), tb = r.pick(ALL_DTYPES);
      const a = randomData(r, left, ta), b = randomData(r, right, tb);
      const op = r.pick(BINARY);
      let expected: k.NDArray;
      try {
        expected = (k[op] as (x: k.NDArray, y: k.NDArray) => k.NDArray)(a, b);
      } catch (error) {
        // what the kernel refuses, the collection refuses when the operation is built
        const x = array.fromArray(a, { chunks: randomChunks(r, left) });
        assert.throws(
          () => x[op](array.fromArray(b)),
          (e: Error) => e.name === (error as Error).name,
        );
        continue;
      }
      const x = array.fromArray(a, { chunks: randomChunks(r, left) });
      const y = array.fromArray(b, { chunks: randomChunks(r, right) });
      const context = `${op} ${ta}${JSON.stringify(left)} ${tb}${JSON.stringify(right)}`;
      await assertComputes(x[op](y), expected, context, { threads: trial % 10 === 0 });
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("element-wise unary ops, scalars, NDArray operands, astype and round", async () => {
  const r = new Random(12);
  for (let trial = 0; trial < 60; trial++) {
    const shape = randomShape(r, 3).map((n) => n * r.int(1, 3));
    const dtype = r.pick(ALL_DTYPES.filter((t) => t !== "bool"));
    const a = randomData(r, shape, dtype);
    const x = array.fromArray(a, { chunks: randomChunks(r, shape) });
    const op = r.pick(UNARY);
    const kernel = k[op] as (x: k.NDArray) => k.NDArray;
    await assertComputes(x[op](), kernel(a), `${op} ${dtype}${JSON.stringify(shape)}`);
    const scalar = r.pick([2, -3, 0.5, true]);
    await assertComputes(x.mul(scalar), k.multiply(a, scalar), `mul ${scalar}`);
    await assertComputes(x.astype("float32"), k.astype(a, "float32"), "astype");
    await assertComputes(x.round(1), k.round(a, 1), "round");
  }
  const a = k.arange(12, undefined, 1, "float64");
  const m = k.reshape(a, [3, 4]);
  const x = array.fromArray(m, { chunks: [2, 3] });
  const row = k.arange(4);
  await assertComputes(x.add(row), k.add(m, row), "NDArray operand broadcast along rows");
  await assertComputes(array.where(x.greater(5), x, -1), k.where(k.greater(m, 5), m, -1), "where");
  await assertComputes(x.clip(2, 7), k.clip(m, 2, 7), "clip");
  await assertComputes(array.exp(x).log(), k.log(k.exp(m)), "module functions", { rtol: 1e-12 });
});

Deno.test("arrays cut differently are rechunked to common blocks", async () => {
  const a = k.reshape(k.arange(60, undefined, 1, "float64"), [6, 10]);
  const x = array.fromArray(a, { chunks: [[2, 4], [5, 5]] });
  const y = array.fromArray(a, { chunks: [[3, 3], [2, 8]] });
  const z = x.add(y);
  assert.deepEqual(z.chunks, [[2, 1, 3], [2, 3, 5]]);
  await assertComputes(z, k.add(a, a), "misaligned", { threads: true });
  shutdownThreads();
});

Deno.test("shapes that cannot broadcast are refused with both shapes named", () => {
  const x = array.ones([3, 4], { chunks: 2 });
  const y = array.ones([5], { chunks: 2 });
  assert.throws(
    () => x.add(y),
    (e: Error) =>
      e instanceof RangeError && e.message.includes("could not be broadcast") &&
      e.message.includes("(3,4)") && e.message.includes("(5,)"),
  );
  assert.throws(() => array.ones([2], { dtype: "bool" }).sub(true), /boolean subtract/);
});

Deno.test("fusion: chains become one task per block; shared results are made once", () => {
  // random blocks are cheaper to make than to move: each task makes the blocks it reads, and
  // the two blocks that read the same two random blocks ([0,1] and [1,0]) share one task
  const x = array.random.random([100, 100], { chunks: 50, seed: 3 });
  assert.deepEqual(taskCounts(x.mul(2).add(1).sqrt().sub(x.T)), {
    subtract: 4,
    "subtract-draws": 1,
  });
  // data blocks read by two consumers travel to both; each output block is one task
  const data = array.fromArray(k.ones([100, 100]), { chunks: 50 });
  assert.deepEqual(taskCounts(data.mul(2).add(1).sqrt().sub(data.T)), { array: 4, subtract: 4 });
  // an intermediate read twice is computed once; the transpose (a view) fuses into its reader
  const y = data.mul(2);
  assert.deepEqual(taskCounts(y.add(y.T)), { multiply: 4, add: 4 });
  // a transpose read by a rechunk is still a view: the rechunked blocks read the random blocks
  const r = array.random.random([100, 100], { chunks: [50, 100], seed: 1 });
  assert.deepEqual(taskCounts(r.add(r.T)), { random_sample: 2, add: 4 });
  // a reduction's first step fuses with what it reduces
  assert.deepEqual(taskCounts(x.add(x.T).sum({ axis: 0 })), {
    "sum-chunk": 4,
    "sum-chunk-draws": 1,
    "sum-aggregate": 2,
  });
});
