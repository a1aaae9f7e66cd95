/**
 * A client's `missing-data` in the scheduler's state machine alone (scheduler/missing_data.ts):
 * the copies named leave the books, keys left without one are computed again (their holders told
 * `lost`), keys that cannot be are cancelled saying why, and whatever the books do not know —
 * or the client does not hold — changes nothing.
 */
import assert from "node:assert/strict";
import type { Outgoing } from "../../scheduler/state.ts";
import type { ClientToSchedulerMsg } from "../../protocol/messages.ts";
import { clientMessageProblem } from "../../protocol/message_checks.ts";
import { computes, Driver, spec, toClient } from "../helpers/scheduler_driver.ts";

const say = (d: Driver, client: string, msg: ClientToSchedulerMsg): Outgoing[] =>
  d.run({ type: "client-message", client, msg });

const freed = (out: Outgoing[], worker: string): string[] =>
  out.flatMap((o) =>
    o.to === "worker" && o.worker === worker && o.msg.op === "free-keys" ? o.msg.keys : []
  );

/** x on w1 and w2, y on w1 alone, z on w2 alone; client c1 holds all three. */
function cluster(): Driver {
  const d = new Driver();
  d.addWorker("w1");
  d.addWorker("w2");
  d.submit([
    spec("x-1", [], { workers: ["w1"] }),
    spec("y-1", [], { workers: ["w1"] }),
    spec("z-1", [], { workers: ["w2"] }),
  ], ["x-1", "y-1", "z-1"]);
  for (const key of ["x-1", "y-1", "z-1"]) d.finish(key);
  d.run({
    type: "worker-message",
    worker: "w2",
    msg: { op: "add-keys", keys: [{ key: "x-1", nbytes: 8 }] },
  });
  assert.deepEqual(d.s.whoHas("x-1").sort(), ["w1", "w2"]);
  return d;
}

Deno.test("a client's missing-data drops only the named copies and recomputes keys left with none", () => {
  const d = cluster();
  const out = say(d, "c1", {
    op: "missing-data",
    keys: ["x-1", "y-1", "ghost-1"],
    errantWorker: "w1",
  });
  // x keeps its copy on w2: no one hears of it; y had none left: lost, computed again
  assert.deepEqual(d.s.whoHas("x-1"), ["w2"]);
  assert.equal(d.state("x-1"), "memory");
  assert.deepEqual(toClient(out), [{ op: "lost", key: "y-1" }]);
  assert.equal(d.state("y-1"), "processing");
  assert.deepEqual(computes(out), ["y-1"]);
  // the books and the errant worker's store agree: w1 drops what it was said not to have
  assert.deepEqual(freed(out, "w1").sort(), ["x-1", "y-1"]);
  // z was not named
  assert.deepEqual(d.s.whoHas("z-1"), ["w2"]);
  assert.equal(d.state("ghost-1"), "forgotten");
  // recomputed, the key is in memory again and its holder is told so
  const done = d.finish("y-1");
  assert.equal(toClient(done)[0].op, "key-in-memory");
});

Deno.test("a client's missing-data naming unknown workers, copies the books do not list, or keys it does not hold changes nothing", () => {
  const d = cluster();
  // a worker the scheduler does not know (gone already, or never there)
  assert.deepEqual(say(d, "c1", { op: "missing-data", keys: ["y-1"], errantWorker: "w9" }), []);
  // w1 is not listed as holding z
  assert.deepEqual(say(d, "c1", { op: "missing-data", keys: ["z-1"], errantWorker: "w1" }), []);
  // c2 holds nothing: its word about c1's keys moves nothing
  say(d, "c2", { op: "update-graph", tasks: [], keys: [] });
  assert.deepEqual(say(d, "c2", { op: "missing-data", keys: ["y-1"], errantWorker: "w1" }), []);
  assert.deepEqual(d.s.whoHas("y-1"), ["w1"]);
  assert.deepEqual(d.s.whoHas("z-1"), ["w2"]);
  // once c2 holds y too, it may report it
  say(d, "c2", { op: "client-desires-keys", keys: ["y-1"] });
  const out = say(d, "c2", { op: "missing-data", keys: ["y-1"], errantWorker: "w1" });
  assert.deepEqual(
    toClient(out).filter((m) => m.op === "lost").map((m) => m.key),
    ["y-1", "y-1"], // both holders hear it is being computed again
  );
});

Deno.test("a client's missing-data for scattered data: cancelled saying it cannot be recomputed", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.addWorker("w2");
  say(d, "c1", {
    op: "scatter",
    data: [{ key: "data-1", nbytes: 100, typeName: "Array", workers: ["w1"] }],
  });
  const out = say(d, "c1", { op: "missing-data", keys: ["data-1"], errantWorker: "w1" });
  const [msg] = toClient(out);
  assert.equal(msg.op, "cancelled");
  assert.match(msg.op === "cancelled" ? msg.reason ?? "" : "", /scattered.*cannot be recomputed/s);
  assert.equal(d.state("data-1"), "forgotten");
  assert.deepEqual(computes(out), []);
});

Deno.test("a malformed missing-data from a client is named", () => {
  assert.equal(
    clientMessageProblem({ op: "missing-data", keys: "x-1", errantWorker: "w1" }),
    "missing-data without keys or errantWorker",
  );
  assert.equal(
    clientMessageProblem({ op: "missing-data", keys: ["x-1"] }),
    "missing-data without keys or errantWorker",
  );
  assert.equal(
    clientMessageProblem({ op: "missing-data", keys: ["x-1"], errantWorker: "w1" }),
    null,
  );
});
