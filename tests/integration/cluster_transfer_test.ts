import assert from "node:assert/strict";
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
