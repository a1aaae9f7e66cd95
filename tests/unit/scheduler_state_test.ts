import assert from "node:assert/strict";
import {
  type Outgoing,
  type SchedulerConfig,
  SchedulerState,
  type WorkerSpec,
} from "../../scheduler/state.ts";
import {
  type ClientToSchedulerMsg,
  type ComputeTaskMsg,
  type GraphTaskSpec,
  type SchedulerToClientMsg,
  type StealResponseState,
  TASK_DONE,
  TASK_ERRED,
  TASK_PENDING,
  type WorkerToSchedulerMsg,
} from "../../protocol/messages.ts";
import type { TaskOptions } from "../../core/task.ts";
import { WorkerState } from "../../worker/state.ts";
import type { ExecuteSpec, WorkerInstruction } from "../../worker/state.ts";
import { IndexedHeap } from "../../core/priority_heap.ts";
import { TaskStream } from "../../scheduler/task_stream.ts";
import { runSchedulerMap } from "../../bench/state_machines.ts";
import { workerMessageProblem } from "../../protocol/message_checks.ts";
import { RingBuffer } from "../../core/ring_buffer.ts";

// ---------------------------------------------------------------------------------------------
// A small driver: one scheduler, events in, messages out, time advancing by itself.

class Driver {
  readonly s: SchedulerState;
  now = 0;
  /** Every message produced, in order. */
  readonly log: Outgoing[] = [];

  constructor(config: Partial<SchedulerConfig> = {}) {
    this.s = new SchedulerState(config);
  }

  /** Handles one event, validates the books, returns the messages it produced. */
  #run(event: Parameters<SchedulerState["handle"]>[0]): Outgoing[] {
    this.s.handle(event);
    this.s.validate();
    const out = this.s.takeOutgoing();
    this.log.push(...out);
    return out;
  }

  addWorker(address: string, nthreads = 1, extra: Partial<WorkerSpec> = {}): Outgoing[] {
    return this.#run({
      type: "worker-added",
      worker: { address, nthreads, ...extra },
      now: ++this.now,
    });
  }

  loseWorker(address: string): Outgoing[] {
    return this.#run({ type: "worker-lost", worker: address, now: ++this.now });
  }

  submit(tasks: GraphTaskSpec[], keys: string[], client = "c1", priority?: number): Outgoing[] {
    return this.#run({
      type: "client-message",
      client,
      msg: { op: "update-graph", tasks, keys, priority },
      now: ++this.now,
    });
  }

  client(client: string, msg: ClientToSchedulerMsg): Outgoing[] {
    return this.#run({ type: "client-message", client, msg, now: ++this.now });
  }

  /** Reports `key` finished on the worker processing it. */
  finish(key: string, nbytes = 8, duration = 1): Outgoing[] {
    const task = this.s.tasks.get(key)!;
    assert.equal(task.state, "processing", `${key} should be processing`);
    const worker = task.processingOn!.address;
    return this.#run({
      type: "worker-message",
      worker,
      msg: {
        op: "task-finished",
        key,
        runId: task.runId,
        nbytes,
        typeName: "number",
        start: this.now,
        stop: this.now + duration,
      },
      now: ++this.now,
    });
  }

  fail(key: string, message = "boom"): Outgoing[] {
    const task = this.s.tasks.get(key)!;
    const worker = task.processingOn!.address;
    return this.#run({
      type: "worker-message",
      worker,
      msg: { op: "task-erred", key, runId: task.runId, error: { name: "Error", message } },
      now: ++this.now,
    });
  }

  workerMessage(worker: string, msg: WorkerToSchedulerMsg): Outgoing[] {
    return this.#run({ type: "worker-message", worker, msg, now: ++this.now });
  }

  tick(): Outgoing[] {
    return this.#run({ type: "tick", now: ++this.now });
  }

  processingOn(key: string): string | undefined {
    return this.s.tasks.get(key)?.processingOn?.address;
  }

  state(key: string): string {
    return this.s.tasks.get(key)?.state ?? "forgotten";
  }
}

function spec(key: string, deps: string[] = [], options?: TaskOptions): GraphTaskSpec {
  return { key, fn: "fn", args: deps, deps, options };
}

function computes(out: Outgoing[], worker?: string): ComputeTaskMsg[] {
  const found: ComputeTaskMsg[] = [];
  for (const o of out) {
    if (
      o.to === "worker" && o.msg.op === "compute-task" &&
      (worker === undefined || o.worker === worker)
    ) {
      found.push(o.msg);
    }
  }
  return found;
}

function toClient(out: Outgoing[], client = "c1"): SchedulerToClientMsg[] {
  const found: SchedulerToClientMsg[] = [];
  for (const o of out) if (o.to === "client" && o.client === client) found.push(o.msg);
  return found;
}

function freed(out: Outgoing[], worker: string): string[] {
  const keys: string[] = [];
  for (const o of out) {
    if (o.to === "worker" && o.worker === worker && o.msg.op === "free-keys") {
      keys.push(...o.msg.keys);
    }
  }
  return keys;
}

// ---------------------------------------------------------------------------------------------

Deno.test("diamond graph runs across two workers, reports the result, frees intermediates", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.addWorker("w2");
  const graph = [
    spec("a-1"),
    spec("b-1", ["a-1"]),
    spec("c-1", ["a-1"]),
    spec("d-1", ["b-1", "c-1"]),
  ];
  let out = d.submit(graph, ["d-1"]);
  assert.deepEqual(computes(out).map((m) => m.key), ["a-1"]);
  assert.equal(d.state("b-1"), "waiting");
  const first = d.processingOn("a-1")!;
  const second = first === "w1" ? "w2" : "w1";
  out = d.finish("a-1", 1000);
  // b and c read a's data: they go where it is.
  assert.deepEqual(computes(out, first).map((m) => m.key), ["b-1", "c-1"]);
  assert.deepEqual(computes(out)[0].deps, [{ key: "a-1", nbytes: 1000, workers: [first] }]);
  // The other worker is idle: it steals b, which had not started.
  const request = d.tick().find((o) => o.msg.op === "steal-request")!;
  assert.equal(request.to === "worker" && request.worker, first);
  if (request.msg.op !== "steal-request") throw new Error("expected a steal request");
  out = d.workerMessage(first, {
    op: "steal-response",
    key: request.msg.key,
    stealId: request.msg.stealId,
    state: "ready",
  });
  assert.deepEqual(computes(out, second).map((m) => m.key), ["b-1"]);
  d.finish("b-1", 10);
  assert.deepEqual(freed(d.log, first), []);
  out = d.finish("c-1", 2000);
  // a's dependents are done and nobody wants a: its data goes.
  assert.deepEqual(freed(out, first), ["a-1"]);
  // d reads 10 bytes from the second worker and 2000 from the first: it runs on the first.
  const [dMsg] = computes(out, first);
  assert.equal(dMsg.key, "d-1");
  assert.deepEqual(dMsg.deps, [
    { key: "b-1", nbytes: 10, workers: [second] },
    { key: "c-1", nbytes: 2000, workers: [first] },
  ]);
  out = d.finish("d-1", 5);
  assert.deepEqual(toClient(out), [{
    op: "key-in-memory",
    key: "d-1",
    typeName: "number",
    nbytes: 5,
    workers: [first],
  }]);
  assert.deepEqual(freed(out, first), ["c-1"]);
  assert.deepEqual(freed(out, second), ["b-1"]);
  assert.deepEqual(d.s.whoHas("d-1"), [first]);
  assert.deepEqual([...d.s.tasks.values()].map((t) => [t.key, t.state]), [
    ["a-1", "released"],
    ["b-1", "released"],
    ["c-1", "released"],
    ["d-1", "memory"],
  ]);
});

Deno.test("a tiny result sent with task-finished goes to the holders told then, and is not kept", () => {
  const d = new Driver();
  d.addWorker("w1");
  const sent = d.submit([{ ...spec("tiny-1"), returnValue: true }, spec("other-1")], [
    "tiny-1",
    "other-1",
  ]);
  // The worker is asked for the value only where the client asked for it.
  const asks = computes(sent).map((m) => [m.key, m.returnValue]);
  assert.deepEqual(asks, [["tiny-1", true], ["other-1", undefined]]);
  const task = d.s.tasks.get("tiny-1")!;
  const value = { body: new Uint8Array([0x2a]), frames: [] };
  const out = d.workerMessage("w1", {
    op: "task-finished",
    key: "tiny-1",
    runId: task.runId,
    nbytes: 8,
    typeName: "number",
    start: 1,
    stop: 2,
    value,
  });
  const [told] = toClient(out);
  assert.equal(told.op, "key-in-memory");
  assert.equal(told.op === "key-in-memory" && told.value, value);
  assert.ok(!Object.values(task).includes(value), "the task record keeps no value");
  // A client asking later is told where the key is, without the value.
  const later = d.client("c2", { op: "client-desires-keys", keys: ["tiny-1"] });
  const [again] = toClient(later, "c2");
  assert.equal(again.op, "key-in-memory");
  assert.equal(again.op === "key-in-memory" && again.value, undefined);
  // A value that is not an encoded value is a protocol error on the worker's connection.
  assert.match(
    workerMessageProblem({
      op: "task-finished",
      key: "k",
      runId: 1,
      nbytes: 8,
      typeName: "number",
      value: "42",
    })!,
    /value that is not an encoded value/,
  );
});

Deno.test("taskProgress: pending while waiting or running, done once run (even released), erred", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.submit([spec("a-1"), spec("b-1", ["a-1"]), spec("bad-1")], ["b-1", "bad-1"]);
  const keys = ["a-1", "b-1", "bad-1", "never-submitted"];
  const codes = () => [...d.s.taskProgress(keys)];
  assert.deepEqual(codes(), [TASK_PENDING, TASK_PENDING, TASK_PENDING, TASK_DONE]);
  d.finish("a-1");
  d.fail("bad-1");
  assert.deepEqual(codes(), [TASK_DONE, TASK_PENDING, TASK_ERRED, TASK_DONE]);
  d.finish("b-1");
  assert.equal(d.state("a-1"), "released", "a's data was freed once b had it");
  assert.deepEqual(codes(), [TASK_DONE, TASK_DONE, TASK_ERRED, TASK_DONE]);
});

Deno.test("placement prefers the worker holding the big input, unless it is far busier", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.addWorker("w2");
  d.client("c1", {
    op: "scatter",
    data: [
      { key: "big-1", nbytes: 500e6, typeName: "Float64Array", workers: ["w2"] },
      { key: "small-1", nbytes: 1e3, typeName: "number", workers: ["w1"] },
    ],
  });
  let out = d.submit([spec("f-1", ["big-1", "small-1"])], ["f-1"]);
  assert.equal(computes(out, "w2")[0]?.key, "f-1");
  // 40 tasks pinned to w2 (0.5 s each until measured) outweigh moving 500 MB (5 s at 100 MB/s).
  const pinned = Array.from({ length: 40 }, (_, i) => spec(`busy-${i}`, [], { workers: ["w2"] }));
  d.submit(pinned, pinned.map((t) => t.key));
  out = d.submit([spec("g-1", ["big-1", "small-1"])], ["g-1"]);
  assert.equal(computes(out, "w1")[0]?.key, "g-1");
});

Deno.test("occupancy spreads equal independent tasks over workers by threads", () => {
  const d = new Driver({ stealing: false, workerSaturation: Infinity });
  d.addWorker("w1", 1);
  d.addWorker("w2", 2);
  d.addWorker("w3", 1);
  const tasks = Array.from({ length: 12 }, (_, i) => spec(`t-${i}`));
  const out = d.submit(tasks, tasks.map((t) => t.key));
  const perWorker = new Map<string, number>();
  for (const o of out) {
    if (o.to === "worker" && o.msg.op === "compute-task") {
      perWorker.set(o.worker, (perWorker.get(o.worker) ?? 0) + 1);
    }
  }
  assert.deepEqual(Object.fromEntries(perWorker), { w1: 3, w2: 6, w3: 3 });
});

Deno.test("root-ish tasks queue on the scheduler: only saturation × threads reach each worker", () => {
  const d = new Driver({ stealing: false, workerSaturation: 1.5 });
  d.addWorker("w1", 2);
  d.addWorker("w2", 2);
  const tasks = Array.from({ length: 100 }, (_, i) => spec(`r-${i}`));
  const out = d.submit(tasks, tasks.map((t) => t.key));
  assert.equal(computes(out, "w1").length, 3);
  assert.equal(computes(out, "w2").length, 3);
  assert.equal(d.s.stateCounts.queued, 94);
  // A finished task frees a slot: exactly one more goes to that worker, highest priority first.
  const first = computes(out, "w1")[0].key;
  const next = computes(d.finish(first), "w1");
  assert.equal(next.length, 1);
  assert.equal(next[0].key, "r-6");
});

Deno.test("short root-ish tasks go out in runs: neighbours in priority order share a worker", () => {
  const d = new Driver({ stealing: false, workerSaturation: 1 });
  d.addWorker("w1", 1);
  d.addWorker("w2", 1);
  d.submit([spec("r-warm")], ["r-warm"]);
  d.finish("r-warm", 8, 0.001); // r-* tasks take 1 ms: each worker may queue 20 ms of them
  // Sibling leaves of a tree: a later task needs r-0 and r-1, another r-2 and r-3, ...
  const tasks = Array.from({ length: 8 }, (_, i) => spec(`r-${i}`));
  const out = d.submit(tasks, tasks.map((t) => t.key));
  const runs = [computes(out, "w1"), computes(out, "w2")].map((c) => c.map((m) => m.key).sort());
  runs.sort((a, b) => a[0].localeCompare(b[0]));
  assert.deepEqual(runs, [["r-0", "r-1", "r-2", "r-3"], ["r-4", "r-5", "r-6", "r-7"]]);
});

Deno.test("resources are never oversubscribed: GPU=1 runs one GPU task at a time", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("gpu", 4, { resources: { GPU: 1 } });
  d.addWorker("cpu", 4);
  const tasks = Array.from({ length: 5 }, (_, i) => spec(`g-${i}`, [], { resources: { GPU: 1 } }));
  let out = d.submit([...tasks, spec("plain-1")], [...tasks.map((t) => t.key), "plain-1"]);
  let running = computes(out).filter((m) => m.key.startsWith("g-"));
  assert.equal(running.length, 1);
  assert.deepEqual(running[0].resources, { GPU: 1 });
  assert.equal(d.processingOn(running[0].key), "gpu");
  const order = [running[0].key];
  for (let i = 0; i < 4; i++) {
    const gpuProcessing = [...d.s.tasks.values()].filter((t) =>
      t.state === "processing" && t.resources !== null
    );
    assert.equal(gpuProcessing.length, 1);
    out = d.finish(running[0].key);
    running = computes(out);
    assert.equal(running.length, 1);
    assert.equal(d.processingOn(running[0].key), "gpu");
    order.push(running[0].key);
  }
  assert.deepEqual(order, ["g-0", "g-1", "g-2", "g-3", "g-4"]);
  assert.equal(d.s.workers.get("gpu")!.usedResources.GPU, 1);
  d.finish("g-4");
  assert.equal(d.s.workers.get("gpu")!.usedResources.GPU, 0);
});

Deno.test("a resource no worker has leaves the task in no-worker until one joins", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1", 2);
  d.submit([spec("tpu-1", [], { resources: { TPU: 1 } })], ["tpu-1"]);
  assert.equal(d.state("tpu-1"), "no-worker");
  const out = d.addWorker("w2", 1, { resources: { TPU: 4 } });
  assert.equal(computes(out, "w2")[0]?.key, "tpu-1");
});

Deno.test("workers restriction holds even when other workers idle; allowOtherWorkers relaxes it", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("tcp://a:1", 1, { name: "alice" });
  d.addWorker("tcp://b:1", 1, { name: "bob" });
  const out = d.submit([
    spec("pinned-1", [], { workers: ["bob"] }),
    spec("pinned-2", [], { workers: ["bob"] }),
    spec("nowhere-1", [], { workers: ["carol"] }),
    spec("loose-1", [], { workers: ["carol"], allowOtherWorkers: true }),
  ], ["pinned-1", "pinned-2", "nowhere-1", "loose-1"]);
  assert.deepEqual(computes(out, "tcp://b:1").map((m) => m.key).sort(), ["pinned-1", "pinned-2"]);
  assert.equal(d.state("nowhere-1"), "no-worker");
  assert.equal(d.state("loose-1"), "processing");
  // carol joins: the strict task runs there.
  const joined = d.addWorker("tcp://c:1", 1, { name: "carol" });
  assert.deepEqual(computes(joined, "tcp://c:1").map((m) => m.key), ["nowhere-1"]);
});

Deno.test("dispatch follows priority: user priority first, then submission order", () => {
  const d = new Driver({ stealing: false, workerSaturation: 1 });
  d.addWorker("w1", 1);
  const priorities = [0, 5, 1, 3, 2];
  d.submit(
    priorities.map((p, i) => spec(`p-${i}`, [], { priority: p })),
    priorities.map((_, i) => `p-${i}`),
  );
  d.submit([spec("later-1", [], { priority: 4 })], ["later-1"]);
  const order: string[] = [];
  let current = [...d.s.tasks.values()].find((t) => t.state === "processing")!.key;
  for (;;) {
    order.push(current);
    const next = computes(d.finish(current));
    if (next.length === 0) break;
    current = next[0].key;
  }
  assert.deepEqual(order, ["p-1", "later-1", "p-3", "p-4", "p-2", "p-0"]);
});

Deno.test("worker lost during processing: the task is rescheduled elsewhere", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.submit([spec("x-1")], ["x-1"]);
  assert.equal(d.processingOn("x-1"), "w1");
  d.addWorker("w2");
  const out = d.loseWorker("w1");
  assert.equal(computes(out, "w2")[0]?.key, "x-1");
  assert.equal(d.s.workers.has("w1"), false);
  d.finish("x-1");
  assert.equal(d.state("x-1"), "memory");
});

Deno.test("a worker that leaves on purpose moves its tasks without blame", () => {
  const d = new Driver({ stealing: false, allowedFailures: 0 });
  d.addWorker("w1");
  d.submit([spec("x-1")], ["x-1"]);
  d.addWorker("w2");
  d.s.handle({ type: "worker-removed", worker: "w1", now: ++d.now });
  d.s.validate();
  assert.equal(computes(d.s.takeOutgoing(), "w2")[0]?.key, "x-1");
  // The same departure as a loss counts against the task: with no failures allowed, it errs.
  d.loseWorker("w2");
  assert.equal(d.state("x-1"), "erred");
  assert.equal(d.s.tasks.get("x-1")!.error?.name, "KilledWorker");
});

Deno.test("without workers tasks wait in no-worker and start when one joins", () => {
  const d = new Driver({ stealing: false });
  d.submit([spec("a-1"), spec("b-1", ["a-1"], { resources: { GPU: 1 } })], ["b-1"]);
  assert.equal(d.state("a-1"), "no-worker");
  assert.equal(d.state("b-1"), "waiting");
  const out = d.addWorker("w1");
  assert.deepEqual(computes(out, "w1").map((m) => m.key), ["a-1"]);
  d.finish("a-1");
  assert.equal(d.state("b-1"), "no-worker");
  assert.deepEqual(computes(d.addWorker("w2", 1, { resources: { GPU: 1 } }), "w2")[0]?.key, "b-1");
});

Deno.test("lost results are recomputed from lineage, inputs first", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.submit([spec("a-1"), spec("b-1", ["a-1"]), spec("c-1", ["b-1"])], ["c-1"]);
  d.finish("a-1");
  d.finish("b-1");
  assert.equal(d.state("a-1"), "released");
  assert.equal(d.processingOn("c-1"), "w1");
  d.addWorker("w2");
  // w1 dies holding b (a was freed): c needs b, b needs a again.
  let out = d.loseWorker("w1");
  assert.deepEqual(computes(out).map((m) => m.key), ["a-1"]);
  assert.equal(d.state("b-1"), "waiting");
  assert.equal(d.state("c-1"), "waiting");
  out = d.finish("a-1");
  assert.deepEqual(computes(out).map((m) => m.key), ["b-1"]);
  out = d.finish("b-1");
  assert.deepEqual(computes(out).map((m) => m.key), ["c-1"]);
  out = d.finish("c-1");
  assert.equal(toClient(out)[0].op, "key-in-memory");
});

Deno.test("a held result that is lost is reported lost, then recomputed", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.addWorker("w2");
  d.submit([spec("a-1")], ["a-1"]);
  const holder = d.processingOn("a-1")!;
  d.finish("a-1");
  const out = d.loseWorker(holder);
  assert.deepEqual(toClient(out), [{ op: "lost", key: "a-1" }]);
  assert.equal(computes(out).length, 1);
});

Deno.test("scattered data lost with its only worker: cancelled and forgotten with its readers, as in Dask", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.addWorker("w2");
  d.client("c1", {
    op: "scatter",
    data: [{ key: "data-1", nbytes: 100, typeName: "Array", workers: ["w1"] }],
  });
  d.submit([spec("use-1", ["data-1"], { workers: ["w2"] })], ["use-1"]);
  assert.equal(d.processingOn("use-1"), "w2");
  const out = d.loseWorker("w1");
  const cancelled = toClient(out).filter((m) => m.op === "cancelled");
  assert.deepEqual(cancelled.map((m) => m.key).sort(), ["data-1", "use-1"]);
  for (const msg of cancelled) {
    assert.match(msg.op === "cancelled" ? msg.reason ?? "" : "", /Scatter the data again/);
  }
  assert.equal(toClient(out).some((m) => m.op === "lost" || m.op === "task-erred"), false);
  assert.equal(d.state("data-1"), "forgotten");
  assert.equal(d.state("use-1"), "forgotten");
  assert.deepEqual(freed(out, "w2"), ["use-1"]);
});

Deno.test("a task on workers that keep dying errs with KilledWorker naming them", () => {
  const d = new Driver({ stealing: false, allowedFailures: 1 });
  d.addWorker("w1");
  d.addWorker("w2");
  d.submit([spec("bomb-1"), spec("after-1", ["bomb-1"])], ["after-1"]);
  const first = d.processingOn("bomb-1")!;
  d.loseWorker(first);
  const second = d.processingOn("bomb-1")!;
  assert.notEqual(second, first);
  d.addWorker("w3");
  const out = d.loseWorker(second);
  assert.equal(d.state("bomb-1"), "erred");
  assert.equal(computes(out).length, 0);
  const [msg] = toClient(out);
  assert.equal(msg.op, "task-erred");
  if (msg.op === "task-erred") {
    assert.equal(msg.key, "after-1");
    assert.equal(msg.blamedKey, "bomb-1");
    assert.equal(msg.error.name, "KilledWorker");
    assert.match(msg.error.message, new RegExp(`${first}, ${second}`));
  }
});

Deno.test("retries rerun a failing task; then the error reaches the client; retry() reruns", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.submit([spec("flaky-1", [], { retries: 1 })], ["flaky-1"]);
  let out = d.fail("flaky-1", "first");
  assert.deepEqual(freed(out, "w1"), ["flaky-1"]);
  assert.equal(computes(out)[0]?.key, "flaky-1");
  out = d.fail("flaky-1", "second");
  assert.deepEqual(toClient(out), [{
    op: "task-erred",
    key: "flaky-1",
    error: { name: "Error", message: "second" },
    blamedKey: "flaky-1",
  }]);
  assert.equal(d.state("flaky-1"), "erred");
  out = d.client("c1", { op: "retry", keys: ["flaky-1"] });
  assert.deepEqual(toClient(out), [{ op: "task-retried", key: "flaky-1" }]);
  assert.deepEqual(freed(out, "w1"), ["flaky-1"]);
  assert.equal(computes(out)[0]?.key, "flaky-1");
  out = d.finish("flaky-1");
  assert.equal(toClient(out)[0].op, "key-in-memory");
});

Deno.test("retry of a dependent reruns the erred dependency it was blamed on", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.submit([spec("root-1"), spec("leaf-1", ["root-1"])], ["leaf-1"]);
  let out = d.fail("root-1");
  assert.equal(d.state("leaf-1"), "erred");
  assert.equal(toClient(out)[0].op, "task-erred");
  out = d.client("c1", { op: "retry", keys: ["leaf-1"] });
  assert.deepEqual(computes(out).map((m) => m.key), ["root-1"]);
  d.finish("root-1");
  out = d.finish("leaf-1");
  assert.equal(toClient(out)[0].op, "key-in-memory");
});

Deno.test("cancel propagates to dependents not held by other clients", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1", 4);
  d.submit([spec("a-1", [], { workers: ["w1"] }), spec("b-1", ["a-1"]), spec("c-1", ["b-1"])], [
    "a-1",
    "c-1",
  ]);
  d.submit([spec("e-1", ["a-1"])], ["e-1"], "c2");
  let out = d.client("c1", { op: "cancel", keys: ["a-1"] });
  const cancelled = toClient(out).map((m) => m.op === "cancelled" ? m.key : "").sort();
  assert.deepEqual(cancelled, ["a-1", "c-1"]);
  // c2 still needs a (through e): a keeps running; b and c are gone.
  assert.equal(d.state("a-1"), "processing");
  assert.equal(d.state("b-1"), "forgotten");
  assert.equal(d.state("c-1"), "forgotten");
  assert.equal(toClient(out, "c2").length, 0);
  // Forced cancel by c2 from a goes down to e, which c2 holds.
  d.client("c3", { op: "client-desires-keys", keys: ["e-1"] });
  out = d.client("c2", { op: "cancel", keys: ["a-1"], force: true });
  assert.deepEqual(toClient(out, "c2"), [{ op: "cancelled", key: "e-1" }]);
  // A forced cancel reaches every holder.
  assert.deepEqual(toClient(out, "c3"), [{ op: "cancelled", key: "e-1" }]);
  assert.deepEqual(freed(out, "w1"), ["a-1"]);
  assert.equal(d.s.tasks.size, 0);
});

Deno.test("release when the last holder lets go: the tasks map shrinks back to empty", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1", 2);
  const graph = [
    spec("a-1"),
    spec("b-1", ["a-1"]),
    spec("c-1", ["a-1"]),
    spec("d-1", ["b-1", "c-1"]),
  ];
  d.submit(graph, ["d-1", "b-1"]);
  d.submit([spec("d-1", ["b-1", "c-1"])], ["d-1"], "c2");
  for (const key of ["a-1", "b-1", "c-1", "d-1"]) d.finish(key);
  assert.equal(d.state("a-1"), "released");
  assert.equal(d.state("b-1"), "memory");
  let out = d.client("c1", { op: "client-releases-keys", keys: ["d-1", "b-1"] });
  assert.deepEqual(freed(out, "w1"), ["b-1"]);
  assert.equal(d.state("d-1"), "memory");
  assert.equal(d.s.tasks.size, 4);
  out = d.client("c2", { op: "client-releases-keys", keys: ["d-1"] });
  assert.deepEqual(freed(out, "w1"), ["d-1"]);
  assert.equal(d.s.tasks.size, 0);
  assert.equal(d.s.stateCounts.forgotten, 4);
  assert.equal(d.s.workers.get("w1")!.nbytes, 0);
});

Deno.test("a client disconnecting releases its keys; fire-and-forget keeps keys until done", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1", 2);
  d.submit([spec("keep-1"), spec("drop-1")], ["keep-1", "drop-1"]);
  d.client("c1", { op: "fire-and-forget", keys: ["keep-1"] });
  d.s.handle({ type: "client-disconnected", client: "c1", now: ++d.now });
  d.s.validate();
  assert.deepEqual(freed(d.s.takeOutgoing(), "w1"), ["drop-1"]);
  assert.equal(d.state("drop-1"), "forgotten");
  assert.equal(d.state("keep-1"), "processing");
  const out = d.finish("keep-1");
  assert.deepEqual(freed(out, "w1"), ["keep-1"]);
  assert.deepEqual(toClient(out), []);
  assert.equal(d.s.tasks.size, 0);
});

Deno.test("resubmitting a known key does not recompute it (content addressing)", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.submit([spec("same-1")], ["same-1"]);
  d.finish("same-1", 42);
  const out = d.submit([spec("same-1")], ["same-1"], "c2");
  assert.deepEqual(computes(out), []);
  assert.deepEqual(toClient(out, "c2"), [{
    op: "key-in-memory",
    key: "same-1",
    typeName: "number",
    nbytes: 42,
    workers: ["w1"],
  }]);
});

Deno.test("a dependency neither submitted nor known cancels the task and its readers, saying why", () => {
  // as Dask ("User asked for computation on lost data"): the data may have been lost with its
  // workers while the client submitted, so the reader ends cancelled, never runs, is forgotten
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  const out = d.submit(
    [spec("orphan-1", ["ghost-1"]), spec("reader-1", ["orphan-1"]), spec("free-1")],
    ["reader-1", "free-1"],
  );
  const cancelled = toClient(out).flatMap((m) => m.op === "cancelled" ? [m] : []);
  assert.deepEqual(cancelled.map((m) => m.key), ["reader-1"]);
  assert.match(cancelled[0].reason ?? "", /'orphan-1' depends on 'ghost-1', which is neither/);
  assert.equal(d.state("orphan-1"), "forgotten");
  assert.equal(d.state("reader-1"), "forgotten");
  assert.equal(d.state("free-1"), "processing");
  assert.deepEqual(computes(out).map((m) => m.key), ["free-1"]);
});

Deno.test("missing-data removes the errant replica and refreshes or recomputes", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.addWorker("w2");
  d.submit([spec("a-1", [], { workers: ["w1"] }), spec("b-1", ["a-1"], { workers: ["w2"] })], [
    "b-1",
  ]);
  d.finish("a-1", 10);
  assert.equal(d.processingOn("b-1"), "w2");
  // w2 could not get a from w1: a is lost, recomputed on w1; b waits for it again.
  let out = d.workerMessage("w2", { op: "missing-data", keys: ["a-1"], errantWorker: "w1" });
  assert.deepEqual(freed(out, "w1"), ["a-1"]);
  assert.deepEqual(freed(out, "w2"), ["b-1"]);
  assert.deepEqual(computes(out, "w1").map((m) => m.key), ["a-1"]);
  d.finish("a-1", 10);
  // With a second copy, the reporter gets the remaining location instead.
  d.workerMessage("w2", { op: "add-keys", keys: [{ key: "a-1", nbytes: 10 }] });
  d.workerMessage("w2", { op: "release-worker-data", keys: ["a-1"] });
  assert.deepEqual(d.s.whoHas("a-1"), ["w1"]);
  out = d.workerMessage("w2", { op: "missing-data", keys: ["a-1"], errantWorker: "w3" });
  assert.deepEqual(out.map((o) => o.msg.op), ["refresh-who-has"]);
});

Deno.test("stale results are ignored or freed, never double counted", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1");
  d.addWorker("w2");
  d.submit([spec("x-1", [], { workers: ["w1"] })], ["x-1"]);
  const runId = d.s.tasks.get("x-1")!.runId;
  // The client cancels and resubmits: a new assignment with a new runId.
  d.client("c1", { op: "cancel", keys: ["x-1"] });
  d.submit([spec("x-1", [], { workers: ["w1"] })], ["x-1"]);
  assert.notEqual(d.s.tasks.get("x-1")!.runId, runId);
  let out = d.workerMessage("w1", {
    op: "task-finished",
    key: "x-1",
    runId,
    nbytes: 1,
    typeName: "number",
  });
  assert.deepEqual(out, []);
  assert.equal(d.state("x-1"), "processing");
  // A result from a worker the task is not on is dropped there.
  out = d.workerMessage("w2", {
    op: "task-finished",
    key: "x-1",
    runId,
    nbytes: 1,
    typeName: "number",
  });
  assert.deepEqual(freed(out, "w2"), ["x-1"]);
});

Deno.test("stealing moves queued work to an idle worker; an 'executing' answer cancels the steal", () => {
  const d = new Driver({ workerSaturation: Infinity });
  d.addWorker("w1", 1);
  d.addWorker("w2", 1);
  d.client("c1", {
    op: "scatter",
    data: [{ key: "seed-1", nbytes: 100, typeName: "number", workers: ["w1"] }],
  });
  const tasks = Array.from({ length: 6 }, (_, i) => spec(`work-${i}`, ["seed-1"]));
  d.submit(tasks, tasks.map((t) => t.key));
  // Everything went to the holder of the input.
  assert.equal(d.s.workers.get("w1")!.processing.size, 6);
  let out = d.tick();
  const requests = out.filter((o) => o.msg.op === "steal-request");
  assert.equal(requests.length, 1);
  assert.equal(requests[0].to === "worker" && requests[0].worker, "w1");
  const first = requests[0].msg.op === "steal-request" ? requests[0].msg : null;
  // The victim had already started it: the task stays.
  const respond = (key: string, stealId: number, state: StealResponseState) =>
    d.workerMessage("w1", { op: "steal-response", key, stealId, state });
  out = respond(first!.key, first!.stealId, "executing");
  assert.deepEqual(computes(out), []);
  assert.equal(d.processingOn(first!.key), "w1");
  // Next balance: another request, which the victim grants.
  out = d.tick();
  const second = out.find((o) => o.msg.op === "steal-request")!.msg;
  assert.equal(second.op, "steal-request");
  if (second.op !== "steal-request") return;
  assert.notEqual(second.key, first!.key);
  out = respond(second.key, second.stealId, "ready");
  const moved = computes(out, "w2");
  assert.deepEqual(moved.map((m) => m.key), [second.key]);
  assert.deepEqual(moved[0].deps[0].workers, ["w1"]);
  assert.equal(d.processingOn(second.key), "w2");
  // A stale answer (same stealId again) changes nothing.
  out = respond(second.key, second.stealId, "ready");
  assert.deepEqual(out, []);
  assert.deepEqual(d.s.stealingCounts, { requested: 2, confirmed: 1, rejected: 1 });
});

Deno.test("a steal answered after the task finished on the victim is ignored", () => {
  const d = new Driver({ workerSaturation: Infinity });
  d.addWorker("w1", 1);
  d.addWorker("w2", 1);
  d.client("c1", {
    op: "scatter",
    data: [{ key: "seed-1", nbytes: 100, typeName: "number", workers: ["w1"] }],
  });
  const tasks = Array.from({ length: 4 }, (_, i) => spec(`work-${i}`, ["seed-1"]));
  d.submit(tasks, tasks.map((t) => t.key));
  const request = d.tick().find((o) => o.msg.op === "steal-request")!.msg;
  if (request.op !== "steal-request") throw new Error("expected a steal request");
  d.finish(request.key);
  const out = d.workerMessage("w1", {
    op: "steal-response",
    key: request.key,
    stealId: request.stealId,
    state: "memory",
  });
  assert.deepEqual(out, []);
  assert.equal(d.state(request.key), "memory");
});

Deno.test("the dashboard reads per-prefix counts, the event log and the task stream", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1", 2);
  d.submit([spec("inc-1"), spec("inc-2"), spec("add-1", ["inc-1", "inc-2"])], ["add-1"]);
  assert.equal(d.s.prefixes.get("inc")!.counts.processing, 2);
  d.finish("inc-1", 8, 0.25);
  d.finish("inc-2", 8, 0.75);
  const inc = d.s.prefixes.get("inc")!;
  assert.equal(inc.finished, 2);
  assert.equal(inc.durationAverage, 0.5);
  assert.equal(d.s.prefixes.get("add")!.counts.processing, 1);
  const stream = d.s.taskStream.toArray();
  assert.deepEqual(stream.map((e) => [e.key, e.worker, e.status]), [
    ["inc-1", "w1", "memory"],
    ["inc-2", "w1", "memory"],
  ]);
  assert.match(d.s.eventLog.toArray()[0].message, /worker w1 joined/);
  const [summary] = d.s.workerSummaries();
  assert.equal(summary.processing, 1);
  assert.equal(summary.keysInMemory, 2);
  assert.equal(summary.nbytes, 16);
});

Deno.test("RingBuffer keeps the newest entries and numbers them for polling", () => {
  const ring = new RingBuffer<number>(3);
  for (let i = 0; i < 5; i++) ring.push(i);
  assert.deepEqual(ring.toArray(), [2, 3, 4]);
  assert.deepEqual(ring.since(3), [3, 4]);
  assert.deepEqual(ring.since(0), [2, 3, 4]);
  assert.equal(ring.total, 5);
});

Deno.test("TaskStream keeps the newest runs in columns and gives them back as entries", () => {
  const stream = new TaskStream(3);
  for (let i = 0; i < 5; i++) {
    stream.record(`k-${i}`, "k", "tcp://w:1", i === 4 ? undefined : i, i, i + 0.5, i === 3);
  }
  assert.equal(stream.total, 5);
  assert.equal(stream.size, 3);
  assert.deepEqual(stream.since(3), [
    {
      key: "k-3",
      prefix: "k",
      worker: "tcp://w:1",
      thread: 3,
      start: 3,
      stop: 3.5,
      status: "erred",
    },
    {
      key: "k-4",
      prefix: "k",
      worker: "tcp://w:1",
      thread: undefined,
      start: 4,
      stop: 4.5,
      status: "memory",
    },
  ]);
  assert.deepEqual(stream.toArray().map((e) => e.key), ["k-2", "k-3", "k-4"]);
  assert.throws(() => new TaskStream(0), /positive integer/);
});

Deno.test("IndexedHeap pops in priority order and removes from the middle", () => {
  const heap = new IndexedHeap<{ priority: [number, number, number]; heapIndex: number }>();
  const items = [5, 3, 9, 1, 7, 2, 8].map((p) => ({
    priority: [p, 0, 0] as [number, number, number],
    heapIndex: -1,
  }));
  for (const item of items) heap.push(item);
  assert.equal(heap.remove(items[4]), true);
  assert.equal(heap.remove(items[4]), false);
  const order: number[] = [];
  while (heap.size > 0) order.push(heap.pop()!.priority[0]);
  assert.deepEqual(order, [1, 2, 3, 5, 8, 9]);
});

// ---------------------------------------------------------------------------------------------
// Simulation: one SchedulerState, N WorkerStates, a fake clock and a network with latency. Every
// instruction is carried out the way the servers will: threads finish after the task's duration,
// transfers read the peer's store, messages arrive in order after a delay. After every step the
// books of every machine are validated.

/** What a simulated task does, carried in its opaque `fn` payload. */
interface SimTask {
  duration: number;
  nbytes: number;
  fails: "never" | "always" | "once";
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimWorker {
  address: string;
  state: WorkerState;
  store: Map<string, number>;
  alive: boolean;
  busyThreads: number;
}

interface Pending {
  time: number;
  seq: number;
  run: () => void;
}

class Cluster {
  now = 0;
  steps = 0;
  readonly scheduler: SchedulerState;
  readonly workers = new Map<string, SimWorker>();
  /** What each client was told about each key it holds. */
  readonly reports = new Map<string, Map<string, string>>();
  readonly erredBlame = new Map<string, string>();
  readonly attempts = new Map<string, number>();
  readonly #queue: Pending[] = [];
  #seq = 0;

  constructor(readonly latency: number, config: Partial<SchedulerConfig>) {
    this.scheduler = new SchedulerState(config);
  }

  at(delay: number, run: () => void): void {
    const item = { time: this.now + delay, seq: this.#seq++, run };
    const q = this.#queue;
    let i = q.length;
    q.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (
        q[parent].time < item.time || (q[parent].time === item.time && q[parent].seq < item.seq)
      ) {
        break;
      }
      q[i] = q[parent];
      i = parent;
    }
    q[i] = item;
  }

  #pop(): Pending | undefined {
    const q = this.#queue;
    const top = q[0];
    const last = q.pop();
    if (q.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= q.length) break;
        const r = l + 1;
        const less = (a: Pending, b: Pending) =>
          a.time < b.time || (a.time === b.time && a.seq < b.seq);
        const c = r < q.length && less(q[r], q[l]) ? r : l;
        if (!less(q[c], last)) break;
        q[i] = q[c];
        i = c;
      }
      q[i] = last;
    }
    return top;
  }

  /** Runs events until `done()` holds and the queue is empty, validating after each. */
  run(maxTime: number): void {
    for (;;) {
      const next = this.#pop();
      if (next === undefined) return;
      this.now = next.time;
      assert.ok(this.now < maxTime, `simulation still busy at t=${this.now}`);
      next.run();
      this.steps++;
      this.check();
    }
  }

  check(): void {
    this.scheduler.validate();
    const processing = new Set<string>();
    for (const worker of this.scheduler.workers.values()) {
      for (const task of worker.processing) {
        assert.ok(!processing.has(task.key), `${task.key} is processing on two workers`);
        processing.add(task.key);
      }
    }
    for (const w of this.workers.values()) {
      if (!w.alive) continue;
      w.state.validate();
      assert.ok(w.busyThreads <= w.state.nthreads, `${w.address} runs too many tasks`);
    }
  }

  deliver(event: Parameters<SchedulerState["handle"]>[0]): void {
    this.scheduler.handle(event);
    for (const o of this.scheduler.takeOutgoing()) {
      if (o.to === "worker") {
        const w = this.workers.get(o.worker)!;
        this.at(this.latency, () => {
          if (!w.alive) return;
          this.#carryOut(
            w,
            w.state.handle({ type: "scheduler-message", msg: o.msg, now: this.now }),
          );
        });
      } else {
        this.at(this.latency, () => this.#clientReceives(o.client, o.msg));
      }
    }
  }

  #clientReceives(client: string, msg: SchedulerToClientMsg): void {
    let reports = this.reports.get(client);
    if (reports === undefined) this.reports.set(client, reports = new Map());
    switch (msg.op) {
      case "key-in-memory":
        reports.set(msg.key, "memory");
        break;
      case "task-erred":
        reports.set(msg.key, "erred");
        this.erredBlame.set(msg.key, msg.blamedKey);
        break;
      case "lost":
        if (msg.error) reports.set(msg.key, "lost");
        else reports.delete(msg.key);
        break;
      case "cancelled":
        reports.set(msg.key, "cancelled");
        break;
      case "task-retried":
        reports.delete(msg.key);
        break;
    }
  }

  #carryOut(w: SimWorker, instructions: WorkerInstruction[]): void {
    for (const instruction of instructions) this.#instruction(w, instruction);
  }

  #instruction(w: SimWorker, instruction: WorkerInstruction): void {
    switch (instruction.type) {
      case "execute":
        for (const spec of instruction.tasks) this.#execute(w, spec);
        return;
      case "gather-dependencies": {
        const peer = this.workers.get(instruction.peer);
        this.at(2 * this.latency, () => {
          if (!w.alive) return;
          if (peer === undefined || !peer.alive) {
            this.#carryOut(
              w,
              w.state.handle({
                type: "gather-failed",
                requestId: instruction.requestId,
                reason: "connection refused",
                now: this.now,
              }),
            );
          } else {
            const data = [];
            for (const key of instruction.keys) {
              const nbytes = peer.store.get(key);
              if (nbytes === undefined) continue;
              w.store.set(key, nbytes);
              data.push({ key, nbytes, typeName: "Sim" });
            }
            this.#carryOut(
              w,
              w.state.handle({
                type: "gather-done",
                requestId: instruction.requestId,
                data,
                now: this.now,
              }),
            );
          }
        });
        return;
      }
      case "send-to-scheduler":
      case "send-result":
        this.at(this.latency, () => {
          // A dead worker's connection is closed: what it had in flight never arrives.
          if (!w.alive) return;
          this.deliver({
            type: "worker-message",
            worker: w.address,
            msg: instruction.msg,
            now: this.now,
          });
        });
        return;
      case "free":
        for (const key of instruction.keys) w.store.delete(key);
        return;
    }
  }

  #execute(w: SimWorker, spec: ExecuteSpec): void {
    w.busyThreads++;
    assert.ok(w.busyThreads <= w.state.nthreads, `${w.address} was told to overbook threads`);
    for (const dep of spec.deps) assert.ok(w.store.has(dep), `${spec.key} runs without ${dep}`);
    const task = spec.fn as SimTask;
    const attempt = (this.attempts.get(spec.key) ?? 0) + 1;
    this.attempts.set(spec.key, attempt);
    const start = this.now;
    this.at(task.duration, () => {
      if (!w.alive) return;
      w.busyThreads--;
      const ok = task.fails === "never" || (task.fails === "once" && attempt > 1);
      const instructions = w.state.handle({
        type: "thread-finished",
        key: spec.key,
        result: ok
          ? { ok: true, nbytes: task.nbytes, typeName: "Sim" }
          : { ok: false, error: { name: "SimError", message: `${spec.key} failed` } },
        start,
        stop: this.now,
        now: this.now,
      });
      // The value enters the store only when the state machine keeps it.
      if (instructions.some((i) => i.type === "keep-result" && i.key === spec.key)) {
        w.store.set(spec.key, task.nbytes);
      }
      this.#carryOut(w, instructions);
    });
  }

  addWorker(address: string, nthreads: number, resources?: Record<string, number>): void {
    const w: SimWorker = {
      address,
      state: new WorkerState({ address, nthreads, resources, transferIncomingCountLimit: 3 }),
      store: new Map(),
      alive: true,
      busyThreads: 0,
    };
    this.workers.set(address, w);
    this.deliver({ type: "worker-added", worker: { address, nthreads, resources }, now: this.now });
  }

  killWorker(address: string): void {
    this.workers.get(address)!.alive = false;
    this.deliver({ type: "worker-lost", worker: address, now: this.now });
  }

  client(client: string, msg: ClientToSchedulerMsg): void {
    this.deliver({ type: "client-message", client, msg, now: this.now });
  }
}

/** A random DAG of `n` tasks with local structure, failures, restrictions and resources. */
function randomGraph(
  n: number,
  random: () => number,
): { specs: GraphTaskSpec[]; sims: Map<string, SimTask> } {
  const specs: GraphTaskSpec[] = [];
  const sims = new Map<string, SimTask>();
  for (let i = 0; i < n; i++) {
    const key = `p${i % 7}-${i.toString(16)}`;
    const deps = new Set<string>();
    if (i > 0 && random() > 0.2) {
      const count = 1 + Math.floor(random() * 3);
      for (let j = 0; j < count; j++) {
        const from = Math.max(0, i - 60);
        deps.add(specs[from + Math.floor(random() * (i - from))].key);
      }
    }
    const roll = random();
    // Failures for good only late in the graph, so that most of it runs.
    const fails = i > 850 && roll < 0.01 ? "always" : roll < 0.02 ? "once" : "never";
    const options: TaskOptions = {};
    if (fails === "once") options.retries = 1;
    const restriction = random();
    if (restriction < 0.04) options.resources = { GPU: 1 };
    else if (restriction < 0.07) {
      options.workers = ["w2"];
      options.allowOtherWorkers = random() < 0.5;
    }
    if (random() < 0.05) options.priority = Math.floor(random() * 3);
    const sim: SimTask = {
      duration: 0.005 + random() * 0.05,
      nbytes: Math.floor(random() * random() * 5e6),
      fails,
    };
    sims.set(key, sim);
    specs.push({ key, fn: sim, args: [...deps], deps: [...deps], options });
  }
  return { specs, sims };
}

/** The specs of `keys` and everything they depend on, in graph order. */
function closure(specs: GraphTaskSpec[], keys: string[]): GraphTaskSpec[] {
  const byKey = new Map(specs.map((s) => [s.key, s]));
  const needed = new Set<string>();
  const stack = [...keys];
  while (stack.length > 0) {
    const key = stack.pop()!;
    if (needed.has(key)) continue;
    needed.add(key);
    stack.push(...byKey.get(key)!.deps);
  }
  return specs.filter((s) => needed.has(s.key));
}

function simulate(seed: number, config: Partial<SchedulerConfig>): Cluster {
  const random = mulberry32(seed);
  const cluster = new Cluster(0.002, config);
  const { specs, sims } = randomGraph(1000, random);
  const dependents = new Set(specs.flatMap((s) => s.deps));
  const c1Keys = specs.filter((s) => !dependents.has(s.key) || random() < 0.1).map((s) => s.key);
  const c2Keys = Array.from({ length: 30 }, () => specs[Math.floor(random() * specs.length)].key);
  const forgotten = specs.slice(900).filter(() => random() < 0.2).map((s) => s.key);

  cluster.addWorker("w0", 2, { GPU: 1 });
  cluster.addWorker("w1", 2);
  cluster.addWorker("w2", 1);
  cluster.addWorker("w3", 3);
  let finished = false;
  const tick = () => {
    cluster.deliver({ type: "tick", now: cluster.now });
    if (!finished) cluster.at(0.02, tick);
  };
  cluster.at(0.02, tick);
  cluster.at(0.01, () => cluster.client("c1", { op: "update-graph", tasks: specs, keys: c1Keys }));
  cluster.at(
    0.3,
    () => cluster.client("c2", { op: "update-graph", tasks: closure(specs, c2Keys), keys: c2Keys }),
  );
  // Fire-and-forget: c3 submits, hands the keys over and lets go at once.
  cluster.at(0.35, () => {
    cluster.client("c3", { op: "update-graph", tasks: closure(specs, forgotten), keys: forgotten });
    cluster.client("c3", { op: "fire-and-forget", keys: forgotten });
    cluster.client("c3", { op: "client-releases-keys", keys: forgotten });
  });
  cluster.at(0.5, () => cluster.killWorker("w1"));
  cluster.at(0.8, () => cluster.addWorker("w4", 2, { GPU: 2 }));
  cluster.at(1.0, () => cluster.client("c1", { op: "cancel", keys: c1Keys.slice(0, 3) }));

  // Finished when every key a client still holds has a final answer.
  const settled = () => {
    for (const [client, keys] of [["c1", c1Keys], ["c2", c2Keys]] as const) {
      const reports = cluster.reports.get(client) ?? new Map();
      for (const key of keys) {
        const task = cluster.scheduler.tasks.get(key);
        const held = task !== undefined && [...task.whoWants].some((c) => c.id === client);
        if (held && !reports.has(key)) return false;
      }
    }
    return [...cluster.scheduler.tasks.values()].every((t) =>
      t.state === "memory" || t.state === "erred" || t.state === "released"
    );
  };
  const watch = () => {
    if (settled()) finished = true;
    else cluster.at(0.05, watch);
  };
  cluster.at(0.05, watch);
  cluster.run(200);
  assert.ok(finished, "the computation did not settle");

  // Every held key is in memory or erred, and errors blame tasks that really fail.
  for (const [client, keys] of [["c1", c1Keys], ["c2", c2Keys]] as const) {
    const reports = cluster.reports.get(client)!;
    for (const key of keys) {
      const report = reports.get(key);
      if (report === "cancelled") continue;
      const task = cluster.scheduler.tasks.get(key)!;
      assert.ok(task.state === "memory" || task.state === "erred", `${key} ended ${task.state}`);
      assert.equal(report, task.state, `${client} was told ${report} for ${key} (${task.state})`);
      if (report === "erred") assert.equal(sims.get(cluster.erredBlame.get(key)!)!.fails, "always");
    }
  }
  // Fire-and-forget keys ran although their client let go, unless an input fails for good.
  for (const key of forgotten) {
    const doomed = closure(specs, [key]).some((s) => sims.get(s.key)!.fails === "always");
    if (!doomed) assert.ok(cluster.attempts.has(key), `fire-and-forget ${key} never ran`);
  }
  // Everything goes once the clients let go.
  finished = true;
  cluster.at(0.01, () => {
    cluster.client("c1", { op: "client-releases-keys", keys: c1Keys });
    cluster.client("c2", { op: "client-releases-keys", keys: c2Keys });
  });
  cluster.run(400);
  assert.equal(cluster.scheduler.tasks.size, 0);
  for (const w of cluster.workers.values()) {
    if (!w.alive) continue;
    assert.deepEqual([...w.state.tasks.keys()], [], `${w.address} still tracks tasks`);
    assert.deepEqual([...w.store.keys()], [], `${w.address} still stores data`);
  }
  return cluster;
}

Deno.test("simulation: 1,000-task random DAG on 4-5 workers with failures settles correctly", () => {
  const ran: number[] = [];
  let steals = 0;
  const extra = Number(Deno.env.get("SIM_SEEDS") ?? 0);
  const seeds: [number, Partial<SchedulerConfig>][] = [
    [1, {}],
    [2, { workerSaturation: Infinity }],
    [3, {}],
  ];
  for (let i = 0; i < extra; i++) {
    seeds.push([100 + i, i % 2 ? { workerSaturation: Infinity } : {}]);
  }
  for (const [seed, config] of seeds) {
    const cluster = simulate(seed, config);
    ran.push(cluster.scheduler.taskStream.size);
    steals += cluster.scheduler.stealingCounts.confirmed;
  }
  // Most tasks ran (the cancelled ones and those after a permanent failure need not), and
  // stealing moved some.
  for (const count of ran) assert.ok(count > 700, `only ${count} task runs`);
  assert.ok(steals > 0, "no task was ever stolen");
});

// ---------------------------------------------------------------------------------------------

Deno.test("100,000 independent tasks on 4 workers all run once, and the books empty after release", () => {
  // Speed is measured in bench/state_machines.ts; this holds the books at scale.
  const s = new SchedulerState();
  for (let w = 0; w < 4; w++) {
    s.handle({ type: "worker-added", worker: { address: `w${w}`, nthreads: 4 }, now: 0 });
  }
  const n = 100_000;
  const keys = Array.from({ length: n }, (_, i) => `inc-${i}`);
  const args = keys.map((_, i) => [i]);
  const ran = runSchedulerMap(s, "c", keys, args, { now: 0 });
  assert.equal(ran, n);
  assert.equal(s.stateCounts.memory, 0);
  assert.equal(s.tasks.size, 0);
  s.validate();
});

Deno.test("a long-running (seceded) task frees its worker's slot for queued work", () => {
  const d = new Driver({ stealing: false });
  d.addWorker("w1", 1);
  // root-ish tasks: the 1-thread worker takes one, the rest queue on the scheduler
  d.submit(Array.from({ length: 8 }, (_, i) => spec(`leaf-${i}`)), [
    ...Array.from({ length: 8 }, (_, i) => `leaf-${i}`),
  ]);
  const processing = [...d.s.tasks.values()].filter((t) => t.state === "processing");
  const queued = [...d.s.tasks.values()].filter((t) => t.state === "queued").length;
  assert.ok(queued > 0, "some tasks should queue behind the one thread");
  const parent = processing[0];
  const out = d.workerMessage("w1", { op: "long-running", key: parent.key, runId: parent.runId });
  // the seceded task no longer holds the thread: another goes to the worker
  assert.ok(computes(out).length >= 1);
  assert.equal(d.s.workers.get("w1")!.longRunning, 1);
  // it still finishes as usual, and the books close
  d.finish(parent.key);
  assert.equal(d.s.workers.get("w1")!.longRunning, 0);
});
