/**
 * A dataframe partition stays a Polars frame in the task thread that made it; the worker's store
 * holds a pointer, and the frame is converted to Arrow IPC only when it moves (worker/executor.ts,
 * threads/live_tables.ts). On real processes: a chain of tasks on one worker converts no table
 * between its steps (the worker's `tableConversions` metric), a reader runs on the thread holding
 * its partition, a client and a peer still get the
 * data, the live bytes count in the worker's managed memory, and a thread that is replaced takes
 * its partitions with it — they are computed again and the results stay exact.
 */

import assert from "node:assert/strict";
import { Client, type Future, wait } from "../../mod.ts";
import * as dd from "../../collections/dataframe/mod.ts";
import type { WorkerListing } from "../../protocol/session.ts";
import { startCluster } from "../helpers/cluster.ts";
import { RawClient } from "../helpers/raw_client.ts";

type Frame = dd.Frame;

/** Polars is native code (FFI): its tasks run with the worker's own permissions. */
const ALL = ["--task-permissions=all"];

const records = Array.from({ length: 500 }, (_, i) => ({ x: (i * 7919) % 500, y: i % 3 }));

/** The worker's heartbeat metrics once `ready` accepts them (waits up to 20 s). */
async function metricsWhen(
  raw: RawClient,
  address: string,
  ready: (metrics: Record<string, number>) => boolean,
): Promise<Record<string, number>> {
  const deadline = Date.now() + 20_000;
  let last: Record<string, number> = {};
  while (Date.now() < deadline) {
    const listing = await raw.request<WorkerListing[]>("workers");
    last = listing.find((w) => w.address === address)?.metrics ?? {};
    if (ready(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the worker's metrics never got there: ${JSON.stringify(last)}`);
}

/** One partition, then three steps on it, each its own task (futures are never fused). */
function chain(client: Client): Future<Frame>[] {
  const [part] = dd.fromRecords(records, { npartitions: 1 }).toDelayed();
  const made = client.compute(part) as Future<Frame>;
  const sorted = client.submit((f: Frame) => f.sort("x"), made);
  const reversed = client.submit((f: Frame) => f.reverse(), sorted);
  const top = client.submit((f: Frame) => f.head(5), reversed);
  return [made, sorted, reversed, top];
}

Deno.test("a chain of dataframe tasks on one worker converts no table between its steps", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1, workerArgs: ALL });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  await using raw = await RawClient.connect(cluster.schedulerAddress);
  const address = cluster.workers[0].address;
  const steps = chain(client);
  await wait(steps);
  // all four partitions are live in the thread and counted as the worker's memory
  const metrics = await metricsWhen(raw, address, (m) => m.liveKeys === 4);
  assert.ok(metrics.live > 0 && metrics.memory >= metrics.live, JSON.stringify(metrics));
  // no table was converted to or from Arrow IPC (the partition's task reads its rows itself)
  assert.equal(metrics.tableConversions, 0, JSON.stringify(metrics));
  // the client gets the frame: it is converted now, once
  const top = await steps[3];
  const expected = records.filter((r) => r.x >= 495).sort((p, q) => q.x - p.x);
  assert.deepEqual(top.toRecords(), expected);
  const after = await metricsWhen(raw, address, (m) => m.liveKeys === 3);
  assert.equal(after.tableConversions, 1, JSON.stringify(after));
  // a second read of the same result needs no conversion: the store holds its bytes now
  assert.equal((await client.gather(steps[3])).height, 5);
  const again = await metricsWhen(raw, address, (m) => m.liveKeys === 3);
  assert.equal(again.tableConversions, 1, JSON.stringify(again));
});

Deno.test("a task reading a live partition runs on the thread that holds it", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 2, workerArgs: ALL });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  await using raw = await RawClient.connect(cluster.schedulerAddress);
  const address = cluster.workers[0].address;
  // two partitions made side by side: one in each thread
  const parts = dd.fromRecords(records, { npartitions: 2 }).toDelayed();
  const made = client.compute(parts) as Future<Frame>[];
  await wait(made);
  await metricsWhen(raw, address, (m) => m.liveKeys === 2);
  // their readers, the second partition's first: by load alone it would take the first idle
  // thread, the other partition's, and each table would move (exported, then decoded)
  const second = client.submit((f: Frame) => f.sort("x"), made[1]);
  const first = client.submit((f: Frame) => f.sort("x"), made[0]);
  await wait([second, first]);
  const metrics = await metricsWhen(raw, address, (m) => m.liveKeys === 4);
  assert.equal(metrics.tableConversions, 0, JSON.stringify(metrics));
  const heights = await Promise.all([second, first].map(async (f) => (await f).height));
  assert.deepEqual(heights, [250, 250]);
});

Deno.test("a partition live on one worker reaches a task on another (get-data converts it once)", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1, workerArgs: ALL });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const [a, b] = cluster.workers.map((w) => w.address);
  const frame = dd.fromRecords(records, { npartitions: 1 });
  // b's thread loads the dataframe collection (and its table codec) with a task of its own
  assert.equal(await client.with({ workers: [b] }).compute(frame.length()), records.length);
  const [part] = frame.toDelayed();
  const made = client.with({ workers: [a] }).compute(part) as Future<Frame>;
  const sum = client.with({ workers: [b] }).submit((f: Frame) => f.getColumn("x").sum(), made);
  assert.equal(await sum, records.reduce((s, r) => s + r.x, 0));
  // the owner still has it, now as bytes: a task there reads it as before
  assert.equal(
    await client.with({ workers: [a] }).submit((f: Frame) => f.height, made),
    records.length,
  );
});

Deno.test("a replaced thread takes its live partitions with it; they are computed again", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1, workerArgs: ALL });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  await using raw = await RawClient.connect(cluster.schedulerAddress);
  const address = cluster.workers[0].address;
  const steps = chain(client);
  await wait(steps);
  await metricsWhen(raw, address, (m) => m.liveKeys === 4);
  // a task that never ends, then cancelled: its thread is terminated and replaced
  const stuck = client.submit(() => new Promise(() => {}));
  await metricsWhen(raw, address, (m) => m.executing === 1);
  await stuck.cancel();
  await cluster.workers[0].process.waitForLine(/results live in thread 0 were lost with it/);
  // every step comes back exact (recomputed from the graph the scheduler still holds)
  const [made, sorted, , top] = await client.gather(steps);
  assert.equal(made.height, records.length);
  assert.deepEqual(sorted.getColumn("x").toArray(), records.map((r) => r.x).sort((p, q) => p - q));
  assert.deepEqual(top.getColumn("x").toArray(), [499, 498, 497, 496, 495]);
  // and a new task on them runs as before
  assert.equal(await client.submit((f: Frame) => f.height, steps[2]), records.length);
});

Deno.test("live partitions count in the worker's memory: past its target they are spilled, and read back exact", async () => {
  const localDirectory = await Deno.makeTempDir({ prefix: "live-spill-" });
  try {
    await using cluster = await startCluster({
      nWorkers: 1,
      nthreads: 1,
      workerArgs: [...ALL, "--memory-limit", "300MB", "--local-directory", localDirectory],
    });
    await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
    await using raw = await RawClient.connect(cluster.schedulerAddress);
    const address = cluster.workers[0].address;
    // 8 partitions of 2,048,000 float64 rows (16 MB each): 131 MB of values in a process of
    // about 100 MB without them, past the 70 % of 300 MB where the worker spills
    const base = dd.fromRecords(Array.from({ length: 8000 }, (_, i) => ({ x: i })), {
      npartitions: 8,
    });
    const big = base.mapPartitions((f) => {
      let g = f;
      for (let i = 0; i < 11; i++) g = g.vstack(g);
      return g.rechunk();
    });
    const persisted = await big.persist({ scheduler: client });
    const metrics = await metricsWhen(raw, address, (m) => m.spilledKeys > 0).catch((error) => {
      throw new Error(`${error.message}\n${cluster.logs()}`);
    });
    assert.ok(metrics.spilled > 0, JSON.stringify(metrics));
    // read back (from disk, or from a thread) exact; the worker resumes once memory falls
    const cluster_ = { scheduler: client };
    assert.equal(await persisted.length().compute(cluster_), 8000 * 2048);
    assert.equal(await persisted.col("x").sum().compute(cluster_), 2048 * (7999 * 8000 / 2));
  } finally {
    await Deno.remove(localDirectory, { recursive: true });
  }
});
