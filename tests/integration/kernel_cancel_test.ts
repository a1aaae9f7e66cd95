/**
 * Cancelling one of our own long kernels stops it inside its thread, on real scheduler and
 * worker processes: the matrix product looks at its task's stop flag between rows
 * (core/cancel_point.ts), ends, and the next task runs on the same thread; before, the thread was
 * terminated and replaced as for a user's busy loop.
 */

import assert from "node:assert/strict";
import { array, Client } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";

/** The thread and the process a task runs in. */
const threadAndProcess = () => [(globalThis as unknown as { name: string }).name, Deno.pid];

/** Cancels a long product on `client`'s one-thread worker; the thread and process that ran it run on. */
async function cancelLongProduct(client: Client): Promise<void> {
  const fresh = client.with({ pure: false });
  const whereBefore = await fresh.submit(threadAndProcess).result(60);

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
  assert.deepEqual(
    await fresh.submit(threadAndProcess).result(60),
    whereBefore,
    "the thread (or its process) was replaced",
  );
}

Deno.test("cancelling a long matrix product keeps its thread: the next task runs on it", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  await cancelLongProduct(client);
});

Deno.test(
  "with a token (no inspector: LocalCluster's default) the cancelled product also ends in place",
  async () => {
    const { LocalCluster } = await import("../../deploy/local_cluster.ts");
    await using cluster = await LocalCluster.start({ nWorkers: 1, threadsPerWorker: 1 });
    await using client = await Client.connect(cluster, { setAsDefault: false });
    await cancelLongProduct(client);
  },
);

/**
 * A kernel whose blocks of work take 1.5 s between looks at its stop flag, as ours can on a
 * loaded machine (CANCEL_CHECK_ELEMENTS is ~1 ms when idle): endless until cancelled. The pool
 * asks it to stop at a random moment of a block, so the old 100 ms grace terminated it 14 times
 * out of 15.
 */
const slowLooker = () => {
  const check = (globalThis as Record<symbol, () => boolean>)[Symbol.for("dask-deno.cancel-check")];
  for (;;) {
    const until = performance.now() + 1500;
    while (performance.now() < until) { /* a block of work */ }
    if (check()) throw new Error("stopped at a cancellation point");
  }
};

Deno.test("a run that looks at its stop flag keeps its thread even when its looks are far apart", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const fresh = client.with({ pure: false });
  const whereBefore = await fresh.submit(threadAndProcess).result(60);
  const looping = fresh.submit(slowLooker);
  for (;;) {
    const [worker] = await client.workers();
    if (worker.executing > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 1800)); // past its first look
  await client.cancel(looping);
  assert.deepEqual(await fresh.submit(threadAndProcess).result(60), whereBefore);
});
