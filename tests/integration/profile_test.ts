/**
 * `client.profile` on real processes: a task that spends its time in a named function shows
 * that function in the merged call tree (Dask's shape), selected by the task's prefix; another
 * prefix and a time range before the task give empty trees.
 */

import assert from "node:assert/strict";
import { Client, type ProfileNode } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";

/** Every node's name in the tree, depth first. */
function names(node: ProfileNode): string[] {
  return Object.values(node.children).flatMap((child) => [
    child.description.name,
    ...names(child),
  ]);
}

Deno.test("a task spending its time in a named function shows that function in the profile", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const before = Date.now();
  const spinTask = (ms: number) => {
    function burnSquareRoots(until: number) {
      let x = 0;
      while (Date.now() < until) for (let i = 0; i < 1e4; i++) x += Math.sqrt(i);
      return x;
    }
    return burnSquareRoots(Date.now() + ms) > 0;
  };
  assert.equal(await client.with({ key: "spinTask-1" }).submit(spinTask, 1000), true);
  const tree = await client.profile({ key: "spinTask" });
  assert.equal(tree.identifier, "root");
  // about 100 samples on an idle machine (one per 10 ms); a loaded one gives the thread less
  assert.ok(tree.count > 0, `no samples\n${cluster.logs()}`);
  assert.ok(names(tree).includes("burnSquareRoots"), names(tree).join(", "));
  const [task] = Object.values(tree.children);
  assert.equal(task.description.name, "spinTask", "the tree starts at the task's function");
  assert.match(task.identifier, /^spinTask;/);
  assert.ok(task.count <= tree.count && task.count > 0);

  assert.equal((await client.profile({ key: "otherPrefix" })).count, 0);
  assert.equal((await client.profile({ stop: before - 60_000 })).count, 0);
  assert.ok((await client.profile({ start: before })).count >= tree.count);
  await assert.rejects(client.profile({ start: Number.NaN }), /'start' must be a Date/);

  // the same function again, now optimized by V8, on the same thread: still seen by name
  const second = Date.now();
  await client.with({ key: "spinTask-2", workers: "w0" }).submit(spinTask, 1000);
  await client.with({ key: "spinTask-3", workers: "w0" }).submit(spinTask, 1000);
  const again = await client.profile({ start: second, key: "spinTask" });
  assert.ok(names(again).includes("burnSquareRoots"), names(again).join(", "));
});

/** Busy for `ms` (a task: sent to the workers, so self-contained). */
const busy = (ms: number) => {
  let roots = 0;
  for (let n = 1, until = Date.now() + ms; Date.now() < until; n++) roots += Math.cbrt(n);
  return roots > 0;
};

Deno.test("workers started with --profile-interval 0 do not sample: the profile stays empty", async () => {
  await using cluster = await startCluster({
    nWorkers: 1,
    nthreads: 1,
    workerArgs: ["--profile-interval", "0"],
  });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  assert.equal(await client.with({ key: "spinQuietly-1" }).submit(busy, 500), true);
  const tree = await client.profile({ key: "spinQuietly" });
  assert.equal(tree.count, 0, names(tree).join(", "));
});

Deno.test("a worker's threads sample at its --profile-interval, also a thread that replaced one", async () => {
  await using cluster = await startCluster({
    nWorkers: 1,
    nthreads: 1,
    workerArgs: ["--profile-interval", "100"],
  });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  // one sample per 100 ms: about 15 in 1.5 s (fewer on a loaded machine); 10 ms gives about 150
  const samples = async (key: string) => {
    const start = Date.now();
    assert.equal(await client.with({ key }).submit(busy, 1500), true);
    const { count } = await client.profile({ start, key: key.replace(/-\d+$/, "") });
    assert.ok(count > 0 && count <= 30, `${count} samples of ${key}\n${cluster.logs()}`);
  };
  await samples("busy-1");
  // the task's thread ends (Deno.exit): the thread that replaces it samples as the worker asked
  const quits = () => Deno.exit(3);
  assert.ok(await client.with({ key: "quits-1" }).submit(quits).exception() !== undefined);
  await samples("busy-2");
});
