/**
 * Chaos: real scheduler and worker processes, workers killed with SIGKILL while a 5,000-task
 * graph runs, the scheduler killed mid-session and started again on the same port.
 */

import assert from "node:assert/strict";
import { Client } from "../../client/client.ts";
import * as bag from "../../collections/bag/mod.ts";
import { collectGraph, collectionSymbol } from "../../collections/collection.ts";
import { treeReductionOf } from "../../bench/tree.ts";
import {
  freePort,
  type ManagedProcess,
  startCluster,
  startScheduler,
  startWorker,
  type WorkerProcess,
} from "../helpers/cluster.ts";

/** A leaf that takes 4 ms of CPU, so the graph is still running when workers die. */
const leaf = (i: number) => {
  const end = performance.now() + 4;
  while (performance.now() < end) { /* busy */ }
  return i;
};

/** A pairwise tree reduction over `n` leaves that take CPU: 2n - 1 tasks. */
const treeSum = (n: number) => treeReductionOf(n, leaf);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name:
    "workers killed with SIGKILL during a 5,000-task graph: the result is exact, each loss noticed at once",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using cluster = await startCluster({ nWorkers: 3, nthreads: 1 });
    const client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
    const replacements: WorkerProcess[] = [];
    try {
      const leaves = 2048; // 4,095 tasks
      const tree = treeSum(leaves);
      const numbers = bag.range(12_000, { npartitions: 32 });
      const groups = numbers.groupby((x: number) => x % 11)
        .map(([k, xs]: [number, number[]]) => [k, xs.reduce((s, x) => s + x, 0)]);
      const tasks = collectGraph([
        tree[collectionSymbol].layer(),
        groups[collectionSymbol].layer(),
      ]);
      assert.ok(tasks.size >= 5000, `${tasks.size} tasks`);
      const started = performance.now();
      const killedAt: number[] = [];
      const [total, grouped] = client.compute([tree, groups]);
      // Kill a worker three times while it runs; a fresh one joins after each kill.
      const killer = (async () => {
        const alive = [...cluster.workers];
        const joining: Promise<void>[] = [];
        for (let round = 0; round < 3; round++) {
          await sleep(1000);
          const victim = alive.shift()!;
          victim.process.kill("SIGKILL");
          killedAt.push((performance.now() - started) / 1000);
          joining.push(
            startWorker(cluster.schedulerAddress, { name: `r${round}` }).then((fresh) => {
              replacements.push(fresh);
              alive.push(fresh);
            }),
          );
        }
        await Promise.all(joining);
      })();
      const [sum, byKey] = await Promise.all([total, grouped]) as [number, [number, number][]];
      const seconds = (performance.now() - started) / 1000;
      await killer;
      assert.equal(sum, (leaves * (leaves - 1)) / 2);
      const expected = new Map<number, number>();
      for (let x = 0; x < 12_000; x++) expected.set(x % 11, (expected.get(x % 11) ?? 0) + x);
      assert.deepEqual(new Map(byKey), expected);
      // The kills happened while the graph ran.
      assert.ok(
        killedAt.length === 3 && killedAt[2] < seconds,
        `kills at ${killedAt}, end ${seconds}`,
      );
      // Each kill was noticed at once (socket closed), not after missed heartbeats.
      const lostLines = cluster.scheduler.lines.filter((l) => /disconnected: lost with/.test(l));
      assert.ok(lostLines.length >= 3, cluster.scheduler.output());
      console.log(`  ${tasks.size}-task graph with 3 SIGKILLs: ${seconds.toFixed(1)} s`);
    } finally {
      await client.close();
      await Promise.all(replacements.map((w) => w.process.stop()));
    }
  },
});

Deno.test({
  name: "the scheduler killed mid-session and started again: workers and client reconnect",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const port = freePort();
    const schedulerArgs = ["--port", String(port)];
    const processes: ManagedProcess[] = [];
    let first = await startSchedulerOn(schedulerArgs);
    processes.push(first.process);
    const workers = await Promise.all(
      ["w0", "w1"].map((name) => startWorker(first.address, { name })),
    );
    processes.push(...workers.map((w) => w.process));
    const client = await Client.connect(first.address, { setAsDefault: false });
    try {
      assert.equal(await client.submit((x: number) => x * 2, 21), 42);
      // A long task is pending when the scheduler dies.
      const pending = client.submit((ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end) { /* busy */ }
        return "late";
      }, 3000);
      await sleep(300);
      first.process.kill("SIGKILL");
      await first.process.status;
      await sleep(500);
      // no grace for workers to bring results back: else the worker may finish the task first and
      // the future rightly comes back finished (client_reconnect_test.ts covers that path)
      first = await startSchedulerOn([...schedulerArgs, "--restart-grace", "0"]);
      processes.push(first.process);
      // Workers come back by themselves.
      await Promise.all(
        workers.map((w) => waitForCount(w.process, /registered with the scheduler/, 2)),
      );
      // The pending future ends as lost, saying to resubmit.
      await assert.rejects(async () => await pending, (error: Error) => {
        assert.match(error.message, /[Ss]ubmit/);
        return true;
      });
      assert.equal(pending.status, "lost");
      // New work runs normally on the new scheduler.
      const futures = client.map((x: number) => x + 1, [1, 2, 3, 4]);
      assert.deepEqual(await client.gather(futures), [2, 3, 4, 5]);
    } finally {
      await client.close();
      await Promise.all(processes.map((p) => p.stop()));
    }
  },
});

async function startSchedulerOn(args: string[]) {
  // startScheduler passes --port 0; a later --port wins in parseArgs.
  return await startScheduler(args);
}

async function waitForCount(process: ManagedProcess, pattern: RegExp, count: number) {
  const deadline = Date.now() + 15_000;
  while (process.lines.filter((l) => pattern.test(l)).length < count) {
    if (Date.now() > deadline) throw new Error(`${process.label}: ${pattern} not seen ${count}×`);
    await sleep(50);
  }
}
