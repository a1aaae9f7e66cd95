import assert from "node:assert/strict";
import { delayed, persist } from "../../mod.ts";
import { cull, graphToRun, MAX_FUSED_CHAIN, optimizeGraph } from "../../core/optimize.ts";
import { buildIndex, handOverIndex, indexGraph } from "../../core/graph.ts";
import { fusedPrefix, makeLiteral, makeTask, TaskRef } from "../../core/task.ts";
import type { Graph } from "../../core/graph.ts";
import { runSync } from "../../collections/local/sync.ts";
import { runThreads, shutdownThreads } from "../../collections/local/threads.ts";
import { collectGraph, collectionSymbol } from "../../collections/collection.ts";
import { planCompute } from "../../collections/compute.ts";

function graphOf(...tasks: ReturnType<typeof makeTask>[]): Graph {
  return new Map(tasks.map((t) => [t.key, t]));
}

const inc = (x: number) => x + 1;
const double = (x: number) => x * 2;
const add = (a: number, b: number) => a + b;

Deno.test("cull keeps exactly what the outputs need, in graph order", () => {
  const graph = graphOf(
    makeLiteral("a", 1),
    makeTask("b", inc, [new TaskRef("a")]),
    makeTask("unused", inc, [new TaskRef("a")]),
    makeTask("c", double, [new TaskRef("b")]),
    makeTask("other", double, [5]),
  );
  assert.deepEqual([...cull(graph, ["c"]).keys()], ["a", "b", "c"]);
  assert.equal(cull(graph, ["c", "unused", "other"]).size, 5);
});

Deno.test("a linear chain becomes one task under its last key, with the same result", async () => {
  const graph = graphOf(
    makeTask("a", inc, [1]),
    makeTask("b", double, [new TaskRef("a")]),
    makeTask("c", (o: { v: number; w: number[] }) => o.v + o.w[1], [{
      v: new TaskRef("b"),
      w: [0, new TaskRef("b")],
    }]),
  );
  const { graph: optimized, report } = optimizeGraph(graph, ["c"]);
  assert.deepEqual([...optimized.keys()], ["c"]);
  assert.equal(report.fused, 2);
  assert.deepEqual(optimized.get("c")!.deps, []);
  // displays name it by its parts, in the order they run
  assert.deepEqual(optimized.get("c")!.parts, ["a", "b", "c"]);
  assert.equal(fusedPrefix(["inc-1", "inc-2", "double-3", "inc-4"]), "inc×2+double+inc");
  assert.deepEqual(await runSync(optimized, ["c"]), [8]);
  try {
    assert.deepEqual(await runThreads(optimized, ["c"], { numWorkers: 2 }), [8]);
  } finally {
    shutdownThreads();
  }
  // holes are filled in copies: the fused task's own arguments still hold them empty, so the
  // graph can run again (a fill in place would leave the first run's values there)
  const cArgs = optimized.get("c")!.args[3] as [{ v: unknown; w: unknown[] }];
  assert.equal(cArgs[0].v, null);
  assert.equal(cArgs[0].w[1], null);
  assert.ok(graph.get("c")!.args[0] !== cArgs[0], "the original task's arguments are not reused");
});

Deno.test("outputs, shared results, tasks with options and multi-input tasks stay apart", () => {
  const graph = graphOf(
    makeTask("x", inc, [1]),
    makeTask("shared", double, [new TaskRef("x")]),
    makeTask("left", inc, [new TaskRef("shared")]),
    makeTask("right", inc, [new TaskRef("shared")]),
    makeTask("join", add, [new TaskRef("left"), new TaskRef("right")]),
    makeTask("placed", inc, [2], { workers: ["w0"] }),
    makeTask("after", inc, [new TaskRef("placed")]),
  );
  const { graph: optimized } = optimizeGraph(graph, ["join", "left", "after"]);
  // x -> shared fuses (x has one reader that reads nothing else); shared has two readers;
  // left is an output; a task with placement options is not folded into another
  assert.deepEqual([...optimized.keys()].sort(), [
    "after",
    "join",
    "left",
    "placed",
    "right",
    "shared",
  ]);
});

Deno.test("async links are awaited inside a fused task", async () => {
  const slowInc = async (x: number) => {
    await new Promise((r) => setTimeout(r, 1));
    return x + 1;
  };
  const graph = graphOf(
    makeTask("a", slowInc, [1]),
    makeTask("b", double, [new TaskRef("a")]),
    makeTask("c", slowInc, [new TaskRef("b")]),
    makeTask("d", double, [new TaskRef("c")]),
  );
  const { graph: optimized } = optimizeGraph(graph, ["d"]);
  assert.equal(optimized.size, 1);
  assert.deepEqual(await runSync(optimized, ["d"]), [10]);
});

Deno.test("a deep chain is cut into fused pieces of at most MAX_FUSED_CHAIN links", async () => {
  let x = delayed(inc)(0);
  const depth = MAX_FUSED_CHAIN * 3 + 5;
  for (let i = 1; i < depth; i++) x = delayed(inc)(x);
  const spec = x[collectionSymbol];
  const { graph, report } = optimizeGraph(collectGraph([spec.layer()]), spec.keys());
  assert.equal(graph.size, Math.ceil(depth / MAX_FUSED_CHAIN));
  assert.equal(report.fused, depth - graph.size);
  assert.equal(await x.compute({ scheduler: "sync" }), depth);
  try {
    assert.equal(await x.compute({ scheduler: "threads", numWorkers: 2 }), depth);
  } finally {
    shutdownThreads();
  }
});

Deno.test("cheap literals are inlined; objects and outputs stay literal tasks", () => {
  const graph = graphOf(
    makeLiteral("n", 3),
    makeLiteral("big", [1, 2, 3]),
    makeLiteral("out", 7),
    makeTask("a", add, [new TaskRef("n"), new TaskRef("out")]),
    makeTask("b", (xs: number[], k: number) => xs.length + k, [
      new TaskRef("big"),
      new TaskRef("n"),
    ]),
  );
  const { graph: optimized, report } = optimizeGraph(graph, ["a", "b", "out"]);
  assert.equal(report.inlined, 1);
  assert.ok(!optimized.has("n"));
  assert.ok(optimized.has("big") && optimized.has("out"));
  assert.deepEqual(optimized.get("a")!.deps, ["out"]);
});

Deno.test("compute fuses by default and optimizeGraph: false runs every task", async () => {
  const walk = (seed: number) => seed * 3;
  const step = (x: number) => x + 1;
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const walks = Array.from({ length: 5 }, (_, i) => delayed(step)(delayed(walk)(i)));
  const sum = delayed(total)(walks);
  // 5 walk -> step chains fuse into 5 tasks, plus the sum (its list argument is inlined)
  assert.equal(planCompute([sum]).graph.size, 6);
  assert.equal(planCompute([sum], "compute()", false).graph.size, 11);
  const expected = 5 + 3 * (0 + 1 + 2 + 3 + 4);
  for (const scheduler of ["sync", "threads"] as const) {
    assert.equal(await sum.compute({ scheduler }), expected);
    assert.equal(await sum.compute({ scheduler, optimizeGraph: false }), expected);
  }
  // persist keeps the outputs' keys whatever was fused
  const kept = await persist(sum, { scheduler: "sync" });
  assert.equal(await kept.compute({ scheduler: "sync" }), expected);
  shutdownThreads();
});

Deno.test("the pass's index of an unchanged graph is used once by its executor, if still true", async () => {
  const graph = graphOf(
    makeTask("x", inc, [1]),
    makeTask("y", inc, [2]),
    makeTask("sum", add, [new TaskRef("x"), new TaskRef("y")]),
  );
  // nothing to cull, inline or fuse: the same graph, and the index the pass built goes with it
  assert.equal(graphToRun(graph, ["sum"]), graph);
  const fresh = buildIndex(graph, true);
  const handed = indexGraph(graph);
  assert.deepEqual(handed, fresh);
  // taken once: the taker may sort its dependencies and reuse its map
  assert.notEqual(indexGraph(graph), handed);

  const index = buildIndex(graph, false);
  handOverIndex(graph, index);
  assert.equal(indexGraph(graph), index);
  // a graph changed after the pass is indexed again, and checked again
  handOverIndex(graph, index);
  graph.set("sum", makeTask("sum", add, [new TaskRef("x"), new TaskRef("gone")]));
  assert.throws(() => indexGraph(graph), /depends on 'gone', which is not in the graph/);
  graph.set("sum", makeTask("sum", add, [new TaskRef("y"), new TaskRef("x")]));
  handOverIndex(graph, index);
  assert.deepEqual(Array.from(indexGraph(graph).deps), [1, 0]);
  // an index with a missing dependency is never handed over: the executor names what is missing
  const broken = graphOf(makeTask("a", inc, [new TaskRef("missing")]));
  assert.equal(graphToRun(broken, ["a"]), broken);
  assert.throws(() => indexGraph(broken), /depends on 'missing'/);
  assert.deepEqual(await runSync(graphToRun(graph, ["sum"]), ["sum"]), [5]);
});

Deno.test("culling, inlining and fusing together, with keys missing from the graph left alone", () => {
  const graph = graphOf(
    makeLiteral("k", 2),
    makeTask("a", inc, [new TaskRef("k")]),
    makeTask("b", double, [new TaskRef("a")]),
    makeTask("c", inc, [new TaskRef("b")]),
    makeTask("dead", inc, [new TaskRef("c")]),
    makeTask("outside", inc, [new TaskRef("elsewhere")]),
    makeTask("twice", add, [new TaskRef("c"), new TaskRef("outside")]),
  );
  const { graph: optimized, report } = optimizeGraph(graph, ["twice"]);
  assert.deepEqual(report, { culled: 1, inlined: 1, fused: 2 });
  assert.deepEqual([...optimized.keys()], ["c", "outside", "twice"]);
  assert.deepEqual(optimized.get("c")!.parts, ["a", "b", "c"]);
  assert.deepEqual(optimized.get("c")!.deps, []);
  assert.deepEqual(optimized.get("outside")!.deps, ["elsewhere"]);
  assert.equal(optimized.get("twice"), graph.get("twice"));
});
