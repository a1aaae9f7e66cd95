/**
 * Bad input and failures reach the caller as clear errors: task errors with their name,
 * message, key and remote stack; gather's `errors` modes; timeouts; futures of another
 * client; functions and values that cannot travel; closed clients; unreachable schedulers.
 */

import assert from "node:assert/strict";
import {
  CancelledError,
  Client,
  ClientClosedError,
  FreeVariableError,
  SchedulerUnreachableError,
  TimeoutError,
  UnserializableError,
  wait,
} from "../../mod.ts";

const inc = (x: number) => x + 1;
const sleepThen = async <T>(ms: number, value: T) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
};
const failWith = (name: string, message: string) => {
  class NamedError extends Error {
    override name = name;
  }
  throw new NamedError(message);
};

Deno.test("errors on a local cluster", async (t) => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });

  await t.step("a task error keeps its name, message, key and remote stack", async () => {
    const f = client.submit(failWith, "ValidationError", "row 3 has no id");
    await assert.rejects(() => f.result(), (error: Error & { key?: string }) => {
      assert.equal(error.name, "ValidationError");
      assert.equal(error.message, "row 3 has no id");
      assert.equal(error.key, f.key);
      assert.match(error.stack ?? "", /ValidationError: row 3 has no id/);
      return true;
    });
    assert.equal(f.status, "error");
    // the stack is the worker thread's
    assert.match(await f.traceback() ?? "", /row 3 has no id\n[^]*threads\/thread_entry.ts/);
  });

  await t.step("a dependent of a failed task fails with the failing task's key", async () => {
    const bad = client.submit(failWith, "RangeError", "out of range");
    const dependent = client.submit(inc, bad);
    const error = await dependent.exception() as Error & { key?: string };
    assert.equal(error.name, "RangeError");
    assert.equal(error.key, bad.key);
  });

  await t.step("gather: errors raise by default, or are skipped", async () => {
    const good = client.submit(inc, 1);
    const bad = client.submit(failWith, "Error", "boom");
    await assert.rejects(() => client.gather([good, bad]), /boom/);
    assert.deepEqual(await client.gather([good, bad, good], { errors: "skip" }), [2, 2]);
    assert.deepEqual(
      await client.gather({ a: good, b: bad, nested: [good, { c: good }] }, { errors: "skip" }),
      { a: 2, nested: [2, { c: 2 }] },
    );
    await assert.rejects(
      () => client.gather([good], { errors: "ignore" as never }),
      /errors must be "raise" or "skip"/,
    );
  });

  await t.step("timeouts: result(timeout) and wait(timeout) say what to do", async () => {
    const slow = client.with({ pure: false }).submit(sleepThen, 1000, "late");
    await assert.rejects(() => slow.result(0.05), (error: Error) => {
      assert.ok(error instanceof TimeoutError);
      assert.match(error.message, /did not finish within 0.05 s.*cancel/);
      return true;
    });
    await assert.rejects(() => wait([slow], { timeout: 0.05 }), TimeoutError);
    const first = await wait([slow, client.submit(inc, 2)], { returnWhen: "FIRST_COMPLETED" });
    assert.equal(first.done.size, 1);
    assert.ok(first.notDone.has(slow));
    await slow.cancel();
    await assert.rejects(() => slow.result(), CancelledError);
  });

  await t.step("FIRST_EXCEPTION returns at the first failure", async () => {
    const slow = client.with({ pure: false }).submit(sleepThen, 2000, 0);
    const bad = client.with({ pure: false }).submit(failWith, "Error", "first");
    const { done, notDone } = await wait([slow, bad], { returnWhen: "FIRST_EXCEPTION" });
    assert.ok(done.has(bad) && notDone.has(slow));
    await slow.cancel();
  });

  await t.step("cancel walks down to dependents", async () => {
    const root = client.with({ pure: false }).submit(sleepThen, 500, 1);
    const child = client.submit(inc, root);
    await client.cancel(root);
    assert.equal(root.cancelled(), true);
    await child.exception(1);
    assert.equal(child.status, "cancelled");
    // the key can be submitted again
    const again = client.with({ key: root.key }).submit(sleepThen, 10, 7);
    assert.equal(await again, 7);
  });

  await t.step("a function reading outer variables is refused before anything is sent", () => {
    const offset = 3;
    assert.throws(() => client.submit((x: number) => x + offset, 1), (error: Error) => {
      assert.ok(error instanceof FreeVariableError);
      assert.match(error.message, /'offset'/);
      return true;
    });
    assert.throws(() => client.map((x: number) => x + offset, [1, 2]), FreeVariableError);
  });

  await t.step("a value that cannot travel is named by its path", () => {
    class Connection {
      constructor(readonly host: string) {}
    }
    assert.throws(
      () => client.submit((o: unknown) => o, { config: { conn: new Connection("db") } }),
      (error: Error) => {
        assert.ok(error instanceof UnserializableError);
        assert.equal((error as UnserializableError).path, "args[0].config.conn");
        return true;
      },
    );
    assert.throws(() => client.scatter([() => 1]), UnserializableError);
  });

  await t.step(
    "another client's future: an argument shares its key, gather says the way",
    async () => {
      await using other = await Client.connect(client.schedulerAddress, { setAsDefault: false });
      const mine = client.submit(inc, 41);
      // clients of one scheduler share data by key, as in Dask
      assert.equal(await other.submit(inc, mine), 43);
      await assert.rejects(() => other.gather([mine]), /belongs to another client.*futureOf/);
      await mine;
      const theirs = other.futureOf<number>(mine.key);
      assert.equal(await theirs, 42);
      assert.equal(await other.submit(inc, theirs), 43);
      const unknown = other.futureOf("no-such-key");
      await assert.rejects(() => unknown.result(), /no-such-key/);
      assert.equal(unknown.status, "lost");
      // `mine` is used last here so that V8 keeps it alive through the step: collected earlier,
      // its finalizer releases the key, and `theirs` races that release (seen once in CI)
      mine.release();
    },
  );

  await t.step("calls on a closed client say how to get a new one", async () => {
    const short = await Client.connect(client.schedulerAddress, { setAsDefault: false });
    const pending = short.with({ pure: false }).submit(sleepThen, 2000, 0);
    await short.close();
    await short.close(); // twice is fine
    assert.equal(short.status, "closed");
    const closedMessage = /This client is closed; create a new one with Client.connect/;
    assert.throws(() => short.submit(inc, 1), closedMessage);
    assert.throws(() => short.map(inc, [1]), ClientClosedError);
    assert.throws(() => short.scatter([1]), ClientClosedError);
    await assert.rejects(() => short.gather([]), closedMessage);
    await assert.rejects(() => short.workers(), closedMessage);
    await assert.rejects(() => pending.result(), CancelledError);
  });
});

Deno.test("an unreachable scheduler is named, with how to start one", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const address = `tcp://127.0.0.1:${port}`;
  await assert.rejects(() => Client.connect(address, { timeout: 0.3 }), (error: Error) => {
    assert.ok(error instanceof SchedulerUnreachableError);
    assert.ok(error.message.includes(address), error.message);
    assert.match(error.message, /deno run -A scheduler\/main.ts/);
    return true;
  });
  await assert.rejects(() => Client.connect("not an address"), /Invalid address/);
});
