/** Tenancy in the scheduler's state machine alone (scheduler/tenancy.ts): no sockets. */
import assert from "node:assert/strict";
import { type Outgoing, SchedulerState } from "../../scheduler/state.ts";
import type { ClientToSchedulerMsg, GraphTaskSpec } from "../../protocol/messages.ts";

const spec = (key: string, deps: string[] = []): GraphTaskSpec => ({
  key,
  fn: "fn",
  args: deps,
  deps,
});

/** A scheduler with identities: alice (two clients, a1 and a2) and bob (b1); one worker. */
function tenants(tenancy = true) {
  const s = new SchedulerState({ tenancy });
  let now = 0;
  const run = (event: Parameters<SchedulerState["handle"]>[0]): Outgoing[] => {
    s.handle(event);
    s.validate();
    return s.takeOutgoing();
  };
  run({ type: "worker-added", worker: { address: "w1", nthreads: 1 }, now: ++now });
  for (const [client, identity] of [["a1", "alice"], ["a2", "alice"], ["b1", "bob"]]) {
    run({ type: "client-connected", client, identity, now: ++now });
  }
  const say = (client: string, msg: ClientToSchedulerMsg) =>
    run({ type: "client-message", client, msg, now: ++now });
  const finish = (key: string) => {
    const task = s.tasks.get(key)!;
    return run({
      type: "worker-message",
      worker: "w1",
      msg: {
        op: "task-finished",
        key,
        runId: task.runId,
        nbytes: 8,
        typeName: "number",
        start: now,
        stop: now,
      },
      now: ++now,
    });
  };
  /** What `client` was told about `key`: its op, and its error's name if any. */
  const told = (out: Outgoing[], client: string, key: string) =>
    out.filter((o) => o.to === "client" && o.client === client && o.msg.key === key)
      .map((o) => {
        const msg = o.msg as { op: string; error?: { name: string } };
        return msg.error === undefined ? msg.op : `${msg.op}:${msg.error.name}`;
      });
  return { s, say, finish, told };
}

Deno.test("another identity's key is refused to want, build on, scatter over or cancel", () => {
  const { s, say, finish, told } = tenants();
  say("a1", { op: "update-graph", tasks: [spec("x")], keys: ["x"] });
  assert.deepEqual(told(finish("x"), "a1", "x"), ["key-in-memory"]);
  // the same identity shares it
  assert.deepEqual(told(say("a2", { op: "client-desires-keys", keys: ["x"] }), "a2", "x"), [
    "key-in-memory",
  ]);
  // bob: wanting, a graph naming it, a task reading it, a scatter over it
  assert.deepEqual(told(say("b1", { op: "client-desires-keys", keys: ["x"] }), "b1", "x"), [
    "task-erred:KeyAccessError",
  ]);
  const out = say("b1", { op: "update-graph", tasks: [spec("x"), spec("y", ["x"])], keys: ["y"] });
  assert.equal(s.tasks.get("y")!.state, "erred");
  assert.deepEqual(told(out, "b1", "y"), ["task-erred:KeyAccessError"]);
  assert.deepEqual(
    told(
      say("b1", {
        op: "scatter",
        data: [{ key: "x", nbytes: 8, typeName: "number", workers: ["w1"] }],
      }),
      "b1",
      "x",
    ),
    ["task-erred:KeyAccessError"],
  );
  say("b1", { op: "cancel", keys: ["x"], force: true });
  const x = s.tasks.get("x")!;
  assert.equal(x.state, "memory");
  assert.deepEqual([...x.whoWants].map((c) => c.id).sort(), ["a1", "a2"]);
  assert.equal(s.mayRead("b1", "x"), false);
  assert.equal(s.mayRead("a2", "x"), true);
});

Deno.test("force cancels for the canceller's identity only; published keys are readable by all", () => {
  const { s, say, finish, told } = tenants();
  say("a1", { op: "update-graph", tasks: [spec("p")], keys: ["p"] });
  finish("p");
  // a dataset holder (the scheduler's own, identity "*") holds it: bob may read and build on it
  s.handle({
    type: "client-message",
    client: "published-p",
    identity: "*",
    msg: { op: "client-desires-keys", keys: ["p"] },
    now: 100,
  });
  s.takeOutgoing();
  assert.deepEqual(told(say("b1", { op: "client-desires-keys", keys: ["p"] }), "b1", "p"), [
    "key-in-memory",
  ]);
  say("b1", { op: "update-graph", tasks: [spec("q", ["p"])], keys: ["q"] });
  assert.equal(s.tasks.get("q")!.state, "processing");
  // bob's forced cancel leaves alice's and the dataset's holds
  say("b1", { op: "cancel", keys: ["p"], force: true });
  const holders = [...s.tasks.get("p")!.whoWants].map((c) => c.id).sort();
  assert.deepEqual(holders, ["a1", "published-p"]);
  // reading it did not make bob an owner: a held key stays readable, but is not bob's to respec
  assert.equal(s.ownership.owns(s.tasks.get("p")!, "bob"), false);
  say("b1", { op: "client-desires-keys", keys: ["p"] });
  s.handle({ type: "client-disconnected", client: "published-p", now: 101 });
  s.takeOutgoing();
  assert.equal(s.mayRead("b1", "p"), true, "bob holds it: still readable after unpublishing");
  say("b1", { op: "client-releases-keys", keys: ["p"] });
  assert.equal(s.mayRead("b1", "p"), false, "released, and never bob's");
});

Deno.test("without tenancy every client may touch every key, as in Dask", () => {
  const { s, say, finish, told } = tenants(false);
  say("a1", { op: "update-graph", tasks: [spec("x")], keys: ["x"] });
  finish("x");
  assert.deepEqual(told(say("b1", { op: "client-desires-keys", keys: ["x"] }), "b1", "x"), [
    "key-in-memory",
  ]);
  say("b1", { op: "cancel", keys: ["x"], force: true });
  assert.equal(s.tasks.get("x")?.whoWants.size ?? 0, 0);
});
