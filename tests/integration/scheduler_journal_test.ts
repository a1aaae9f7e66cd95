/**
 * The scheduler journal (`--journal-dir`) on real processes: the scheduler is killed with
 * SIGKILL while futures are finished and others run, started again on the same port with the same
 * directory, and the client — which resubmits nothing — gets every value; finished tasks are not
 * computed again; a published dataset survives. The chaos test kills workers and the scheduler at
 * random moments during a graph of a few thousand tasks and checks the exact result.
 */

import assert from "node:assert/strict";
import { Client } from "../../client/client.ts";
import { Event } from "../../client/primitives/event.ts";
import { MultiLock } from "../../client/primitives/multi_lock.ts";
import { Queue } from "../../client/primitives/queue.ts";
import { Lock, Semaphore } from "../../client/primitives/semaphore.ts";
import { Variable } from "../../client/primitives/variable.ts";
import type { Future } from "../../client/future.ts";
import { treeReductionOf } from "../../bench/tree.ts";
import {
  freePort,
  type ManagedProcess,
  startScheduler,
  startWorker,
  type WorkerProcess,
} from "../helpers/cluster.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Appends a line to `path` each time it runs, so a test can count runs. */
const counted = (x: number, path: string) => {
  Deno.writeTextFileSync(path, `${x}\n`, { append: true });
  return x * 10;
};
/** Says it started (a file), then keeps its thread busy for `ms`. */
const slow = (ms: number, marker: string) => {
  Deno.writeTextFileSync(marker, "started\n", { append: true });
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return ms;
};
const plusOne = (x: number) => x + 1;

/** Processes a test started, stopped whatever happens. */
class Processes {
  readonly all: ManagedProcess[] = [];
  add<T extends { process: ManagedProcess }>(started: T): T {
    this.all.push(started.process);
    return started;
  }
  async stop(): Promise<void> {
    await Promise.all(this.all.map((p) => p.stop()));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "a scheduler killed and restarted with its journal: finished futures stay finished, " +
    "running work completes, datasets survive, nothing resubmitted",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "journal-test-" });
    const processes = new Processes();
    const warn = console.warn;
    console.warn = () => {}; // the client's "reconnecting" lines
    let client: Client | undefined;
    let other: Client | undefined;
    try {
      const port = freePort();
      const schedulerArgs = ["--port", String(port), "--journal-dir", `${dir}/journal`];
      const first = processes.add(await startScheduler(schedulerArgs));
      const address = first.address;
      await Promise.all(
        ["w0", "w1"].map((name) =>
          startWorker(address, { name, nthreads: 2 }).then((w) => processes.add(w))
        ),
      );
      client = await Client.connect(address, { reconnectTimeout: 60, setAsDefault: false });
      const runs = `${dir}/runs`;
      const finished = [1, 2, 3, 4, 5, 6].map((i) => client!.submit(counted, i, runs));
      assert.deepEqual(await client.gather(finished), [10, 20, 30, 40, 50, 60]);
      await client.publishDataset({ kept: finished.slice(0, 2) });
      const marker = `${dir}/slow`;
      const running = client.submit(slow, 1500, marker);
      const after = client.submit(plusOne, running);
      while (!await exists(marker)) await sleep(20);

      first.process.kill("SIGKILL");
      await first.process.status;
      const second = processes.add(await startScheduler(schedulerArgs));
      assert.equal(second.address, address);

      // the finished values come from the workers' memory: nothing ran twice
      assert.deepEqual(await client.gather(finished), [10, 20, 30, 40, 50, 60]);
      assert.ok(finished.every((f) => f.status === "finished"));
      const lines = (await Deno.readTextFile(runs)).trim().split("\n").sort();
      assert.deepEqual(lines, ["1", "2", "3", "4", "5", "6"]);
      // the task that ran during the kill completes, and so does what reads it
      assert.equal(await after.result(60), 1501);
      assert.equal(await running.result(60), 1500);
      await second.process.waitForLine(/replayed the journal: \d+ tasks, \d+ clients, 1 datasets/);
      // a client that never saw the first scheduler gets the published dataset
      other = await Client.connect(address, { setAsDefault: false });
      const kept = await other.getDataset<Future<number>[]>("kept");
      assert.deepEqual(await other.gather(kept), [10, 20]);
      // the journal goes on serving new work
      assert.equal(await client.submit(plusOne, 41).result(30), 42);
    } finally {
      console.warn = warn;
      await other?.close();
      await client?.close();
      await processes.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a scheduler killed and restarted with its journal keeps queues' items, variables' " +
    "values, held locks, semaphore leases and multi-locks and which Events are set; a queue.get, event.wait " +
    "and lock.acquire waiting across the kill complete on the restarted scheduler",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "journal-test-" });
    const processes = new Processes();
    const warn = console.warn;
    console.warn = () => {}; // the client's "reconnecting" lines
    let holder: Client | undefined;
    let other: Client | undefined;
    try {
      const port = freePort();
      const schedulerArgs = ["--port", String(port), "--journal-dir", `${dir}/journal`];
      const first = processes.add(await startScheduler(schedulerArgs));
      const address = first.address;
      processes.add(await startWorker(address, { name: "w0", nthreads: 1 }));
      holder = await Client.connect(address, { reconnectTimeout: 60, setAsDefault: false });
      const options = { client: holder };
      const queue = new Queue<unknown>("jobs", { ...options, maxsize: 5 });
      await queue.put("taken before the kill");
      await queue.put(holder.submit(plusOne, 41));
      await queue.put("third");
      assert.equal(await queue.get(), "taken before the kill");
      const answer = new Variable<{ answer: number }>("answer", options);
      await answer.set({ answer: 7 });
      const computed = new Variable<unknown>("computed", options);
      await computed.set(holder.submit(plusOne, 99));
      const lock = new Lock("exclusive", options);
      assert.ok(await lock.acquire());
      const pool = new Semaphore(2, "pool", options);
      assert.ok(await pool.acquire());
      const both = new MultiLock(["left", "right"], options);
      assert.ok(await both.acquire());
      await new Event("ready", options).set();
      const cleared = new Event("cleared", options);
      await cleared.set();
      await cleared.clear();
      // requests still waiting when the scheduler dies: the client sends them again once it
      // reconnected, so they complete on the restarted scheduler
      const waitingGet = new Queue<unknown>("empty", options).get({ timeout: 60 });
      const waitingEvent = new Event("later", options).wait({ timeout: 60 });
      const secondLock = new Lock("exclusive", options);
      const waitingLock = secondLock.acquire({ timeout: 60 });
      await new Promise((resolve) => setTimeout(resolve, 200)); // they reach the scheduler

      first.process.kill("SIGKILL");
      await first.process.status;
      const second = processes.add(await startScheduler(schedulerArgs));
      await second.process.waitForLine(/replayed the journal/);

      other = await Client.connect(address, { setAsDefault: false });
      const theirs = { client: other };
      const theirQueue = new Queue<unknown>("jobs", theirs);
      assert.equal(await theirQueue.qsize(), 2);
      const future = await theirQueue.get();
      assert.equal(await other.gather(future as never), 42);
      assert.equal(await theirQueue.get({ timeout: 5 }), "third");
      assert.deepEqual(await new Variable("answer", theirs).get({ timeout: 5 }), { answer: 7 });
      const held = await new Variable<unknown>("computed", theirs).get({ timeout: 5 });
      assert.equal(await other.gather(held as never), 100);
      // the lock is still held by the client that took it before the kill
      const theirLock = new Lock("exclusive", theirs);
      assert.equal(await theirLock.acquire({ timeout: 0.5 }), false);
      assert.equal(await new Event("ready", theirs).isSet(), true);
      assert.equal(await new Event("cleared", theirs).isSet(), false);
      // the multi-lock is still held too; released, the other client gets one of its locks
      const theirRight = new MultiLock(["right"], theirs);
      assert.equal(await theirRight.acquire({ timeout: 0.5 }), false);
      await both.release();
      assert.ok(await theirRight.acquire({ timeout: 5 }));
      await theirRight.release();
      await new Queue<unknown>("empty", theirs).put("after the restart");
      assert.equal(await waitingGet, "after the restart");
      await new Event("later", theirs).set();
      assert.equal(await waitingEvent, true);
      const theirPool = new Semaphore(2, "pool", theirs);
      assert.ok(await theirPool.acquire({ timeout: 5 }));
      assert.equal(await theirPool.acquire({ timeout: 0.5 }), false, "one lease is still held");
      // its holder gives it back through the new scheduler, and the other client gets it
      await lock.release();
      // the holder's own second acquire, waiting since before the kill, gets it first
      assert.ok(await waitingLock);
      assert.equal(await theirLock.acquire({ timeout: 0.5 }), false);
      await secondLock.release();
      assert.ok(await theirLock.acquire({ timeout: 5 }));
      await theirLock.release();
      await pool.release();
      assert.ok(await theirPool.acquire({ timeout: 5 }));
    } finally {
      console.warn = warn;
      await other?.close();
      await holder?.close();
      await processes.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a journal directory that cannot be used stops the scheduler with the reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "journal-test-" });
  try {
    const file = `${dir}/not-a-directory`;
    await Deno.writeTextFile(file, "");
    await assert.rejects(
      () => startScheduler(["--journal-dir", file]),
      /cannot use the journal in .*not-a-directory.*--journal-dir a directory/s,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Bytes in the journal's files. */
function journalBytes(dir: string): number {
  let bytes = 0;
  try {
    for (const entry of Deno.readDirSync(dir)) bytes += Deno.statSync(`${dir}/${entry.name}`).size;
  } catch {
    // not made yet, or a file renamed while reading: counted next time
  }
  return bytes;
}

/** A leaf that takes 3 ms of CPU, so the graph is still running when processes die. */
const leaf = (i: number) => {
  const end = performance.now() + 3;
  while (performance.now() < end) { /* busy */ }
  return i;
};

/** A pairwise tree reduction over `n` leaves that take CPU: 2n - 1 tasks. */
const treeSum = (n: number) => treeReductionOf(n, leaf);

Deno.test({
  name: "chaos with a journal: workers and the scheduler killed at random moments during a " +
    "4,095-task graph; the result is exact and the caller resubmits nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "journal-chaos-" });
    const processes = new Processes();
    const warn = console.warn;
    console.warn = () => {};
    let client: Client | undefined;
    // a seeded draw, so a failure can be replayed (the seed is in the assertion messages)
    const seed = Date.now() % 100_000;
    let state = seed;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const events: string[] = [];
    try {
      const port = freePort();
      const schedulerArgs = [
        "--port",
        String(port),
        "--journal-dir",
        `${dir}/journal`,
        "--journal-wait",
        "2",
      ];
      let scheduler = processes.add(await startScheduler(schedulerArgs));
      const address = scheduler.address;
      const alive: WorkerProcess[] = [];
      let named = 0;
      const addWorker = async () => {
        const worker = processes.add(await startWorker(address, { name: `c${named++}` }));
        alive.push(worker);
      };
      await Promise.all([addWorker(), addWorker(), addWorker()]);
      client = await Client.connect(address, { reconnectTimeout: 60, setAsDefault: false });
      const leaves = 2048;
      const total = client.compute(treeSum(leaves));
      let done = false;
      void total.then(() => done = true, () => done = true);
      // What a scheduler never read cannot be journaled (the client wrote it, the scheduler died
      // before reading it): the chaos starts once the graph is in the journal.
      while (journalBytes(`${dir}/journal`) < 50_000) await sleep(20);
      const chaos = (async () => {
        for (let round = 0; round < 4 && !done; round++) {
          await sleep(300 + random() * 700);
          if (done) break;
          if (round % 2 === 0) {
            events.push(`scheduler killed in round ${round}`);
            scheduler.process.kill("SIGKILL");
            await scheduler.process.status;
            scheduler = processes.add(await startScheduler(schedulerArgs));
          } else {
            const victim = alive.splice(Math.floor(random() * alive.length), 1)[0];
            events.push(`worker ${victim.name} killed in round ${round}`);
            victim.process.kill("SIGKILL");
            // a fresh worker registers once the scheduler is there (it waits for it)
            await startWorker(address, { name: `c${named++}`, registered: false }).then((w) => {
              processes.add(w);
              alive.push(w);
            });
          }
        }
      })();
      const sum = await total.result(60).catch((error) => {
        throw new Error(`seed ${seed}: ${events.join("; ")}: ${error}`, { cause: error });
      });
      await chaos;
      assert.equal(sum, (leaves * (leaves - 1)) / 2, `seed ${seed}: ${events.join("; ")}`);
      assert.ok(
        events.some((e) => e.startsWith("scheduler")),
        `seed ${seed}: the scheduler was never killed (${events.join("; ")})`,
      );
    } finally {
      console.warn = warn;
      await client?.close();
      await processes.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
