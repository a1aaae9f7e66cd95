import assert from "node:assert/strict";
import { Client } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";
import { graphTask, RawClient } from "../helpers/raw_client.ts";

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
