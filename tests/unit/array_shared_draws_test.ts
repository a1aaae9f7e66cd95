import assert from "node:assert/strict";
import { array, shutdownThreads } from "../../mod.ts";
import { shareRandomDraws } from "../../collections/array/shared_draws.ts";
import { collectGraph } from "../../collections/collection.ts";
import { blockExpr } from "../../collections/array/block_expr.ts";
import { TaskRef } from "../../core/task.ts";
import { evalBlock } from "../../collections/array/chunk_tasks.ts";
import type { NDArray } from "../../core/ndarray.ts";
import { randomBlockExpr } from "./array_support.ts";

const draw = (stream: number) => randomBlockExpr(stream, [2, 2], 1);
const plus = (a: number, b: number) =>
  blockExpr("map", { fn: "add" }, [draw(a), blockExpr("transpose", { axes: [1, 0] }, [draw(b)])]);

Deno.test("blocks drawing the same random blocks are paired; others stay as they are", () => {
  // x + x.T on a 2×2 grid: [0,1] and [1,0] draw x[0,1] and x[1,0]; the diagonal draws one block
  const exprs = [plus(0, 0), plus(1, 2), plus(2, 1), plus(3, 3)];
  const { exprs: out, shared } = shareRandomDraws(exprs, (i) => `pair[${i}]`);
  assert.equal(shared.length, 1);
  assert.equal(shared[0].key, "pair[1]");
  assert.deepEqual(shared[0].expr, blockExpr("list", null, [exprs[1], exprs[2]]));
  assert.deepEqual(out[1], blockExpr("field", { name: "0" }, [new TaskRef("pair[1]")]));
  assert.deepEqual(out[2], blockExpr("field", { name: "1" }, [new TaskRef("pair[1]")]));
  assert.equal(out[0], exprs[0]);
  assert.equal(out[3], exprs[3]);
});

Deno.test("a random block read by many blocks pairs them two by two, never more", () => {
  // every block reads draw 9 and its own: all different sets, so nothing is paired
  const own = [0, 1, 2, 3].map((i) => blockExpr("map", { fn: "add" }, [draw(9), draw(i)]));
  assert.equal(shareRandomDraws(own, String).shared.length, 0);
  // four blocks reading the same two draws: two pairs
  const same = [0, 1, 2, 3].map(() => plus(4, 5));
  const { shared } = shareRandomDraws(same, String);
  assert.deepEqual(shared.map((s) => s.key), ["0", "2"]);
});

Deno.test("x + x.T gives the same values with paired blocks on every scheduler", async () => {
  const x = array.random.random([60, 60], { chunks: [20, 20], seed: 11 });
  const graph = collectGraph([x.add(x.T).layer()]);
  assert.equal([...graph.keys()].filter((k) => String(k).includes("-draws-")).length, 3);
  const plain = await x.compute({ scheduler: "sync" });
  for (const scheduler of ["sync", "threads"] as const) {
    const sum = await x.add(x.T).compute({ scheduler });
    for (let i = 0; i < 60; i += 7) {
      for (let j = 0; j < 60; j += 5) {
        assert.equal(sum.get(i, j), plain.get(i, j) + plain.get(j, i));
      }
    }
  }
  shutdownThreads();
});

Deno.test("a task draws each random block once, however often its expression reads it", () => {
  const [a, b] = evalBlock(blockExpr("list", null, [draw(3), draw(3)])) as NDArray[];
  assert.equal(a, b, "one block, not two equal draws");
  const [c] = evalBlock(blockExpr("list", null, [draw(3)])) as NDArray[];
  assert.notEqual(c, a, "another task draws its own");
  assert.deepEqual(c.data, a.data);
});
