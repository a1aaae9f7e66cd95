/**
 * Every example of the futures tutorial (seed 004: "dask.distributed - Parallel Processing in
 * Python"), with `time.sleep(1)` shortened to 100 ms, on a real scheduler and two worker
 * processes (one thread each) on loopback.
 */

import assert from "node:assert/strict";
import {
  asCompleted,
  CancelledError,
  Client,
  fireAndForget,
  type Future,
  wait,
} from "../../mod.ts";

const slowPow = async (x: number, y: number, ms = 100) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  if (typeof y !== "number") {
    throw new TypeError(`unsupported operand type(s) for **: 'number' and '${typeof y}'`);
  }
  return x ** y;
};

const slowAdd = async (x: number, y: number, ms = 100) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return x + y;
};

Deno.test("seed 004: the futures tutorial on a local cluster", async (t) => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });

  await t.step("Example 1: submit returns a pending Future at once, then its result", async () => {
    const res = client.submit(slowPow, 10, 10);
    assert.equal(res.status, "pending");
    assert.match(res.key, /^slowPow-[0-9a-f]{16}$/);
    assert.equal(await res.result(), 1e10);
    assert.equal(res.status, "finished");
    assert.equal(res.type, "number");
    assert.match(Deno.inspect(res), /status: finished, type: number, key: slowPow-/);
  });

  await t.step("Example 2: submit in a loop runs in parallel", async () => {
    const futures: Future<number>[] = [];
    for (let i = 1; i <= 10; i++) futures.push(client.submit(slowPow, i, 10));
    const powers = await Promise.all(futures.map((f) => f.result()));
    assert.deepEqual(powers, Array.from({ length: 10 }, (_, i) => (i + 1) ** 10));
    // Parallel: both single-threaded workers ran tasks, and some of their runs overlapped, as
    // each key's story tells (sent to a worker → its result arrived).
    const runs = await Promise.all(futures.map(async (f) => {
      const story = await client.story(f);
      const sent = story.findLast((t) => t.finish === "processing")!;
      const done = story.find((t) => t.finish === "memory")!;
      return { worker: sent.worker, start: sent.time, stop: done.time };
    }));
    assert.equal(new Set(runs.map((r) => r.worker)).size, 2, JSON.stringify(runs));
    const overlapping = runs.some((a) =>
      runs.some((b) => a.worker !== b.worker && a.start < b.stop && b.start < a.stop)
    );
    assert.ok(overlapping, `no two runs on different workers overlapped: ${JSON.stringify(runs)}`);
  });

  await t.step("Example 3: submit with if/else picks the function per item", async () => {
    const powers: Future<number>[] = [];
    for (let i = 1; i <= 10; i++) {
      powers.push(i % 2 === 0 ? client.submit(slowPow, i, 2) : client.submit(slowAdd, i, 1));
    }
    const values = await Promise.all(powers.map((f) => f.result()));
    assert.deepEqual(values, [2, 4, 4, 16, 6, 36, 8, 64, 10, 100]);
  });

  await t.step("Example 4: map over one and two iterables", async () => {
    const futures = client.map(slowPow, [1, 2, 3, 4, 5], Array(5).fill(10));
    assert.deepEqual(await Promise.all(futures.map((f) => f.result())), [
      1,
      1024,
      59049,
      1048576,
      9765625,
    ]);
    // same calls as before: same keys, nothing runs again
    const again = client.map(slowPow, [1, 2, 3, 4, 5], Array(5).fill(10));
    assert.deepEqual(again.map((f) => f.key), futures.map((f) => f.key));
    assert.ok(again.every((f) => f.status === "finished"));
    const sums = client.map(slowAdd, [1, 2, 3, 4, 5], [5, 4, 3, 2, 1]);
    assert.deepEqual(await client.gather(sums), [6, 6, 6, 6, 6]);
  });

  await t.step("Example 5: gather", async () => {
    const futures: Future<number>[] = [];
    for (let i = 1; i <= 10; i++) futures.push(client.submit(slowPow, i, 5));
    assert.deepEqual(await client.gather(futures), [
      1,
      32,
      243,
      1024,
      3125,
      7776,
      16807,
      32768,
      59049,
      100000,
    ]);
    const mixed: Future<number>[] = [];
    for (let i = 1; i <= 10; i++) {
      mixed.push(i % 2 === 0 ? client.submit(slowPow, i, 2) : client.submit(slowAdd, i, 1));
    }
    assert.deepEqual(await client.gather(mixed), [2, 4, 4, 16, 6, 36, 8, 64, 10, 100]);
  });

  await t.step("Example 6: scatter, then tasks on the scattered futures", async () => {
    const dataFutures = client.scatter([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(dataFutures.length, 8);
    await wait(dataFutures);
    for (const f of dataFutures) {
      assert.equal(f.status, "finished");
      assert.equal(f.type, "number");
      assert.match(f.key, /^number-[0-9a-f]{16}$/);
    }
    const taskFutures: Future<number>[] = [];
    for (let i = 0; i < 8; i += 2) {
      taskFutures.push(client.submit(slowAdd, dataFutures[i], dataFutures[i + 1]));
    }
    assert.deepEqual(await client.gather(taskFutures), [3, 7, 11, 15]);
  });

  await t.step("Example 7: status, done, cancel, cancelled", async () => {
    const res = client.submit(slowPow, 10, 10);
    await res.result();
    assert.equal(res.status, "finished");
    assert.equal(res.done(), true);
    await res.cancel();
    assert.equal(res.cancelled(), true);
    await assert.rejects(() => res.result(), (error: Error) => {
      assert.ok(error instanceof CancelledError);
      assert.match(error.message, /slowPow-/);
      return true;
    });
  });

  await t.step("Example 7: a task with an error, exception, traceback, retry", async () => {
    const res = client.submit(slowPow, 10, "0.5" as unknown as number);
    assert.equal(res.status, "pending");
    const error = await res.exception();
    assert.equal(res.status, "error");
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, "unsupported operand type(s) for **: 'number' and 'string'");
    assert.equal((error as Error & { key?: string }).key, res.key);
    const trace = await res.traceback();
    assert.ok(trace !== undefined && trace.includes("TypeError"), trace);
    await assert.rejects(() => res.result(), TypeError);
    await res.retry(); // it fails again: the error is in the function
    await res.exception();
    assert.equal(res.status, "error");
  });

  await t.step("Example 7: release", async () => {
    const res = client.submit(slowPow, 10, 5);
    assert.equal(await res.result(), 100000);
    res.release();
    res.release(); // a second release is not counted again
  });

  await t.step("Example 8: asCompleted hands out futures as they finish", async () => {
    const futures: Future<number>[] = [];
    for (let i = 1; i <= 30; i++) {
      // odd powers take longer: they finish after the even ones
      futures.push(client.submit(slowPow, i, i % 2 === 0 ? 2 : 5, i % 2 === 0 ? 20 : 150));
    }
    const inOrder = await Promise.all(futures.map((f) => f.result()));
    assert.deepEqual(inOrder.slice(0, 4), [1, 4, 243, 16]);
    const completed: number[] = [];
    for await (const future of asCompleted(futures)) completed.push(await future);
    assert.equal(completed.length, 30);
    assert.deepEqual([...completed].sort((a, b) => a - b), [...inOrder].sort((a, b) => a - b));
  });

  await t.step("Example 8: asCompleted on fresh tasks yields the fast ones first", async () => {
    const futures: Future<number>[] = [];
    for (let i = 1; i <= 10; i++) {
      futures.push(client.submit(slowPow, i, i % 2 === 0 ? 2 : 5, i % 2 === 0 ? 10 : 300));
    }
    const first: number[] = [];
    for await (const [, value] of asCompleted(futures, { withResults: true })) {
      first.push(value);
      if (first.length === 3) break;
    }
    // the first three to finish are squares of even numbers
    for (const value of first) assert.equal(Number.isInteger(Math.sqrt(value)), true, `${value}`);
  });

  await t.step("Example 9: wait for all", async () => {
    const same: Future<number>[] = [];
    for (let i = 1; i <= 10; i++) same.push(client.submit(slowPow, 1, 10));
    assert.equal(new Set(same.map((f) => f.key)).size, 1, "equal calls share one key");
    const futures: Future<number>[] = [];
    for (let i = 1; i <= 10; i++) futures.push(client.submit(slowPow, i, 2, 30));
    const { done, notDone } = await wait(futures, { returnWhen: "ALL_COMPLETED" });
    assert.equal(done.size, 10);
    assert.equal(notDone.size, 0);
    const values = await Promise.all([...done].map((f) => f.result()));
    assert.deepEqual(values.sort((a, b) => a - b), [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
  });

  await t.step("Example 10: fireAndForget keeps tasks running without futures", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const save = async (path: string, day: number) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const rows = Array.from({ length: 24 }, (_, h) => `2020-01-${day} ${h}:00,${h % 50}`);
        await Deno.writeTextFile(path, "Temperature\n" + rows.join("\n"));
        return path;
      };
      for (let day = 1; day <= 30; day++) {
        const future = client.submit(save, `${dir}/Day ${day}.csv`, day);
        fireAndForget(future);
        future.release(); // nobody holds it any more
      }
      const deadline = Date.now() + 20_000;
      let count = 0;
      while (Date.now() < deadline) {
        count = 0;
        for await (const _ of Deno.readDir(dir)) count++;
        if (count === 30) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(count, 30);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
