import assert from "node:assert/strict";
import * as bag from "../../collections/bag/mod.ts";
import { computeCollections } from "../../collections/compute.ts";
import { delayed } from "../../collections/delayed.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { FreeVariableError, UnserializableError } from "../../core/errors.ts";
import { type EventRecord, randomInt, randomRecords, rng, schedulers } from "./bag_helpers.ts";

Deno.test("element-wise operations match plain array code on random data", async () => {
  try {
    for (let seed = 1; seed <= 20; seed++) {
      const random = rng(seed);
      const records = randomRecords(random, randomInt(random, 0, 300));
      const npartitions = randomInt(random, 1, 9);
      const b = bag.fromSequence(records, { npartitions });
      const ids = b.pluck("id");
      const doubled = ids.map((x: number) => 2 * x);
      const offset = delayed((x: number) => x + 1000, { pure: true })(seed);
      const lazy = [
        b.map((r: EventRecord) => r.repo.name.toUpperCase()),
        b.filter((r: EventRecord) => r.repo.name.startsWith("jupyter/")).pluck("actor").pluck(
          "login",
        ),
        b.remove((r: EventRecord) => r.size > 0).pluck("id"),
        b.pluck(["type", "id"]),
        b.pluck("tags").flatten(),
        b.map((r: EventRecord) => r.tags).flatten().frequencies(),
        // a bag argument walks in step; a Delayed gives its value; a plain value is passed as is
        ids.map(
          (x: number, y: number, z: number, w: string) => `${x + y + z}${w}`,
          doubled,
          offset,
          "!",
        ),
        ids.mapPartitions((p: number[], total: number) => [p.length, total], offset),
        ids.mapPartitions((p: number[], other: number[]) => p.map((x, i) => x - other[i]), doubled),
        b.pluck(["id", "size"]).starmap((id: number, size: number, k: number) => id * k + size, 3),
        ids.zip(doubled, b.pluck("type")),
        bag.zip(ids, doubled),
        bag.concat([ids, doubled, ids]),
      ] as const;
      for (const scheduler of schedulers) {
        const out = await computeCollections([...lazy], { scheduler, numWorkers: 2 });
        const context = `seed ${seed}, ${scheduler}`;
        const idList = records.map((r) => r.id);
        assert.deepEqual(out[0], records.map((r) => r.repo.name.toUpperCase()), context);
        assert.deepEqual(
          out[1],
          records.filter((r) => r.repo.name.startsWith("jupyter/")).map((r) => r.actor.login),
          context,
        );
        assert.deepEqual(out[2], records.filter((r) => !(r.size > 0)).map((r) => r.id), context);
        assert.deepEqual(out[3], records.map((r) => [r.type, r.id]), context);
        assert.deepEqual(out[4], records.flatMap((r) => r.tags), context);
        const tagCounts = new Map<string, number>();
        for (const t of records.flatMap((r) => r.tags)) {
          tagCounts.set(t, (tagCounts.get(t) ?? 0) + 1);
        }
        assert.deepEqual(out[5], [...tagCounts], context);
        assert.deepEqual(out[6], idList.map((x) => `${x + 2 * x + seed + 1000}!`), context);
        const sizes = (out[7] as number[]).filter((_, i) => i % 2 === 0);
        assert.equal(sizes.reduce((a, c) => a + c, 0), records.length, context);
        assert.equal(sizes.length, b.npartitions, context);
        assert.ok((out[7] as number[]).every((v, i) => i % 2 === 0 || v === seed + 1000), context);
        assert.deepEqual(out[8], idList.map((x) => x - 2 * x), context);
        assert.deepEqual(out[9], records.map((r) => r.id * 3 + r.size), context);
        assert.deepEqual(out[10], records.map((r) => [r.id, 2 * r.id, r.type]), context);
        assert.deepEqual(out[11], idList.map((x) => [x, 2 * x]), context);
        assert.deepEqual(out[12], [...idList, ...idList.map((x) => 2 * x), ...idList], context);
      }
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("creation: fromSequence partitioning, range, fromDelayed", async () => {
  assert.equal(bag.fromSequence([1, 2, 3]).npartitions, 3);
  assert.equal(bag.fromSequence(Array.from({ length: 1000 }, (_, i) => i)).npartitions, 100);
  assert.equal(bag.fromSequence([1, 2, 3, 4, 5], { partitionSize: 2 }).npartitions, 3);
  assert.equal(bag.fromSequence([1, 2, 3, 4, 5], { npartitions: 2 }).npartitions, 2);
  assert.equal(bag.fromSequence([1, 2], { npartitions: 10 }).npartitions, 2);
  assert.throws(() => bag.fromSequence([1], { npartitions: 0 }), /npartitions must be/);
  // equal data, equal names (content addressing); different data, different names
  assert.equal(bag.fromSequence([1, 2, 3]).name, bag.fromSequence([1, 2, 3]).name);
  assert.notEqual(bag.fromSequence([1, 2, 3]).name, bag.fromSequence([1, 2, 4]).name);
  assert.equal(
    bag.range(9).map((x: number) => x + 1).name,
    bag.range(9).map((x: number) => x + 1).name,
  );
  for (const scheduler of schedulers) {
    assert.deepEqual(
      await bag.fromSequence(new Set(["a", "b", "c"]), { npartitions: 2 }).compute({ scheduler }),
      ["a", "b", "c"],
    );
    assert.deepEqual(await bag.range(0).compute({ scheduler }), []);
    const r = bag.range(23, { npartitions: 4 });
    assert.equal(r.npartitions, 4);
    assert.deepEqual(await r.compute({ scheduler }), Array.from({ length: 23 }, (_, i) => i));
    const parts = [1, 2, 3].map((n) =>
      delayed((k: number) => new Set(Array.from({ length: k }, (_, i) => k * 10 + i)))(n)
    );
    const fromParts = bag.fromDelayed(parts);
    assert.equal(fromParts.npartitions, 3);
    assert.deepEqual(await fromParts.compute({ scheduler }), [10, 20, 21, 30, 31, 32]);
    assert.deepEqual(await fromParts.map((x: number) => x % 10).sum().compute({ scheduler }), 4);
    // toDelayed gives each partition as a Delayed array
    const pieces = bag.fromSequence([1, 2, 3, 4], { npartitions: 2 }).map((x: number) => x * x)
      .toDelayed();
    assert.deepEqual(await computeCollections(pieces, { scheduler }), [[1, 4], [9, 16]]);
  }
  // elements the codec cannot carry stay as they are: sync runs them, threads says why not
  class Point {
    constructor(readonly x: number) {}
  }
  const points = bag.fromSequence([new Point(1), new Point(2)]);
  assert.deepEqual(await points.map((p: Point) => p.x).compute({ scheduler: "sync" }), [1, 2]);
  await assert.rejects(
    points.map((p: Point) => p.x).compute({ scheduler: "threads" }),
    UnserializableError,
  );
  shutdownThreads();
});

Deno.test("join pairs matches from a list, a Delayed or a one-partition bag", async () => {
  const people = bag.fromSequence([
    { name: "ann", city: 1 },
    { name: "bob", city: 2 },
    { name: "cid", city: 1 },
    { name: "dan", city: 9 },
  ], { npartitions: 3 });
  const cities = [{ id: 1, label: "Oslo" }, { id: 2, label: "Lima" }, { id: 1, label: "Oslo2" }];
  const expected = [
    [cities[0], { name: "ann", city: 1 }],
    [cities[2], { name: "ann", city: 1 }],
    [cities[1], { name: "bob", city: 2 }],
    [cities[0], { name: "cid", city: 1 }],
    [cities[2], { name: "cid", city: 1 }],
  ];
  for (const scheduler of schedulers) {
    assert.deepEqual(await people.join(cities, "city", "id").compute({ scheduler }), expected);
    assert.deepEqual(
      await people.join(delayed(cities), (p) => p.city, (c) => c.id).compute({ scheduler }),
      expected,
    );
    const cityBag = bag.fromSequence(cities, { npartitions: 1 });
    assert.deepEqual(await people.join(cityBag, "city", "id").compute({ scheduler }), expected);
  }
  assert.throws(
    () => people.join(bag.fromSequence(cities, { npartitions: 2 }), "city", "id"),
    /repartition\(1\)/,
  );
  shutdownThreads();
});

Deno.test("element-wise errors say what went wrong", async () => {
  const b = bag.fromSequence([{ a: 1 }, { b: 2 }], { npartitions: 2 });
  for (const scheduler of schedulers) {
    await assert.rejects(b.pluck("a" as never).compute({ scheduler }), /no field "a"/);
    assert.deepEqual(await b.pluck("a" as never, 0 as never).compute({ scheduler }), [1, 0]);
    await assert.rejects(bag.fromSequence([1, 2]).flatten().compute({ scheduler }), /flatten/);
    // element-wise bags need equal partition lengths
    const short = bag.fromSequence([1, 2, 3], { npartitions: 2 });
    const long = bag.fromSequence([1, 2, 3, 4], { npartitions: 2 });
    await assert.rejects(
      short.map((x: number, y: number) => x + y, long).compute({ scheduler }),
      /equal lengths/,
    );
  }
  assert.throws(
    () => bag.range(4, { npartitions: 2 }).zip(bag.range(4, { npartitions: 3 })),
    /3 partitions/,
  );
  assert.throws(() => bag.range(4).map((x: number) => x, Math.max), /is a function/);
  // a closure over a local variable fails on threads, naming the variable
  const factor = 3;
  await assert.rejects(
    bag.range(4).map((x: number) => x * factor).compute({ scheduler: "threads" }),
    (error: unknown) => error instanceof FreeVariableError && /factor/.test(error.message),
  );
  // ...and works on sync, the debugging scheduler
  assert.deepEqual(
    await bag.range(4).map((x: number) => x * factor).compute({ scheduler: "sync" }),
    [0, 3, 6, 9],
  );
  shutdownThreads();
});

Deno.test("element-wise chains fuse into one task per partition; persist keeps results", async () => {
  const chain = bag.range(100, { npartitions: 5 }).map((x: number) => x + 1).filter((x: number) =>
    x % 2 === 0
  )
    .map((x: number) => ({ x }))
    .pluck("x");
  const graph = chain.count().graph;
  // 5 fused partition tasks, one combine root, no task per stage
  assert.equal(graph.size, 6);
  for (const scheduler of schedulers) {
    const kept = await chain.persist({ scheduler });
    assert.equal(kept.npartitions, 5);
    assert.equal(kept.name, chain.name);
    const keptGraph = kept.count().graph;
    // the persisted partitions are values in the graph, not computations
    assert.ok([...keptGraph.values()].filter((t) => t.fn === null).length === 5);
    assert.equal(await kept.sum().compute({ scheduler }), 2550);
  }
  shutdownThreads();
});
