/**
 * A function's spec travels once per `update-graph` (client/outbox.ts withSharedFunctions) and
 * once per worker (scheduler WorkerRecord.functionFor); the scheduler gives every task its full
 * spec back.
 */
import assert from "node:assert/strict";
import { withSharedFunctions } from "../../client/outbox.ts";
import { FunctionReceiver, FunctionSender } from "../../core/function_link.ts";
import { type Outgoing, SchedulerState } from "../../scheduler/state.ts";
import type { ComputeTaskMsg, GraphTaskSpec, UpdateGraphMsg } from "../../protocol/messages.ts";
import { decode, encode } from "../../core/value_codec.ts";

const inc = { id: "fn-inc", source: "(x) => x + 1" };
const add = { id: "fn-add", source: "(x, y) => x + y" };

function graph(): UpdateGraphMsg {
  const tasks: GraphTaskSpec[] = [
    { key: "inc-1", fn: inc, args: [1], deps: [] },
    { key: "inc-2", fn: inc, args: [2], deps: [] },
    { key: "lit-1", fn: null, args: [3], deps: [] },
    { key: "add-1", fn: add, args: ["inc-1", "inc-2"], deps: ["inc-1", "inc-2"] },
    { key: "inc-3", fn: inc, args: [3], deps: [] },
  ];
  return { op: "update-graph", tasks, keys: tasks.map((t) => t.key) };
}

/** What the scheduler sees: the message after the wire (fresh objects, no shared identity). */
function overTheWire(msg: UpdateGraphMsg): UpdateGraphMsg {
  return decode(encode(msg)) as UpdateGraphMsg;
}

function computes(out: Outgoing[], worker: string): ComputeTaskMsg[] {
  return out.flatMap((o) =>
    o.to === "worker" && o.worker === worker && o.msg.op === "compute-task" ? [o.msg] : []
  );
}

Deno.test("withSharedFunctions gives each spec in full once, then its id; the input is kept", () => {
  const msg = graph();
  const shared = withSharedFunctions(msg);
  assert.deepEqual(shared.tasks.map((t) => t.fn), [inc, "fn-inc", null, add, "fn-inc"]);
  assert.deepEqual(shared.keys, msg.keys);
  // the original keeps full specs: a message kept for a reconnection is shared again
  assert.deepEqual(msg.tasks.map((t) => t.fn), [inc, inc, null, add, inc]);
  const none = { ...msg, tasks: msg.tasks.slice(2, 4) };
  assert.equal(withSharedFunctions(none), none, "nothing to share: the same message");
});

Deno.test("the scheduler resolves shared ids and sends each worker a spec once", () => {
  const s = new SchedulerState({ stealing: false });
  s.handle({ type: "worker-added", worker: { address: "w1", nthreads: 8 }, now: 1 });
  const submit = (msg: UpdateGraphMsg, now: number) => {
    s.handle({ type: "client-message", client: "c1", msg: overTheWire(msg), now });
    s.validate();
    return s.takeOutgoing();
  };
  const out = submit(withSharedFunctions(graph()), 2);
  // the scheduler names a spec by its content (scheduler/function_identity.ts), not the client's id
  const incId = (s.tasks.get("inc-1")!.fn as { id: string }).id;
  assert.match(incId, /^sha256:/);
  const incSpec = { ...inc, id: incId };
  for (const key of ["inc-1", "inc-2", "inc-3"]) {
    assert.deepEqual(s.tasks.get(key)!.fn, incSpec, `${key} has the full spec`);
  }
  assert.equal(s.tasks.get("inc-2")!.fn, s.tasks.get("inc-1")!.fn, "one spec object shared");
  assert.equal(s.tasks.get("lit-1")!.fn, null);
  // the first compute-task of `inc` to the worker carries the spec, later ones its id
  assert.deepEqual(
    computes(out, "w1").map((m) => [m.key, m.fn]),
    [["inc-1", incSpec], ["inc-2", incId], ["lit-1", null], ["inc-3", incId]],
  );
  // a later graph: the worker already has the spec; a new worker gets it in full
  const one = (key: string, options?: GraphTaskSpec["options"]): UpdateGraphMsg => ({
    op: "update-graph",
    tasks: [{ key, fn: inc, args: [9], deps: [], options }],
    keys: [key],
  });
  assert.deepEqual(computes(submit(one("inc-9"), 3), "w1").map((m) => m.fn), [incId]);
  s.handle({ type: "worker-added", worker: { address: "w2", nthreads: 8 }, now: 4 });
  s.takeOutgoing();
  const onW2 = computes(submit(one("inc-10", { workers: ["w2"] }), 5), "w2");
  assert.deepEqual(onW2.map((m) => m.fn), [incSpec]);
});

Deno.test("an id without its spec in the message stays an id (the worker reports it)", () => {
  const s = new SchedulerState({ stealing: false });
  s.handle({ type: "worker-added", worker: { address: "w1", nthreads: 1 }, now: 1 });
  s.handle({
    type: "client-message",
    client: "c1",
    msg: {
      op: "update-graph",
      tasks: [{ key: "x-1", fn: "fn-x", args: [], deps: [] }],
      keys: ["x-1"],
    },
    now: 2,
  });
  assert.equal(s.tasks.get("x-1")!.fn, "fn-x");
});

Deno.test("a function link: in full once, then the id; the receiver expands it; reset sends again", () => {
  const spec = { kind: "source" as const, id: "fn-sq", name: "sq", source: "(x) => x * x" };
  const sender = new FunctionSender();
  const receiver = new FunctionReceiver();
  const sent = [sender.shrink(spec), sender.shrink(spec), sender.shrink(null)];
  assert.deepEqual(sent, [spec, "fn-sq", null]);
  const arrived = sent.map((fn) => receiver.expand(decode(encode(fn))));
  assert.deepEqual(arrived, [spec, spec, null]);
  assert.equal(arrived[0], arrived[1], "one spec object per id on the receiving side");
  assert.equal(new FunctionReceiver().expand("fn-sq"), "fn-sq", "an id never sent stays an id");
  sender.reset();
  assert.equal(sender.shrink(spec), spec, "a replaced link gets the spec in full again");
});
