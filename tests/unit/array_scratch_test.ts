import assert from "node:assert/strict";
import * as k from "../../collections/array/kernels/mod.ts";
import { uninitialized, withScratch } from "../../collections/array/kernels/scratch.ts";
import { evalBlock } from "../../collections/array/chunk_tasks.ts";
import { blockExpr } from "../../collections/array/block_expr.ts";
import { NDArray } from "../../core/ndarray.ts";
import { randomBlockExpr } from "./array_support.ts";

const BIG = 100_000; // elements: above the pool's minimum size

Deno.test("scratch: a block dropped inside the work is reused by the next one", () => {
  let first: ArrayBufferLike | undefined;
  withScratch(() => {
    first = uninitialized("float64", BIG).buffer;
    return 1;
  });
  const again = uninitialized("float64", BIG);
  assert.equal(again.buffer, first);
  assert.equal(again.length, BIG);
});

Deno.test("scratch: what the result reaches is never reused", () => {
  const kept = withScratch(() => {
    const a = new NDArray(uninitialized("float64", BIG), [BIG]);
    return { nested: [k.transpose(a, [0])] }; // a view of the block, deep in the result
  });
  const next = uninitialized("float64", BIG);
  assert.notEqual(next.buffer, kept.nested[0].data.buffer);
});

Deno.test("scratch: nothing is reused when the work throws or opts out", () => {
  let made: ArrayBufferLike | undefined;
  assert.throws(() =>
    withScratch(() => {
      made = uninitialized("float64", BIG).buffer;
      throw new Error("boom");
    })
  );
  withScratch(() => {
    made = uninitialized("float64", BIG).buffer;
    return null;
  }, false);
  assert.notEqual(uninitialized("float64", BIG).buffer, made);
});

Deno.test("scratch: fused array tasks give the same values when their buffers are reused", () => {
  const random = (stream: number) => randomBlockExpr(stream, [400, 400], 7);
  // sum(x + x.T) for two blocks, twice: the second pass runs on recycled buffers
  const task = (i: number) =>
    blockExpr("map", { fn: "add" }, [
      random(i),
      blockExpr("transpose", { axes: [1, 0] }, [random(1 - i)]),
    ]);
  const first = [evalBlock(task(0)), evalBlock(task(1))] as NDArray[];
  const second = [evalBlock(task(0)), evalBlock(task(1))] as NDArray[];
  for (let i = 0; i < 2; i++) assert.deepEqual(second[i].data, first[i].data);
  // results are the tasks' own: the second run did not write into the first's blocks
  assert.notEqual(second[0].data.buffer, first[0].data.buffer);
  const mirrored = k.transpose(first[1], [1, 0]); // (x0 + x1.T).T == x1 + x0.T
  assert.equal(first[0].get(3, 5), mirrored.get(3, 5));
});
