/**
 * Every option of Dask's `submit` is reachable through `client.with(options)` and has its
 * effect on a real cluster: key, pure, priority, workers, allowOtherWorkers, resources,
 * retries; map's key prefix and key lists; scatter's workers, broadcast and direct.
 */

import assert from "node:assert/strict";
import { asCompleted, Client, delayed, type Future, wait } from "../../mod.ts";

const inc = (x: number) => x + 1;
const sleepThen = async (ms: number, value: string) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
};

async function settleFor(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("submit options through client.with", async (t) => {
  await using client = await Client.local({
    nWorkers: 2,
    threadsPerWorker: 1,
    resources: { GPU: 1 },
  });
  const workers = await client.workers();
  const addressOf = (name: string) => workers.find((w) => w.name === name)!.address;

  await t.step("key: the task's key as given", async () => {
    const f = client.with({ key: "my-key" }).submit(inc, 1);
    assert.equal(f.key, "my-key");
    assert.equal(await f, 2);
    assert.throws(() => client.with({ key: ["a", "b"] }).submit(inc, 1), /must be a string/);
  });

  await t.step("pure: equal calls share a key by default; pure false gives new keys", () => {
    assert.equal(client.submit(inc, 5).key, client.submit(inc, 5).key);
    const impure = client.with({ pure: false });
    assert.notEqual(impure.submit(inc, 5).key, impure.submit(inc, 5).key);
    assert.match(impure.submit(inc, 5).key, /^inc-[0-9a-f]{16}$/);
  });

  await t.step("map: a key prefix, or one key per item", async () => {
    const prefixed = client.with({ key: "square" }).map((x: number) => x * x, [1, 2, 3]);
    for (const f of prefixed) assert.match(f.key, /^square-[0-9a-f]{16}$/);
    assert.deepEqual(await client.gather(prefixed), [1, 4, 9]);
    const named = client.with({ key: ["k-1", "k-2"] }).map(inc, [10, 20]);
    assert.deepEqual(named.map((f) => f.key), ["k-1", "k-2"]);
    assert.deepEqual(await client.gather(named), [11, 21]);
    assert.throws(() => client.with({ key: ["only-one"] }).map(inc, [1, 2]), /1 keys were given/);
  });

  await t.step("workers: tasks run where they are told", async () => {
    const pinned = client.with({ workers: ["worker-1"], pure: false });
    const futures = Array.from({ length: 6 }, (_, i) => pinned.submit(inc, i));
    await client.gather(futures);
    const holders = await client.whoHas(futures);
    for (const f of futures) assert.deepEqual(holders[f.key], [addressOf("worker-1")]);
    // by address too
    const byAddress = client.with({ workers: addressOf("worker-0"), pure: false }).submit(inc, 1);
    await byAddress;
    assert.deepEqual((await client.whoHas(byAddress))[byAddress.key], [addressOf("worker-0")]);
  });

  await t.step("allowOtherWorkers: a restriction to a missing worker is only a wish", async () => {
    const strict = client.with({ workers: ["no-such-worker"], pure: false }).submit(inc, 1);
    const loose = client.with({
      workers: ["no-such-worker"],
      allowOtherWorkers: true,
      pure: false,
    }).submit(inc, 1);
    assert.equal(await loose, 2);
    await settleFor(200);
    assert.equal(strict.status, "pending");
    await strict.cancel();
  });

  await t.step("resources: tasks wait for a worker that has them", async () => {
    const oneGpu = client.with({ resources: { GPU: 1 }, pure: false }).submit(inc, 1);
    const twoGpus = client.with({ resources: { GPU: 2 }, pure: false }).submit(inc, 1);
    assert.equal(await oneGpu, 2);
    await settleFor(200);
    assert.equal(twoGpus.status, "pending", "no worker has 2 GPUs");
    await twoGpus.cancel();
  });

  await t.step("retries: a flaky task succeeds within its retries", async () => {
    const dir = await Deno.makeTempDir();
    try {
      // fails on its first two runs, counting runs in a file
      const flaky = async (path: string) => {
        let runs = 0;
        try {
          runs = Number(await Deno.readTextFile(path));
        } catch {
          // first run
        }
        await Deno.writeTextFile(path, String(runs + 1));
        if (runs < 2) throw new Error(`flaky failure ${runs + 1}`);
        return runs + 1;
      };
      const retried = client.with({ retries: 2 }).submit(flaky, `${dir}/a`);
      assert.equal(await retried, 3);
      // Its story tells why it ran three times: two failed runs sent it back to waiting.
      const story = await client.story(retried);
      const failures = story.filter((t) => t.start === "processing" && t.finish === "waiting");
      assert.equal(failures.length, 2, JSON.stringify(story));
      const workerAddresses = new Set(workers.map((w) => w.address));
      for (const t of failures) {
        assert.match(t.stimulus, /^task-erred-/);
        assert.ok(workerAddresses.has(t.worker!), `${t.worker} is a worker`);
      }
      assert.equal(story.at(-1)?.finish, "memory");
      const noRetry = client.with({ retries: 1 }).submit(flaky, `${dir}/b`);
      const error = await noRetry.exception();
      assert.equal(error?.message, "flaky failure 2");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("priority: a high-priority task overtakes queued ones", async () => {
    const impure = client.with({ pure: false });
    // keep both threads busy, then queue work behind them
    const blockers = [impure.submit(sleepThen, 300, "block"), impure.submit(sleepThen, 300, "b")];
    await settleFor(50);
    const low = Array.from({ length: 6 }, (_, i) => impure.submit(sleepThen, 100, `low-${i}`));
    const high = client.with({ priority: 10, pure: false }).submit(sleepThen, 100, "high");
    const order: string[] = [];
    for await (const f of asCompleted<string>([...low, high])) order.push(await f);
    await client.gather(blockers);
    assert.ok(order.indexOf("high") <= 1, `completion order: ${order.join(", ")}`);
  });

  await t.step("options are checked where they are written", () => {
    assert.throws(() => client.with({ prority: 1 } as never), /Unknown option 'prority'/);
    assert.throws(() => client.with({ retries: -1 }), /non-negative integer/);
    assert.throws(() => client.with({ resources: { GPU: "1" } } as never), /resources/);
    assert.throws(
      () => client.with({ prority: 1 } as never),
      /Unknown option 'prority' for client.with\(\)\. Did you mean 'priority'\?/,
    );
  });

  await t.step("the Dask habit submit(fn, x, { retries }) points at client.with", async () => {
    const inc = (x: number) => x + 1;
    assert.throws(
      () => client.submit(inc as (x: number, o: unknown) => number, 1, { retries: 2 }),
      /submit\(\): the last argument \{"retries":2\} looks like options; .*client\.with\(\{"retries":2\}\)\.submit/,
    );
    assert.throws(
      () => client.map(inc as (x: number, o: unknown) => number, [1, 2], { pure: false } as never),
      /map\(\): the last argument \{"pure":false\} looks like options; .*client\.with/,
    );
    assert.throws(
      () => client.map(inc, 5 as never),
      /map\(\): argument 1 after the function is not iterable \(got number\)/,
    );
    // a plain object that is an argument still travels, as delayed(value)
    const keyOf = (o: { key: string }) => o.key;
    assert.equal(await client.submit(keyOf, delayed({ key: "k" })), "k");
    // objects with other keys are arguments as before
    const sum = (o: { a: number; b: number }) => o.a + o.b;
    assert.equal(await client.submit(sum, { a: 1, b: 2 }), 3);
  });

  await t.step("scatter: workers, broadcast, through the scheduler", async () => {
    const [pinned] = client.scatter([[1, 2, 3]], { workers: ["worker-0"] });
    // a task may use scattered data before it is placed: it waits behind the placement
    const early = client.submit((xs: number[]) => xs.length, pinned);
    assert.equal(await early, 3);
    assert.deepEqual((await client.whoHas(pinned))[pinned.key], [addressOf("worker-0")]);
    const everywhere = client.scatter({ table: new Float64Array(1000).fill(1) }, {
      broadcast: true,
    });
    await wait(everywhere.table);
    const holders = (await client.whoHas(everywhere.table))[everywhere.table.key];
    assert.deepEqual([...holders].sort(), workers.map((w) => w.address).sort());
    const relayed: Future<string> = client.scatter("through the scheduler", {
      direct: false,
      hash: false,
    });
    assert.match(relayed.key, /^string-/);
    await wait(relayed);
    assert.equal(relayed.status, "finished");
    assert.equal(await relayed, "through the scheduler");
    const total = client.submit(
      (xs: number[], table: Float64Array) => xs.length + table.length,
      pinned,
      everywhere.table,
    );
    assert.equal(await total, 1003);
  });
});
