/**
 * Cancelling one of our own long kernels stops it inside its thread, on real scheduler and
 * worker processes: the matrix product looks at its task's stop flag between rows
 * (core/cancel_point.ts), ends, and the next task runs on the same thread; before, the thread was
 * terminated and replaced as for a user's busy loop.
 */

import assert from "node:assert/strict";
import { array, Client } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";

const threadName = () => (globalThis as unknown as { name: string }).name;

Deno.test("cancelling a long matrix product keeps its thread: the next task runs on it", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const fresh = client.with({ pure: false });
  const before = await fresh.submit(threadName).result(60);

  // one 2,400² chunk: 14 G multiply-adds, many seconds in one task
  const x = array.random.random([2400, 2400], { chunks: 2400, seed: 7 });
  const product = client.compute(x.matmul(x));
  for (;;) {
    const [worker] = await client.workers();
    if (worker.executing > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // into the product's rows
  await client.cancel(product);
  assert.equal(product.status, "cancelled");

  // one thread: this runs only once the product has ended
  assert.equal(await fresh.submit(threadName).result(60), before, "the thread was replaced");
});
