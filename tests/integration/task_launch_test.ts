/**
 * Tasks that launch tasks, on real processes: getClient() in a task, secede/rejoin so a task
 * waiting on its subtasks does not hold the only thread, workerClient() trees, and shared state
 * (Queue, Variable, Semaphore) used from tasks — a task's lease returns when its worker is
 * SIGKILLed.
 */

import assert from "node:assert/strict";
import {
  Client,
  delayed,
  Event,
  Future,
  Pub,
  Queue,
  Semaphore,
  shutdownThreads,
  Sub,
  TimeoutError,
} from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";
import { tasks } from "../helpers/launching_tasks.ts";

Deno.test("a task on a 1-thread worker submits and waits on 100 subtasks (seceded)", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  // every subtask needs the worker's only thread, which the parent holds until it secedes
  assert.equal(await client.submit(tasks.fanOut, 100), 9900, cluster.logs());
  // the thread's client is reused: a second parent on the same thread finds it
  assert.equal(await client.submit(tasks.fanOut, 10), 90);
});

Deno.test("Futures are returned from tasks and passed into tasks", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const outer = client.submit(tasks.submitAndReturn, 1);
  const [inner] = await outer;
  assert.ok(inner instanceof Future, `a Future comes back, not ${inner}`);
  assert.equal(await inner, 2);
  // a task reading that result gets the Future (of its own client) and waits on it
  assert.equal(await client.submit(tasks.awaitPassed, outer), 12);
  // the key stays while this client holds its Future, after the task's result is gone
  outer.release();
  assert.equal(await client.futureOf(inner.key), 2);
});

Deno.test("a task tree 3 levels deep through workerClient() on 1-thread workers", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  // 1 + 3 + 9 tasks wait on their children, 27 leaves: more waiting tasks than threads
  assert.equal(await client.submit(tasks.tree, 3, 3, "root"), 27, cluster.logs());
});

Deno.test("shared state from tasks: a task's queue, variable, and a lease its dead worker held", async (t) => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });

  await t.step("shared state made in a task without a client uses the task's client", async () => {
    // the first step: no task thread has connected yet, and the task never calls getClient()
    using sub = new Sub<string>("early-topic", { client });
    await sub.subscribed;
    assert.equal(await client.submit(tasks.sharedWithoutClient, "early").result(60), 42);
    assert.equal(await new Queue<number>("early", { client }).get({ timeout: 30 }), 1);
    assert.equal(await sub.get({ timeout: 30 }), "from a task");
  });

  await t.step("a Queue filled by a task is read by a client", async () => {
    const producer = client.submit(tasks.produce, "from-task", 5);
    const queue = new Queue<number | null>("from-task", { client });
    const got: number[] = [];
    for (;;) {
      const item = await queue.get({ timeout: 30 });
      if (item === null) break;
      got.push(item);
    }
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    assert.equal(await producer, 5);
  });

  await t.step("a Variable set in a task is read back there and here", async () => {
    assert.equal(await client.submit(tasks.shareFromTask, "set-in-task", 42), 42);
  });

  await t.step(
    "a Semaphore lease held by a task returns when its worker is SIGKILLed",
    async () => {
      const holder = client.with({ workers: ["w0"] }).submit(tasks.holdLease, "guarded");
      const held = new Event("guarded-held", { client });
      assert.equal(await held.wait({ timeout: 30 }), true, cluster.logs());
      const semaphore = new Semaphore(1, "guarded", { client });
      assert.equal(await semaphore.acquire({ timeout: 0.1 }), false);
      cluster.workers[0].process.kill("SIGKILL");
      assert.equal(await semaphore.acquire({ timeout: 30 }), true, cluster.logs());
      await semaphore.release();
      await holder.cancel();
    },
  );

  await t.step(
    "getClient() outside a task is the current client; secede() is refused",
    async () => {
      const { getClient, secede } = await import("../../mod.ts");
      await assert.rejects(() => getClient(), /No client is connected/);
      assert.throws(() => secede(), /inside a task/);
    },
  );
});

Deno.test("Pub/Sub between two tasks on different workers, and to a client", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  using clientSub = new Sub<number>("numbers", { client });
  await clientSub.subscribed;
  const collected = client.with({ workers: ["w0"] }).submit(tasks.collect, "numbers", 3);
  const published = client.with({ workers: ["w1"] }).submit(tasks.publish, "numbers", 3);
  assert.equal(await published, 3, cluster.logs());
  assert.deepEqual(await collected, [0, 1, 2], cluster.logs());
  // the client's Sub got them too (through the scheduler)
  const here = [];
  for (let i = 0; i < 3; i++) here.push(await clientSub.get({ timeout: 10 }));
  assert.deepEqual(here, [0, 1, 2]);
  await assert.rejects(() => clientSub.get({ timeout: 0.05 }), TimeoutError);
  // a client's Pub reaches a client's Sub; a closed Sub gets nothing more
  await new Pub<number>("numbers", { client }).put(7);
  assert.equal(await clientSub.get({ timeout: 10 }), 7);
});

Deno.test("getClient() in a task of the local threads scheduler says there is no cluster", async () => {
  try {
    await assert.rejects(
      () => delayed(tasks.fanOut)(3).compute({ scheduler: "threads" }),
      /runs on the local `threads` scheduler, which has no cluster/,
    );
  } finally {
    shutdownThreads();
  }
});
