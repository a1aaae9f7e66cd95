/**
 * Reference counting on a real cluster: the workers free a result's memory once no Future of
 * any client holds it (released, or garbage-collected), and a task's inputs travel from worker
 * to worker. Workers report their memory in heartbeats (every 0.5 s), so readings are polled.
 */

import assert from "node:assert/strict";
import { Client, type Future, wait } from "../../mod.ts";

const zeros = (n: number) => new Float64Array(n);
const MB = 1e6;

async function memoryOf(client: Client): Promise<number> {
  return (await client.workers()).reduce((n, w) => n + w.memory, 0);
}

/** Polls until `done(value)` or a deadline; returns the last value. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

Deno.test("memory on the workers follows the client's futures", async (t) => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
  const baseline = await memoryOf(client);

  await t.step("release() frees the result on the workers", async () => {
    const big = client.submit(zeros, 5_000_000); // 40 MB
    await wait(big);
    const held = await until(() => memoryOf(client), (m) => m >= baseline + 40 * MB);
    assert.ok(held >= baseline + 40 * MB, `held ${held}`);
    big.release();
    const after = await until(() => memoryOf(client), (m) => m < baseline + MB);
    assert.ok(after < baseline + MB, `after release: ${after}`);
    // and the key is forgotten: asking for it again computes it anew
    const again = client.submit(zeros, 5_000_000);
    assert.equal(again.status, "pending");
    assert.equal((await again).length, 5_000_000);
    again.release();
  });

  await t.step("shared keys are freed only when their last Future goes", async () => {
    const a = client.submit(zeros, 2_500_000);
    const b = client.submit(zeros, 2_500_000); // the same key: one result
    assert.equal(a.key, b.key);
    await wait(a);
    await until(() => memoryOf(client), (m) => m >= baseline + 20 * MB);
    a.release();
    await new Promise((resolve) => setTimeout(resolve, 1200)); // two heartbeats
    assert.ok((await memoryOf(client)) >= baseline + 20 * MB, "b still holds it");
    assert.equal((await b).length, 2_500_000);
    b.release();
    const after = await until(() => memoryOf(client), (m) => m < baseline + MB);
    assert.ok(after < baseline + MB, `after the last release: ${after}`);
  });

  await t.step("a garbage-collected Future releases its key", async () => {
    const script = new URL("./client_memory_gc_script.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--expose-gc", script, client.schedulerAddress],
      // another process: it gets the cluster's token as every client would (docs/security.md)
      env: { DASK_DENO_AUTH_TOKEN: client.cluster!.authToken! },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const { before, during, after } = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.ok(during >= before + 40 * MB, `during ${during}, before ${before}`);
    assert.ok(after < before + MB, `after gc ${after}, before ${before}`);
  });

  await t.step("inputs move from worker to worker", async () => {
    const workers = await client.workers();
    const [w0, w1] = ["worker-0", "worker-1"].map((n) => workers.find((w) => w.name === n)!);
    const data: Future<Float64Array> = client.with({ workers: ["worker-0"] }).submit(
      (n: number) => new Float64Array(n).fill(1),
      1_000_000,
    );
    const total = client.with({ workers: ["worker-1"] }).submit(
      (xs: Float64Array) => xs.reduce((a, b) => a + b, 0),
      data,
    );
    assert.equal(await total, 1_000_000);
    // the input lives on worker-0 only (worker-1 dropped its copy once used), and the sum was
    // computed on worker-1: the data went from worker-0 to worker-1, not through the client
    const holders = await client.whoHas([data, total]);
    assert.deepEqual(holders[data.key], [w0.address]);
    assert.deepEqual(holders[total.key], [w1.address]);
    data.release();
    total.release();
  });
});
