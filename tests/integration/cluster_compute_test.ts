import assert from "node:assert/strict";
import { TaskRef } from "../../core/task.ts";
import { decode, encode } from "../../core/value_codec.ts";
import { Connection } from "../../net/wire.ts";
import { startCluster } from "../helpers/cluster.ts";
import { graphTask, literalTask, RawClient } from "../helpers/raw_client.ts";
import type { GraphTaskSpec } from "../../protocol/messages.ts";

Deno.test("a 2-worker cluster computes a diamond whose data moves between workers", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const [w0, w1] = cluster.workers;
  const tasks = [
    literalTask("x", [1, 2, 3]),
    graphTask("a", (xs: number[]) => xs.map((v) => v + 1), [new TaskRef("x")], {
      workers: ["w0"],
    }),
    graphTask("b", (xs: number[]) => xs.map((v) => v * 10), [new TaskRef("x")], {
      workers: ["w1"],
    }),
    graphTask(
      "c",
      (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0),
      [new TaskRef("a"), new TaskRef("b")],
    ),
  ];
  const [a, b, c] = await client.compute(tasks, ["a", "b", "c"]);
  assert.deepEqual(a, [2, 3, 4]);
  assert.deepEqual(b, [10, 20, 30]);
  assert.equal(c, 2 * 10 + 3 * 20 + 4 * 30, cluster.logs());

  const whoHas = await client.request<Record<string, string[]>>("who-has", {
    keys: ["a", "b", "c"],
  });
  assert.ok(whoHas.a.includes(w0.address), `a on ${whoHas.a}`);
  assert.ok(whoHas.b.includes(w1.address), `b on ${whoHas.b}`);
  // c ran on one of the two: the input computed on the other one travelled to it
  assert.equal(whoHas.c.length, 1);
  assert.ok([w0.address, w1.address].includes(whoHas.c[0]));

  const workers = await client.request<{ address: string; name: string; inMemory: number }[]>(
    "workers",
  );
  assert.deepEqual(workers.map((w) => w.name).sort(), ["w0", "w1"]);
});

Deno.test("a task error reaches the client with its message", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  client.submit([
    graphTask("boom", (n: number) => {
      throw new RangeError(`bad ${n}`);
    }, [7]),
  ], ["boom"]);
  await assert.rejects(client.waitForKeys(["boom"]), { name: "RangeError", message: "bad 7" });
});

Deno.test("1,000 tiny tasks through a 2-worker cluster", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const inc = (x: number) => x + 1;
  const n = 1000;
  const tasks = Array.from({ length: n }, (_, i) => graphTask(`inc-${i}`, inc, [i]));
  const keys = tasks.map((t) => t.key);
  const sum = graphTask(
    "total",
    (...xs: number[]) => xs.reduce((s, x) => s + x, 0),
    keys.map((k) => new TaskRef(k)),
  );
  const started = performance.now();
  const [total] = await client.compute([...tasks, sum], ["total"]);
  const ms = performance.now() - started;
  assert.equal(total, (n * (n + 1)) / 2);
  console.log(`    1,000 tiny tasks + a 1,000-input sum: ${ms.toFixed(0)} ms`);
});

Deno.test("scattered data, sent directly or relayed by the scheduler, feeds tasks", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const addresses = cluster.workers.map((w) => w.address).sort();

  // Direct: ask where to put two values, send them to those workers, then tell the scheduler.
  const targets = await client.request<string[]>("scatter-targets", { n: 2 });
  assert.equal(targets.length, 2);
  assert.deepEqual([...targets].sort(), addresses, "spread over both workers");
  const values = [new Float64Array([1, 2, 3]), "hello"];
  const scattered = [];
  for (let i = 0; i < 2; i++) {
    const key = `direct-${i}`;
    const item = { key, value: encode(values[i]), nbytes: 24, typeName: "Float64Array" };
    const peer = await Connection.connect(targets[i], { role: "peer" });
    peer.send({ header: { op: "update-data", requestId: 1, items: [item], report: false } });
    for await (const message of peer) {
      assert.deepEqual(message.header, { op: "data-stored", requestId: 1, keys: [key] });
      break;
    }
    await peer.close();
    scattered.push({ key, nbytes: item.nbytes, typeName: item.typeName, workers: [targets[i]] });
  }
  client.send({ op: "scatter", data: scattered });

  // Relayed: the scheduler places the value itself, on every worker.
  const relayed = await client.request<{ key: string; workers: string[] }[]>("relay-scatter", {
    items: [{ key: "relayed", value: encode(10), nbytes: 8, typeName: "number" }],
    broadcast: true,
  });
  assert.deepEqual(relayed[0].workers.sort(), addresses);

  const [result] = await client.compute([
    graphTask(
      "combine",
      (xs: Float64Array, s: string, k: number) => `${s} ${xs.reduce((a, b) => a + b, 0) * k}`,
      [new TaskRef("direct-0"), new TaskRef("direct-1"), new TaskRef("relayed")],
    ),
  ], ["combine"]);
  assert.equal(result, "hello 60");
  const whoHas = await client.request<Record<string, string[]>>("who-has", {
    keys: ["relayed"],
  });
  assert.deepEqual(whoHas.relayed.sort(), addresses);
  await assert.rejects(client.request("scatter-targets", { n: 1, workers: ["nobody"] }), {
    name: "RequestError",
    message: /none of the workers \["nobody"\] is connected/,
  });
  await assert.rejects(client.request("launch-rockets"), /unknown request method/);
});

Deno.test("a task that crashes its thread errs naming the thread; the worker goes on", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const crash = () =>
    new Promise(() => {
      setTimeout(() => {
        throw new Error("thread killer");
      }, 0);
    });
  client.submit([graphTask("crash", crash, [])], ["crash"]);
  await assert.rejects(client.waitForKeys(["crash"]), {
    name: "ThreadDiedError",
    message:
      /thread 0 of worker tcp:\S+ ended while running crash: .*thread killer.*The thread was replaced/,
  });
  const [after] = await client.compute([graphTask("after", (x: number) => x * 2, [21])], [
    "after",
  ]);
  assert.equal(after, 42);
});

Deno.test("a tiny result asked for comes with its key-in-memory; others stay on the worker", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const asked = (spec: GraphTaskSpec): GraphTaskSpec => ({ ...spec, returnValue: true });
  client.submit([
    asked(graphTask("tiny", (x: number) => x * 2, [21])),
    graphTask("unasked", (x: number) => x * 3, [21]),
    asked(graphTask("bigger", (n: number) => Array.from({ length: n }, (_, i) => i), [200])),
  ], ["tiny", "unasked", "bigger"]);
  type Told = { value?: { body: Uint8Array; frames: Uint8Array[] } };
  const told = new Map<string, Told>();
  while (told.size < 3) {
    const msg = await client.next((m) => m.op === "key-in-memory");
    told.set(msg.key as string, msg as Told);
  }
  assert.equal(decode(told.get("tiny")!.value!), 42);
  assert.equal(told.get("unasked")!.value, undefined, "nobody asked for it");
  assert.equal(told.get("bigger")!.value, undefined, "200 numbers are more than 256 bytes");
  const [unasked, bigger] = await client.compute([], ["unasked", "bigger"]);
  assert.equal(unasked, 63);
  assert.equal((bigger as number[]).length, 200);
});

Deno.test("compute on a cluster runs fused chains as one task each, under the user's keys", async () => {
  const { Client, delayed } = await import("../../mod.ts");
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress);
  const walk = (seed: number) => seed * 3;
  const step = (x: number) => x + 1;
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const starts = Array.from({ length: 20 }, (_, i) => delayed(walk)(i));
  const ends = starts.map((s) => delayed(step)(s));
  const sum = delayed(total)(ends);
  const expected = 20 + 3 * (19 * 20 / 2);
  assert.equal(await client.compute(sum), expected);
  // the chain's first link ran inside its reader: the scheduler never had a task of that key,
  // only the fused task, whose story it tells (also once the fused task is forgotten)
  const firstPart = await client.story(starts[0].key);
  assert.ok(firstPart.length > 0 && firstPart.every((t) => t.fusedInto === ends[0].key));
  assert.ok((await client.story(ends[0].key)).length > 0, "the fused task keeps the last key");
  // while the fused task lives, its first part's story is the fused task's, marked so
  const held = client.compute(ends[1]);
  assert.equal(await held.result(), 4);
  const partStory = await client.story(starts[1].key);
  assert.ok(partStory.length > 0, "a part's story resolves to its fused task's");
  assert.ok(partStory.every((t) => t.fusedInto === ends[1].key && t.key === ends[1].key));
  assert.deepEqual(partStory[0].parts, [starts[1].key, ends[1].key]);
  assert.ok(partStory.some((t) => t.finish === "memory"), JSON.stringify(partStory));
  assert.deepEqual(
    partStory.map(({ fusedInto: _, ...entry }) => entry),
    await client.story(ends[1].key),
    "the same transitions as the fused key's own",
  );
  await held.release();
  // once the fused task is forgotten, its part's story still tells what happened to it
  while ((await client.story(ends[1].key)).at(-1)?.finish !== "forgotten") {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const forgotten = await client.story(starts[1].key);
  assert.deepEqual(forgotten.slice(0, partStory.length), partStory);
  assert.ok(forgotten.every((t) => t.fusedInto === ends[1].key && t.key === ends[1].key));
  assert.deepEqual(forgotten[0].parts, [starts[1].key, ends[1].key]);
  // unoptimized, every task reaches the scheduler
  assert.equal(await client.with({ optimizeGraph: false }).compute(sum), expected);
  assert.ok((await client.story(starts[0].key)).length > 0, cluster.logs());
});
