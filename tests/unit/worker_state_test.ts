import assert from "node:assert/strict";
import { encode } from "../../core/value_codec.ts";
import { INLINE_RESULT_BYTES } from "../../protocol/messages.ts";
import {
  type SchedulerMessage,
  type WorkerEvent,
  type WorkerInstruction,
  WorkerState,
  type WorkerStateConfig,
} from "../../worker/state.ts";
import type { ComputeTaskMsg, KeyLocation, WorkerToSchedulerMsg } from "../../protocol/messages.ts";

// ---------------------------------------------------------------------------------------------

class Driver {
  readonly w: WorkerState;
  now = 0;
  #runIds = 0;

  constructor(config: Partial<WorkerStateConfig> = {}) {
    this.w = new WorkerState({ address: "tcp://me:1", nthreads: 1, ...config });
  }

  handle(event: WorkerEvent): WorkerInstruction[] {
    const instructions = this.w.handle(event);
    this.w.validate();
    return instructions;
  }

  scheduler(msg: SchedulerMessage): WorkerInstruction[] {
    return this.handle({ type: "scheduler-message", msg, now: ++this.now });
  }

  compute(
    key: string,
    deps: KeyLocation[] = [],
    extra: Partial<ComputeTaskMsg> = {},
  ): WorkerInstruction[] {
    return this.scheduler({
      op: "compute-task",
      key,
      runId: ++this.#runIds,
      fn: `fn:${key}`,
      args: deps.map((d) => d.key),
      priority: [0, 0, this.#runIds],
      deps,
      resources: null,
      duration: 0.5,
      ...extra,
    });
  }

  done(key: string, nbytes = 8, thread = 0, live = false): WorkerInstruction[] {
    return this.handle({
      type: "thread-finished",
      key,
      result: { ok: true, nbytes, typeName: live ? "DataFrame" : "number", live },
      start: this.now,
      stop: this.now + 1,
      thread,
      now: ++this.now,
    });
  }

  gathered(requestId: number, keys: string[], nbytes = 100): WorkerInstruction[] {
    return this.handle({
      type: "gather-done",
      requestId,
      data: keys.map((key) => ({ key, nbytes, typeName: "number" })),
      now: ++this.now,
    });
  }
}

function executed(out: WorkerInstruction[]): string[] {
  return out.flatMap((i) => i.type === "execute" ? i.tasks.map((t) => t.key) : []);
}

function gathers(out: WorkerInstruction[]) {
  return out.flatMap((i) => i.type === "gather-dependencies" ? [i] : []);
}

function sent(out: WorkerInstruction[]): WorkerToSchedulerMsg[] {
  return out.flatMap((i) =>
    i.type === "send-to-scheduler" || i.type === "send-result" ? [i.msg] : []
  );
}

function freedKeys(out: WorkerInstruction[]): string[] {
  return out.flatMap((i) => i.type === "free" ? i.keys : []);
}

function loc(key: string, workers: string[], nbytes = 100): KeyLocation {
  return { key, nbytes, workers };
}

// ---------------------------------------------------------------------------------------------

Deno.test("a task without inputs executes and reports task-finished with its run id and timing", () => {
  const d = new Driver();
  const out = d.compute("inc-1");
  assert.deepEqual(out, [{
    type: "execute",
    tasks: [{
      key: "inc-1",
      runId: 1,
      fn: "fn:inc-1",
      args: [],
      deps: [],
      resources: null,
      thread: 0,
      timeoutMs: 0,
    }],
  }]);
  assert.equal(d.w.executing, 1);
  const finished = sent(d.done("inc-1", 24));
  assert.deepEqual(finished, [{
    op: "task-finished",
    key: "inc-1",
    runId: 1,
    nbytes: 24,
    typeName: "number",
    start: 1,
    stop: 2,
    thread: 0,
  }]);
  assert.equal(d.w.tasks.get("inc-1")!.state, "memory");
  assert.equal(d.w.memoryBytes, 24);
});

Deno.test("ten inputs on one peer are fetched with one request, then the task runs", () => {
  const d = new Driver();
  const deps = Array.from({ length: 10 }, (_, i) => loc(`x-${i}`, ["tcp://peer:1"]));
  let out = d.compute("sum-1", deps);
  const requests = gathers(out);
  assert.equal(requests.length, 1);
  assert.equal(requests[0].peer, "tcp://peer:1");
  assert.deepEqual(requests[0].keys.sort(), deps.map((d) => d.key).sort());
  assert.equal(requests[0].nbytes, 1000);
  assert.equal(d.w.tasks.get("sum-1")!.state, "waiting");
  out = d.gathered(requests[0].requestId, requests[0].keys);
  assert.deepEqual(executed(out), ["sum-1"]);
  // The scheduler learns about the new copies in one message.
  const [added] = sent(out);
  assert.equal(added.op === "add-keys" && added.keys.length, 10);
  // Once the task is done, the copies it needed go, and the scheduler is told.
  out = d.done("sum-1");
  assert.deepEqual(freedKeys(out).sort(), deps.map((d) => d.key).sort());
  const released = sent(out).find((m) => m.op === "release-worker-data");
  assert.equal(released?.op === "release-worker-data" && released.keys.length, 10);
  assert.deepEqual([...d.w.tasks.keys()], ["sum-1"]);
});

Deno.test("transfers respect the concurrent request and byte limits", () => {
  const d = new Driver({ transferIncomingCountLimit: 2, transferMessageBytesLimit: 50e6 });
  const deps = [
    loc("a-1", ["tcp://p1:1"], 30e6),
    loc("a-2", ["tcp://p1:1"], 30e6),
    loc("b-1", ["tcp://p2:1"]),
    loc("c-1", ["tcp://p3:1"]),
  ];
  let out = d.compute("join-1", deps);
  let requests = gathers(out);
  assert.equal(requests.length, 2);
  assert.equal(d.w.transfersInFlight, 2);
  // 30 MB + 30 MB exceeds 50 MB per message: p1's request carries one key.
  const p1 = requests.find((r) => r.peer === "tcp://p1:1");
  assert.deepEqual(p1?.keys.length, 1);
  out = d.gathered(requests[0].requestId, requests[0].keys);
  requests = [...requests.slice(1), ...gathers(out)];
  assert.equal(requests.length, 2);
  while (requests.length > 0) {
    const [request] = requests.splice(0, 1);
    requests.push(...gathers(d.gathered(request.requestId, request.keys, 30e6)));
  }
  assert.equal(d.w.tasks.get("join-1")!.state, "executing");
});

Deno.test("a peer without the data: try the other holder, tell the scheduler who was wrong", () => {
  const d = new Driver();
  let out = d.compute("f-1", [loc("x-1", ["tcp://p1:1", "tcp://p2:1"])]);
  const [first] = gathers(out);
  out = d.gathered(first.requestId, []);
  assert.deepEqual(sent(out), [{
    op: "missing-data",
    keys: ["x-1"],
    errantWorker: first.peer,
  }]);
  const [second] = gathers(out);
  assert.notEqual(second.peer, first.peer);
  assert.deepEqual(second.keys, ["x-1"]);
  // The second holder fails too: no holder is left.
  out = d.gathered(second.requestId, []);
  assert.equal(d.w.tasks.get("x-1")!.state, "missing");
  assert.deepEqual(sent(out)[0], { op: "missing-data", keys: ["x-1"], errantWorker: second.peer });
  // The scheduler names a new holder.
  out = d.scheduler({ op: "refresh-who-has", keys: [loc("x-1", ["tcp://p3:1"])] });
  assert.equal(gathers(out)[0].peer, "tcp://p3:1");
});

Deno.test("an unreachable peer is dropped as a holder of everything", () => {
  const d = new Driver({ transferIncomingCountLimit: 1 });
  let out = d.compute("f-1", [
    loc("x-1", ["tcp://dead:1"]),
    loc("y-1", ["tcp://dead:1", "tcp://ok:1"]),
  ]);
  const [request] = gathers(out);
  assert.equal(request.peer, "tcp://dead:1");
  assert.equal(request.keys.length, 2);
  out = d.handle({
    type: "gather-failed",
    requestId: request.requestId,
    reason: "refused",
    now: 9,
  });
  assert.deepEqual(sent(out), [{
    op: "missing-data",
    keys: ["x-1"],
    errantWorker: "tcp://dead:1",
  }]);
  assert.deepEqual(gathers(out).map((g) => [g.peer, g.keys]), [["tcp://ok:1", ["y-1"]]]);
});

Deno.test("ready tasks run highest priority first, as many as there are threads", () => {
  const d = new Driver({ nthreads: 2 });
  d.compute("low-1", [], { priority: [0, 1, 5] });
  // The first two fill the threads as they arrive.
  d.compute("low-2", [], { priority: [0, 1, 6] });
  d.compute("mid-1", [], { priority: [0, 1, 2] });
  d.compute("high-1", [], { priority: [-5, 1, 9] });
  d.compute("mid-2", [], { priority: [0, 1, 3] });
  assert.equal(d.w.executing, 2);
  assert.equal(d.w.readyCount, 3);
  assert.deepEqual(executed(d.done("low-1")), ["high-1"]);
  assert.deepEqual(executed(d.done("low-2")), ["mid-1"]);
  assert.deepEqual(executed(d.done("high-1")), ["mid-2"]);
});

Deno.test("many ready tasks become executable at once go out in one batch", () => {
  const d = new Driver({ nthreads: 3 });
  const deps = [loc("x-1", ["tcp://p:1"])];
  for (let i = 0; i < 5; i++) d.compute(`t-${i}`, deps);
  const [request] = gathers(d.compute("t-5", deps));
  assert.equal(request, undefined); // x-1 is already in flight for t-0
  const out = d.gathered(1, ["x-1"]);
  const batches = out.filter((i) => i.type === "execute");
  assert.equal(batches.length, 1);
  assert.deepEqual(executed(out), ["t-0", "t-1", "t-2"]);
});

Deno.test("steal requests: a queued task is given up, a running one is kept", () => {
  const d = new Driver();
  d.compute("run-1");
  d.compute("wait-1");
  let out = d.scheduler({ op: "steal-request", key: "wait-1", stealId: 7 });
  assert.deepEqual(sent(out), [{
    op: "steal-response",
    key: "wait-1",
    stealId: 7,
    state: "ready",
  }]);
  assert.equal(d.w.tasks.has("wait-1"), false);
  out = d.scheduler({ op: "steal-request", key: "run-1", stealId: 8 });
  assert.deepEqual(sent(out), [{
    op: "steal-response",
    key: "run-1",
    stealId: 8,
    state: "executing",
  }]);
  out = d.scheduler({ op: "steal-request", key: "never-1", stealId: 9 });
  assert.deepEqual(sent(out), [{ op: "steal-response", key: "never-1", stealId: 9, state: null }]);
  // A task waiting for inputs gives them up too.
  d.compute("fetching-1", [loc("x-1", ["tcp://p:1"])]);
  out = d.scheduler({ op: "steal-request", key: "fetching-1", stealId: 10 });
  assert.deepEqual(sent(out), [{
    op: "steal-response",
    key: "fetching-1",
    stealId: 10,
    state: "waiting",
  }]);
  assert.equal(d.w.tasks.has("fetching-1"), false);
  // Its input is still in flight: it lands and is dropped as nobody needs it.
  out = d.gathered(1, ["x-1"]);
  assert.deepEqual(freedKeys(out), ["x-1"]);
  assert.deepEqual(sent(out), []);
  assert.equal(d.w.tasks.has("x-1"), false);
});

Deno.test("compute-task for a key in flight computes it at once; the transfer that lands later is superseded", () => {
  const d = new Driver();
  const [request] = gathers(d.compute("t-1", [loc("x-1", ["tcp://p:1"])]));
  assert.deepEqual(request.keys, ["x-1"]);
  // The scheduler wrote the holder off (it died or froze) and has x computed here: no waiting
  // on a transfer that may never end.
  assert.deepEqual(executed(d.compute("x-1")), ["x-1"]);
  let out = d.done("x-1");
  assert.deepEqual(sent(out).map((m) => [m.op, "key" in m ? m.key : null]), [[
    "task-finished",
    "x-1",
  ]]);
  assert.deepEqual(executed(out), ["t-1"]);
  // The old transfer lands after all: one copy is kept, nobody is told twice.
  out = d.gathered(request.requestId, ["x-1"]);
  assert.deepEqual(sent(out), []);
  assert.deepEqual(freedKeys(out), []);
  assert.equal(d.w.tasks.get("x-1")?.state, "memory");
});

Deno.test("free-keys while running discards the result; compute-task again resumes it", () => {
  const d = new Driver();
  d.compute("slow-1");
  d.scheduler({ op: "free-keys", keys: ["slow-1"] });
  let out = d.done("slow-1");
  assert.deepEqual(freedKeys(out), ["slow-1"]);
  assert.deepEqual(sent(out), []);
  assert.equal(d.w.executing, 0);
  // Withdrawn then assigned again while running: the running execution reports, new run id.
  d.compute("slow-2");
  d.scheduler({ op: "free-keys", keys: ["slow-2"] });
  out = d.compute("slow-2");
  assert.deepEqual(executed(out), []);
  out = d.done("slow-2");
  const [finished] = sent(out);
  assert.equal(finished.op === "task-finished" && finished.runId, 3);
});

Deno.test("local resources are never oversubscribed", () => {
  const d = new Driver({ nthreads: 4, resources: { GPU: 1 } });
  d.compute("g-1", [], { resources: { GPU: 1 } });
  const out = d.compute("g-2", [], { resources: { GPU: 1 } });
  assert.deepEqual(executed(out), []);
  assert.deepEqual(executed(d.compute("cpu-1")), ["cpu-1"]);
  assert.equal(d.w.usedResources.GPU, 1);
  assert.deepEqual(executed(d.done("g-1")), ["g-2"]);
  assert.equal(d.w.usedResources.GPU, 1);
});

Deno.test("an error result is reported as task-erred and kept until freed", () => {
  const d = new Driver();
  d.compute("bad-1");
  const out = d.handle({
    type: "thread-finished",
    key: "bad-1",
    result: { ok: false, error: { name: "TypeError", message: "nope", key: "bad-1" } },
    start: 1,
    stop: 2,
    now: 3,
  });
  assert.deepEqual(sent(out), [{
    op: "task-erred",
    key: "bad-1",
    runId: 1,
    error: { name: "TypeError", message: "nope", key: "bad-1" },
    start: 1,
    stop: 2,
    thread: undefined,
  }]);
  assert.equal(d.w.tasks.get("bad-1")!.state, "error");
  d.scheduler({ op: "free-keys", keys: ["bad-1"] });
  assert.equal(d.w.tasks.size, 0);
});

Deno.test("a compute-task for data already here answers at once", () => {
  const d = new Driver();
  d.handle({
    type: "update-data",
    data: [{ key: "x-1", nbytes: 5, typeName: "number" }],
    report: false,
    now: 1,
  });
  const out = d.compute("x-1");
  assert.deepEqual(executed(out), []);
  assert.deepEqual(sent(out), [{
    op: "task-finished",
    key: "x-1",
    runId: 1,
    nbytes: 5,
    typeName: "number",
  }]);
});

Deno.test("acquire-replicas fetches and keeps copies, reporting them with add-keys", () => {
  const d = new Driver();
  let out = d.scheduler({
    op: "acquire-replicas",
    keys: [loc("r-1", ["tcp://p:1"]), loc("r-2", ["tcp://p:1"])],
  });
  const [request] = gathers(out);
  assert.deepEqual(request.keys.sort(), ["r-1", "r-2"]);
  out = d.gathered(request.requestId, ["r-1", "r-2"]);
  const [added] = sent(out);
  assert.equal(added.op, "add-keys");
  assert.deepEqual(added.op === "add-keys" && added.keys.map((k) => k.key).sort(), ["r-1", "r-2"]);
  assert.equal(d.w.memory.size, 2);
  out = d.scheduler({ op: "free-keys", keys: ["r-1", "r-2"] });
  assert.deepEqual(freedKeys(out).sort(), ["r-1", "r-2"]);
  assert.deepEqual(sent(out), []);
  assert.equal(d.w.memory.size, 0);
});

Deno.test("inputs shared by local tasks stay until the last reader is done", () => {
  const d = new Driver({ nthreads: 2 });
  const x = loc("x-1", ["tcp://p:1"]);
  d.compute("a-1", [x]);
  d.compute("b-1", [x]);
  const out = d.gathered(1, ["x-1"]);
  assert.deepEqual(executed(out), ["a-1", "b-1"]);
  assert.deepEqual(freedKeys(d.done("a-1")), []);
  assert.deepEqual(freedKeys(d.done("b-1")), ["x-1"]);
});

// ---------------------------------------------------------------------------------------------
// Decisions the server once made: which thread, too-big results, inlining, literals, lost
// threads, close/restart/run and malformed messages.

const types = (out: WorkerInstruction[]) => out.map((i) => i.type);

function threadsOf(out: WorkerInstruction[]): Record<string, number> {
  const threads: Record<string, number> = {};
  for (const i of out) {
    if (i.type === "execute") { for (const t of i.tasks) threads[t.key] = t.thread; }
  }
  return threads;
}

function erred(out: WorkerInstruction[]): { name: string; message: string }[] {
  return out.flatMap((i) =>
    i.type === "send-to-scheduler" && i.msg.op === "task-erred" ? [i.msg.error] : []
  );
}

Deno.test("each task goes to the thread with the least expected work", () => {
  const d = new Driver({ nthreads: 3, shortTaskBatchSeconds: 0 });
  const first = { ...threadsOf(d.compute("a", [], { duration: 5 })) };
  Object.assign(first, threadsOf(d.compute("b", [], { duration: 1 })));
  Object.assign(first, threadsOf(d.compute("c", [], { duration: 3 })));
  assert.deepEqual(first, { a: 0, b: 1, c: 2 });
  assert.deepEqual(d.w.threadLoads, [5, 1, 3]);
  // b's thread frees first; the next task goes there
  d.compute("d", [], { duration: 2 });
  assert.deepEqual(threadsOf(d.done("b", 8)), { d: 1 });
  assert.deepEqual(d.w.threadLoads, [5, 2, 3]);
});

Deno.test("a task reading a live table goes to the thread holding it, unless that costs more", () => {
  const d = new Driver({ nthreads: 2, shortTaskBatchSeconds: 0 });
  const me = "tcp://me:1";
  assert.deepEqual(threadsOf(d.compute("a", [], { duration: 1 })), { a: 0 });
  assert.deepEqual(threadsOf(d.compute("b", [], { duration: 1 })), { b: 1 });
  // b's table (20 MB) stays live in thread 1; a's result is bytes in the store
  d.done("b", 20e6, 1, true);
  d.done("a", 20e6, 0, false);
  // both threads idle: the first idle one would be 0, but c reads b's table where it is
  assert.deepEqual(threadsOf(d.compute("c", [loc("b", [me], 20e6)], { duration: 1 })), { c: 1 });
  // a reader of bytes (no live input) goes by load alone: thread 0 is idle
  assert.deepEqual(threadsOf(d.compute("e", [loc("a", [me], 20e6)], { duration: 1 })), { e: 0 });
  d.done("e", 8, 0, false);
  // thread 0 idle, thread 1 busy with c (1 s): moving b's table would take about 1.8 s, so f
  // queues behind c on thread 1
  assert.deepEqual(threadsOf(d.compute("f", [loc("b", [me], 20e6)], { duration: 1 })), { f: 1 });
});

Deno.test("a live table's holder is passed over when its queue is longer than the move", () => {
  const d = new Driver({ nthreads: 2, shortTaskBatchSeconds: 0 });
  const me = "tcp://me:1";
  d.compute("b", [], { duration: 1 });
  d.done("b", 1000, 0, true);
  // thread 0 gets 60 s of work; a reader of b's 1 kB table goes to idle thread 1 instead
  assert.deepEqual(threadsOf(d.compute("long", [], { duration: 60 })), { long: 0 });
  assert.deepEqual(threadsOf(d.compute("c", [loc("b", [me], 1000)], { duration: 1 })), { c: 1 });
});

Deno.test("a result bigger than the memory limit fails its task and is not kept", () => {
  const d = new Driver({ memoryLimit: 1000 });
  d.compute("big");
  const out = d.done("big", 5000);
  assert.ok(!types(out).includes("keep-result"), `kept: ${types(out)}`);
  const [error] = erred(out);
  assert.equal(error.name, "MemoryLimitError");
  assert.match(error.message, /task big produced .* more than the memory limit of worker/);
  assert.equal(d.w.tasks.get("big")!.state, "error");
  assert.equal(d.w.memoryBytes, 0);
});

Deno.test("a result within the limit is kept before the scheduler hears of it", () => {
  const d = new Driver({ memoryLimit: 1000 });
  d.compute("small");
  assert.deepEqual(types(d.done("small", 500)), ["keep-result", "send-to-scheduler"]);
});

Deno.test("a result nobody here wants any more is not kept", () => {
  const d = new Driver();
  d.compute("x");
  d.scheduler({ op: "free-keys", keys: ["x"] });
  assert.ok(!types(d.done("x")).includes("keep-result"));
  assert.equal(d.w.tasks.has("x"), false);
});

Deno.test("a result a client waits for asks to go along with task-finished when small", () => {
  const d = new Driver();
  d.compute("wanted", [], { returnValue: true });
  const out = d.done("wanted");
  const result = out.find((i) => i.type === "send-result");
  assert.ok(result?.type === "send-result", `no send-result in ${types(out)}`);
  assert.equal(result.msg.key, "wanted");
  assert.equal(result.inlineMaxBytes, INLINE_RESULT_BYTES);
  // without returnValue nothing goes along
  d.compute("plain");
  assert.deepEqual(types(d.done("plain")), ["keep-result", "send-to-scheduler"]);
});

Deno.test("a literal is stored without a thread; a literal too big or without a value errs", () => {
  const d = new Driver({ memoryLimit: 100_000 });
  const value = encode([1, 2, 3]);
  const out = d.compute("lit", [], { fn: null, args: value });
  assert.deepEqual(types(out), ["store", "send-to-scheduler"]);
  const store = out[0];
  assert.ok(store.type === "store");
  assert.equal(store.encoded, value);
  assert.equal(d.w.tasks.get("lit")!.state, "memory");
  assert.equal(d.w.executing, 0);

  const big = d.compute("big-lit", [], { fn: null, args: encode(new Float64Array(100_000)) });
  assert.equal(erred(big)[0]?.name, "MemoryLimitError");
  const bad = d.compute("bad-lit", [], { fn: null, args: [1, 2] });
  assert.match(erred(bad)[0]?.message ?? "", /the literal bad-lit has no encoded value/);
});

function stops(out: WorkerInstruction[]): { key: string; thread: number }[] {
  return out.flatMap((i) => i.type === "stop-task" ? [{ key: i.key, thread: i.thread }] : []);
}

Deno.test("the task that ended its thread errs naming what it did; other threads' tasks run on", () => {
  const d = new Driver({ nthreads: 2, shortTaskBatchSeconds: 0 });
  d.compute("a");
  d.compute("b");
  d.compute("c");
  const out = d.handle({
    type: "thread-died",
    thread: 0,
    cause: "exit",
    culprit: "a",
    reason: "the task called Deno.exit(3)",
    now: 9,
  });
  const errors = erred(out);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].name, "ThreadDiedError");
  assert.match(
    errors[0].message,
    /thread 0 of worker tcp:\/\/me:1 ended while running a: the task called Deno\.exit\(3\)/,
  );
  assert.equal(d.w.tasks.get("b")!.state, "executing");
  // the freed slot takes the next ready task, on the replaced thread 0
  assert.deepEqual(threadsOf(out), { c: 0 });
});

Deno.test("tasks queued behind the culprit on its thread run again instead of erring", () => {
  const d = new Driver({ nthreads: 1, shortTaskBatchSeconds: 10 });
  d.compute("culprit", [], { duration: 0.001 });
  d.compute("behind", [], { duration: 0.001 });
  assert.equal(d.w.executing, 2);
  const out = d.handle({
    type: "thread-died",
    thread: 0,
    cause: "crash",
    culprit: "culprit",
    reason: "an uncaught error ended its thread: boom",
    now: 9,
  });
  assert.deepEqual(erred(out).map((e) => e.message.includes("culprit")), [true]);
  assert.deepEqual(executed(out), ["behind"]);
});

Deno.test("withdrawing a running task stops it; the stopped run is dropped, or reruns if wanted again", () => {
  const d = new Driver();
  d.compute("endless");
  let out = d.scheduler({ op: "free-keys", keys: ["endless"] });
  assert.deepEqual(stops(out), [{ key: "endless", thread: 0 }]);
  const stopped = {
    type: "thread-died",
    thread: 0,
    cause: "stopped",
    culprit: "endless",
    reason: "the task was cancelled",
  } as const;
  out = d.handle({ ...stopped, now: 5 });
  assert.deepEqual(sent(out), []);
  assert.equal(d.w.tasks.has("endless"), false);
  assert.equal(d.w.executing, 0);
  // assigned again before the stop landed: it runs again rather than erring
  d.compute("again");
  d.scheduler({ op: "free-keys", keys: ["again"] });
  d.compute("again");
  out = d.handle({ ...stopped, culprit: "again", now: 7 });
  assert.deepEqual(erred(out), []);
  assert.deepEqual(executed(out), ["again"]);
});

Deno.test("a run that stopped at a cancellation point frees its slot: dropped, or run again if wanted", () => {
  const d = new Driver();
  d.compute("kernel");
  assert.deepEqual(stops(d.scheduler({ op: "free-keys", keys: ["kernel"] })), [
    { key: "kernel", thread: 0 },
  ]);
  const error = { name: "TaskStoppedError", message: "the task was stopped" };
  const finished = {
    type: "thread-finished",
    key: "kernel",
    result: { ok: false, error, stopped: true },
    start: 1,
    stop: 2,
    thread: 0,
  } as const;
  let out = d.handle({ ...finished, now: 5 });
  assert.deepEqual(sent(out), []);
  assert.equal(d.w.tasks.has("kernel"), false);
  assert.equal(d.w.executing, 0);
  // assigned again before it stopped: it runs again rather than erring with the stop
  d.compute("again");
  d.scheduler({ op: "free-keys", keys: ["again"] });
  d.compute("again");
  out = d.handle({ ...finished, key: "again", now: 7 });
  assert.deepEqual(erred(out), []);
  assert.deepEqual(executed(out), ["again"]);
});

Deno.test("a run past its timeout errs with a TimeoutError naming the task and the limit", () => {
  const d = new Driver();
  const out = d.compute("slow", [], { timeoutMs: 250 });
  assert.equal(out.flatMap((i) => i.type === "execute" ? i.tasks : [])[0].timeoutMs, 250);
  const [error] = erred(d.handle({
    type: "thread-died",
    thread: 0,
    cause: "timeout",
    culprit: "slow",
    reason: "the task ran longer than its timeout of 250 ms",
    now: 3,
  }));
  assert.equal(error.name, "TimeoutError");
  assert.match(error.message, /task slow did not finish within its timeout of 250 ms/);
});

Deno.test("a task that could not be handed to its thread errs with the reason", () => {
  const d = new Driver();
  d.compute("x");
  const out = d.handle({ type: "execute-failed", key: "x", reason: "input y is gone", now: 5 });
  assert.equal(erred(out)[0]?.message, "input y is gone");
  assert.equal(d.w.executing, 0);
  assert.deepEqual(d.w.threadLoads, [0]);
});

Deno.test("close, restart and run are the state machine's instructions", () => {
  const d = new Driver();
  assert.deepEqual(d.scheduler({ op: "close", reason: "bye" }), [{ type: "close", reason: "bye" }]);
  assert.deepEqual(d.scheduler({ op: "restart", reason: "again" }), [
    { type: "restart", reason: "again" },
  ]);
  const run = { op: "run" as const, runRequestId: 3, fn: { id: "f" }, args: encode([]) };
  assert.deepEqual(d.scheduler(run), [{ type: "run", msg: run }]);
});

Deno.test("a malformed scheduler message ends the session with the reason", () => {
  const d = new Driver();
  const cases: [unknown, RegExp][] = [
    [{ op: "compute-task", key: 5 }, /compute-task without key/],
    [{ op: "free-keys", keys: [1] }, /free-keys without a list of keys/],
    [{ op: "explode" }, /unknown operation "explode"/],
    [null, /not an object/],
  ];
  for (const [msg, reason] of cases) {
    const out = d.scheduler(msg as SchedulerMessage);
    assert.equal(out.length, 1);
    assert.ok(out[0].type === "abort-session");
    assert.match(out[0].problem, reason);
  }
  assert.equal(d.w.tasks.size, 0);
});

Deno.test("a seceded task frees its slot for the next; rejoin waits for its own thread; long-running told", () => {
  const d = new Driver({ nthreads: 1 });
  d.compute("parent-1");
  d.compute("child-1");
  assert.equal(d.w.executing, 1);
  let out = d.handle({ type: "task-seceded", key: "parent-1", now: ++d.now });
  // the slot goes to the next task, and the scheduler stops counting the parent as load
  assert.deepEqual(executed(out), ["child-1"]);
  const longRunning = sent(out).find((m) => m.op === "long-running");
  assert.equal(longRunning?.op === "long-running" && longRunning.key, "parent-1");
  assert.equal(d.w.executing, 1);
  // rejoining waits while its thread runs the child
  d.compute("child-2");
  out = d.handle({ type: "task-rejoin", key: "parent-1", now: ++d.now });
  assert.equal(out.some((i) => i.type === "rejoined"), false);
  // the child ends: the parent takes the slot before child-2
  out = d.done("child-1");
  assert.deepEqual(out.filter((i) => i.type === "rejoined"), [{
    type: "rejoined",
    key: "parent-1",
  }]);
  assert.deepEqual(executed(out), []);
  out = d.done("parent-1");
  assert.deepEqual(executed(out), ["child-2"]);
  assert.equal(sent(out).some((m) => m.op === "task-finished" && m.key === "parent-1"), true);
});

Deno.test("a seceded task that finishes without rejoining releases no slot twice", () => {
  const d = new Driver({ nthreads: 1 });
  d.compute("parent-1");
  d.handle({ type: "task-seceded", key: "parent-1", now: ++d.now });
  d.compute("child-1");
  assert.equal(d.w.executing, 1);
  d.done("parent-1");
  assert.equal(d.w.executing, 1); // the child still holds the one slot
  d.done("child-1");
  assert.equal(d.w.executing, 0);
  // a rejoin of a task no longer counted is let go at once
  const out = d.handle({ type: "task-rejoin", key: "gone-1", now: ++d.now });
  assert.deepEqual(out.filter((i) => i.type === "rejoined"), [{ type: "rejoined", key: "gone-1" }]);
});
