import assert from "node:assert/strict";
import { Client } from "../../mod.ts";
import { TaskRef } from "../../core/task.ts";
import { startCluster } from "../helpers/cluster.ts";
import { graphTask, RawClient } from "../helpers/raw_client.ts";

const N = 6_250_000; // 50 MB of float64

Deno.test("a 50 MB typed array moves between workers with every byte intact", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const [w0, w1] = cluster.workers;
  const make = (n: number) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = i * 0.5 + (i % 7);
    return out;
  };
  // Checked where it arrives: the first wrong element, or -1.
  const check = (data: Float64Array) => {
    if (!(data instanceof Float64Array)) return -2;
    for (let i = 0; i < data.length; i++) if (data[i] !== i * 0.5 + (i % 7)) return i;
    return data.length === 6_250_000 ? -1 : -3;
  };
  client.submit([
    graphTask("big", make, [N], { workers: ["w0"] }),
    graphTask("check", check, [new TaskRef("big")], { workers: ["w1"] }),
  ], ["big", "check"]);
  const started = performance.now();
  await client.waitForKeys(["big", "check"], 20_000);
  const ms = performance.now() - started;
  const whoHas = await client.request<Record<string, string[]>>("who-has", {
    keys: ["big", "check"],
  });
  assert.ok(whoHas.big.includes(w0.address));
  assert.deepEqual(whoHas.check, [w1.address]);
  const checked = await client.getData(w1.address, ["check"]);
  assert.equal(checked.get("check"), -1, cluster.logs());

  // And the client gets the same bytes straight from the worker that made them.
  const items = await client.getItems(w0.address, ["big"]);
  assert.equal(items.length, 1);
  assert.equal(items[0].typeName, "Float64Array");
  assert.equal(items[0].nbytes, N * 8);
  const fetched = (await client.getData(w0.address, ["big"])).get("big") as Float64Array;
  assert.equal(fetched.length, N);
  assert.equal(fetched[N - 1], (N - 1) * 0.5 + ((N - 1) % 7));
  assert.equal(fetched[12345], 12345 * 0.5 + (12345 % 7));
  console.log(`    make 50 MB on w0, move it to w1 and check it there: ${ms.toFixed(0)} ms`);
});

Deno.test("threads read large inputs in shared memory, without a copy per task", async () => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
  const on = (worker: string) => client.with({ workers: [worker], pure: false });
  const big = on("worker-0").submit(
    (n: number) => Float64Array.from({ length: n }, (_, i) => i),
    100_000,
  );
  const small = on("worker-0").submit(
    (n: number) => Float64Array.from({ length: n }, (_, i) => i),
    100,
  );
  const shared = (xs: Float64Array) => xs.buffer instanceof SharedArrayBuffer;

  // Received from a peer: read where it arrived.
  assert.equal(await on("worker-1").submit(shared, big), true);
  // Made on the worker itself: moved into shared memory at its first use, read in place after.
  assert.equal(await on("worker-0").submit(shared, big), true);
  assert.equal(await on("worker-0").submit(shared, big), true);
  // Small values are still copied for each task.
  assert.equal(await on("worker-1").submit(shared, small), false);

  // A task may return its input, whole or as a view: stored and gathered intact, and the client
  // gets memory of its own.
  const same = await on("worker-1").submit((xs: Float64Array) => xs, big);
  assert.ok(same instanceof Float64Array && !(same.buffer instanceof SharedArrayBuffer));
  assert.equal(same.length, 100_000);
  assert.equal(same[99_999], 99_999);
  const view = on("worker-0").submit((xs: Float64Array) => xs.subarray(10, 90_010), big);
  const sum = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0);
  assert.equal(await on("worker-1").submit(sum, view), (10 + 90_009) * 90_000 / 2);
  assert.equal((await view)[0], 10);
});
