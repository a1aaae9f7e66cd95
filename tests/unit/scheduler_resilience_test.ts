import assert from "node:assert/strict";
import {
  planRebalance,
  planReplicationRound,
  planRetirement,
  resolveWorkers,
  uniqueKeys,
} from "../../scheduler/data_movement.ts";
import { type Outgoing, SchedulerState } from "../../scheduler/state.ts";
import type { SchedulerEvent } from "../../scheduler/events.ts";
import type { GraphTaskSpec, SchedulerToClientMsg } from "../../protocol/messages.ts";
import { computes, Driver, spec, toClient } from "../helpers/scheduler_driver.ts";

const freed = (out: Outgoing[], worker: string): string[] =>
  out.flatMap((o) =>
    o.to === "worker" && o.worker === worker && o.msg.op === "free-keys" ? o.msg.keys : []
  );

Deno.test("a reconnecting worker's copy of a lost result is adopted, not recomputed", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.submit([spec("a"), spec("b", ["a"])], ["a", "b"]);
  d.finish("a", 100);
  d.finish("b", 10);
  // w1 stops heartbeating: both results are lost and wait for a worker.
  const lost = d.run({ type: "worker-lost", worker: "w1" });
  assert.deepEqual(toClient(lost).map((m) => [m.op, m.key]), [["lost", "a"], ["lost", "b"]]);
  assert.equal(d.state("a"), "no-worker");
  // It comes back holding both.
  const back = d.addWorker("w1", {
    keys: [{ key: "a", nbytes: 100, typeName: "Float64Array" }, { key: "b", nbytes: 10 }],
  });
  assert.deepEqual(computes(back), []);
  assert.deepEqual(freed(back, "w1"), []);
  assert.deepEqual(toClient(back).map((m) => [m.op, m.key]), [
    ["key-in-memory", "a"],
    ["key-in-memory", "b"],
  ]);
  assert.equal(d.s.tasks.get("a")!.typeName, "Float64Array");
  assert.equal(d.s.workers.get("w1")!.nbytes, 110);
});

Deno.test("a copy adopted while the task runs elsewhere withdraws that run", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.submit([spec("a")], ["a"]);
  d.finish("a");
  d.run({ type: "worker-lost", worker: "w1" });
  const placed = d.addWorker("w2");
  assert.deepEqual(computes(placed, "w2"), ["a"]);
  const back = d.addWorker("w1", {
    keys: [{ key: "a", nbytes: 8 }, { key: "unknown", nbytes: 1 }],
  });
  assert.equal(d.state("a"), "memory");
  assert.deepEqual(freed(back, "w2"), ["a"]);
  assert.deepEqual(freed(back, "w1"), ["unknown"]);
  assert.deepEqual(d.s.whoHas("a"), ["w1"]);
});

Deno.test("a paused worker gets no new tasks until it runs again", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.addWorker("w2");
  d.run({ type: "worker-status", worker: "w1", status: "paused" });
  assert.equal(d.s.workerStatus("w1"), "paused");
  const out = d.submit([spec("x", [], { workers: ["w1"] }), spec("y", [])], ["x", "y"]);
  // x may only run on w1, which is paused; y goes to w2.
  assert.equal(d.state("x"), "no-worker");
  assert.deepEqual(computes(out), ["y"]);
  assert.equal(d.on("y"), "w2");
  const resumed = d.run({ type: "worker-status", worker: "w1", status: "running" });
  assert.deepEqual(computes(resumed, "w1"), ["x"]);
  // Every worker paused: new work waits.
  d.run({ type: "worker-status", worker: "w1", status: "paused" });
  d.run({ type: "worker-status", worker: "w2", status: "paused" });
  d.submit([spec("z")], ["z"]);
  assert.equal(d.state("z"), "no-worker");
  assert.deepEqual(computes(d.run({ type: "worker-status", worker: "w2", status: "running" })), [
    "z",
  ]);
});

Deno.test("a retired worker takes no new tasks and a later 'running' does not revive it", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.addWorker("w2");
  d.run({ type: "retire-workers", workers: ["w1"] });
  d.run({ type: "worker-status", worker: "w1", status: "running" });
  assert.equal(d.s.workerStatus("w1"), "closing");
  const out = d.submit([spec("a"), spec("b"), spec("c")], ["a", "b", "c"]);
  assert.deepEqual(computes(out, "w1"), []);
  assert.equal(computes(out, "w2").length + d.s.queuedCount, 3);
});

Deno.test("retryDelay holds a failed task on the scheduler until the delay is over", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.submit([spec("flaky", [], { retries: 2, retryDelay: 5 })], ["flaky"]);
  const failedAt = d.now + 1;
  d.fail("flaky");
  assert.equal(d.state("flaky"), "queued");
  assert.deepEqual(computes(d.run({ type: "tick", now: failedAt + 4 })), []);
  assert.deepEqual(computes(d.run({ type: "tick", now: failedAt + 5 })), ["flaky"]);
  d.now = failedAt + 5;
  d.fail("flaky");
  assert.equal(d.state("flaky"), "queued");
  d.run({ type: "tick", now: d.now + 6 });
  d.now += 6;
  const final = d.fail("flaky");
  assert.equal(d.state("flaky"), "erred");
  assert.deepEqual(toClient(final).map((m) => m.op), ["task-erred"]);
});

Deno.test("a task released during its retry delay leaves the retry queue", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.submit([spec("flaky", [], { retries: 1, retryDelay: 60 })], ["flaky"]);
  d.fail("flaky");
  d.run({
    type: "client-message",
    client: "c1",
    msg: { op: "client-releases-keys", keys: ["flaky"] },
  });
  assert.equal(d.state("flaky"), "forgotten");
  assert.deepEqual(computes(d.run({ type: "tick", now: d.now + 100 })), []);
});

Deno.test("restart cancels every held key and forgets every task", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.submit([spec("a"), spec("b", ["a"]), spec("c", ["b"])], ["a", "c"]);
  d.finish("a");
  d.run({ type: "client-message", client: "c2", msg: { op: "client-desires-keys", keys: ["a"] } });
  const out = d.run({ type: "restart" });
  const cancelled = out.flatMap((o) =>
    o.to === "client" && o.msg.op === "cancelled" ? [`${o.client}:${o.msg.key}`] : []
  );
  assert.deepEqual(cancelled.sort(), ["c1:a", "c1:c", "c2:a"]);
  assert.equal(d.s.tasks.size, 0);
  assert.equal(d.s.workers.get("w1")!.processing.size, 0);
  // New work after the restart runs normally.
  assert.deepEqual(computes(d.submit([spec("a")], ["a"])), ["a"]);
});

Deno.test("acquire-replicas asks the worker to copy; drop-replicas never drops the last copy", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.addWorker("w2");
  d.submit([spec("a")], ["a"]);
  d.finish("a", 50);
  const holder = d.s.whoHas("a")[0];
  const other = holder === "w1" ? "w2" : "w1";
  const out = d.run({
    type: "acquire-replicas",
    transfers: [{ worker: other, key: "a", sources: [holder] }, {
      worker: holder,
      key: "a",
      sources: [],
    }],
  });
  assert.deepEqual(
    out.map((o) => [o.to === "worker" ? o.worker : "", o.msg.op]),
    [[other, "acquire-replicas"]],
  );
  assert.deepEqual(out[0].msg, {
    op: "acquire-replicas",
    keys: [{ key: "a", nbytes: 50, workers: [holder] }],
  });
  d.run({
    type: "worker-message",
    worker: other,
    msg: { op: "add-keys", keys: [{ key: "a", nbytes: 50 }] },
  });
  assert.equal(d.s.whoHas("a").length, 2);
  const dropped = d.run({
    type: "drop-replicas",
    drops: [{ worker: holder, key: "a" }, { worker: other, key: "a" }],
  });
  assert.deepEqual(freed(dropped, holder), ["a"]);
  assert.deepEqual(freed(dropped, other), []);
  assert.deepEqual(d.s.whoHas("a"), [other]);
});

Deno.test("retirement plans copy unique keys to the lightest running workers", () => {
  const d = new Driver();
  for (const w of ["w1", "w2", "w3"]) d.addWorker(w);
  d.submit([spec("a", [], { workers: ["w1"] }), spec("b", [], { workers: ["w1"] })], ["a", "b"]);
  d.finish("a", 100);
  d.finish("b", 60);
  d.submit([spec("c", [], { workers: ["w2"] })], ["c"]);
  d.finish("c", 30);
  const { found } = resolveWorkers(d.s, ["w1"]);
  assert.deepEqual(uniqueKeys(found).map((t) => t.key), ["a", "b"]);
  d.run({ type: "retire-workers", workers: ["w1"] });
  const plan = planRetirement(d.s, found);
  // a (100 B) to the empty w3, then b (60 B) to w2 (30 B) rather than w3 (now 100 B).
  assert.deepEqual(plan.map((t) => [t.key, t.worker, t.sources]), [
    ["a", "w3", ["w1"]],
    ["b", "w2", ["w1"]],
  ]);
  assert.deepEqual(planRetirement(d.s, found, new Set(["a", "b"])), []);
  assert.deepEqual(resolveWorkers(d.s, ["w9", "w2"]).unknown, ["w9"]);
});

Deno.test("replication doubles copies per round (tree) and trims extra copies", () => {
  const d = new Driver();
  for (let i = 0; i < 8; i++) d.addWorker(`w${i}`);
  d.submit([spec("a", [], { workers: ["w0"] })], ["a"]);
  d.finish("a", 10);
  const rounds: number[] = [];
  for (;;) {
    const { transfers, drops } = planReplicationRound(d.s, ["a"], Infinity);
    assert.deepEqual(drops, []);
    if (transfers.length === 0) break;
    rounds.push(transfers.length);
    // every source serves one target per round
    const sources = transfers.map((t) => t.sources[0]);
    assert.equal(new Set(sources).size, sources.length);
    for (const t of transfers) {
      d.run({
        type: "worker-message",
        worker: t.worker,
        msg: { op: "add-keys", keys: [{ key: "a", nbytes: 10 }] },
      });
    }
  }
  assert.deepEqual(rounds, [1, 2, 4]);
  assert.equal(d.s.whoHas("a").length, 8);
  const { transfers, drops } = planReplicationRound(d.s, ["a"], 3);
  assert.deepEqual(transfers, []);
  assert.equal(drops.length, 5);
});

Deno.test("rebalance moves copies from the fullest worker to the emptiest", () => {
  const d = new Driver();
  for (const w of ["w1", "w2"]) d.addWorker(w);
  const keys = ["k0", "k1", "k2", "k3"];
  d.submit(keys.map((k) => spec(k, [], { workers: ["w1"] })), keys);
  for (const k of keys) d.finish(k, 100);
  const moves = planRebalance(d.s);
  assert.deepEqual(moves.map((m) => [m.from, m.to, m.nbytes]), [["w1", "w2", 100], [
    "w1",
    "w2",
    100,
  ]]);
  assert.deepEqual(planRebalance(d.s, { keys: new Set(["k0"]) }).map((m) => m.key), ["k0"]);
  // an actor's key never moves: its worker would drop the actor with the sender's copy
  d.s.tasks.get("k0")!.actor = true;
  assert.deepEqual(planRebalance(d.s, { keys: new Set(["k0"]) }), []);
});

Deno.test("restart grace: results reconnecting workers hold serve reconnecting clients; unknown keys wait, then are lost", () => {
  const s = new SchedulerState({ stealing: false, restartGrace: 10 });
  const run = (event: SchedulerEvent) => {
    s.handle(event);
    s.validate();
    return s.takeOutgoing();
  };
  const toClient = (out: Outgoing[]) =>
    out.filter((o) => o.to === "client").map((o) => o.msg as SchedulerToClientMsg);
  const desire = (keys: string[], now: number) =>
    run({ type: "client-message", client: "c1", msg: { op: "client-desires-keys", keys }, now });
  run({ type: "client-connected", client: "c1", now: 1 });
  // the client asks first, the worker brings the key later
  assert.deepEqual(toClient(desire(["early"], 1.1)), []);
  const submit = (tasks: GraphTaskSpec[], now: number) =>
    run({
      type: "client-message",
      client: "c1",
      msg: { op: "update-graph", tasks, keys: tasks.map((t) => t.key) },
      now,
    });
  // a graph on the awaited key waits for it; one on a key nobody awaits ends at once (cancelled,
  // as Dask does with a computation on lost data)
  submit([spec("uses-early", ["early"])], 1.2);
  assert.equal(s.tasks.get("uses-early"), undefined);
  const wrong = toClient(submit([spec("uses-nothing", ["nothing"])], 1.3));
  assert.deepEqual(wrong.map((m) => m.op), ["cancelled"]);
  const joined = run({
    type: "worker-added",
    worker: {
      address: "tcp://w1",
      nthreads: 1,
      keys: [{ key: "early", nbytes: 8, typeName: "number" }, {
        key: "late",
        nbytes: 8,
        typeName: "number",
      }],
    },
    now: 2,
  });
  assert.deepEqual(toClient(joined).map((m) => [m.op, "key" in m ? m.key : ""]), [
    ["key-in-memory", "early"],
  ]);
  assert.equal(s.tasks.get("uses-early")?.state, "processing");
  // the worker brought it first, the client asks later
  assert.deepEqual(toClient(desire(["late", "never"], 3)).map((m) => m.op), ["key-in-memory"]);
  assert.equal(s.tasks.get("late")?.state, "memory");
  // the grace ends: the key nobody brought is lost
  assert.deepEqual(toClient(run({ type: "tick", now: 5 })), []);
  const ended = toClient(run({ type: "tick", now: 11.5 }));
  assert.deepEqual(ended.map((m) => [m.op, "key" in m ? m.key : ""]), [["lost", "never"]]);
  // after the grace an unknown key is lost at once
  assert.deepEqual(toClient(desire(["other"], 12)).map((m) => m.op), ["lost"]);
});
