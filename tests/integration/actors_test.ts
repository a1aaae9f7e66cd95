/**
 * Actors on real processes: a counter called 10,000 times from 4 tasks at once keeps an exact
 * count; a method's error reaches its caller; attribute reads; and calls
 * to an actor whose worker was SIGKILLed fail naming the lost actor.
 */

import assert from "node:assert/strict";
import { type ActorHandle, ActorLostError, Client, Variable } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";

class Counter {
  n: number;
  constructor(start = 0) {
    this.n = start;
  }
  increment(by = 1) {
    this.n += by;
    return this.n;
  }
  async later(ms: number) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.n;
  }
  fail(message: string) {
    throw new RangeError(message);
  }
}

Deno.test("an actor counter called 10,000 times from 4 tasks in parallel keeps an exact count", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 2 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const counter: ActorHandle<Counter> = await client.actor(Counter, 0);
  assert.equal(await counter.increment(), 1);
  // each task calls the actor's worker straight from its thread, 2,500 times in a row
  const hammer = async (c: ActorHandle<Counter>, times: number) => {
    let last = 0;
    for (let i = 0; i < times; i++) last = await c.increment();
    return last;
  };
  const parts = Array.from(
    { length: 4 },
    (_, i) => client.with({ pure: false, key: `hammer-${i}` }).submit(hammer, counter, 2500),
  );
  const lasts = await client.gather(parts);
  assert.equal(await counter.n, 10_001, cluster.logs());
  // the calls interleaved, and the last one of them all saw the final count
  assert.equal(Math.max(...lasts), 10_001);
});

Deno.test("actor calls: order, results, attribute reads, errors, and the Dask submit form", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const counter = await client.actor(Counter, 10);
  // calls from one caller run in the order they were made, also when not awaited one by one
  const calls = Array.from({ length: 100 }, () => counter.increment());
  assert.deepEqual(await Promise.all(calls), Array.from({ length: 100 }, (_, i) => 11 + i));
  assert.equal(await counter.later(5), 110);
  // a method's error reaches the caller, as the error it threw
  await assert.rejects(counter.fail("too far"), (error: Error) => {
    assert.equal(error.name, "RangeError");
    assert.match(error.message, /too far/);
    return true;
  });
  // the actor keeps serving after an error
  assert.equal(await counter.increment(), 111);
  await assert.rejects(
    (counter as unknown as { missing: Promise<unknown> }).missing,
    /has no attribute 'missing'/,
  );
  // Dask's form: submit the class with { actor: true } for a Future of the handle
  const future = client.with({ actor: true }).submit(Counter, 5);
  const other: ActorHandle<Counter> = await future;
  assert.equal(await other.increment(), 6);
  const again = client.with({ actor: true }).submit(Counter, 5);
  assert.notEqual(again.key, future.key, "each actor is a new one");
  assert.equal(await (await again).increment(), 6);
  // a class without the option is refused with what to write instead
  assert.throws(() => client.submit(Counter, 1), /Counter is a class; .* client\.actor\(Counter/);
  assert.equal(await other.n, 6);
  assert.equal(await counter.n, 111, "the other actor is untouched");
});

Deno.test("calls to an actor whose worker died fail with ActorLostError", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const counter = await client.with({ actor: true, workers: "w1" }).submit(Counter);
  assert.equal(await counter.increment(), 1);
  const slow = counter.later(60_000); // in flight when the worker dies
  await new Promise((resolve) => setTimeout(resolve, 100));
  cluster.workers[1].process.kill("SIGKILL");
  await assert.rejects(slow, (error: Error) => {
    assert.ok(error instanceof ActorLostError, `${error.name}: ${error.message}`);
    assert.match(error.message, new RegExp(`worker ${cluster.workers[1].address}`));
    return true;
  });
  await assert.rejects(counter.increment(), ActorLostError);
});

Deno.test("a lost actor is built again for its Future; the old handle fails, saying what to do", async () => {
  // Dask's behaviour: the actor's key is recomputed like any lost result while it is wanted; a
  // handle keeps calling the worker it was made for, where the actor is gone
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const future = client.with({ actor: true, workers: "w1", allowOtherWorkers: true })
    .submit(Counter, 100);
  const counter: ActorHandle<Counter> = await future;
  assert.equal(await counter.increment(), 101);
  cluster.workers[1].process.kill("SIGKILL");
  await assert.rejects(counter.increment(), (error: Error) => {
    assert.ok(error instanceof ActorLostError, `${error.name}: ${error.message}`);
    assert.equal(error.key, future.key);
    assert.equal(error.worker, cluster.workers[1].address);
    assert.match(error.message, /Counter\.increment\(\) on actor Counter-/);
    assert.match(error.message, /Build a new actor .*or await the actor's Future again/);
    return true;
  });
  const rebuilt: ActorHandle<Counter> = await future;
  assert.equal(await rebuilt.increment(), 101, "built again from its constructor's arguments");
  assert.equal(await rebuilt.n, 101);
  // the old handle does not follow the rebuilt actor: it still fails, it does not hang
  await assert.rejects(counter.increment(), ActorLostError);
});

Deno.test("an actor is dropped on its worker once no handle of its client holds it", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const script = new URL("../fixtures/actor_release_script.ts", import.meta.url).pathname;
  const owner = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", script, cluster.schedulerAddress],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const lines = owner.stdout.pipeThrough(new TextDecoderStream()).values();
    const next = async () => (await lines.next()).value ?? "";
    assert.match(await next(), /shared/);
    // a handle shared as a value holds nothing: it calls while its owner holds the actor
    const tally = await new Variable<ActorHandle<{ add(): number }>>("tally", { client }).get();
    assert.equal(await tally.add(), 2);
    const input = owner.stdin.getWriter();
    await input.write(new TextEncoder().encode("drop\n"));
    input.releaseLock();
    assert.match(await next(), /collected/);
    // the owner's handle was collected: its key goes, and the worker drops the actor
    await assert.rejects(async () => {
      for (;;) {
        await tally.add();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }, /There is no actor Tally-\S+ on worker/);
  } finally {
    await owner.stdin.close();
    await owner.status;
  }
});
