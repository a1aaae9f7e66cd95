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
