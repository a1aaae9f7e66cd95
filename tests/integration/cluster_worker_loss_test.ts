import assert from "node:assert/strict";
import { Client } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";
import { graphTask, RawClient } from "../helpers/raw_client.ts";
import { TaskRef } from "../../core/task.ts";

Deno.test("a killed worker is noticed and its work reruns on the other worker", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const [w0, w1] = cluster.workers;
  // Where a task ran: threads share their process's pid.
  const pidAfter = async (ms: number) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return Deno.pid;
  };
  const onW1 = { workers: ["w1"], allowOtherWorkers: true };

  // A result held only by w1, then a long task running there.
  const [heldPid] = await client.compute([graphTask("held", pidAfter, [0], onW1)], ["held"]);
  assert.equal(heldPid, w1.process.pid);
  client.submit([graphTask("slow", pidAfter, [1500], onW1)], ["slow"]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  w1.process.kill("SIGKILL");

  await cluster.scheduler.waitForLine(
    /worker tcp:\S+ disconnected: lost with 1 tasks processing and 1 results held/,
  );
  // The held result is lost, then recomputed; the long task reruns; both on w0.
  const lost = await client.next((m) => m.op === "lost" && m.key === "held");
  assert.equal(lost.error, undefined);
  await client.waitForKeys(["held", "slow"]);
  const whoHas = await client.request<Record<string, string[]>>("who-has", {
    keys: ["held", "slow"],
  });
  assert.deepEqual(whoHas, { held: [w0.address], slow: [w0.address] });
  const values = await client.getData(w0.address, ["held", "slow"]);
  assert.equal(values.get("held"), w0.process.pid);
  assert.equal(values.get("slow"), w0.process.pid);
  const workers = await client.request<{ name: string }[]>("workers");
  assert.deepEqual(workers.map((w) => w.name), ["w0"]);
  assert.equal((await w1.process.status).signal, "SIGKILL");
});

Deno.test("a worker that stops heartbeating is lost, then reconnects with its data", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const [w0] = cluster.workers;
  const [kept] = await client.compute([graphTask("kept", (x: number) => x * 3, [5])], ["kept"]);
  assert.equal(kept, 15);

  w0.process.kill("SIGSTOP");
  try {
    await cluster.scheduler.waitForLine(
      /worker tcp:\S+ sent nothing for [\d.]+ s \(10 heartbeats\): lost with 0 tasks processing and 1 results held/,
    );
    // No worker is left to recompute it: the client hears it is lost (for now).
    const lost = await client.next((m) => m.op === "lost" && m.key === "kept");
    assert.equal(lost.error, undefined);
  } finally {
    w0.process.kill("SIGCONT");
  }
  // The worker notices, reconnects and reports what it kept; the scheduler brings the key back.
  await w0.process.waitForLine(/lost the scheduler .*reconnecting, keeping 1 keys/);
  await w0.process.waitForLine(/registered with the scheduler at \S+ \(holding 1 keys\)/);
  await client.waitForKeys(["kept"]);
  const values = await client.getData(w0.address, ["kept"]);
  assert.equal(values.get("kept"), 15);
});

Deno.test("a task whose input's holder froze runs once the scheduler writes the holder off", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const [w0, w1] = cluster.workers;
  const onW0 = { workers: ["w0"] };
  const onW1 = { workers: ["w1"], allowOtherWorkers: true };
  // d held by w1, and a pooled connection w0 → w1 from an earlier fetch
  await client.compute([graphTask("d", (x: number) => x + 1, [1], onW1)], ["d"]);
  await client.compute([graphTask("e", (x: number) => x + 1, [2], onW1)], ["e"]);
  await client.compute([graphTask("f", (e: number) => e + 1, [new TaskRef("e")], onW0)], ["f"]);
  // A frozen host: its kernel keeps the sockets open, nothing answers.
  w1.process.kill("SIGSTOP");
  try {
    client.submit([graphTask("t", (d: number) => d * 10, [new TaskRef("d")], onW0)], ["t"]);
    await cluster.scheduler.waitForLine(
      /worker tcp:\S+ sent nothing for [\d.]+ s \(10 heartbeats\)/,
    );
    // d is computed again on w0, which stops waiting on its transfer from w1 (it could wait
    // for the peer connection's 30 s silence timeout): t runs at once. The timeout below is
    // under those 30 s.
    await client.waitForKeys(["t"], 20_000);
    assert.equal((await client.getData(w0.address, ["t"])).get("t"), 20);
    assert.doesNotMatch(w0.process.output(), /sent nothing for/);
  } finally {
    w1.process.kill("SIGCONT");
  }
});

Deno.test("LocalCluster starts a killed worker again under its name, not a retired one", async () => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
  const cluster = client.cluster!;
  const named = async (name: string) => (await client.workers()).find((w) => w.name === name);
  const whenTrue = async (what: string, check: () => Promise<boolean>) => {
    for (const deadline = Date.now() + 30_000; !(await check());) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const [, victim] = cluster.pids.workers;
  const oldAddress = (await named("worker-1"))!.address;

  Deno.kill(victim, "SIGKILL");
  await whenTrue("worker-1 is back", async () => {
    const back = await named("worker-1");
    return back !== undefined && back.address !== oldAddress;
  });
  const restarted = cluster.pids.workers[1];
  assert.notEqual(restarted, victim);
  assert.equal(
    await client.with({ workers: ["worker-1"], pure: false }).submit(() => Deno.pid),
    restarted,
  );

  // A worker that leaves because it was told to stays gone.
  const [kept] = cluster.pids.workers;
  await client.retireWorkers(["worker-0"]);
  await whenTrue("worker-0 has exited", () => {
    try {
      Deno.kill(kept, "SIGCONT"); // throws once the process is gone
      return Promise.resolve(false);
    } catch {
      return Promise.resolve(true);
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 500)); // a restart would be under way by now
  assert.equal(cluster.pids.workers[0], kept);
  assert.deepEqual((await client.workers()).map((w) => w.name), ["worker-1"]);
});
