/**
 * The client's outgoing batching (client/outbox.ts), without a cluster: what the scheduler
 * receives for a loop of submits, releases and scatters, and in which order.
 */

import assert from "node:assert/strict";
import { MAX_TASKS_PER_MESSAGE, Outbox } from "../../client/outbox.ts";
import type { ClientToSchedulerMsg, GraphTaskSpec } from "../../protocol/messages.ts";

const task = (key: string): GraphTaskSpec => ({ key, fn: null, args: null, deps: [] });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function recording(connected = () => true) {
  const sent: ClientToSchedulerMsg[] = [];
  const outbox = new Outbox((msg) => {
    if (!connected()) return false;
    sent.push(structuredClone(msg));
    return true;
  });
  return { sent, outbox };
}

Deno.test("a loop of submits in one tick is one update-graph", async () => {
  const { sent, outbox } = recording();
  const n = MAX_TASKS_PER_MESSAGE;
  for (let i = 0; i < n; i++) outbox.submitOne(task(`k-${i}`));
  assert.equal(sent.length, 0, "nothing is written synchronously");
  await tick();
  assert.equal(sent.length, 1);
  const msg = sent[0] as Extract<ClientToSchedulerMsg, { op: "update-graph" }>;
  assert.equal(msg.tasks.length, n);
  assert.equal(msg.keys.length, n);
  assert.equal(msg.keys[n - 1], `k-${n - 1}`);
});

Deno.test("messages keep their order across kinds; equal kinds in a row merge", async () => {
  const { sent, outbox } = recording();
  outbox.submitOne(task("a"));
  outbox.submitOne(task("b"));
  outbox.release("a");
  outbox.release("b");
  outbox.submitOne(task("a")); // submitted again after its release: must come after it
  outbox.fireAndForget(["a"]);
  outbox.cancel(["b"], false);
  outbox.cancel(["c"], true); // a forced cancel does not merge into a plain one
  await tick();
  assert.deepEqual(sent.map((m) => m.op), [
    "update-graph",
    "client-releases-keys",
    "update-graph",
    "fire-and-forget",
    "cancel",
    "cancel",
  ]);
  assert.deepEqual((sent[1] as { keys: string[] }).keys, ["a", "b"]);
  assert.deepEqual(sent[5], { op: "cancel", keys: ["c"], force: true });
});

Deno.test("independent submissions split into messages; a graph never does", async () => {
  const { sent, outbox } = recording();
  for (let i = 0; i < MAX_TASKS_PER_MESSAGE + 10; i++) outbox.submitOne(task(`k-${i}`));
  const graph = Array.from({ length: MAX_TASKS_PER_MESSAGE + 5 }, (_, i) => task(`g-${i}`));
  outbox.submit(graph, ["g-0"]);
  await tick();
  const sizes = sent.map((m) => (m as { tasks: unknown[] }).tasks.length);
  assert.deepEqual(sizes, [MAX_TASKS_PER_MESSAGE, 10, MAX_TASKS_PER_MESSAGE + 5]);
});

Deno.test("a barrier holds back what follows until it is lifted", async () => {
  const { sent, outbox } = recording();
  outbox.submitOne(task("before"));
  const lift = outbox.barrier(["scattered"]);
  outbox.submitOne(task("reads-scattered"));
  outbox.release("before");
  await tick();
  assert.deepEqual(sent.map((m) => m.op), ["update-graph"]);
  assert.ok(outbox.heldKeys().has("scattered"));
  lift({ op: "scatter", data: [{ key: "scattered", nbytes: 8, typeName: "number", workers: [] }] });
  await tick();
  assert.deepEqual(sent.map((m) => m.op), [
    "update-graph",
    "scatter",
    "update-graph",
    "client-releases-keys",
  ]);
  // a barrier lifted without a message lets the rest through
  const again = outbox.barrier([]);
  outbox.release("x");
  again();
  await tick();
  assert.equal(sent[sent.length - 1].op, "client-releases-keys");
});

Deno.test("while disconnected everything waits, then goes in order after the first", async () => {
  let up = true;
  const { sent, outbox } = recording(() => up);
  up = false;
  outbox.submitOne(task("a"));
  outbox.release("z");
  await tick();
  assert.equal(sent.length, 0);
  assert.deepEqual([...outbox.heldKeys()], ["a"]);
  outbox.pause();
  up = true;
  outbox.submitOne(task("b")); // queued while paused
  await tick();
  assert.equal(sent.length, 0);
  outbox.resume({ op: "client-desires-keys", keys: ["held"] });
  assert.deepEqual(sent.map((m) => m.op), [
    "client-desires-keys",
    "update-graph",
    "client-releases-keys",
    "update-graph",
  ]);
});

Deno.test("tasks whose values the client already waits for go out asking for them", async () => {
  const sent: ClientToSchedulerMsg[] = [];
  const awaited = new Map<string, number>();
  const outbox = new Outbox((msg) => {
    sent.push(structuredClone(msg));
    return true;
  }, awaited);
  outbox.submitOne(task("k-0"));
  outbox.submitOne(task("k-1"));
  awaited.set("k-1", 1); // result() called right after submit, before the tick's flush
  await tick();
  const msg = sent[0] as Extract<ClientToSchedulerMsg, { op: "update-graph" }>;
  assert.deepEqual(msg.tasks.map((t) => [t.key, t.returnValue]), [["k-0", undefined], [
    "k-1",
    true,
  ]]);
});
