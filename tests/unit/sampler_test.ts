/**
 * The task thread's sampler (threads/sampler.ts), run in the test's own isolate: it records
 * while tasks run, stops once idle cycles passed without one (an idle thread costs nothing),
 * starts again with the next task, and keeps a running task's latest stack.
 */

import assert from "node:assert/strict";
import {
  DEFAULT_SAMPLE_INTERVAL_MS,
  ThreadSampler,
  treesByPrefix,
  type V8Profile,
} from "../../threads/sampler.ts";

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function spinInSampledCode(ms: number): number {
  let x = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x += Math.sqrt(i);
  return x;
}

Deno.test({
  name: "an idle sampler stops recording and starts again with the next task",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sampler = new ThreadSampler();
    sampler.idleStopMs = 1500; // instead of thirty seconds
    assert.equal(sampler.sampling, false, "off until its owner turns it on");
    sampler.intervalUs = DEFAULT_SAMPLE_INTERVAL_MS * 1000; // as a worker does as it starts its threads
    assert.equal(sampler.recording, false, "nothing ran yet");
    await sampler.busy();
    assert.equal(sampler.sampling, true, "the test runs with sys: inspector");
    assert.equal(sampler.recording, true);

    const start = Date.now();
    sampler.began("spin-1", start);
    // a running task that awaits: its latest stack is the function it spends its time in
    await until("the running task has a sampled stack", async () => {
      spinInSampledCode(50);
      const [task] = await sampler.stacks();
      return task?.frames.some((f) => f.name === "spinInSampledCode") ?? false;
    });
    const [running] = await sampler.stacks();
    assert.equal(running.key, "spin-1");
    assert.ok(running.at !== null && running.at >= start);
    sampler.ran("spin-1", start, Date.now());
    assert.deepEqual(await sampler.stacks(), [], "nothing runs now");
    const tree = await sampler.query(start, null, "spin", true);
    assert.ok(tree.children.spin.count > 0, "the samples went to the task's prefix");
    // a fused task's samples go under its group (named by its parts), not its key's prefix
    const fusedStart = Date.now();
    sampler.began("grind-2", fusedStart, "load×2+grind");
    spinInSampledCode(200);
    sampler.ran("grind-2", fusedStart, Date.now(), "load×2+grind");
    const fused = await sampler.query(fusedStart, null, null, true);
    assert.ok(
      fused.children["load×2+grind"]?.count > 0,
      JSON.stringify(Object.keys(fused.children)),
    );
    assert.equal(fused.children.grind, undefined, "none under the key's own prefix");

    await until("the idle sampler stops", () => !sampler.recording);
    sampler.busy();
    assert.equal(sampler.recording, true, "the next task starts it again");
    await until("it stops again", () => !sampler.recording);
  },
});

Deno.test({
  name: "a warmed sampler records before any task, and stops if none comes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // a task thread warms its sampler when sampling is turned on (thread_entry.ts), so that
    // starting V8's profiler (tens of ms) is not in front of the thread's first task
    const sampler = new ThreadSampler();
    sampler.idleStopMs = 1500;
    sampler.intervalUs = DEFAULT_SAMPLE_INTERVAL_MS * 1000;
    await sampler.warm();
    assert.equal(sampler.recording, true, "recording with no task run yet");
    await sampler.busy(); // the first batch: nothing left to start
    assert.equal(sampler.recording, true);
    await until("the idle sampler stops", () => !sampler.recording);
    assert.equal(sampler.profilesTaken, 1, "the idle profile was ended once");
  },
});

Deno.test("a sampler with interval 0 never samples", async () => {
  const sampler = new ThreadSampler();
  sampler.intervalUs = 0;
  await sampler.warm();
  await sampler.busy();
  assert.equal(sampler.sampling, false);
  assert.equal(sampler.recording, false);
});

Deno.test({
  name: "an idle sampler's profile goes on recording: it is ended only once a task ran",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sampler = new ThreadSampler();
    sampler.intervalUs = DEFAULT_SAMPLE_INTERVAL_MS * 1000;
    await sampler.busy();
    const start = Date.now();
    sampler.began("spin-1", start);
    spinInSampledCode(100);
    sampler.ran("spin-1", start, Date.now());
    await until("the task's cycle was taken", () => sampler.profilesTaken > 0);
    const taken = sampler.profilesTaken;
    // two and a half idle cycles: the profile records on, and none is ended
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(sampler.profilesTaken, taken);
    assert.equal(sampler.recording, true);
    // a task after the idle seconds: its samples are found in the long profile
    const later = Date.now();
    sampler.began("grind-2", later);
    spinInSampledCode(200);
    sampler.ran("grind-2", later, Date.now());
    const tree = await sampler.query(later, null, "grind", true);
    assert.ok(tree.children.grind?.count > 0, JSON.stringify(Object.keys(tree.children)));
    assert.equal(sampler.profilesTaken, taken + 1);
    // a query of the idle seconds before it finds none of its samples
    const before = await sampler.query(start + 150, later - 100, "grind", true);
    assert.equal(before.children.grind, undefined);
    sampler.idleStopMs = 0;
    await until("it stops", () => !sampler.recording);
  },
});

Deno.test("the runtime's own work in a task's run (decoding its arguments) is no sample of the task", () => {
  const file = (path: string) => new URL(path, import.meta.url).href;
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
  const profile: V8Profile = {
    nodes: [
      { id: 1, callFrame: frame("(root)", ""), children: [2, 5] },
      {
        id: 2,
        callFrame: frame("runOne", file("../../threads/thread_entry.ts")),
        children: [3, 4],
      },
      { id: 3, callFrame: frame("decode", file("../../core/value_decoder.ts")) },
      { id: 4, callFrame: frame("runInTask", file("../../core/task_context.ts")), children: [7] },
      // the thread entry's arrow that calls the task's function
      { id: 7, callFrame: frame("", file("../../threads/thread_entry.ts")), children: [6] },
      { id: 6, callFrame: frame("spinTask", file("./tasks.ts")) },
      // a task's code after an await: no runtime frame below it
      { id: 5, callFrame: frame("afterAwait", file("./tasks.ts")) },
    ],
    samples: [3, 6, 5],
    timeDeltas: [1000, 1000, 1000],
  };
  const { byPrefix } = treesByPrefix(profile, 0, [[0, 10, "spin-1", undefined]]);
  const tree = byPrefix.get("spin")!;
  assert.deepEqual(Object.keys(tree.children).map((id) => id.split(";")[0]).sort(), [
    "afterAwait",
    "spinTask",
  ]);
  assert.equal(tree.count, 2);
});
