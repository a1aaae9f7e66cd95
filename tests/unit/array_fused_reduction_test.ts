import assert from "node:assert/strict";
import * as k from "../../collections/array/kernels/mod.ts";
import { uninitialized } from "../../collections/array/kernels/scratch.ts";
import { evalBlock } from "../../collections/array/chunk_tasks.ts";
import { blockExpr } from "../../collections/array/block_expr.ts";
import type { NDArray } from "../../core/ndarray.ts";
import { randomBlockExpr } from "./array_support.ts";
import { layoutArray, Random, randomShape } from "./ndarray_reference.ts";

const OPS = ["add", "subtract", "multiply", "divide"] as const;
const FOLDS = ["sum", "prod", "min", "max"] as const;

/** float64 values whose sums round (so a different order of folding would show), some NaN. */
function floats(r: Random, shape: readonly number[], nan: boolean): NDArray {
  const n = shape.reduce((p, d) => p * d, 1);
  const values = Array.from(
    { length: n },
    () => nan && r.bool(0.1) ? NaN : (r.next() * 2 - 1) * 10 ** r.int(-3, 3),
  );
  return layoutArray(r, shape, "float64", values);
}

/** `shape` with some axes dropped to length 1 or left out in front (broadcast against it). */
function broadcastable(r: Random, shape: readonly number[]): number[] {
  return shape.slice(r.int(0, shape.length)).map((n) => (r.bool(0.3) ? 1 : n));
}

function sameBits(actual: NDArray, expected: NDArray, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, what);
  assert.equal(actual.dtype, expected.dtype, what);
  const a = actual.numbers(), e = expected.numbers();
  for (let i = 0; i < e.length; i++) {
    assert.ok(Object.is(a[i], e[i]), `${what}: element ${i} is ${a[i]}, expected ${e[i]}`);
  }
}

Deno.test("fused reduction: the same bits as reducing the element-wise block", () => {
  const r = new Random(17);
  for (let trial = 0; trial < 400; trial++) {
    const shape = randomShape(r, 4);
    const a = floats(r, shape, trial % 3 === 0);
    const b = floats(r, r.bool(0.3) ? broadcastable(r, shape) : shape, false);
    const [x, y] = r.bool(0.5) ? [a, b] : [b, a];
    const op = r.pick(OPS), fold = r.pick(FOLDS);
    const axes = shape.map((_, i) => i).filter(() => r.bool(0.5));
    const options = { axis: r.bool(0.2) ? null : axes, keepdims: r.bool(0.5) };
    const what = `${fold}(${op}) of ${k.formatShape(x.shape)}, ${k.formatShape(y.shape)} ` +
      `over ${JSON.stringify(options)}`;
    let expected: NDArray | Error;
    try {
      expected = k[fold](k[op](x, y), options);
    } catch (error) {
      expected = error as Error;
    }
    if (expected instanceof Error) {
      assert.throws(() => k.foldOfMap(fold, k.FLOAT64_ARITHMETIC[op], [x, y], options), {
        message: expected.message,
      });
      continue;
    }
    sameBits(k.foldOfMap(fold, k.FLOAT64_ARITHMETIC[op], [x, y], options), expected, what);
  }
});

Deno.test("fused reduction: only float64 operands", () => {
  const x = k.ones([2, 2], "float32");
  assert.throws(() => k.foldOfMap("sum", "x0 + x1", [x, x]), /float64/);
});

const SIDE = 300; // a block size no other test pools (scratch.ts keeps buffers by byte length)

/** sum(x + x.T, axis 0) of one block, as a fused array task evaluates it. */
function sumOfAddTask(kind: "sum" | "mean") {
  const random = (stream: number) => randomBlockExpr(stream, [SIDE, SIDE], 5);
  return blockExpr("reduceChunk", { kind, axes: [0] }, [
    blockExpr("map", { fn: "add" }, [
      random(0),
      blockExpr("transpose", { axes: [1, 0] }, [random(1)]),
    ]),
  ]);
}

Deno.test("fused reduction: a task reducing an element-wise block never makes that block", () => {
  const expected = k.sum(
    k.add(
      evalBlock(randomBlockExpr(0, [SIDE, SIDE], 5)) as NDArray,
      k.transpose(evalBlock(randomBlockExpr(1, [SIDE, SIDE], 5)) as NDArray),
    ),
    { axis: [0], keepdims: true },
  );
  // those two draws went back to the pool; take them out so that it starts empty
  uninitialized("float64", SIDE * SIDE);
  uninitialized("float64", SIDE * SIDE);
  sameBits(evalBlock(sumOfAddTask("sum")) as NDArray, expected, "sum");
  const mean = evalBlock(sumOfAddTask("mean")) as { sum: NDArray; count: number };
  sameBits(mean.sum, expected, "mean's sum");
  assert.equal(mean.count, SIDE);
  // the task gave back the blocks it made: its two random draws, and no third (the sum)
  const given = [1, 2, 3].map(() => uninitialized("float64", SIDE * SIDE));
  assert.ok(given[0].some((v) => v !== 0) && given[1].some((v) => v !== 0));
  assert.ok(given[2].every((v) => v === 0), "a block-sized buffer was made for x + x.T");
});

Deno.test("fused reduction: other operands fall back to the element-wise block", () => {
  const x = k.arange(0, 12, 1, "int32");
  const task = blockExpr("reduceChunk", { kind: "sum", axes: [0] }, [
    blockExpr("map", { fn: "multiply" }, [x, 3]),
  ]);
  sameBits(evalBlock(task) as NDArray, k.sum(k.multiply(x, 3), { axis: [0], keepdims: true }), "");
  const any = blockExpr("reduceChunk", { kind: "any", axes: [0] }, [
    blockExpr("map", { fn: "add" }, [k.zeros([3]), k.zeros([3])]),
  ]);
  assert.equal((evalBlock(any) as NDArray).numbers()[0], 0);
});
