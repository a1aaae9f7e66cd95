import assert from "node:assert/strict";
import { registerWorkerProblem } from "../../protocol/message_checks.ts";
import { Driver, spec, toClient } from "../helpers/scheduler_driver.ts";

Deno.test("a cycle in a submitted graph errs its tasks and their readers, naming the cycle", () => {
  const d = new Driver();
  d.addWorker("w1");
  const out = d.submit(
    [spec("a", ["c"]), spec("b", ["a"]), spec("c", ["b"]), spec("reader", ["a"]), spec("free")],
    ["reader", "c", "free"],
  );
  for (const key of ["a", "b", "c", "reader"]) assert.equal(d.state(key), "erred", key);
  assert.equal(d.state("free"), "processing");
  const erred = toClient(out).flatMap((m) => m.op === "task-erred" ? [m] : []);
  assert.deepEqual(erred.map((m) => m.key).sort(), ["c", "reader"]);
  for (const m of erred) {
    assert.equal(m.error.name, "GraphError");
    assert.match(m.error.message, /The graph has a cycle: (\w -> ){3}\w \(each task depends/);
  }
  // A later graph reading a task that is no cycle is unaffected by the search's marks.
  d.finish("free");
  d.submit([spec("after", ["free"])], ["after"]);
  assert.equal(d.state("after"), "processing");
});

Deno.test("registrations with absurd threads, memory or resources are refused with the reason", () => {
  const base = {
    op: "register-worker",
    address: "tcp://127.0.0.1:1",
    name: "w",
    nthreads: 2,
    memoryLimit: 0,
    resources: { GPU: 1 },
    keys: [],
    pid: 1,
    protocol: 1,
  };
  assert.equal(registerWorkerProblem(base), null);
  assert.match(registerWorkerProblem({ ...base, nthreads: 1e9 })!, /at most 4096 threads/);
  assert.match(registerWorkerProblem({ ...base, memoryLimit: Infinity })!, /memoryLimit/);
  assert.match(registerWorkerProblem({ ...base, memoryLimit: NaN })!, /memoryLimit/);
  assert.match(
    registerWorkerProblem({ ...base, resources: { GPU: Infinity } })!,
    /resource "GPU" of Infinity/,
  );
});
