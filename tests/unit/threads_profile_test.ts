import assert from "node:assert/strict";
import { delayed } from "../../mod.ts";
import {
  sampleThreads,
  shutdownThreads,
  threadsExecutor,
  threadsProfile,
} from "../../collections/local/threads.ts";

Deno.test("the threads scheduler files a fused task's samples under its parts' names", async () => {
  // held past the computation's end: an idle pool stops, and its profile with it
  const release = threadsExecutor.prepare!({ numWorkers: 1 });
  try {
    assert.ok(sampleThreads(1), "the held pool runs");
    const spinQuietly = (ms: number) => {
      const end = Date.now() + ms;
      let x = 0;
      while (Date.now() < end) x += Math.sqrt(x + 1);
      return x > 0 ? 1 : 0;
    };
    const inc = (x: number) => x + 1;
    const chain = delayed(inc)(delayed(spinQuietly)(400));
    assert.equal(await chain.compute({ scheduler: "threads", numWorkers: 1 }), 2);
    const tree = await threadsProfile(1, { byPrefix: true });
    const groups = Object.keys(tree.children);
    assert.ok(tree.count > 0, "the thread sampled the spinning task");
    // one task ran (the chain fused into it): named by its parts, as on a cluster
    assert.deepEqual(groups, ["spinQuietly+inc"]);
    assert.equal((await threadsProfile(1, { byPrefix: true, prefix: "inc" })).count, 0);
  } finally {
    release();
    shutdownThreads();
  }
});

Deno.test("no threads pool of that size runs: an empty profile, and none is started", async () => {
  const tree = await threadsProfile(7);
  assert.equal(tree.count, 0);
  assert.deepEqual(tree.children, {});
});

Deno.test("a threads pool samples nothing unless asked (sampling costs tiny tasks CPU)", async () => {
  const release = threadsExecutor.prepare!({ numWorkers: 1 });
  try {
    const spinQuietly = (ms: number) => {
      const end = Date.now() + ms;
      let x = 0;
      while (Date.now() < end) x += Math.sqrt(x + 1);
      return x > 0 ? 1 : 0;
    };
    assert.equal(
      await delayed(spinQuietly)(300).compute({ scheduler: "threads", numWorkers: 1 }),
      1,
    );
    assert.equal((await threadsProfile(1)).count, 0, "no samples without sampleThreads");
  } finally {
    release();
    shutdownThreads();
  }
});
