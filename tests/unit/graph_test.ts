import assert from "node:assert/strict";
import { dependents, type Graph, order, validateGraph } from "../../core/graph.ts";
import { GraphError } from "../../core/errors.ts";
import { type Key, makeLiteral, makeTask, type Task, TaskRef } from "../../core/task.ts";

const add = (...xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** A graph from `key: [deps]`; tasks without dependencies are literals. */
function graphOf(spec: Record<Key, Key[]>): Graph {
  const graph: Graph = new Map();
  for (const [key, deps] of Object.entries(spec)) {
    graph.set(
      key,
      deps.length === 0 ? makeLiteral(key, 1) : makeTask(key, add, deps.map((d) => new TaskRef(d))),
    );
  }
  return graph;
}

/** A binary tree reduction over `leaves` leaves; returns the graph and its root key. */
function treeReduction(leaves: number): { graph: Graph; root: Key } {
  const graph: Graph = new Map();
  let level: Key[] = [];
  for (let i = 0; i < leaves; i++) {
    graph.set(`leaf-${i}`, makeLiteral(`leaf-${i}`, i));
    level.push(`leaf-${i}`);
  }
  for (let depth = 0; level.length > 1; depth++) {
    const next: Key[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const key = `sum-${depth}-${i / 2}`;
      graph.set(key, makeTask(key, add, [new TaskRef(level[i]), new TaskRef(level[i + 1])]));
      next.push(key);
    }
    level = next;
  }
  return { graph, root: level[0] };
}

function assertDependenciesFirst(graph: Graph, priorities: Map<Key, number>): void {
  assert.equal(priorities.size, graph.size);
  assert.deepEqual(
    [...priorities.values()].sort((a, b) => a - b),
    Array.from({ length: graph.size }, (_, i) => i),
    "priorities are 0..n-1, each once",
  );
  for (const task of graph.values()) {
    for (const dep of task.deps) {
      assert.ok(priorities.get(dep)! < priorities.get(task.key)!, `${dep} before ${task.key}`);
    }
  }
}

/**
 * Runs the graph in priority order on one worker and returns the most results held at once
 * (computed, with a dependent that has not run yet).
 */
function peakHeldResults(graph: Graph, priorities: Map<Key, number>): number {
  const waiting = new Map<Key, number>();
  for (const [key, users] of dependents(graph)) waiting.set(key, users.length);
  let held = 0;
  let peak = 0;
  const byPriority = [...graph.values()].sort(
    (a, b) => priorities.get(a.key)! - priorities.get(b.key)!,
  );
  for (const task of byPriority) {
    held++;
    peak = Math.max(peak, held);
    for (const dep of task.deps) {
      const left = waiting.get(dep)! - 1;
      waiting.set(dep, left);
      if (left === 0) held--;
    }
    if (waiting.get(task.key) === 0) held--; // an output is handed over at once
  }
  return peak;
}

Deno.test("validateGraph accepts a well-formed graph", () => {
  const graph = graphOf({ a: [], b: ["a"], c: ["a", "b"] });
  validateGraph(graph, ["c", "b"]);
});

Deno.test("validateGraph names a missing dependency and the task that needs it", () => {
  const graph = graphOf({ "inc-9a": [], "add-1f": ["inc-9a", "inc-77"] });
  assert.throws(() => validateGraph(graph, ["add-1f"]), (error: Error) => {
    assert.ok(error instanceof GraphError);
    assert.match(error.message, /task 'add-1f' depends on 'inc-77', which is not in the graph/i);
    return true;
  });
});

Deno.test("validateGraph names an unknown output", () => {
  assert.throws(
    () => validateGraph(graphOf({ a: [] }), ["a", "zzz"]),
    /Output 'zzz' is not in the graph/,
  );
});

Deno.test("validateGraph names a task filed under another key", () => {
  const graph: Graph = new Map([["x", makeLiteral("y", 1)]]);
  assert.throws(() => validateGraph(graph, []), /task 'y' under the key 'x'/);
});

Deno.test("validateGraph names the keys on a cycle in order", () => {
  // Inserted out of order so the cycle is not hidden behind a topological insertion order.
  const graph = graphOf({ c: ["a"], start: ["a"], a: ["b"], b: ["c"] });
  assert.throws(() => validateGraph(graph, ["start"]), (error: Error) => {
    assert.ok(error instanceof GraphError);
    assert.match(error.message, /cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
    return true;
  });
  assert.throws(() => validateGraph(graphOf({ self: ["self"] }), []), /cycle: self -> self/);
  assert.throws(() => order(graph, ["start"]), /cycle/);
});

Deno.test("long cycles are shown shortened", () => {
  const spec: Record<Key, Key[]> = {};
  for (let i = 0; i < 1000; i++) spec[`t${i}`] = [`t${(i + 1) % 1000}`];
  assert.throws(() => validateGraph(graphOf(spec), []), /t0 -> t1 .*\(989 more\).* -> t0 /);
});

Deno.test("100,000-deep chains validate and order without recursion", () => {
  const graph: Graph = new Map([["c-0", makeLiteral("c-0", 0)]]);
  for (let i = 1; i < 100_000; i++) {
    graph.set(`c-${i}`, makeTask(`c-${i}`, add, [new TaskRef(`c-${i - 1}`), 1]));
  }
  validateGraph(graph, ["c-99999"]);
  const priorities = order(graph, ["c-99999"]);
  assert.equal(priorities.get("c-0"), 0);
  assert.equal(priorities.get("c-99999"), 99_999);
  // The same chain inserted in reverse order (not topological): the other code path.
  const reversed: Graph = new Map([...graph].reverse());
  validateGraph(reversed, ["c-99999"]);
  assert.equal(order(reversed, ["c-99999"]).get("c-50000"), 50_000);
  reversed.set("c-0", makeTask("c-0", add, [new TaskRef("c-99999")]));
  assert.throws(() => validateGraph(reversed, []), /cycle: .*more/);
});

Deno.test("dependents lists who needs each task", () => {
  const result = dependents(graphOf({ a: [], b: ["a"], c: ["a", "b"] }));
  assert.deepEqual(Object.fromEntries(result), { a: ["b", "c"], b: ["c"], c: [] });
});

Deno.test("order numbers independent chains chain by chain", () => {
  const spec: Record<Key, Key[]> = {};
  // Inserted level by level, interleaving the chains.
  for (let step = 0; step < 5; step++) {
    for (const chain of ["x", "y", "z"]) {
      spec[`${chain}${step}`] = step === 0 ? [] : [`${chain}${step - 1}`];
    }
  }
  const graph = graphOf(spec);
  const priorities = order(graph, ["x4", "y4", "z4"]);
  assertDependenciesFirst(graph, priorities);
  const sequence = [...priorities].sort((a, b) => a[1] - b[1]).map(([key]) => key).join(" ");
  assert.equal(sequence, "x0 x1 x2 x3 x4 y0 y1 y2 y3 y4 z0 z1 z2 z3 z4");
  // Outputs decide which chain goes first; without outputs, insertion order does.
  assert.equal(order(graph, ["z4"]).get("z4"), 4);
  assert.equal(order(graph, []).get("x4"), 4);
});

Deno.test("order runs each pair of leaves just before their combine in a tree reduction", () => {
  const { graph, root } = treeReduction(1024);
  const priorities = order(graph, [root]);
  assertDependenciesFirst(graph, priorities);
  assert.equal(priorities.get("leaf-0"), 0);
  assert.equal(priorities.get("leaf-1"), 1);
  assert.equal(priorities.get("sum-0-0"), 2);
  const depth = Math.log2(1024);
  const peak = peakHeldResults(graph, priorities);
  assert.ok(peak <= depth + 2, `peak ${peak} results held, depth ${depth}`);
  // Insertion order (all leaves first) would hold every leaf at once.
  const insertion = new Map([...graph.keys()].map((key, i) => [key, i]));
  assert.ok(peakHeldResults(graph, insertion) >= 1024);
});

Deno.test("order enters the smaller branch first", () => {
  // `join` needs a deep branch and a single literal: the literal runs first, right before the
  // branch's last task, rather than before the deep branch starts and waiting through it.
  const graph = graphOf({
    d0: [],
    d1: ["d0"],
    d2: ["d1"],
    d3: ["d2"],
    small: [],
    join: ["d3", "small"],
  });
  const priorities = order(graph, ["join"]);
  assertDependenciesFirst(graph, priorities);
  assert.equal(priorities.get("small"), 0);
  assert.equal(priorities.get("join"), 5);
});

Deno.test("order is deterministic and numbers tasks no output needs", () => {
  const { graph, root } = treeReduction(64);
  graph.set("unused", makeLiteral("unused", 0));
  const first = order(graph, [root]);
  const second = order(graph, [root]);
  assert.deepEqual([...first], [...second]);
  assert.equal(first.get("unused"), graph.size - 1);
  assertDependenciesFirst(graph, first);
});

Deno.test("order handles wide fan-in (many dependencies of one task)", () => {
  const graph: Graph = new Map();
  const refs: TaskRef[] = [];
  for (let i = 0; i < 100; i++) {
    // Every other input is itself a two-step chain: the single literals sort first.
    const key = `in-${i}`;
    if (i % 2 === 0) {
      graph.set(key, makeLiteral(key, i));
    } else {
      graph.set(`pre-${i}`, makeLiteral(`pre-${i}`, i));
      graph.set(key, makeTask(key, add, [new TaskRef(`pre-${i}`)]));
    }
    refs.push(new TaskRef(key));
  }
  graph.set("total", makeTask("total", add, refs) as Task);
  const priorities = order(graph, ["total"]);
  assertDependenciesFirst(graph, priorities);
  assert.equal(priorities.get("in-0"), 0);
  assert.equal(priorities.get("in-98"), 49, "all 50 single literals first, in argument order");
  assert.equal(priorities.get("pre-1"), 50);
});

Deno.test("order is the same for a graph inserted forward, outputs first, or mixed", () => {
  // a small tree whose tasks the output all needs: its order does not depend on insertion
  const spec: Record<Key, Key[]> = {
    l0: [],
    l1: [],
    l2: [],
    l3: [],
    p0: ["l0", "l1"],
    p1: ["l2", "l3"],
    p2: ["p0", "l2"],
    top: ["p2", "p1"],
  };
  const forward = graphOf(spec);
  const reversed: Graph = new Map([...forward].reverse());
  const mixed: Graph = new Map([...forward].sort(([a], [b]) => a.localeCompare(b)));
  const expected = Object.fromEntries(order(forward, ["top"]));
  assert.deepEqual(Object.fromEntries(order(reversed, ["top"])), expected);
  assert.deepEqual(Object.fromEntries(order(mixed, ["top"])), expected);
  validateGraph(reversed, ["top"]);
});
