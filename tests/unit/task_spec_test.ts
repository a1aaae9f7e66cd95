import assert from "node:assert/strict";
import { delayed } from "../../mod.ts";
import { collectGraph } from "../../collections/collection.ts";
import { RunState } from "../../collections/local/run_state.ts";
import { runSync } from "../../collections/local/sync.ts";
import { findRefs, makeLiteral, makeTask, substituteRefs, TaskRef } from "../../core/task.ts";
import type { Graph } from "../../core/graph.ts";

const ref = (key: string) => new TaskRef(key);

Deno.test("findRefs lists each referenced key once, in the order first met", () => {
  assert.deepEqual(findRefs([]), []);
  assert.deepEqual(findRefs([1, "a", null, undefined]), []);
  assert.deepEqual(findRefs([ref("a")]), ["a"]);
  assert.deepEqual(findRefs([ref("a"), 2, ref("b")]), ["a", "b"]);
  assert.deepEqual(findRefs([ref("a"), ref("a"), ref("b"), ref("a")]), ["a", "b"]);
  assert.deepEqual(findRefs([ref("a"), ref("b"), ref("c"), ref("b"), ref("d")]), [
    "a",
    "b",
    "c",
    "d",
  ]);
  // references inside containers, before, between and after top-level ones
  assert.deepEqual(
    findRefs([[ref("x")], ref("a"), { k: ref("y"), again: ref("a") }, ref("b"), [ref("x")]]),
    ["x", "a", "y", "b"],
  );
  assert.deepEqual(findRefs([ref("a"), ref("b"), [1, { c: [ref("c"), ref("a")] }], ref("d")]), [
    "a",
    "b",
    "c",
    "d",
  ]);
  assert.deepEqual(findRefs([[], {}, [1, 2]]), []);
  // a class instance is a value, not searched
  assert.deepEqual(findRefs([new Map([["k", ref("a")]]), ref("b")]), ["b"]);
  // the list is exactly its length (no spare room kept per task)
  const three = findRefs([ref("a"), ref("b"), ref("c")]);
  assert.equal(three.length, 3);
});

Deno.test("findRefs names the cycle of arguments that contain themselves", () => {
  const endless: unknown[] = [ref("a")];
  endless.push(endless);
  assert.throws(() => findRefs([ref("b"), endless]), /args/);
});

Deno.test("substituteRefs puts values in place of references without changing the arguments", () => {
  const values = new Map<string, unknown>([["a", 1], ["b", { n: 2 }]]);
  const lookup = (key: string) => values.get(key);
  const flat = [ref("a"), 5, ref("b"), "s"];
  const out = substituteRefs(flat, lookup) as unknown[];
  assert.deepEqual(out, [1, 5, { n: 2 }, "s"]);
  assert.equal(out[2], values.get("b"));
  assert.ok(flat[0] instanceof TaskRef, "the arguments themselves are not changed");
  // nothing to replace: the same array
  const plain = [1, "x", null];
  assert.equal(substituteRefs(plain, lookup), plain);
  // nested, after flat references
  const nested = [ref("a"), [ref("b"), { c: ref("a") }], 3];
  assert.deepEqual(substituteRefs(nested, lookup), [1, [{ n: 2 }, { c: 1 }], 3]);
  assert.ok((nested[1] as unknown[])[0] instanceof TaskRef);
  assert.equal(substituteRefs(ref("a"), lookup), 1);
  assert.equal(substituteRefs(7, lookup), 7);
});

Deno.test("RunState runs only the tasks the outputs need, dependencies resolved by position", async () => {
  const graph: Graph = new Map();
  const add = (x: number, y: number) => x + y;
  graph.set("one", makeLiteral("one", 1));
  graph.set("two", makeLiteral("two", 2));
  graph.set("unused", makeTask("unused", add, [ref("one"), ref("one")]));
  // the second argument names its dependency first met in a container
  graph.set("sum", makeTask("sum", add, [ref("two"), ref("one")]));
  graph.set(
    "nested",
    makeTask("nested", (xs: number[], y: number) => xs[0] * y, [
      [ref("sum")],
      ref("two"),
    ]),
  );
  const run = new RunState(graph, ["nested"]);
  assert.equal(run.total, 4);
  assert.deepEqual(await runSync(graph, ["nested"]), [6]);
  assert.deepEqual(await runSync(graph, ["sum", "unused"]), [3, 2]);
});

Deno.test("delayed keeps each value's layers, also beside nested and repeated arguments", async () => {
  const inc = delayed((x: number) => x + 1);
  const add = delayed((...xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const a = inc(1);
  const b = inc(2);
  const total = add(a, 10, b, a);
  assert.deepEqual(total.dependencies, [a, b, a]);
  assert.equal(await total.compute({ scheduler: "sync" }), 2 + 10 + 3 + 2);
  // a container among the arguments, after a Delayed and before another
  const mixed = delayed((x: number, ys: number[], z: number) => x + ys[0] + z)(a, [b], inc(b));
  assert.equal(mixed.dependencies.length, 3);
  assert.equal(collectGraph([mixed]).size, 4);
  assert.equal(await mixed.compute({ scheduler: "sync" }), 2 + 3 + 4);
});
