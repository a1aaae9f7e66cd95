/**
 * The futures part of seed 001 (the Dask tutorial): tasks that depend on futures, a tree
 * summation built with a loop, and a computation built dynamically with asCompleted — with
 * random sleeps shortened — plus collections computed on the cluster.
 */

import assert from "node:assert/strict";
import { asCompleted, bag, Client, delayed, type Future, persist } from "../../mod.ts";

const inc = async (x: number) => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
  return x + 1;
};
const double = async (x: number) => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
  return 2 * x;
};
const add = async (x: number, y: number) => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
  return x + y;
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

Deno.test("seed 001: futures on a local cluster", async (t) => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });

  await t.step("submit a task on futures: inputs move between workers", async () => {
    const x = client.submit(inc, 1);
    const y = client.submit(double, 2);
    const z = client.submit(add, x, y);
    assert.equal(await z.result(), 6);
  });

  let zs: Future<number>[] = [];
  await t.step("many dependent tasks in a loop, then a sum of all", async () => {
    for (let i = 0; i < 64; i++) {
      const x = client.submit(inc, i);
      const y = client.submit(double, x);
      zs.push(client.submit(add, x, y));
    }
    const total = client.submit(sum, zs);
    // sum over i of (i + 1) + 2(i + 1) = 3 × (1 + ... + 64)
    assert.equal(await total, 3 * 64 * 65 / 2);
  });

  await t.step("tree summation: neighbours merge until one future is left", async () => {
    let level = zs;
    let levels = 0;
    while (level.length > 1) {
      const next: Future<number>[] = [];
      for (let i = 0; i < level.length; i += 2) {
        next.push(i + 1 < level.length ? client.submit(add, level[i], level[i + 1]) : level[i]);
      }
      level = next;
      levels++;
    }
    assert.equal(levels, 6);
    assert.equal(await level[0], 3 * 64 * 65 / 2);
  });

  await t.step("a computation built dynamically with asCompleted", async () => {
    zs = client.map(inc, zs);
    const seq = asCompleted(zs);
    while (seq.count() > 1) {
      const a = (await seq.next()).value as Future<number>;
      const b = (await seq.next()).value as Future<number>;
      seq.add(client.submit(add, a, b));
    }
    const last = (await seq.next()).value as Future<number>;
    assert.equal(await last, 3 * 64 * 65 / 2 + 64);
    assert.equal(seq.count(), 0);
    assert.equal((await seq.next()).done, true);
  });

  await t.step("delayed .compute() runs on the newest client", async () => {
    const total = delayed(add)(delayed(inc)(1), delayed(double)(2));
    assert.equal(await total.compute(), 6);
    const sync = await total.compute({ scheduler: "sync" });
    assert.equal(sync, 6);
    // it ran in a worker process, not in this one
    const pid = await delayed(() => Deno.pid, { pure: false })().compute();
    assert.notEqual(pid, Deno.pid);
  });

  await t.step("client.compute gives futures; client.persist keeps results", async () => {
    const parts = [1, 2, 3, 4].map((i) => delayed(double)(delayed(inc)(i)));
    const total = delayed(sum)(parts);
    const future = client.compute(total);
    assert.equal(future.key, total.key);
    assert.equal(await future, 28);

    const kept = client.persist(total);
    assert.equal(await kept.compute(), 28);
    // a graph on top of a persisted result sends only the new task
    assert.equal(await delayed(inc)(kept).compute(), 29);
    const viaPersist = await persist(delayed(inc)(kept));
    assert.equal(await viaPersist.compute(), 29);
  });

  await t.step("a bag computes on the cluster; its finalize runs on the client", async () => {
    const b = bag.fromSequence([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { npartitions: 3 });
    const squares = b.map((x: number) => x * x);
    assert.deepEqual(await squares.compute(), [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
    const future = client.compute(squares.filter((x: number) => x % 2 === 0));
    assert.match(future.key, /^finalize-/);
    assert.deepEqual(await future, [4, 16, 36, 64, 100]);
    const [a, s] = client.compute([squares, squares.sum()] as const);
    assert.deepEqual(await client.gather([a, s]), [[1, 4, 9, 16, 25, 36, 49, 64, 81, 100], 385]);
  });
});
