/**
 * Bag, array and delayed on the `processes` scheduler give what `sync` gives: the collection
 * tasks (bound kernels, block expressions, partition functions) travel to worker subprocesses
 * as they travel to threads.
 */

import assert from "node:assert/strict";
import { array, bag, compute, delayed, shutdownProcesses } from "../../mod.ts";

const onProcesses = { scheduler: "processes", numWorkers: 2 } as const;

Deno.test("bag, array and delayed results on processes equal sync's", async () => {
  try {
    const records = bag.fromSequence(
      Array.from({ length: 500 }, (_, i) => ({ id: i, kind: `k${i % 7}`, value: (i * 37) % 101 })),
      { npartitions: 8 },
    );
    const values = records.pluck("value");
    const x = array.random.random([300, 200], { chunks: [70, 60], seed: 3 });
    const ints = array.arange(1, 25, { chunks: 5 });
    const collections = [
      records.pluck("kind").frequencies(),
      values.filter((v: number) => v % 2 === 0).topk(5),
      values.foldby((v: number) => v % 3, (a: number, b: number) => a + b, 0),
      records.pluck("kind").str.upper(),
      x.add(x.T.T).sum({ axis: 0 }).mean(),
      x.cumsum({ axis: 1 }).max(),
      ints.cumprod(),
      array.nansum(x.sub(0.5)),
      delayed((a: number, b: number) => a * b)(values.sum(), 2),
    ];
    const expected = await compute(...collections, { scheduler: "sync" });
    const actual = await compute(...collections, onProcesses);
    assert.deepEqual(actual, expected);
    // persisting on processes keeps the blocks here, in this process
    const kept = await x.persist(onProcesses);
    assert.deepEqual(await kept.sum().compute({ scheduler: "sync" }), await x.sum().compute());
  } finally {
    await shutdownProcesses();
  }
});
