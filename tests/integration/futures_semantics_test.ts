/**
 * Futures semantics that must match Dask's, on real scheduler and worker processes: each step
 * failed before its fix (gather's error, whoHas after scatter, FIRST_COMPLETED beside a busy
 * thread, error causes, scatter's shapes and copies, replicate of pending futures, option
 * checks, another client's futures, cancelled arguments, restart's timeout, shared keys).
 */

import assert from "node:assert/strict";
import { CancelledError, Client, type Future, TimeoutError, wait } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";

const inc = (x: number) => x + 1;
const fail = (message: string) => {
  throw new Error(message);
};
const sleepThen = async <T>(ms: number, value: T) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
};
/** Runs until `path` exists: a task the test holds as long as it wants. */
const waitForFile = async (path: string) => {
  for (;;) {
    try {
      await Deno.stat(path);
      return "released";
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
};

Deno.test("futures semantics as in Dask", async (t) => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 2 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const [a, b] = cluster.workers.map((w) => w.address);
  const dir = await Deno.makeTempDir();
  try {
    await t.step("gather rejects with a later future's own error", async () => {
      const gate = `${dir}/gate-gather`;
      const pending = client.with({ workers: a }).submit(waitForFile, gate);
      const failing = client.submit(fail, "the later one failed");
      await assert.rejects(() => client.gather([pending, failing]), /the later one failed/);
      await Deno.writeTextFile(gate, "");
      assert.equal(await pending, "released");
    });

    await t.step("whoHas knows scattered data once wait() returned", async () => {
      for (let round = 0; round < 10; round++) {
        const other = client.scatter(
          Array.from({ length: 20 }, (_, i) => `other-${round}-${i}`),
          { workers: [b] },
        );
        const mine = client.scatter([`mine-${round}`], { workers: [a] });
        await wait(mine);
        const where = await client.whoHas(mine);
        assert.deepEqual(where[mine[0].key], [a], `round ${round}`);
        await wait(other);
      }
    });

    await t.step("FIRST_COMPLETED returns while a thread is blocked", async () => {
      await using one = await startCluster({ nWorkers: 1, nthreads: 2 });
      await using c1 = await Client.connect(one.schedulerAddress, { setAsDefault: false });
      for (let round = 0; round < 8; round++) {
        const gate = `${dir}/gate-first-${round}`;
        const impure = c1.with({ pure: false });
        const long = impure.submit(waitForFile, gate);
        const shorts = Array.from({ length: 3 }, (_, i) => impure.submit(sleepThen, 10, i));
        const { done } = await wait([long, ...shorts], { returnWhen: "FIRST_COMPLETED" });
        assert.ok(done.size >= 1 && !done.has(long), `round ${round}`);
        await Deno.writeTextFile(gate, "");
        await wait([long, ...shorts]);
      }
    });

    await t.step("an error's cause chain comes back as Errors", async () => {
      const chained = () => {
        throw new Error("outer", { cause: new TypeError("inner", { cause: "root" }) });
      };
      const error = await client.submit(chained).exception();
      assert.ok(error instanceof Error);
      assert.equal(error.message, "outer");
      assert.ok(error.cause instanceof Error, "the cause is an Error");
      assert.equal((error.cause as Error).name, "TypeError");
      assert.equal((error.cause as Error).message, "inner");
      assert.equal((error.cause as Error).cause, "root");
    });

    await t.step("scatter: object entries keyed by their names, sets, generators", async () => {
      const named = client.scatter({ xName: 1, yName: 2 });
      assert.equal(named.xName.key, "xName");
      assert.equal(named.yName.key, "yName");
      assert.deepEqual(await client.gather(named), { xName: 1, yName: 2 });
      const fromSet = client.scatter(new Set([10, 20, 30]));
      assert.equal(fromSet.length, 3);
      assert.deepEqual(await client.gather(fromSet), [10, 20, 30]);
      function* gen() {
        yield "g1";
        yield "g2";
      }
      const fromGenerator = client.scatter(gen());
      assert.deepEqual(await client.gather(fromGenerator), ["g1", "g2"]);
      // a Map stays one value
      const map = client.scatter(new Map([["k", 1]]));
      assert.deepEqual(await map, new Map([["k", 1]]));
    });

    await t.step("scatter broadcast: n keeps n copies, true one per worker", async () => {
      const [two] = client.scatter(["two copies"], { broadcast: 2 });
      await wait([two]);
      assert.equal((await client.whoHas(two))[two.key].length, 2);
      const [all] = client.scatter(["every worker"], { broadcast: true, hash: false });
      await wait([all]);
      assert.deepEqual((await client.whoHas(all))[all.key].sort(), [a, b].sort());
    });

    await t.step("replicate and rebalance of pending futures wait for them", async () => {
      const gate = `${dir}/gate-replicate`;
      const pending = client.with({ pure: false }).submit(waitForFile, gate);
      const replicated = client.replicate([pending], { n: 2 });
      const rebalanced = client.rebalance([pending]);
      setTimeout(() => Deno.writeTextFileSync(gate, ""), 100);
      assert.deepEqual(await replicated, { [pending.key]: 2 });
      await rebalanced;
      assert.equal((await client.whoHas(pending))[pending.key].length, 2);
    });

    await t.step("allowOtherWorkers without workers is an error", () => {
      assert.throws(
        () => client.with({ allowOtherWorkers: true }).submit(inc, 1),
        /allowOtherWorkers.*workers/,
      );
      assert.throws(
        () => client.with({ allowOtherWorkers: true }).map(inc, [1, 2]),
        /allowOtherWorkers.*workers/,
      );
    });

    await t.step("a future of another client is an argument; data stays shared", async () => {
      await using other = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
      const theirs = other.submit(inc, 100);
      const mine = client.submit(inc, theirs);
      assert.equal(await mine, 102);
      // the other client leaves: the key it made still serves this client's task
      const theirs2 = other.with({ pure: false }).submit(sleepThen, 200, 7);
      await other.whoHas([theirs2]); // the scheduler has the task
      const mine2 = client.submit(inc, theirs2);
      await client.whoHas([mine2]); // and this client's claim on its key
      await other.close();
      assert.equal(await mine2, 8);
    });

    await t.step("submitting on a cancelled future rejects with CancelledError", async () => {
      const gate = `${dir}/gate-cancel`;
      const x = client.with({ pure: false }).submit(waitForFile, gate);
      await client.cancel(x);
      const y = client.submit(inc, x as unknown as Future<number>);
      await assert.rejects(() => y.result(), CancelledError);
      const ys = client.map(inc, [x as unknown as Future<number>]);
      await assert.rejects(() => ys[0].result(), CancelledError);
    });

    await t.step("two clients scattering one key never overwrite each other", async () => {
      await using other = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
      const first = client.scatter({ sharedKey: "first" }, { workers: [a] });
      assert.equal(await first.sharedKey, "first");
      const second = other.scatter({ sharedKey: "second" }, { workers: [b] });
      assert.equal(await second.sharedKey, "first");
      const third = other.scatter({ sharedKey: "third" }, { workers: [a] });
      assert.equal(await third.sharedKey, "first");
      assert.deepEqual((await client.whoHas(first.sharedKey)).sharedKey, [a]);
      // a computed key keeps its value too
      const computed = client.with({ key: "computedKey" }).submit(inc, 1);
      assert.equal(await computed, 2);
      const overwriting = other.scatter({ computedKey: 99 });
      assert.equal(await overwriting.computedKey, 2);
      assert.equal(await client.submit(inc, computed), 3);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restart past its timeout rejects with TimeoutError", async () => {
  await using cluster = await startCluster({ nWorkers: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  await assert.rejects(() => client.restart({ timeout: 0.001 }), TimeoutError);
  // the workers come back all the same
  assert.equal(await client.submit(inc, 1), 2);
});

Deno.test("scattered data lost with its only worker ends cancelled, with its readers, as in Dask", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const [w0, w1] = cluster.workers.map((w) => w.address);
  const [x] = await client.scatter([1], { workers: [w0] });
  const [kept] = await client.scatter([2], { workers: [w0] });
  await client.replicate([kept], { n: 2 });
  // a reader that cannot start: it runs only on a worker restriction nobody meets yet
  const y = client.with({ workers: ["nobody"] }).submit(inc, x);
  cluster.workers[0].process.kill("SIGKILL");
  await wait([y]); // it ends once the scheduler learns the data is gone
  assert.equal(x.status, "cancelled");
  await assert.rejects(() => x.result(), (error: Error) => {
    assert.ok(error instanceof CancelledError, String(error));
    assert.match(error.message, /scattered to workers that have all left.*Scatter the data again/s);
    return true;
  });
  await assert.rejects(() => y.result(), CancelledError);
  // data with a copy elsewhere stays
  assert.equal(await kept, 2);
  assert.deepEqual(Object.values(await client.whoHas([kept])), [[w1]]);
});
