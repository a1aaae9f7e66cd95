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
  // a generator cannot leave the thread that made it: threads refuse it, as Dask's processes
  await assert.rejects(
    bag.fromDelayed([delayed(upTo)(3)]).compute({ scheduler: "threads" }),
    /cannot be sent to another thread/,
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
