/**
 * Property: any graph gives the same results wherever it runs. Seeded random DAGs of mixed
 * values (numbers, typed arrays, arrays, objects) on `sync`, `threads`, `processes` and a real
 * two-worker cluster on loopback.
 */

import assert from "node:assert/strict";
import { Client, compute, shutdownProcesses, shutdownThreads } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";
import { randomDag } from "../helpers/random_dag.ts";

const SEEDS = 40;

Deno.test("random DAGs give identical results on sync, threads, processes and a cluster", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 2 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  try {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sinks = randomDag(seed, 5 + ((seed * 7) % 60));
      const expected = await compute(...sinks, { scheduler: "sync" });
      const label = `seed ${seed}`;
      assert.deepEqual(
        await compute(...sinks, { scheduler: "threads", numWorkers: 2 }),
        expected,
        label,
      );
      assert.deepEqual(
        await compute(...sinks, { scheduler: "processes", numWorkers: 2 }),
        expected,
        label,
      );
      assert.deepEqual(await compute(...sinks, { scheduler: client }), expected, label);
    }
  } finally {
    shutdownThreads();
    await shutdownProcesses();
  }
});
