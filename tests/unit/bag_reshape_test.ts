import assert from "node:assert/strict";
import * as bag from "../../collections/bag/mod.ts";
import { computeCollections } from "../../collections/compute.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { collectGraph } from "../../collections/collection.ts";
import { type EventRecord, randomInt, randomRecords, rng, schedulers } from "./bag_helpers.ts";

/** Groups as a sorted list of `[key, elements]`, the reference order of comparison. */
function sortedGroups<T>(groups: [unknown, T[]][]): [string, T[]][] {
  return groups.map(([k, v]) => [JSON.stringify(k), v] as [string, T[]])
    .sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

function referenceGroups<T>(items: T[], key: (x: T) => unknown): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const x of items) {
    const k = JSON.stringify(key(x));
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(x);
  }
  return [...groups].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

Deno.test("groupby, repartition and product match plain references on random data", async () => {
  try {
    for (let seed = 1; seed <= 16; seed++) {
      const random = rng(seed);
      const records = randomRecords(random, randomInt(random, 0, 250));
      const npartitions = randomInt(random, 1, 8);
      const outputs = randomInt(random, 1, 6);
      const repartitions = randomInt(random, 1, 12);
      const b = bag.fromSequence(records, { npartitions });
      const small = bag.fromSequence(records.slice(0, 7).map((r) => r.id), { npartitions: 2 });
      const lazy = [
        b.groupby("type", { npartitions: outputs }),
        b.groupby((r: EventRecord) => [r.actor.login, r.type]),
        b.repartition(repartitions),
        small.product(bag.fromSequence(["x", "y", "z"], { npartitions: 2 })),
      ] as const;
      for (const scheduler of schedulers) {
        const out = await computeCollections([...lazy], { scheduler, numWorkers: 2 });
        const context = `seed ${seed}, ${scheduler}`;
        const byType = out[0] as [string, EventRecord[]][];
        assert.equal(new Set(byType.map(([k]) => k)).size, byType.length, context); // keys once
        assert.deepEqual(sortedGroups(byType), referenceGroups(records, (r) => r.type), context);
        assert.deepEqual(
          sortedGroups(out[1] as [unknown, EventRecord[]][]),
          referenceGroups(records, (r) => [r.actor.login, r.type]),
          context,
        );
        assert.deepEqual(out[2], records, context);
        const ids = records.slice(0, 7).map((r) => r.id);
        assert.deepEqual(
          new Set((out[3] as unknown[]).map((p) => JSON.stringify(p))),
          new Set(ids.flatMap((id) => ["x", "y", "z"].map((s) => JSON.stringify([id, s])))),
          context,
        );
        assert.equal((out[3] as unknown[]).length, ids.length * 3, context);
      }
      assert.equal(lazy[0].npartitions, outputs);
      assert.equal(lazy[2].npartitions, repartitions);
      assert.equal(lazy[3].npartitions, 4);
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("groupby is a task shuffle: no task receives all the data", () => {
  const b = bag.range(1000, { npartitions: 6 }).map((x: number) => ({ k: x % 13, x }));
  const grouped = b.groupby("k", { npartitions: 4 });
  const graph = collectGraph([grouped.layer()]);
  const outputs = grouped.partitionKeys();
  for (const key of outputs) {
    const task = graph.get(key)!;
    // one bucket from each input partition, each bucket taken from one split
    assert.equal(task.deps.length, 6);
    for (const dep of task.deps) {
      assert.match(dep, /^groupby-bucket-/);
      assert.equal(graph.get(dep)!.deps.length, 1);
    }
  }
  // 6 splits (each fused with range and map) + 6 × 4 buckets + 4 groups
  assert.equal(graph.size, 6 + 24 + 4);
});

Deno.test("repartition joins neighbours when shrinking and cuts partitions when growing", async () => {
  const b = bag.range(10, { npartitions: 5 });
  const fewer = b.repartition(2);
  const more = b.repartition(12);
  for (const scheduler of schedulers) {
    const fewerParts = await computeCollections(fewer.toDelayed(), { scheduler });
    assert.deepEqual(fewerParts, [[0, 1, 2, 3], [4, 5, 6, 7, 8, 9]]);
    const moreParts = (await computeCollections(more.toDelayed(), { scheduler })) as number[][];
    assert.equal(moreParts.length, 12);
    assert.deepEqual(moreParts.flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
  assert.equal(b.repartition(5), b);
  shutdownThreads();
});

Deno.test("take reads only the partitions it needs", async () => {
  const touched: number[] = [];
  // closures work on the sync scheduler: record which partitions run
  const b = bag.range(100, { npartitions: 10 }).mapPartitions((p: number[]) => {
    touched.push(p[0]);
    return p;
  });
  assert.deepEqual(await b.take(3, { scheduler: "sync" }), [0, 1, 2]);
  assert.deepEqual(touched, [0]);
  touched.length = 0;
  assert.deepEqual(await b.take(25, { npartitions: 3, scheduler: "sync" }), [
    ...Array.from({ length: 25 }, (_, i) => i),
  ]);
  assert.deepEqual(touched.sort((x, y) => x - y), [0, 10, 20]);
  // after a repartition too: only the inputs of the first output partition run
  touched.length = 0;
  await b.repartition(5).take(1, { scheduler: "sync" });
  assert.deepEqual(touched.sort((x, y) => x - y), [0, 10]);

  // warns when the partitions read are too short, and says how to read more
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  try {
    for (const scheduler of schedulers) {
      assert.deepEqual(await bag.range(10, { npartitions: 5 }).take(4, { scheduler }), [0, 1]);
      assert.deepEqual(
        await bag.range(10, { npartitions: 5 }).take(4, { scheduler, npartitions: -1 }),
        [0, 1, 2, 3],
      );
    }
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /only 2 elements in the first 1 of 5 partitions.*npartitions: -1/);
  await assert.rejects(bag.range(10, { npartitions: 5 }).take(1, { npartitions: 6 }), /has 5/);
  shutdownThreads();
});
