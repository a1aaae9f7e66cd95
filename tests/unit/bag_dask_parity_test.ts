/**
 * Bag behaviours ported from Dask's own tests: generators, text file names, and the functions
 * Dask users reach for (map over several bags, unzip, accumulate, the .str namespace).
 */
import assert from "node:assert/strict";
import * as bag from "../../collections/bag/mod.ts";
import { computeCollections } from "../../collections/compute.ts";
import { delayed } from "../../collections/delayed.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { schedulers } from "./bag_helpers.ts";

function* upTo(n: number) {
  for (let i = 0; i < n; i++) yield i;
}

Deno.test("fromDelayed parts that return generators feed every consumer alike", async () => {
  // a generator cannot leave the thread that made it: threads refuse it, as Dask's processes,
  // unless the graph is optimized, which fuses the part into the task that reads it
  await assert.rejects(
    bag.fromDelayed([delayed(upTo)(3)]).compute({ scheduler: "threads", optimizeGraph: false }),
    /cannot be sent to another thread/,
  );
  assert.deepEqual(
    await bag.fromDelayed([delayed(upTo)(3)]).compute({ scheduler: "threads" }),
    [0, 1, 2],
  );
  for (const scheduler of ["sync"] as const) {
    const parts = [5, 5].map((n) => delayed(upTo)(n));
    const b = bag.fromDelayed(parts);
    // before: the first reduction drained the generators and the others saw nothing
    assert.deepEqual(
      await computeCollections([b.sum(), b.count(), b.map((x: number) => x * 2).sum()], {
        scheduler,
      }),
      [20, 10, 40],
    );
  }
  shutdownThreads();
});

Deno.test("map to a generator function gives arrays, as Dask's reify gives lists", async () => {
  for (const scheduler of schedulers) {
    const b = bag.fromSequence([1, 2, 3], { npartitions: 2 }).map(function* (n: number) {
      for (let i = 0; i < n; i++) yield i;
    });
    assert.deepEqual(await b.compute({ scheduler }), [[0], [0, 1], [0, 1, 2]]);
    assert.deepEqual(await b.flatten().sum().compute({ scheduler }), 4);
    // re-iterable values stay as they are
    const sets = bag.fromSequence([1, 2]).map((n: number) => `s${n}`);
    assert.deepEqual(await sets.compute({ scheduler }), ["s1", "s2"]);
  }
  shutdownThreads();
});

Deno.test("topk keys: the element, a function of it, a field, an index, a list of fields", async () => {
  const people = [
    { name: "ann", age: 31, id: 1 },
    { name: "bob", age: 45, id: 2 },
    { name: "cid", age: 31, id: 3 },
    { name: "dee", age: 27, id: 4 },
  ];
  const byAgeThenId = [...people].sort((a, b) => b.age - a.age || b.id - a.id);
  for (const scheduler of schedulers) {
    const b = bag.fromSequence(people, { npartitions: 3 });
    assert.deepEqual(await bag.range(10, { npartitions: 3 }).topk(3).compute({ scheduler }), [
      9,
      8,
      7,
    ]);
    assert.deepEqual(
      await b.topk(2, (p: { age: number }) => -p.age).pluck("name").compute({ scheduler }),
      ["dee", "ann"],
    );
    assert.deepEqual(await b.topk(1, "age").pluck("name").compute({ scheduler }), ["bob"]);
    const pairs = bag.fromSequence([[1, "a"], [3, "b"], [2, "c"]], { npartitions: 2 });
    assert.deepEqual(await pairs.topk(2, 0).compute({ scheduler }), [[3, "b"], [2, "c"]]);
    // tuples compare item by item: age first, then id (strings of arrays would say "45" < "9")
    assert.deepEqual(
      await b.topk(4, ["age", "id"]).pluck("name").compute({ scheduler }),
      byAgeThenId.map((p) => p.name),
    );
    const tens = bag.fromSequence([[9, 0], [10, 0], [100, 0]], { npartitions: 2 });
    assert.deepEqual(await tens.topk(1, [0]).compute({ scheduler }), [[100, 0]]);
  }
  // a comparator is refused, not silently misread as a key of one element
  assert.throws(
    () => bag.range(3).topk(2, ((a: number, b: number) => a - b) as never),
    /comparator/,
  );
  shutdownThreads();
});

Deno.test("bag.map and bag.mapPartitions as functions: bags at any position", async () => {
  for (const scheduler of schedulers) {
    const xs = bag.fromSequence([1, 2, 3, 4], { npartitions: 2 });
    const ys = bag.fromSequence([10, 20, 30, 40], { npartitions: 2 });
    const k = delayed((v: number) => v)(100);
    assert.deepEqual(
      await bag.map((a: number, x: number, y: number, c: number) => a - x * y + c, 1, xs, ys, k)
        .compute({ scheduler }),
      [1, 2, 3, 4].map((x) => 1 - x * x * 10 + 100),
    );
    assert.deepEqual(
      await bag.mapPartitions(
        (label: string, part: number[], other: number[]) => [`${label}${part.length + other[0]}`],
        "p",
        xs,
        ys,
      ).compute({ scheduler }),
      ["p12", "p32"],
    );
    assert.throws(() => bag.map((x: number) => x, 1, 2), /needs at least one Bag/);
  }
  shutdownThreads();
});

Deno.test("unzip, accumulate and the .str namespace match plain code", async () => {
  const words = ["  Alpha ", "beta", "Gamma,x", "delta  epsilon", "", "b?ta"];
  for (const scheduler of schedulers) {
    const pairs = bag.fromSequence([[1, "a"], [2, "b"], [3, "c"]], { npartitions: 2 });
    const [nums, letters] = pairs.unzip(2);
    assert.deepEqual(await compute2(nums, letters, scheduler), [[1, 2, 3], ["a", "b", "c"]]);

    const xs = bag.fromSequence([3, 1, 4, 1, 5, 9, 2, 6], { npartitions: 3 });
    const add = (a: number, b: number) => a + b;
    assert.deepEqual(await xs.accumulate(add).compute({ scheduler }), [3, 4, 8, 9, 14, 23, 25, 31]);
    assert.deepEqual(await xs.accumulate(add, 100).compute({ scheduler }), [
      100,
      103,
      104,
      108,
      109,
      114,
      123,
      125,
      131,
    ]);
    // empty partitions pass the running value on
    const sparse = bag.fromSequence([1, 2, 3, 4], { npartitions: 4 }).filter((x: number) =>
      x !== 2 && x !== 3
    );
    assert.deepEqual(await sparse.accumulate(add).compute({ scheduler }), [1, 5]);

    const b = bag.fromSequence(words, { npartitions: 3 });
    assert.deepEqual(await b.str.lower().compute({ scheduler }), words.map((w) => w.toLowerCase()));
    assert.deepEqual(await b.str.upper().compute({ scheduler }), words.map((w) => w.toUpperCase()));
    assert.deepEqual(await b.str.strip().compute({ scheduler }), words.map((w) => w.trim()));
    assert.deepEqual(await b.str.strip(" a").compute({ scheduler }), [
      "Alph",
      "bet",
      "Gamma,x",
      "delta  epsilon",
      "",
      "b?t",
    ]);
    // Python's split: runs of whitespace without a separator, maxsplit keeps the rest whole
    assert.deepEqual(await b.str.split().compute({ scheduler }), [
      ["Alpha"],
      ["beta"],
      ["Gamma,x"],
      ["delta", "epsilon"],
      [],
      ["b?ta"],
    ]);
    assert.deepEqual(
      await bag.fromSequence(["a,b,c"]).str.split(",", 1).compute({ scheduler }),
      [["a", "b,c"]],
    );
    assert.deepEqual(await b.str.match("*a").compute({ scheduler }), ["beta", "b?ta"]);
    assert.deepEqual(await b.str.match("b[!e]ta").compute({ scheduler }), ["b?ta"]);
    assert.deepEqual(await b.str.len().compute({ scheduler }), words.map((w) => w.length));
    await assert.rejects(bag.range(2).str.lower().compute({ scheduler }), /must be a string/);
  }
  shutdownThreads();
});

async function compute2(a: bag.Bag<unknown>, b: bag.Bag<unknown>, scheduler: "sync" | "threads") {
  return await computeCollections([a, b], { scheduler });
}
