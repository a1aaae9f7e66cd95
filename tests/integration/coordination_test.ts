/**
 * Shared state held by the scheduler, between real client processes: Queue, Variable, Lock,
 * Event, Semaphore (a lease returns when its holder's process is SIGKILLed).
 */

import assert from "node:assert/strict";
import {
  Client,
  Event,
  type Future,
  Lock,
  MultiLock,
  Queue,
  Semaphore,
  TimeoutError,
  Variable,
} from "../../mod.ts";
import { ManagedProcess, startCluster } from "../helpers/cluster.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;

/** A client process that takes the semaphore's only lease and then waits to be killed. */
const HOLDER = `
import { Client, Semaphore } from ${JSON.stringify(MOD)};
const client = await Client.connect(Deno.args[0], { setAsDefault: false });
const semaphore = new Semaphore(1, "one-at-a-time", { client });
if (!await semaphore.acquire({ timeout: 30 })) throw new Error("no lease");
console.log("holding");
await new Promise(() => {});
`;

Deno.test("queues, variables, locks, events and semaphores shared by clients", async (t) => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 2 });
  await using a = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  await using b = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });

  await t.step("Queue: put, get, qsize, batches, timeouts, futures as items", async () => {
    const qa = new Queue<number>("numbers", { client: a });
    const qb = new Queue<number>("numbers", { client: b });
    await qa.put(1);
    await qa.put(2);
    await qa.put(3);
    assert.equal(await qb.qsize(), 3);
    assert.equal(await qb.get(), 1);
    assert.deepEqual(await qb.get({ batch: 1 }), [2]);
    assert.deepEqual(await qb.get({ batch: true }), [3]);
    assert.deepEqual(await qb.get({ batch: true }), []);
    await assert.rejects(() => qb.get({ timeout: 0.05 }), TimeoutError);
    // a waiting get takes the next put
    const waiting = qb.get({ timeout: 30 });
    await qa.put(4);
    assert.equal(await waiting, 4);
    // a future in the queue keeps its data after its client lets go of it
    const futures = new Queue<Future<number>>("futures", { client: a });
    const x = a.submit((n: number) => n * 10, 7);
    await futures.put(x);
    x.release();
    const [back] = await new Queue<Future<number>>("futures", { client: b }).get({ batch: true });
    assert.equal(await back, 70);
  });

  await t.step("one client's calls reach the scheduler in the order they were made", async () => {
    // a put went a tick after the calls made beside it (it awaited readiness first), so a
    // qsize or get(batch) called right after an unawaited put overtook it and missed the item
    const queue = new Queue<number>("in-order", { client: a });
    const variable = new Variable<number>("in-order", { client: a });
    const puts = [queue.put(1), queue.put(2)];
    const sizes = [queue.qsize(), queue.get({ batch: true })];
    assert.deepEqual(await Promise.all(sizes), [2, [1, 2]]);
    // set, then delete: the variable ends empty (the late set used to land after the delete)
    const writes = [variable.set(5), variable.delete()];
    await assert.rejects(() => variable.get({ timeout: 0.05 }), TimeoutError);
    await Promise.all([...puts, ...writes]);
  });

  await t.step(
    "a client waiting on a get, a lock or an event still puts, submits and sets",
    async () => {
      // the scheduler answered one client's requests one after another: a waiting get held back
      // everything that client said after it, its own put included (the get then timed out)
      const queue = new Queue<number>("self-fed", { client: a });
      const waiting = queue.get({ timeout: 30 });
      const lock = new Lock("self-held", { client: a });
      assert.equal(await lock.acquire({ timeout: 5 }), true);
      const blocked = new Lock("self-held", { client: a }).acquire({ timeout: 30 });
      const event = new Event("self-set", { client: a });
      const waitingForEvent = event.wait({ timeout: 30 });
      assert.equal(await a.submit((n: number) => n + 1, 41), 42);
      await queue.put(7);
      assert.equal(await waiting, 7);
      await event.set();
      assert.equal(await waitingForEvent, true);
      await lock.release();
      assert.equal(await blocked, true);
    },
  );

  await t.step("Variable: set, get, delete; futures kept while held", async () => {
    const va = new Variable<{ data: Future<string> }>("shared", { client: a });
    const vb = new Variable<{ data: Future<string> }>("shared", { client: b });
    await assert.rejects(() => vb.get({ timeout: 0.05 }), TimeoutError);
    const pending = vb.get({ timeout: 30 });
    const [data] = a.scatter(["payload"]);
    await va.set({ data });
    data.release();
    assert.equal(await (await pending).data, "payload");
    await va.set({ data: a.submit((s: string) => s + "!", "next") });
    assert.equal(await (await vb.get()).data, "next!");
    await vb.delete();
    await assert.rejects(() => vb.get({ timeout: 0.05 }), TimeoutError);
  });

  await t.step("Lock: one holder among clients; await using releases it", async () => {
    const la = new Lock("file", { client: a });
    const lb = new Lock("file", { client: b });
    {
      await using _held = await la.hold();
      assert.equal(await lb.acquire({ timeout: 0.05 }), false);
    }
    assert.equal(await lb.acquire({ timeout: 5 }), true);
    await lb.release();
    await assert.rejects(() => lb.release(), /released more often than acquired/);
  });

  await t.step("Event: set, clear, wait, isSet", async () => {
    const ea = new Event("go", { client: a });
    const eb = new Event("go", { client: b });
    assert.equal(await eb.isSet(), false);
    assert.equal(await eb.wait({ timeout: 0.05 }), false);
    const waiting = eb.wait();
    await ea.set();
    assert.equal(await waiting, true);
    assert.equal(await eb.isSet(), true);
    await ea.clear();
    assert.equal(await eb.isSet(), false);
  });

  await t.step("Queue maxsize: a put into a full queue waits for room, or times out", async () => {
    const qa = new Queue<string>("bounded", { client: a, maxsize: 2 });
    // another client's object without a bound uses the first one declared
    const qb = new Queue<string>("bounded", { client: b });
    await qa.put("1");
    await qb.put("2");
    await assert.rejects(() => qb.put("late", { timeout: 0.05 }), TimeoutError);
    assert.equal(await qa.qsize(), 2);
    const waiting = qb.put("3", { timeout: 30 });
    assert.equal(await qa.get({ timeout: 5 }), "1");
    await waiting;
    assert.deepEqual(await qa.get({ batch: true }), ["2", "3"]);
    assert.throws(() => new Queue("bad", { client: a, maxsize: -1 }), /maxsize must be/);
  });

  await t.step("MultiLock: several locks as one, in request order; numLocks", async () => {
    const first = new MultiLock(["x", "y"], { client: a });
    const second = new MultiLock(["y", "z"], { client: b });
    assert.equal(await first.acquire({ timeout: 5 }), true);
    assert.equal(await second.acquire({ timeout: 0.05 }), false); // y is held
    const later = second.acquire({ timeout: 30 });
    // z alone is behind second's request there: fair order
    const onlyZ = new MultiLock(["z"], { client: a });
    assert.equal(await onlyZ.acquire({ timeout: 0.05 }), false);
    await first.release();
    assert.equal(await later, true);
    assert.equal(second.locked, true);
    // any one of x, y, z: x is free
    const anyOne = new MultiLock(["x", "y", "z"], { client: a });
    assert.equal(await anyOne.acquire({ timeout: 5, numLocks: 1 }), true);
    await anyOne.release();
    await second.release();
    {
      await using _held = await onlyZ.hold({ timeout: 5 });
      assert.equal(onlyZ.locked, true);
    }
    assert.equal(onlyZ.locked, false);
  });

  await t.step("Semaphore: a SIGKILLed holder's lease returns", async () => {
    const dir = await Deno.makeTempDir();
    const script = `${dir}/holder.ts`;
    await Deno.writeTextFile(script, HOLDER);
    const holder = new ManagedProcess("holder", ["run", "-A", script, cluster.schedulerAddress]);
    try {
      await holder.waitForLine(/holding/);
      const semaphore = new Semaphore(1, "one-at-a-time", { client: a });
      assert.equal(await semaphore.acquire({ timeout: 0.05 }), false);
      const acquiring = semaphore.acquire({ timeout: 30 });
      holder.child.kill("SIGKILL");
      assert.equal(await acquiring, true);
      await semaphore.release();
      // one name, one lease count
      await assert.rejects(
        () => new Semaphore(2, "one-at-a-time", { client: a }).acquire(),
        /exists with maxLeases 1/,
      );
    } finally {
      if (!holder.exited) holder.child.kill("SIGKILL");
      await holder.status;
      await Deno.remove(dir, { recursive: true });
    }
  });
});
