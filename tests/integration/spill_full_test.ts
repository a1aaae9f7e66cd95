/**
 * A worker whose spill directory is full keeps serving: it stops spilling and says so (log and
 * heartbeat), the scheduler sends new work elsewhere, and tasks that cannot fit fail with
 * MemoryLimitError instead of waiting forever. The full disk is a `--spill-limit` (a tmpfs needs
 * root and a mount); a real ENOSPC takes the same path in worker/store.ts.
 */

import assert from "node:assert/strict";
import { Client } from "../../mod.ts";
import type { WorkerListing } from "../../protocol/session.ts";
import { startCluster } from "../helpers/cluster.ts";
import { RawClient } from "../helpers/raw_client.ts";

/** 25 MB of `i`. */
const chunk = (i: number) => new Float64Array(25e6 / 8).fill(i);

/** Settles every promise, or fails the test (instead of hanging) if some never settle. */
async function allSettle<T>(promises: Promise<T>[], what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not all settle in 60 s`)), 60_000);
  });
  try {
    return await Promise.race([Promise.allSettled(promises), guard]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name: "a worker whose spill directory is full fails what cannot fit, and keeps serving",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const localDirectory = await Deno.makeTempDir({ prefix: "spill-full-" });
    try {
      await using cluster = await startCluster({
        nWorkers: 1,
        nthreads: 1,
        workerArgs: [
          "--memory-limit",
          "250MB",
          "--spill-limit",
          "30MB",
          "--local-directory",
          localDirectory,
        ],
      });
      await using client = await Client.connect(cluster.schedulerAddress, {
        setAsDefault: false,
      });
      // 16 × 25 MB = 400 MB held by the client: 150 MB fit under the target, one 25 MB chunk on
      // disk, then the disk is full and the worker pauses with the rest waiting
      const futures = Array.from({ length: 16 }, (_, i) => client.submit(chunk, i));
      const outcomes = await allSettle(
        futures.map((f) => Promise.resolve(f).then((x) => x[0])),
        "the futures",
      ).catch((error) => {
        throw new Error(`${error.message}; worker log:\n${cluster.workers[0].process.output()}`);
      });
      const done = outcomes.filter((o) => o.status === "fulfilled");
      const failed = outcomes.filter((o) => o.status === "rejected") as PromiseRejectedResult[];
      assert.ok(done.length >= 4, `only ${done.length} chunks were computed`);
      assert.ok(failed.length >= 1, "every chunk fitted: the test did not fill the disk");
      for (const outcome of failed) {
        assert.equal(outcome.reason.name, "MemoryLimitError", outcome.reason.stack);
        assert.match(outcome.reason.message, /nothing more can be spilled/);
      }
      const log = cluster.workers[0].process.output();
      assert.match(log, /spill directory full, no more spilling.*spill limit of 30000000 bytes/);
      // the heartbeat says so too (the scheduler's worker listing shows it)
      await using raw = await RawClient.connect(cluster.schedulerAddress);
      const [listing] = await raw.request<WorkerListing[]>("workers");
      assert.equal(listing.spillFull, true);
      // still serving: results it holds are read back (one of them from disk)
      const held = done.map((o) => (o as PromiseFulfilledResult<number>).value);
      assert.deepEqual(
        await client.gather(futures.filter((_, i) => outcomes[i].status === "fulfilled")).then(
          (values) => values.map((v) => (v as Float64Array)[0]),
        ),
        held,
      );
      // once the client lets go, memory falls, the worker resumes and computes again
      for (const future of futures) future.release();
      for (;;) {
        const [worker] = await raw.request<WorkerListing[]>("workers");
        if (worker.status === "running") break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(await client.submit((x: number) => x + 1, 41), 42);
    } finally {
      await Deno.remove(localDirectory, { recursive: true });
    }
  },
});
