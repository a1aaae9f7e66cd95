/**
 * Graphs and registrations no scheduler can honour are answered with the reason, also when they
 * come from a client speaking the wire protocol directly; the scheduler serves everyone else on.
 */

import assert from "node:assert/strict";
import { Connection } from "../../net/wire.ts";
import { SESSION_PROTOCOL } from "../../protocol/session.ts";
import { startCluster } from "../helpers/cluster.ts";
import { graphTask, RawClient } from "../helpers/raw_client.ts";

const inc = (x: number) => x + 1;
/** A task of `inc` that names `deps` as its dependencies. */
const loopTask = (key: string, deps: string[]) => ({ ...graphTask(key, inc, [1]), deps });

Deno.test("cyclic graphs from a raw wire client err with a GraphError naming the cycle", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const cases: [string, ReturnType<typeof loopTask>[], string][] = [
    ["self", [loopTask("self", ["self"])], "self -> self"],
    [
      "two-a",
      [loopTask("two-a", ["two-b"]), loopTask("two-b", ["two-a"])],
      "two-a -> two-b -> two-a",
    ],
    [
      "three-a",
      [
        loopTask("three-a", ["three-b"]),
        loopTask("three-b", ["three-c"]),
        loopTask("three-c", ["three-a"]),
      ],
      "three-a -> three-b -> three-c -> three-a",
    ],
  ];
  for (const [key, tasks, cycle] of cases) {
    await assert.rejects(
      () => client.compute(tasks, [key]),
      (error: Error) => {
        assert.equal(error.name, "GraphError");
        assert.ok(error.message.includes(cycle), error.message);
        return true;
      },
    );
  }
  // A task that reads a cycle errs with it; a diamond is no cycle.
  await assert.rejects(
    () =>
      client.compute([
        loopTask("loop-x", ["loop-y"]),
        loopTask("loop-y", ["loop-x"]),
        loopTask("reader", ["loop-x"]),
      ], ["reader"]),
    /cycle: loop-x -> loop-y -> loop-x|cycle: loop-y -> loop-x -> loop-y/,
  );
  const diamond = await client.compute([
    graphTask("top", inc, [1]),
    loopTask("left", ["top"]),
    loopTask("right", ["top"]),
    loopTask("bottom", ["left", "right"]),
  ], ["bottom"]);
  assert.deepEqual(diamond, [2]);
});

Deno.test("a worker registering absurd threads or memory is refused with the reason", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  const register = async (fields: Record<string, unknown>): Promise<string> => {
    const connection = await Connection.connect(cluster.schedulerAddress, { role: "worker" });
    connection.send({
      header: {
        op: "register-worker",
        address: `tcp://127.0.0.1:${1 + Math.floor(Math.random() * 60000)}`,
        name: "absurd",
        nthreads: 1,
        memoryLimit: 0,
        resources: {},
        keys: [],
        pid: 1,
        protocol: SESSION_PROTOCOL,
        ...fields,
      },
    });
    const answers: { op: string; reason?: string }[] = [];
    for await (const message of connection) {
      answers.push(message.header as { op: string; reason?: string });
    }
    assert.equal(answers[0]?.op, "refused", JSON.stringify(answers));
    return answers[0].reason!;
  };
  assert.match(
    await register({ nthreads: 1e9 }),
    /nthreads 1000000000: a worker runs at most 4096/,
  );
  assert.match(await register({ memoryLimit: -5 }), /memoryLimit -5: give bytes/);
  assert.match(await register({ resources: { GPU: -1 } }), /resource "GPU" of -1/);
  // The cluster still serves.
  await using client = await RawClient.connect(cluster.schedulerAddress);
  assert.deepEqual(await client.compute([graphTask("fine", inc, [1])], ["fine"]), [2]);
});
