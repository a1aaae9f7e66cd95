/**
 * asCompleted's Dask API on a real cluster: batches(), nextBatch({ block }), clear(), update(),
 * timeout → TimeoutError, withResults with raiseErrors: false (erred and cancelled futures).
 */

import assert from "node:assert/strict";
import { asCompleted, CancelledError, Client, type Future, TimeoutError, wait } from "../../mod.ts";

const sleepThen = async <T>(ms: number, value: T) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
};
const fail = (message: string) => {
  throw new Error(message);
};

Deno.test("asCompleted: batches, blocking batches, clear, timeout, error pairs", async (t) => {
  await using client = await Client.local({ nWorkers: 1, threadsPerWorker: 2 });
  const impure = client.with({ pure: false });

  await t.step("batches() hands out everything, in batches of what finished", async () => {
    const futures = impure.map((x: number) => x * 2, [1, 2, 3, 4, 5]);
    await wait(futures);
    const seen: number[] = [];
    let batches = 0;
    for await (const batch of asCompleted(futures).batches()) {
      batches++;
      for (const future of batch) {
        assert.equal(typeof future.key, "string", "batches hand out the futures themselves");
        seen.push(await future);
      }
    }
    assert.deepEqual(seen.sort((a, b) => a - b), [2, 4, 6, 8, 10]);
    assert.equal(batches, 1, "all had finished: one batch");
    const pairs: [Future<number>, number][] = [];
    for await (const batch of asCompleted(futures, { withResults: true }).batches()) {
      pairs.push(...batch);
    }
    assert.deepEqual(pairs.map(([, v]) => v).sort((a, b) => a - b), [2, 4, 6, 8, 10]);
  });

  await t.step("nextBatch({ block: true }) waits for one; without block it does not", async () => {
    const seq = asCompleted([impure.submit(sleepThen, 100, "late")]);
    assert.deepEqual(seq.nextBatch(), []);
    const batch = await seq.nextBatch({ block: true });
    assert.equal(batch.length, 1);
    assert.equal(await batch[0], "late");
    assert.deepEqual(await seq.nextBatch({ block: true }), []);
  });

  await t.step("clear() forgets every future; update() adds more", async () => {
    const seq = asCompleted([impure.submit(sleepThen, 50, "a")]);
    seq.clear();
    assert.equal(seq.count(), 0);
    seq.update([impure.submit(sleepThen, 1, "b")]);
    const got: string[] = [];
    for await (const future of seq) got.push(await future as string);
    assert.deepEqual(got, ["b"]);
  });

  await t.step("timeout raises TimeoutError while futures are pending", async () => {
    const slow = impure.submit(sleepThen, 3000, "slow");
    const seq = asCompleted([slow], { timeout: 0.1 });
    await assert.rejects(() => seq.next(), TimeoutError);
    await client.cancel(slow);
  });

  await t.step("withResults + raiseErrors: false hands out [future, error]", async () => {
    const good = impure.submit(sleepThen, 1, 1);
    const bad = impure.submit(fail, "broken");
    const cancelled = impure.submit(sleepThen, 3000, 3);
    await client.cancel(cancelled);
    const out = new Map<string, unknown>();
    for await (
      const [future, value] of asCompleted([good, bad, cancelled], {
        withResults: true,
        raiseErrors: false,
      })
    ) out.set(future.key, value);
    assert.equal(out.get(good.key), 1);
    assert.match((out.get(bad.key) as Error).message, /broken/);
    assert.ok(out.get(cancelled.key) instanceof CancelledError);
    // raising (the default) throws the error
    const raising = asCompleted([impure.submit(fail, "again")], { withResults: true });
    await assert.rejects(() => raising.next(), /again/);
  });
});
