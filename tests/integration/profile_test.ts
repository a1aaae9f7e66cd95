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

Deno.test("workers started with --profile-interval 0 do not sample: the profile stays empty", async () => {
  await using cluster = await startCluster({
    nWorkers: 1,
    nthreads: 1,
    workerArgs: ["--profile-interval", "0"],
  });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const spinQuietly = (ms: number) => {
    let x = 0;
    const until = Date.now() + ms;
    while (Date.now() < until) for (let i = 0; i < 1e4; i++) x += Math.sqrt(i);
    return x > 0;
  };
  assert.equal(await client.with({ key: "spinQuietly-1" }).submit(spinQuietly, 500), true);
  const tree = await client.profile({ key: "spinQuietly" });
  assert.equal(tree.count, 0, names(tree).join(", "));
});
