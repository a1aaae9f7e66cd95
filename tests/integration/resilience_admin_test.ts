/**
 * Cluster administration with real processes: workers leaving on purpose, restart, retire, run,
 * replicate and rebalance (client/cluster_admin.ts over a scripted client).
 */

import assert from "node:assert/strict";
import {
  rebalanceKeys,
  replicateKeys,
  restartWorkers,
  retireWorkers,
  runOnWorkers,
  type SchedulerRequest,
} from "../../client/cluster_admin.ts";
import type { WorkerListing } from "../../protocol/session.ts";
import { startCluster } from "../helpers/cluster.ts";
import { graphTask, RawClient } from "../helpers/raw_client.ts";

const pid = () => Deno.pid;
const pidAfter = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return Deno.pid;
};
const block = (i: number, n: number) => new Float64Array(n).fill(i);

function requester(client: RawClient): SchedulerRequest {
  return (method, params) => client.request(method, params);
}

Deno.test("a worker stopped with SIGTERM leaves without blame; its task reruns elsewhere", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const [w0, w1] = cluster.workers;
  client.submit([
    graphTask("long", pidAfter, [1500], { workers: ["w1"], allowOtherWorkers: true }),
  ], ["long"]);
  await new Promise((resolve) => setTimeout(resolve, 400));
  w1.process.kill("SIGTERM");
  await cluster.scheduler.waitForLine(
    /worker tcp:\S+ is leaving \(received SIGTERM\): removed with 1 tasks processing/,
  );
  await client.waitForKeys(["long"]);
  const [value] = [...(await client.getData(w0.address, ["long"])).values()];
  assert.equal(value, w0.process.pid);
  assert.equal((await w1.process.status).code, 0);
  assert.ok(!cluster.scheduler.lines.some((l) => /disconnected: lost/.test(l)));
});

Deno.test("run calls a function in every worker process", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const pids = await runOnWorkers<number>(requester(client), pid);
  assert.deepEqual(
    pids,
    Object.fromEntries(cluster.workers.map((w) => [w.address, w.process.pid])),
  );
  const sums = await runOnWorkers<number>(requester(client), (a: number, b: number) => a + b, [
    2,
    3,
  ], { workers: ["w1"] });
  assert.deepEqual(sums, { [cluster.workers[1].address]: 5 });
  await assert.rejects(
    runOnWorkers(requester(client), () => {
      throw new RangeError("nope");
    }),
    /on worker tcp:\S+: nope/,
  );
});

Deno.test("restart cancels every future, empties the workers, and new work runs", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  await client.compute([graphTask("kept", block, [1, 1000])], ["kept"]);
  client.submit([graphTask("runaway", pidAfter, [20_000])], ["runaway"]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const started = performance.now();
  const workers = await restartWorkers(requester(client));
  assert.equal(workers, 2);
  // The runaway task's thread was stopped: the restart did not wait for it.
  assert.ok(performance.now() - started < 10_000);
  const cancelled = new Set<unknown>();
  for (let i = 0; i < 2; i++) {
    cancelled.add((await client.next((m) => m.op === "cancelled")).key);
  }
  assert.deepEqual(cancelled, new Set(["kept", "runaway"]));
  const status = await client.request<WorkerListing[]>("workers");
  assert.deepEqual(status.map((w) => [w.name, w.inMemory]).sort(), [["w0", 0], ["w1", 0]]);
  for (const w of cluster.workers) await w.process.waitForLine(/restarting at the scheduler/);
  const [value] = await client.compute([graphTask("after", (x: number) => x * 2, [21])], [
    "after",
  ]);
  assert.equal(value, 42);
});

Deno.test("retiring a worker moves the data only it holds, then stops it", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const [w0, w1] = cluster.workers;
  const keys = ["a", "b", "c"];
  await client.compute(keys.map((k) => graphTask(k, pid, [], { workers: ["w1"] })), keys);
  const retired = await retireWorkers(requester(client), { workers: ["w1"] });
  assert.deepEqual(retired, [w1.address]);
  assert.equal((await w1.process.status).code, 0);
  // The copies live on w0 now, with w1's values: nothing was recomputed.
  const whoHas = await client.request<Record<string, string[]>>("who-has", { keys });
  assert.deepEqual(whoHas, { a: [w0.address], b: [w0.address], c: [w0.address] });
  const values = await client.getData(w0.address, keys);
  assert.deepEqual([...values.values()], [w1.process.pid, w1.process.pid, w1.process.pid]);
  assert.equal(client.workers.length, 2);
  const status = await client.request<WorkerListing[]>("workers");
  assert.deepEqual(status.map((w) => w.name), ["w0"]);
  // The last worker cannot be retired while it holds the only copies.
  await assert.rejects(
    retireWorkers(requester(client), { workers: ["w0"] }),
    /no other running worker could take them/,
  );
});

Deno.test("replicate copies a key to n workers (tree broadcast); rebalance evens out bytes", async () => {
  await using cluster = await startCluster({ nWorkers: 4, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  await client.compute([graphTask("x", block, [7, 10_000], { workers: ["w0"] })], ["x"]);
  assert.deepEqual(await replicateKeys(requester(client), ["x"], { n: 3 }), { x: 3 });
  assert.deepEqual(await replicateKeys(requester(client), ["x"]), { x: 4 });
  assert.deepEqual(await replicateKeys(requester(client), ["x"], { n: 1 }), { x: 1 });
  const [holder] = (await client.request<Record<string, string[]>>("who-has", { keys: ["x"] })).x;
  const values = await client.getData(holder, ["x"]);
  assert.deepEqual(values.get("x"), new Float64Array(10_000).fill(7));

  const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
  await client.compute(
    keys.map((k, i) => graphTask(k, block, [i, 50_000], { workers: ["w1"] })),
    keys,
  );
  const moved = await rebalanceKeys(requester(client), { keys });
  assert.ok(moved.moved >= 4, JSON.stringify(moved));
  const whoHas = await client.request<Record<string, string[]>>("who-has", { keys });
  const perWorker = new Map<string, number>();
  for (const key of keys) {
    assert.equal(whoHas[key].length, 1, `${key} has one copy after moving`);
    perWorker.set(whoHas[key][0], (perWorker.get(whoHas[key][0]) ?? 0) + 1);
  }
  assert.ok(Math.max(...perWorker.values()) <= 3, JSON.stringify([...perWorker]));
});
