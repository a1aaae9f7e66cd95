/**
 * Arguments and thrown values that used to lose their meaning: a cyclic argument overflowed the
 * stack in the argument walk, and a thrown plain object became `Error: [object Object]`. Both
 * are checked on every scheduler: sync, threads, and a cluster of real processes. A Client given
 * a worker's address said "the scheduler closed the connection during registration".
 */

import assert from "node:assert/strict";
import { Client, delayed, UnserializableError } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";

const SCHEDULERS = ["sync", "threads"] as const;
const identity = (x: unknown) => x;
const second = (_x: unknown, y: unknown) => y;
const throwCustom = () => {
  throw { code: 5, why: "custom" };
};

/** `{ name, self: <itself> }` and `[1, [2, <outer>]]`: a 1-cycle and a cycle two levels down. */
function cyclicValues() {
  const selfish: Record<string, unknown> = { name: "node" };
  selfish.self = selfish;
  const outer: unknown[] = [1];
  outer.push([2, outer]);
  return { selfish, outer };
}

const cycleAt = (path: string, target: string) => (error: unknown) => {
  assert.ok(error instanceof UnserializableError, String(error));
  assert.equal(error.path, path);
  assert.ok(error.message.includes(`a reference back to ${target} (a cycle)`), error.message);
  return true;
};

const customError = (error: unknown) => {
  assert.ok(error instanceof Error, String(error));
  assert.equal(String(error), 'Error: {"code":5,"why":"custom"}');
  assert.deepEqual(error.cause, { code: 5, why: "custom" });
  return true;
};

Deno.test("cyclic arguments and thrown plain objects on the local schedulers", async (t) => {
  const { selfish, outer } = cyclicValues();
  for (const scheduler of SCHEDULERS) {
    await t.step(`${scheduler}: a cyclic delayed argument names the path of its cycle`, () => {
      assert.throws(() => delayed(identity)(selfish), cycleAt("args[0].self", "args[0]"));
      assert.throws(() => delayed(second)(1, outer), cycleAt("args[1][1][1]", "args[1]"));
    });
    await t.step(`${scheduler}: a thrown plain object keeps its content and cause`, async () => {
      await assert.rejects(() => delayed(throwCustom)().compute({ scheduler }), customError);
    });
  }
});

Deno.test("cyclic arguments and thrown plain objects on a cluster of processes", async (t) => {
  await using cluster = await startCluster({ nWorkers: 1 });
  await using client = await Client.connect(cluster.schedulerAddress);
  const { selfish, outer } = cyclicValues();

  await t.step("a cyclic submit argument names the path of its cycle", () => {
    assert.throws(() => client.submit(identity, selfish), cycleAt("args[0].self", "args[0]"));
    assert.throws(
      () => client.with({ pure: false }).submit(identity, { list: outer }),
      cycleAt("args[0].list[1][1]", "args[0].list"),
    );
    assert.throws(() => client.map(identity, [1, selfish]), cycleAt("args[0].self", "args[0]"));
  });

  await t.step("a thrown plain object keeps its content and cause", async () => {
    await assert.rejects(() => client.submit(throwCustom).result(), customError);
    await assert.rejects(() =>
      client.submit(() => {
        throw "plain words";
      }).result(), (e) => {
      assert.equal(String(e), "Error: plain words");
      assert.equal((e as Error).cause, "plain words");
      return true;
    });
  });

  await t.step("a Client pointed at a worker's port says a worker answered", async () => {
    await assert.rejects(
      () => Client.connect(cluster.workers[0].address, { timeout: 5, setAsDefault: false }),
      (error: Error) => {
        assert.match(error.message, /The worker at \S+ refused this client: this is the port of/);
        assert.ok(error.message.includes(cluster.schedulerAddress), error.message);
        return true;
      },
    );
  });

  await t.step("the cluster goes on serving", async () => {
    assert.equal(await client.submit((x: number) => x * 2, 21).result(), 42);
  });
});
