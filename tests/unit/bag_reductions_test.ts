import assert from "node:assert/strict";
import * as bag from "../../collections/bag/mod.ts";
import { computeCollections } from "../../collections/compute.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import {
  close,
  type EventRecord,
  randomInt,
  randomRecords,
  rng,
  schedulers,
} from "./bag_helpers.ts";

/** Plain single-threaded references of the reductions. */
const reference = {
  frequencies<T>(items: T[], sort = false): [T, number][] {
    const counts = new Map<T, number>();
    for (const x of items) counts.set(x, (counts.get(x) ?? 0) + 1);
    const pairs = [...counts];
    return sort ? pairs.sort((a, b) => b[1] - a[1]) : pairs;
  },
  topk<T>(items: T[], k: number, key: (x: T) => number): T[] {
    return items.map((x, i) => ({ x, i, key: key(x) }))
      .sort((a, b) => b.key - a.key || a.i - b.i)
      .slice(0, k)
      .map((e) => e.x);
  },
  distinct<T>(items: T[], key: (x: T) => unknown = (x) => x): T[] {
    const seen = new Map<unknown, T>();
    for (const x of items) if (!seen.has(key(x))) seen.set(key(x), x);
    return [...seen.values()];
  },
  variance(values: number[], ddof: number): number {
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const m2 = values.reduce((a, v) => a + (v - mean) ** 2, 0);
    return values.length - ddof > 0 ? m2 / (values.length - ddof) : NaN;
  },
};

Deno.test("bag reductions match plain references on random data (sync and threads)", async () => {
  try {
    for (let seed = 1; seed <= 24; seed++) {
      const random = rng(seed);
      const records = randomRecords(random, randomInt(random, 1, 400));
      const npartitions = randomInt(random, 1, 13);
      const splitEvery = randomInt(random, 2, 5);
      const options = { splitEvery };
      const b = bag.fromSequence(records, { npartitions });
      const sizes = b.pluck("size");
      const sizeValues = records.map((r) => r.size);
      const ddof = randomInt(random, 0, 1);
      const lazy = [
        b.count(options),
        sizes.sum(options),
        sizes.min(options),
        sizes.max(options),
        sizes.mean(options),
        sizes.var({ ddof, splitEvery }),
        sizes.std({ ddof, splitEvery }),
        sizes.map((s: number) => s > 90).any(options),
        sizes.map((s: number) => s > -40).all(options),
        b.pluck("type").frequencies(options),
        b.pluck("repo").pluck("name").frequencies({ sort: true, splitEvery }),
        b.topk(5, (r: EventRecord) => r.size, options),
        b.pluck("actor").pluck("login").distinct(undefined, options),
        b.distinct((r: EventRecord) => r.repo.name, options),
        b.reduction(
          (p: EventRecord[]) => p.length,
          (ns: number[]) => ns.reduce((a, c) => a + c, 0),
          options,
        ),
        b.foldby(
          "type",
          (acc: number, r: EventRecord) => acc + r.size,
          0,
          (a: number, c: number) => a + c,
          0,
          options,
        ),
        b.foldby(
          (r: EventRecord) => r.actor.login,
          (acc: number) => acc + 1,
          0,
          (a: number, c: number) => a + c,
          undefined,
          options,
        ),
        sizes.fold((a: number, c: number) => Math.max(a, c), undefined, options),
        b.fold(
          (acc: number, r: EventRecord) => acc + r.tags.length,
          (a: number, c: number) => a + c,
          { initial: 0, splitEvery },
        ),
      ] as const;
      for (const scheduler of schedulers) {
        const out = await computeCollections([...lazy], { scheduler, numWorkers: 2 });
        const context = `seed ${seed}, ${scheduler}, npartitions ${npartitions}`;
        const sum = sizeValues.reduce((a, c) => a + c, 0);
        assert.equal(out[0], records.length, context);
        assert.ok(close(out[1] as number, sum), context);
        assert.equal(out[2], Math.min(...sizeValues), context);
        assert.equal(out[3], Math.max(...sizeValues), context);
        assert.ok(close(out[4] as number, sum / records.length), context);
        assert.ok(close(out[5] as number, reference.variance(sizeValues, ddof), 1e-7), context);
        assert.ok(
          close(out[6] as number, Math.sqrt(reference.variance(sizeValues, ddof)), 1e-7),
          context,
        );
        assert.equal(out[7], sizeValues.some((s) => s > 90), context);
        assert.equal(out[8], sizeValues.every((s) => s > -40), context);
        assert.deepEqual(out[9], reference.frequencies(records.map((r) => r.type)), context);
        assert.deepEqual(
          out[10],
          reference.frequencies(records.map((r) => r.repo.name), true),
          context,
        );
        assert.deepEqual(out[11], reference.topk(records, 5, (r) => r.size), context);
        assert.deepEqual(out[12], reference.distinct(records.map((r) => r.actor.login)), context);
        assert.deepEqual(out[13], reference.distinct(records, (r) => r.repo.name), context);
        assert.equal(out[14], records.length, context);
        const byType = new Map<string, number>();
        for (const r of records) byType.set(r.type, (byType.get(r.type) ?? 0) + r.size);
        const folded = new Map(out[15] as [string, number][]);
        assert.deepEqual([...folded.keys()], [...byType.keys()], context);
        for (const [k, v] of byType) assert.ok(close(folded.get(k)!, v), `${context} ${k}`);
        assert.deepEqual(
          out[16],
          reference.frequencies(records.map((r) => r.actor.login)),
          context,
        );
        assert.equal(out[17], Math.max(...sizeValues), context);
        assert.equal(out[18], records.reduce((a, r) => a + r.tags.length, 0), context);
      }
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("reductions of empty bags and empty partitions follow Dask's rules", async () => {
  // partitions 0..2 hold elements, the rest are empty after the filter
  const b = bag.range(20, { npartitions: 10 }).filter((x: number) => x < 5);
  for (const scheduler of schedulers) {
    assert.equal(await b.max({ splitEvery: 3 }).compute({ scheduler }), 4);
    assert.equal(await b.count().compute({ scheduler }), 5);
    const empty = bag.fromSequence([] as number[]);
    assert.equal(empty.npartitions, 1);
    assert.equal(await empty.count().compute({ scheduler }), 0);
    assert.equal(await empty.sum().compute({ scheduler }), 0);
    assert.ok(Number.isNaN(await empty.mean().compute({ scheduler })));
    assert.equal(await empty.all().compute({ scheduler }), true);
    await assert.rejects(empty.max().compute({ scheduler }), /max\(\) of an empty bag/);
    await assert.rejects(
      empty.fold((a: number, c: number) => a + c).compute({ scheduler }),
      /fold\(\) of an empty bag/,
    );
    assert.equal(
      await empty.fold((a: number, c: number) => a + c, undefined, { initial: 7 }).compute({
        scheduler,
      }),
      7,
    );
    // the last partition always reaches perPartition, even when empty
    const lengths = await b.reduction((p: number[]) => [p.length], (ps: number[][]) => ps.flat(), {
      splitEvery: 4,
    }).compute({ scheduler });
    assert.deepEqual(lengths, [2, 2, 1, 0]);
  }
  shutdownThreads();
});

Deno.test("reduction trees combine splitEvery partials per task", () => {
  const b = bag.range(100, { npartitions: 20 });
  const graph = b.count({ splitEvery: 4 }).graph;
  const combines = [...graph.values()].filter((t) => t.key.startsWith("count-combine-"));
  // 20 partials → 5 → 2 → root
  assert.equal(combines.length, 5 + 2);
  for (const t of graph.values()) assert.ok(t.deps.length <= 5, t.key);
  // the per-partition step runs in the partition's task: no separate range tasks
  assert.equal([...graph.keys()].filter((k) => k.startsWith("range-")).length, 0);
  assert.equal(graph.size, 20 + 7 + 1);
  // equal computations have equal keys
  assert.equal(b.count({ splitEvery: 4 }).key, b.count({ splitEvery: 4 }).key);
  assert.notEqual(b.count({ splitEvery: 4 }).key, b.count({ splitEvery: 5 }).key);
});

Deno.test("random.sample and random.choices draw from the bag, uniformly", async () => {
  const population = bag.range(50, { npartitions: 7 });
  for (const scheduler of schedulers) {
    const s = await bag.random.sample(population, 10, { splitEvery: 3 }).compute({ scheduler });
    assert.equal(s.length, 10);
    assert.equal(new Set(s).size, 10);
    for (const x of s) assert.ok(Number.isInteger(x) && x >= 0 && x < 50);
    const c = await bag.random.choices(population, 80).compute({ scheduler });
    assert.equal(c.length, 80);
    for (const x of c) assert.ok(x >= 0 && x < 50);
    await assert.rejects(bag.random.sample(population, 51).compute({ scheduler }), /larger than/);
  }
  // uniformity: each of 12 elements in 5 uneven partitions is picked about k/n of the time
  const small = bag.fromSequence([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], { partitionSize: 5 });
  const hits = new Array(12).fill(0);
  const runs = 600;
  for (let r = 0; r < runs; r++) {
    for (
      const x of await bag.random.sample(small, 3, { splitEvery: 2 }).compute({ scheduler: "sync" })
    ) {
      hits[x]++;
    }
  }
  const expected = (runs * 3) / 12; // 150; a binomial sd ≈ 10.6
  for (const h of hits) assert.ok(Math.abs(h - expected) < 55, `hits ${hits}`);
  shutdownThreads();
});
