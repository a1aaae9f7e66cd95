/**
 * Placement controls with real processes: each option observably changes what runs where and
 * when — priority, worker restrictions, abstract resources, retries (with a delay).
 */

import assert from "node:assert/strict";
import { startCluster, startWorker } from "../helpers/cluster.ts";
import { graphTask, RawClient } from "../helpers/raw_client.ts";

/** Busy for `ms`; returns [pid, start, end] (ms since the epoch). */
const span = (ms: number, _tag: string) => {
  const start = Date.now();
  while (Date.now() < start + ms) { /* busy */ }
  return [Deno.pid, start, Date.now()];
};

type Span = [number, number, number];

Deno.test("higher priority runs first among waiting tasks; ties keep submission order", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  client.submit([graphTask("blocker", span, [400, "blocker"])], ["blocker"]);
  const low = ["low0", "low1", "low2", "low3", "low4"];
  const high = ["high0", "high1", "high2"];
  client.submit(low.map((k) => graphTask(k, span, [30, k], { priority: 0 })), low);
  client.submit(high.map((k) => graphTask(k, span, [30, k], { priority: 10 })), high);
  const all = ["blocker", ...low, ...high];
  const values = await client.compute([], all) as Span[];
  const start = new Map(all.map((k, i) => [k, values[i][1]]));
  const order = [...all].sort((a, b) => start.get(a)! - start.get(b)!);
  // The worker held the blocker and one more task when the high ones arrived (1.1 × 1 thread,
  // rounded up): every other task waited on the scheduler and went out by priority.
  assert.equal(order[0], "blocker");
  const rest = order.slice(1).filter((k) => k !== "low0");
  assert.deepEqual(rest, ["high0", "high1", "high2", "low1", "low2", "low3", "low4"]);
});

Deno.test("workers restrictions pin tasks; allowOtherWorkers relaxes them", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const [w0, w1] = cluster.workers;
  const keys = Array.from({ length: 6 }, (_, i) => `pinned${i}`);
  const pinned = await client.compute(
    keys.map((k) => graphTask(k, span, [20, k], { workers: ["w1"] })),
    keys,
  ) as Span[];
  assert.ok(pinned.every(([pid]) => pid === w1.process.pid));
  // A worker that is not there: strict waits, loose runs anywhere.
  client.submit([graphTask("strict", span, [1, "strict"], { workers: ["w9"] })], ["strict"]);
  const [loose] = await client.compute(
    [graphTask("loose", span, [1, "loose"], { workers: ["w9"], allowOtherWorkers: true })],
    ["loose"],
  ) as Span[];
  assert.ok([w0.process.pid, w1.process.pid].includes(loose[0]));
  await assert.rejects(
    client.next((m) => m.key === "strict", 500),
    /no matching message/,
  );
  const w9 = await startWorker(cluster.schedulerAddress, { name: "w9" });
  try {
    await client.waitForKeys(["strict"]);
    const [strict] = [...(await client.getData(w9.address, ["strict"])).values()] as Span[];
    assert.equal(strict[0], w9.process.pid);
  } finally {
    await w9.process.stop();
  }
});

Deno.test("abstract resources: only workers that have them run the task, never oversubscribed", async () => {
  await using cluster = await startCluster({
    nWorkers: 1,
    nthreads: 2,
    workerArgs: ["--resources", "GPU=1"],
  });
  const plain = await startWorker(cluster.schedulerAddress, { name: "plain", nthreads: 2 });
  try {
    await using client = await RawClient.connect(cluster.schedulerAddress);
    const gpu = cluster.workers[0];
    const keys = Array.from({ length: 4 }, (_, i) => `gpu${i}`);
    const spans = await client.compute(
      keys.map((k) => graphTask(k, span, [150, k], { resources: { GPU: 1 } })),
      keys,
    ) as Span[];
    assert.ok(spans.every(([pid]) => pid === gpu.process.pid));
    // Two threads, one GPU: the runs never overlap.
    const sorted = [...spans].sort((a, b) => a[1] - b[1]);
    for (let i = 1; i < sorted.length; i++) {
      assert.ok(sorted[i][1] >= sorted[i - 1][2], `overlap: ${JSON.stringify(sorted)}`);
    }
    // Without the resource the same tasks do overlap on two threads: some pair of runs shares
    // time (any pair, and longer runs, so a thread the OS starts late on a loaded machine
    // still overlaps one of the others).
    const free = await client.compute(
      keys.map((k) => graphTask(`${k}-free`, span, [300, k], { workers: ["plain"] })),
      keys.map((k) => `${k}-free`),
    ) as Span[];
    const overlapping = free.some((a, i) =>
      free.some((b, j) => i !== j && a[1] <= b[1] && b[1] < a[2])
    );
    assert.ok(overlapping, `no overlap: ${JSON.stringify(free)}`);
  } finally {
    await plain.process.stop();
  }
});

Deno.test("retries rerun a failing task, after retryDelay, before the error is final", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const dir = Deno.makeTempDirSync();
  try {
    // Fails until it has been attempted `failures + 1` times; records each attempt's time.
    const flaky = (path: string, failures: number) => {
      let attempts: number[] = [];
      try {
        attempts = JSON.parse(Deno.readTextFileSync(path));
      } catch { /* first attempt */ }
      attempts.push(Date.now());
      Deno.writeTextFileSync(path, JSON.stringify(attempts));
      if (attempts.length <= failures) throw new Error(`attempt ${attempts.length} failed`);
      return attempts;
    };
    const enough = `${dir}/enough.json`;
    const [attempts] = await client.compute(
      [graphTask("enough", flaky, [enough, 2], { retries: 2, retryDelay: 0.4 })],
      ["enough"],
    ) as number[][];
    assert.equal(attempts.length, 3);
    assert.ok(attempts[1] - attempts[0] >= 400, JSON.stringify(attempts));
    assert.ok(attempts[2] - attempts[1] >= 400, JSON.stringify(attempts));

    const short = `${dir}/short.json`;
    await assert.rejects(
      client.compute([graphTask("short", flaky, [short, 2], { retries: 1 })], ["short"]),
      /attempt 2 failed/,
    );
    assert.equal(JSON.parse(Deno.readTextFileSync(short)).length, 2);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
