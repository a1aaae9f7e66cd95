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
  // (another spec under its key: the same spec would share it, see below)
  const out = say("b1", {
    op: "update-graph",
    tasks: [{ ...spec("x"), fn: "mine" }, spec("y", ["x"])],
    keys: ["y"],
  });
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

Deno.test("the same spec in two identities is shared: each becomes an owner and gets the result", () => {
  const { s, say, finish, told } = tenants();
  say("a1", { op: "update-graph", tasks: [spec("x")], keys: ["x"] });
  // bob submits the very same task while alice's runs, and builds on it
  const out = say("b1", {
    op: "update-graph",
    tasks: [spec("x"), spec("y", ["x"])],
    keys: ["x", "y"],
  });
  assert.deepEqual(told(out, "b1", "x"), []);
  assert.equal(s.tasks.get("x")!.state, "processing", "one computation for both");
  assert.equal(s.ownership.owns(s.tasks.get("x")!, "bob"), true);
  const done = finish("x");
  assert.deepEqual(told(done, "a1", "x"), ["key-in-memory"]);
  assert.deepEqual(told(done, "b1", "x"), ["key-in-memory"]);
  assert.equal(s.tasks.get("y")!.state, "processing");
  // later, once it is in memory, too
  say("a1", { op: "update-graph", tasks: [spec("w")], keys: ["w"] });
  finish("w");
  assert.deepEqual(
    told(say("b1", { op: "update-graph", tasks: [spec("w")], keys: ["w"] }), "b1", "w"),
    ["key-in-memory"],
  );
});

Deno.test("another spec under a shared key, or a key joined without its inputs, is refused", () => {
  const { s, say, finish, told } = tenants();
  say("a1", { op: "update-graph", tasks: [spec("x"), spec("z", ["x"])], keys: ["z"] });
  finish("x");
  const z = s.tasks.get("z")!;
  // the same spec of z, but not of its input x (which bob may not read): refused, and alice's
  // z goes on (it does not fail for bob's want of x)
  let out = say("b1", { op: "update-graph", tasks: [spec("z", ["x"])], keys: ["z"] });
  assert.deepEqual(told(out, "b1", "z"), ["task-erred:KeyAccessError"]);
  assert.equal(z.state, "processing");
  // another function, other arguments, other inputs: overwrites, refused (x itself is shared)
  const variants: GraphTaskSpec[] = [
    { ...spec("z", ["x"]), fn: "evil" },
    { ...spec("z", ["x"]), args: ["x", 666] },
    { ...spec("z"), args: ["x"] },
  ];
  for (const variant of variants) {
    out = say("b1", { op: "update-graph", tasks: [spec("x"), variant], keys: ["z"] });
    assert.deepEqual(told(out, "b1", "z"), ["task-erred:KeyAccessError"]);
  }
  assert.equal(z.fn, "fn");
  assert.deepEqual(z.dependencies.map((d) => d.key), ["x"]);
  assert.equal(s.ownership.owns(z, "bob"), false);
  assert.equal(s.ownership.owns(s.tasks.get("x")!, "bob"), true);
  // with its input's spec too, bob joins both
  say("b1", { op: "update-graph", tasks: [spec("x"), spec("z", ["x"])], keys: ["z"] });
  assert.equal(s.ownership.owns(z, "bob"), true);
  assert.equal(s.ownership.owns(s.tasks.get("x")!, "bob"), true);
  assert.deepEqual(told(finish("z"), "b1", "z"), ["key-in-memory"]);
});

Deno.test("a shared key lives while any owner holds it; nobody scatters over it or cancels for the other", () => {
  const { s, say, finish, told } = tenants();
  for (const client of ["a1", "b1"]) {
    say(client, { op: "update-graph", tasks: [spec("x")], keys: ["x"] });
  }
  finish("x");
  const x = s.tasks.get("x")!;
  // bob's forced cancel drops bob's hold only
  assert.deepEqual(told(say("b1", { op: "cancel", keys: ["x"], force: true }), "b1", "x"), [
    "cancelled",
  ]);
  assert.equal(x.state, "memory");
  assert.deepEqual([...x.whoWants].map((c) => c.id), ["a1"]);
  // back again; alice's release leaves it to bob
  say("b1", { op: "client-desires-keys", keys: ["x"] });
  say("a1", { op: "client-releases-keys", keys: ["x"] });
  assert.equal(x.state, "memory");
  assert.deepEqual([...x.whoWants].map((c) => c.id), ["b1"]);
  // no owner of a shared key scatters over it: either would overwrite the other's value
  for (const client of ["a1", "b1"]) {
    const out = say(client, {
      op: "scatter",
      data: [{ key: "x", nbytes: 8, typeName: "number", workers: ["w1"] }],
    });
    assert.deepEqual(told(out, client, "x"), ["task-erred:KeyAccessError"]);
  }
  assert.equal(x.runnable, true, "still the task both asked for");
  // alice's forced cancel (she holds it again) leaves bob's hold
  say("a1", { op: "client-desires-keys", keys: ["x"] });
  say("a1", { op: "cancel", keys: ["x"], force: true });
  assert.deepEqual([...x.whoWants].map((c) => c.id), ["b1"]);
  say("b1", { op: "client-releases-keys", keys: ["x"] });
  assert.equal(s.tasks.has("x"), false, "released by its last holder: forgotten");
});

Deno.test("an actor is never shared, even for the same spec: its holders change its state", () => {
  const { s, say, told } = tenants();
  const counter: GraphTaskSpec = { ...spec("counter"), options: { actor: true } };
  say("a1", { op: "update-graph", tasks: [counter], keys: ["counter"] });
  assert.equal(s.tasks.get("counter")!.actor, true);
  const out = say("b1", { op: "update-graph", tasks: [counter], keys: ["counter"] });
  assert.deepEqual(told(out, "b1", "counter"), ["task-erred:KeyAccessError"]);
  assert.equal(s.ownership.owns(s.tasks.get("counter")!, "bob"), false);
});
