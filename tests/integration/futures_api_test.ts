/**
 * The rest of the futures API on a real cluster: map over async iterables, asCompleted's
 * add/update/count/nextBatch and results, done callbacks, nested gather, Delayed arguments,
 * collections computed and persisted through the client.
 */

import assert from "node:assert/strict";
import { asCompleted, Client, delayed, type Future, wait } from "../../mod.ts";

const inc = (x: number) => x + 1;
const add = (x: number, y: number) => x + y;
const sleepThen = async <T>(ms: number, value: T) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
};

async function* numbers(n: number, everyMs: number) {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    yield i;
  }
}

Deno.test("futures API details", async (t) => {
  await using client = await Client.local({ nWorkers: 1, threadsPerWorker: 2 });

  await t.step("map over an async iterable submits items as they arrive", async () => {
    const futures = await client.map(inc, numbers(5, 5));
    assert.equal(futures.length, 5);
    assert.deepEqual(await client.gather(futures), [1, 2, 3, 4, 5]);
    // zipped with a plain iterable: stops at the shortest
    const sums = await client.map(add, numbers(4, 1), [10, 20, 30]);
    assert.deepEqual(await client.gather(sums), [10, 21, 32]);
  });

  await t.step("map over several iterables of futures", async () => {
    const xs = client.map(inc, [1, 2, 3]);
    const ys = client.map(inc, [10, 20, 30]);
    assert.deepEqual(await client.gather(client.map(add, xs, ys)), [13, 24, 35]);
    const untyped = client.map as (fn: unknown) => unknown;
    assert.throws(() => untyped.call(client, inc), /at least one iterable/);
  });

  await t.step("asCompleted: add, update, count, nextBatch, results", async () => {
    const impure = client.with({ pure: false });
    const seq = asCompleted<string>([impure.submit(sleepThen, 50, "a")]);
    seq.add(impure.submit(sleepThen, 10, "b"));
    seq.update([impure.submit(sleepThen, 100, "c")]);
    assert.equal(seq.count(), 3);
    const order: string[] = [];
    for await (const future of seq) {
      order.push(await future);
      if (order.length === 1) seq.add(impure.submit(sleepThen, 1, "d"));
    }
    assert.deepEqual(order.sort(), ["a", "b", "c", "d"]);
    assert.equal(seq.isEmpty(), true);

    const batch = [impure.submit(sleepThen, 1, "x"), impure.submit(sleepThen, 1, "y")];
    await wait(batch);
    const seq2 = asCompleted(batch);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(seq2.nextBatch().length, 2);
    assert.equal(seq2.count(), 0);

    const failing = client.submit(() => {
      throw new RangeError("nope");
    });
    const withResults = asCompleted([failing], { withResults: true });
    await assert.rejects(() => withResults.next(), RangeError);
  });

  await t.step("two concurrent next() calls both get a future", async () => {
    const impure = client.with({ pure: false });
    const seq = asCompleted([impure.submit(sleepThen, 20, 1), impure.submit(sleepThen, 40, 2)]);
    const [a, b] = await Promise.all([seq.next(), seq.next()]);
    assert.equal(a.done, false);
    assert.equal(b.done, false);
    assert.deepEqual([await a.value, await b.value].sort(), [1, 2]);
  });

  await t.step("done callbacks, thenable futures, a single future to wait", async () => {
    const f = client.with({ pure: false }).submit(sleepThen, 20, 5);
    // a Future is thenable: resolving a promise with it would adopt its value, so wrap it
    const [seen] = await new Promise<[Future<number>]>((resolve) =>
      f.addDoneCallback((done) => resolve([done]))
    );
    assert.equal(seen, f);
    assert.equal(await f, 5);
    assert.equal(await Promise.resolve(f), 5, "adopted like a promise");
    const { done } = await wait(f);
    assert.ok(done.has(f));
    let late = false;
    f.addDoneCallback(() => late = true); // already done: called soon after
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(late, true);
  });

  await t.step("gather keeps the shape of nested arrays and objects", async () => {
    const a = client.submit(inc, 1);
    const b = client.submit(inc, 2);
    const out = await client.gather({ pair: [a, b], one: a, plain: 7, deep: { list: [[b]] } });
    assert.deepEqual(out, { pair: [2, 3], one: 2, plain: 7, deep: { list: [[3]] } });
    assert.equal(await client.gather(a), 2);
  });

  await t.step("futures inside containers and Delayed values as arguments", async () => {
    const a = client.submit(inc, 1);
    const total = client.submit(
      (o: { xs: number[]; y: number }) => o.xs.reduce((s, x) => s + x, 0) + o.y,
      { xs: [a, a, 5], y: delayed(inc)(9) },
    );
    assert.equal(await total, 2 + 2 + 5 + 10);
  });

  await t.step("futures of computed collections, and persisted ones", async () => {
    const x = delayed(inc)(41);
    const [f, g] = client.compute([x, delayed(add)(x, 1)] as const);
    assert.deepEqual(await client.gather([f, g]), [42, 43]);
    const [kept] = client.persist([x] as const);
    assert.equal(await delayed(inc)(kept).compute(), 43);
  });
});
