import assert from "node:assert/strict";
import { Client } from "../../mod.ts";

Deno.test("client.run, replicate, rebalance, retireWorkers and restart act on real workers", async () => {
  await using client = await Client.local({ nWorkers: 3, threadsPerWorker: 1 });
  const pids = await client.run(() => Deno.pid);
  assert.equal(Object.keys(pids).length, 3);
  assert.equal(new Set(Object.values(pids)).size, 3, "one result per worker process");

  const data = client.submit((n: number) => new Float64Array(n).fill(2), 100_000);
  await data;
  const copies = await client.replicate(data, { n: 3 });
  assert.equal(copies[data.key], 3);
  assert.equal((await client.whoHas(data))[data.key].length, 3);
  await client.rebalance();

  const [victim] = (await client.workers()).map((w) => w.address);
  const retired = await client.retireWorkers([victim]);
  assert.deepEqual(retired, [victim]);
  assert.equal((await client.workers()).length, 2);
  // the data survived the retirement
  const total = client.submit((xs: Float64Array) => xs.reduce((a, b) => a + b, 0), data);
  assert.equal(await total, 200_000);

  const back = await client.restart();
  assert.equal(back, 2);
  assert.equal(data.status, "cancelled");
  assert.equal(await client.submit((x: number) => x * 2, 21), 42);
});

Deno.test("retryDelay waits between retries of a failing task", async () => {
  await using client = await Client.local({ nWorkers: 1, threadsPerWorker: 1 });
  const start = Date.now();
  const flaky = client.with({ retries: 2, retryDelay: 0.3, pure: false }).submit(() => {
    throw new Error("always fails");
  });
  await assert.rejects(() => flaky.result(), /always fails/);
  assert.ok(Date.now() - start >= 600, `two retries 0.3 s apart took ${Date.now() - start} ms`);
});

Deno.test("performanceReport writes a standalone HTML report of the work inside", async () => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/report.html`;
    const value = await client.performanceReport(path, async () => {
      const squares = client.map((x: number) => x * x, [1, 2, 3, 4, 5]);
      return (await client.gather(squares)).reduce((a, b) => a + b, 0);
    });
    assert.equal(value, 55);
    const html = await Deno.readTextFile(path);
    assert.match(html, /^<!doctype html>/i);
    assert.match(html, /lambda|anonymous|map/, "names the task prefix");
    assert.ok(!/<script[^>]+src=/i.test(html), "no external scripts: viewable offline");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
