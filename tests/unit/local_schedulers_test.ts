import assert from "node:assert/strict";
import { compute, delayed, FreeVariableError, GraphError, taskModule } from "../../mod.ts";
import { runSync } from "../../collections/local/sync.ts";
import { runThreads, shutdownThreads } from "../../collections/local/threads.ts";
import { runProcesses, shutdownProcesses } from "../../collections/local/processes.ts";
import { makeLiteral, makeTask, TaskRef } from "../../core/task.ts";
import type { Graph } from "../../core/graph.ts";
import { randomDag } from "../helpers/random_dag.ts";

const schedulers = ["sync", "threads", "processes"] as const;

// processes and a cluster join in tests/integration/random_dag_property_test.ts
Deno.test("sync and threads agree on hundreds of random DAGs", async () => {
  try {
    for (let seed = 1; seed <= 200; seed++) {
      const sinks = randomDag(seed, 5 + (seed % 40));
      const expected = await compute(...sinks, { scheduler: "sync" });
      const actual = await compute(...sinks, { scheduler: "threads", numWorkers: 2 });
      assert.deepEqual(actual, expected, `seed ${seed}`);
      // and agree with a plain evaluation
      assert.equal(expected.length, sinks.length);
    }
  } finally {
    shutdownThreads();
    await shutdownProcesses();
  }
});

Deno.test("delayed: nested args, shared intermediates computed once, keys", async () => {
  const inc = (x: number) => x + 1;
  const add = (x: number, y: number) => x + y;
  for (const scheduler of schedulers) {
    const total = delayed(add)(delayed(inc)(1), delayed(inc)(2));
    assert.equal(await total.compute({ scheduler }), 5);
    const sum = (o: { xs: number[]; y: number }) => o.xs.reduce((a, b) => a + b, o.y);
    const nested = delayed(sum)({ xs: [delayed(inc)(1), 5, delayed(inc)(10)], y: total });
    assert.equal(await nested.compute({ scheduler }), 2 + 5 + 11 + 5);
    const wrapped = delayed([delayed(inc)(1), { a: delayed(inc)(2) }]);
    assert.deepEqual(await wrapped.compute({ scheduler }), [2, { a: 3 }]);
  }
  // pure calls share a key; impure ones do not
  assert.equal(delayed(inc, { pure: true })(1).key, delayed(inc, { pure: true })(1).key);
  assert.notEqual(delayed(inc)(1).key, delayed(inc)(1).key);
  assert.match(delayed(inc)(1).key, /^inc-/);
  assert.match(delayed(inc, { name: "plus-one" })(1).key, /^plus-one-/);
  // a shared intermediate appears once in the merged graph
  const shared = delayed(inc)(1);
  const a = delayed(add)(shared, 1);
  const b = delayed(add)(shared, 2);
  const [ra, rb] = await compute(a, b, { scheduler: "threads" });
  assert.deepEqual([ra, rb], [3, 4]);
  assert.equal([...a.graph.keys()].filter((k) => k === shared.key).length, 1);
  shutdownThreads();
  await shutdownProcesses();
});

Deno.test("delayed: persist keeps the value; get() reads a field", async () => {
  let calls = 0;
  const counted = (x: number) => {
    calls++;
    return { value: x * 2, list: [x] };
  };
  const d = delayed(counted)(21);
  const kept = await d.persist({ scheduler: "sync" });
  assert.equal(calls, 1);
  assert.deepEqual(await kept.compute({ scheduler: "sync" }), { value: 42, list: [21] });
  assert.equal(await kept.get("value").compute({ scheduler: "sync" }), 42);
  assert.equal(calls, 1);
  assert.equal(kept.key, d.key);
});

Deno.test("task errors keep name, message, key and the stack from where they ran", async () => {
  function explode(x: number): number {
    if (x > 0) throw new TypeError(`bad input ${x}`);
    return x;
  }
  for (const scheduler of schedulers) {
    const d = delayed(explode)(3);
    const error: Error & { key?: string } = await d.compute({ scheduler }).then(
      () => assert.fail("expected an error"),
      (e) => e,
    );
    assert.ok(error instanceof TypeError, `${scheduler}: ${error}`);
    assert.equal(error.name, "TypeError");
    assert.equal(error.message, "bad input 3");
    assert.equal(error.key, d.key);
    assert.match(error.stack ?? "", /explode/);
  }
  // a custom error class name survives the trip
  const custom = () => {
    class ValidationError extends Error {
      override name = "ValidationError";
    }
    throw new ValidationError("nope");
  };
  const error = await delayed(custom)().compute({ scheduler: "threads" }).then(
    () => null,
    (e) => e,
  );
  assert.equal(error.name, "ValidationError");
  assert.equal(error.message, "nope");
  shutdownThreads();
  await shutdownProcesses();
});

Deno.test("a function reading a variable it does not own fails before running", async () => {
  const factor = 3;
  const scale = (x: number) => x * factor;
  const error = await delayed(scale)(2).compute({ scheduler: "threads" }).then(
    () => null,
    (e) => e,
  );
  assert.ok(error instanceof FreeVariableError, String(error));
  assert.match(error.message, /'factor'/);
  assert.match(error.message, /argument/);
  assert.match(error.message, /taskModule/);
  // the argument advice is for values; helper functions get the module advice
  assert.match(error.message, /A function \(a helper it calls; functions cannot travel as/);
  // sync runs closures, for debugging
  assert.equal(await delayed(scale)(2).compute({ scheduler: "sync" }), 6);
  shutdownThreads();
});

Deno.test("a value that cannot travel fails with the path to it", async () => {
  const use = (_a: unknown, b: { config: { conn: unknown } }) => typeof b.config.conn;
  const error = await delayed(use)(1, { config: { conn: () => 1 } }).compute({
    scheduler: "threads",
  }).then(() => null, (e) => e);
  assert.ok(error, "expected an error");
  assert.equal(error.name, "UnserializableError");
  assert.match(error.message, /\[1\]\.config\.conn/);
  shutdownThreads();
});

Deno.test("module-reference functions run on threads through a file: URL", async () => {
  const { fixtureFunctions } = await import("../fixtures/delayed_module.ts");
  const d = delayed(fixtureFunctions.shout)("hello");
  assert.equal(await d.compute({ scheduler: "threads" }), "HELLO!");
  assert.equal(await d.compute({ scheduler: "processes", numWorkers: 1 }), "HELLO!");
  await shutdownProcesses();
  assert.equal(await d.compute({ scheduler: "sync" }), "HELLO!");
  assert.equal(typeof taskModule, "function");
  shutdownThreads();
});

Deno.test("graph validation: missing dependency and cycles fail before anything runs", async () => {
  let ran = 0;
  const count = () => ran++;
  const missing: Graph = new Map([
    ["a", makeTask("a", count, [new TaskRef("nowhere")])],
  ]);
  for (const run of [runSync, runThreads, runProcesses]) {
    await assert.rejects(() => run(missing, ["a"]), (e: Error) => {
      assert.ok(e instanceof GraphError);
      assert.match(e.message, /nowhere/);
      assert.match(e.message, /'a'|"a"|\ba\b/);
      return true;
    });
  }
  const cyclic: Graph = new Map([
    ["x", makeTask("x", count, [new TaskRef("z")])],
    ["y", makeTask("y", count, [new TaskRef("x")])],
    ["z", makeTask("z", count, [new TaskRef("y")])],
    ["w", makeLiteral("w", 1)],
  ]);
  for (const run of [runSync, runThreads, runProcesses]) {
    await assert.rejects(() => run(cyclic, ["x"]), (e: Error) => {
      assert.ok(e instanceof GraphError);
      assert.match(e.message, /cycle/i);
      for (const k of ["x", "y", "z"]) assert.match(e.message, new RegExp(k));
      return true;
    });
  }
  assert.equal(ran, 0);
  shutdownThreads();
  await shutdownProcesses();
});

Deno.test("typed arrays travel between threads and come back intact", async () => {
  const make = (n: number) => Float64Array.from({ length: n }, (_, i) => i * 0.5);
  const total = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] + b[i];
    return s;
  };
  const big = delayed(make)(1_000_000);
  const small = delayed(make)(10);
  const [sum, bigValue] = await compute(delayed(total)(big, big), big, { scheduler: "threads" });
  let expected = 0;
  for (let i = 0; i < 1_000_000; i++) expected += i;
  assert.equal(sum, expected);
  assert.ok(bigValue instanceof Float64Array);
  assert.equal(bigValue.length, 1_000_000);
  assert.equal(bigValue[999_999], 999_999 * 0.5);
  assert.deepEqual(await small.compute({ scheduler: "threads" }), make(10));
  shutdownThreads();
});

Deno.test("visualize gives DOT text with every task and edge", async () => {
  const inc = (x: number) => x + 1;
  const a = delayed(inc)(1);
  const b = delayed(inc)(a);
  const dot = (await b.visualize()).text;
  assert.match(dot, /^digraph/);
  assert.ok(dot.includes(`"${a.key}" -> "${b.key}"`));
  assert.equal((dot.match(/label="inc"/g) ?? []).length, 2);
});

Deno.test("concurrent computations share the threads, also after a failed one", async () => {
  const busy = (x: number) => {
    const until = Date.now() + 1;
    while (Date.now() < until) { /* work */ }
    return x + 1;
  };
  const total = (xs: number[]) => xs.reduce((s, v) => s + v, 0);
  const make = (n: number) => delayed(total)(Array.from({ length: n }, (_, i) => delayed(busy)(i)));
  const failing = delayed(() => {
    throw new Error("first run fails");
  })();
  await assert.rejects(() => failing.compute({ numWorkers: 2 }), /first run fails/);
  const results = await Promise.all([
    make(200).compute({ numWorkers: 2 }),
    make(200).compute({ numWorkers: 2 }),
    make(20).compute({ numWorkers: 2 }),
  ]);
  assert.deepEqual(results, [20100, 20100, 210]);
  shutdownThreads();
});

Deno.test("sync, threads and processes are GraphExecutors: compute and persist run through one interface", async () => {
  const { resolveExecutor } = await import("../../collections/compute.ts");
  const { syncExecutor } = await import("../../collections/local/sync.ts");
  const { threadsExecutor } = await import("../../collections/local/threads.ts");
  const { processesExecutor } = await import("../../collections/local/processes.ts");
  assert.equal(resolveExecutor({ scheduler: "sync" }), syncExecutor);
  assert.equal(resolveExecutor({ scheduler: "threads" }), threadsExecutor);
  assert.equal(resolveExecutor({ scheduler: "processes" }), processesExecutor);
  const double = (x: number) => 2 * x;
  const graph: Graph = new Map([
    ["a", makeLiteral("a", 21)],
    ["b", makeTask("b", double, [new TaskRef("a")])],
  ]);
  for (const executor of [syncExecutor, threadsExecutor, processesExecutor]) {
    assert.deepEqual(await executor.computeGraph(graph, ["b"], {}), [42]);
    const layer = await executor.persistGraph(graph, ["b"], {});
    assert.deepEqual(layer.tasks.map((t) => [t.key, t.fn, t.args[0]]), [["b", null, 42]]);
  }
  // a custom executor is used as it is
  let calls = 0;
  const counting = {
    computeGraph: (...args: Parameters<typeof syncExecutor.computeGraph>) => {
      calls++;
      return syncExecutor.computeGraph(...args);
    },
    persistGraph: syncExecutor.persistGraph,
  };
  const x = delayed(double)(delayed(double)(5));
  assert.equal(await x.compute({ scheduler: counting }), 20);
  assert.equal(calls, 1);
  assert.throws(
    () => resolveExecutor({ scheduler: "thread" as "threads" }),
    /Unknown scheduler "thread": use "sync", "threads", "processes" or a Client/,
  );
  shutdownThreads();
  await shutdownProcesses();
});

Deno.test("options are checked at run time: a misspelt one names the nearest valid one", async () => {
  const x = delayed((a: number) => a + 1)(1);
  await assert.rejects(
    () => x.compute({ schedular: "sync" } as never),
    /Unknown option 'schedular' for compute\(\)\. Did you mean 'scheduler'\?/,
  );
  await assert.rejects(
    async () => await compute(x, { numworkers: 2 } as never),
    /Unknown option 'numworkers' for compute\(\)\. Did you mean 'numWorkers'\?/,
  );
  await assert.rejects(() => x.persist({ progres: true } as never), /Did you mean 'progress'\?/);
  const { LocalCluster } = await import("../../mod.ts");
  await assert.rejects(
    () => LocalCluster.start({ nworkers: 1 } as never),
    /Unknown option 'nworkers' for LocalCluster.start\(\)\. Did you mean 'nWorkers'\?/,
  );
  const { Client } = await import("../../mod.ts");
  await assert.rejects(
    () => Client.local({ nworkers: 1 } as never),
    /Unknown option 'nworkers' for Client.local\(\)\. Did you mean 'nWorkers'\?/,
  );
  assert.equal(await compute(x, { scheduler: "sync" }).then(([v]) => v), 2);
});
