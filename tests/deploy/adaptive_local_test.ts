/**
 * Adaptive scaling on a real LocalCluster: from no workers to the maximum under a 10,000-task load,
 * back to the minimum when idle, with every result kept (the leaving workers' data moves first)
 * and no task run twice (the scheduler's task stream counts every run).
 */
import assert from "node:assert/strict";
import { Client, LocalCluster } from "../../mod.ts";

Deno.test("adapt: 0 → maximum under 10,000 tasks, back to the minimum when idle, nothing lost or recomputed", async () => {
  await using cluster = await LocalCluster.start({
    nWorkers: 0,
    threadsPerWorker: 1,
    memoryLimit: "1GB",
  });
  assert.deepEqual(cluster.workers, []);
  await using client = await Client.connect(cluster, { setAsDefault: false });
  const adaptive = cluster.adapt({
    minimum: 1,
    maximum: 3,
    targetDuration: 0.5,
    waitCount: 3,
    interval: 0.2,
  });
  // 10,000 tasks of about 1 ms each: 10 s of work, far more than 0.5 s on one thread.
  const work = (i: number) => {
    const end = performance.now() + 1;
    while (performance.now() < end) { /* compute */ }
    return i * 2;
  };
  const n = 10_000;
  const doubled = client.map(work, Array.from({ length: n }, (_, i) => i));
  let most = 0;
  const watching = (async () => {
    for (;;) {
      const registered = (await client.workers()).length;
      most = Math.max(most, registered);
      if (registered === 3 || doubled.every((f) => f.status !== "pending")) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await Promise.all(doubled.map((f) => f.then(() => {}, () => {})));
  await watching;
  assert.equal(most, 3, `never 3 workers: ${JSON.stringify(adaptive.history)}`);

  // Idle: back to one worker, holding every result (the others' moved to it).
  for (;;) {
    const workers = await client.workers();
    if (workers.length === 1 && cluster.workers.length === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const values = await client.gather(doubled);
  assert.deepEqual(values, Array.from({ length: n }, (_, i) => i * 2));
  const stream = await cluster.request<{ total: number }>("task-stream", { since: 0 });
  assert.equal(stream.total, n, "every task ran exactly once");
  assert.ok(adaptive.history.some((h) => h.action.startsWith("down")), "it scaled down");
  const logs = cluster.logs();
  assert.ok("scheduler" in logs && logs.scheduler.length > 0);
});

Deno.test("scale({ cores }) and scale({ memory }) count workers by what each brings", async () => {
  await using cluster = await LocalCluster.start({
    nWorkers: 0,
    threadsPerWorker: 2,
    memoryLimit: "500MB",
  });
  await cluster.scale({ cores: 3 });
  assert.equal(cluster.workers.length, 2);
  await using client = await Client.connect(cluster, { setAsDefault: false });
  assert.equal((await client.workers()).length, 2);
  await cluster.scale({ memory: "1.2GB" });
  assert.equal(cluster.workers.length, 3);
  await cluster.scale(1);
  assert.equal((await client.workers()).length, 1);
  assert.throws(() => cluster.workersFor(-1), /whole number/);
});
