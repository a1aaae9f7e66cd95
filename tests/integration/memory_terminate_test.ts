/**
 * Memory limits hold: a task that allocates 2 GB on a 300 MB worker gets its worker terminated
 * by the supervisor past 95 % of the limit (LocalCluster, and the CLI nanny that runs a
 * hand-started worker by default), the worker is replaced, the task errs with KilledWorker naming
 * the memory once it killed allowedFailures + 1 workers, and other work completes. Before, the
 * task reached 2 GB and returned.
 */

import assert from "node:assert/strict";
import { Client, LocalCluster } from "../../mod.ts";
import { type ManagedProcess, startScheduler, startWorker } from "../helpers/cluster.ts";

/** Holds 2 GB in 10 MB pieces (each written, so it is resident). */
const allocate2GB = () => {
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) pieces.push(new Uint8Array(10e6).fill(1));
  return pieces.length;
};
const inc = (x: number) => x + 1;

async function assertMemoryBlowUpContained(client: Client): Promise<void> {
  const before = client.map(inc, [1, 2, 3]);
  assert.deepEqual(await client.gather(before), [2, 3, 4]);
  const hog = client.submit(allocate2GB);
  await assert.rejects(() => hog.result(), (error: Error) => {
    assert.equal(error.name, "KilledWorker", error.message);
    assert.match(error.message, /passed 95% of its memory limit 300\.00 MB/);
    return true;
  });
  // the cluster survived: replaced workers run new work
  const after = client.map(inc, Array.from({ length: 20 }, (_, i) => i));
  assert.deepEqual(await client.gather(after), Array.from({ length: 20 }, (_, i) => i + 1));
}

Deno.test({
  name: "LocalCluster terminates and replaces a worker past 95% of its memory limit",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using cluster = await LocalCluster.start({
      nWorkers: 2,
      threadsPerWorker: 1,
      memoryLimit: "300MB",
    });
    await using client = await Client.connect(cluster, { setAsDefault: false });
    await assertMemoryBlowUpContained(client);
    // each terminated worker is started again (after its restart delay)
    while ((await client.workers()).length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const logs = Object.values(cluster.logs()).flat().join("\n");
    assert.match(logs, /its supervisor terminated it: process memory/);
  },
});

Deno.test({
  name: "a hand-started worker (under its nanny, the command's default) is terminated and " +
    "replaced past 95% of its memory limit",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const { process: scheduler, address } = await startScheduler();
    // `deno run -A worker/main.ts <address> --memory-limit 300MB`, twice, as by hand
    const workers: ManagedProcess[] = [];
    try {
      for (const name of ["by-hand-0", "by-hand-1"]) {
        const args = ["--memory-limit", "300MB"];
        workers.push((await startWorker(address, { name, nanny: true, args })).process);
      }
      await using client = await Client.connect(address, { setAsDefault: false });
      await assertMemoryBlowUpContained(client);
      const lines = workers.flatMap((worker) => worker.lines);
      assert.ok(
        lines.some((l) => /is above 95% of its memory limit 300\.00 MB: terminating/.test(l)),
        workers.map((worker) => worker.output()).join("\n"),
      );
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await scheduler.stop();
    }
  },
});
