import assert from "node:assert/strict";
import type { StoryEntry } from "../../protocol/story.ts";
import { storyTag, TaskStories } from "../../scheduler/task_story.ts";
import {
  transitionDispatch,
  transitionIndex,
  type TransitionPerformers,
  TRANSITIONS,
} from "../../scheduler/transitions.ts";
import { SCHEDULER_TASK_STATES } from "../../scheduler/task_prefix_stats.ts";
import { Driver, spec } from "../helpers/scheduler_driver.ts";

const moves = (story: StoryEntry[]): string[] => story.map((t) => `${t.start}→${t.finish}`);

Deno.test("the story of a retried task tells that a run failed on which worker", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.submit([spec("flaky", [], { retries: 1 })], ["flaky"]);
  d.fail("flaky");
  d.finish("flaky");
  const story = d.s.story("flaky");
  assert.deepEqual(moves(story), [
    "released→waiting",
    "waiting→queued", // root-ish: held until a worker slot is free
    "queued→processing",
    "processing→waiting",
    "waiting→queued",
    "queued→processing",
    "processing→memory",
  ]);
  const retry = story[3];
  assert.match(retry.stimulus, /^task-erred-/);
  assert.equal(retry.worker, "w1");
  assert.match(story[0].stimulus, /^update-graph-/);
  assert.match(story[6].stimulus, /^task-finished-/);
  // One event's transitions share its stimulus: the failure also placed the rerun.
  assert.equal(story[5].stimulus, retry.stimulus);
  assert.ok(story.every((t, i) => i === 0 || t.time >= story[i - 1].time));
});

Deno.test("the story of a task whose worker died names the lost worker", () => {
  const d = new Driver({ allowedFailures: 0 });
  d.addWorker("w1");
  d.addWorker("w2");
  d.submit([spec("a")], ["a"]);
  const first = d.on("a")!;
  d.run({ type: "worker-lost", worker: first });
  assert.equal(d.state("a"), "erred");
  const story = d.s.story("a");
  const death = story.at(-1)!;
  assert.equal(`${death.start}→${death.finish}`, "processing→erred");
  assert.match(death.stimulus, /^worker-lost-/);
  assert.equal(death.worker, first);
});

Deno.test("a worker that leaves sends its task back to waiting, and the story says so", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.submit([spec("a")], ["a"]);
  d.run({ type: "worker-lost", worker: "w1" });
  const story = d.s.story("a");
  assert.deepEqual(moves(story).slice(-2), ["processing→waiting", "waiting→no-worker"]);
  assert.match(story.at(-2)!.stimulus, /^worker-lost-/);
  assert.equal(story.at(-2)!.worker, "w1");
  d.addWorker("w2");
  d.finish("a");
  d.run({ type: "client-message", client: "c1", msg: { op: "client-releases-keys", keys: ["a"] } });
  // Forgotten keys keep their story.
  assert.deepEqual(moves(d.s.story("a")).slice(-2), ["memory→released", "released→forgotten"]);
});

Deno.test("stories share one bounded ring: old transitions go first, forgotten keys stay told", () => {
  const stories = new TaskStories(4);
  const latest = new Map<string, number>();
  const record = (key: string, cause: string, start: string, finish: string, time: number) =>
    latest.set(
      key,
      stories.record(
        storyTag(key),
        latest.get(key) ?? -1,
        stories.causeId(cause),
        transitionIndex(start as "released", finish as "waiting"),
        stories.workerId(cause === "update-graph" ? null : "w1"),
        time,
      ),
    );
  const causes = (key: string) => stories.story(key, latest.get(key)).map((t) => t.stimulus);
  record("a", "update-graph", "released", "waiting", 1);
  record("b", "update-graph", "released", "waiting", 2);
  record("a", "task-erred", "waiting", "processing", 3);
  record("b", "tick", "waiting", "processing", 4);
  record("c", "update-graph", "released", "waiting", 5);
  // a's first entry was overwritten: the rest of its chain is still told.
  assert.deepEqual(causes("a"), ["task-erred-3"]);
  record("c", "tick", "waiting", "processing", 6);
  record("c", "task-finished", "processing", "memory", 7);
  assert.deepEqual(causes("a"), []);
  assert.deepEqual(causes("b"), ["tick-4"]);
  assert.deepEqual(stories.story("c", latest.get("c")).map((t) => [t.start, t.finish, t.worker]), [
    ["released", "waiting", null],
    ["waiting", "processing", "w1"],
    ["processing", "memory", "w1"],
  ]);
  // A forgotten key is told by its key alone, and a key known again continues its story.
  record("c", "client-releases-keys", "memory", "forgotten", 8);
  assert.deepEqual(stories.story("c").map((t) => t.finish), [
    "waiting",
    "processing",
    "memory",
    "forgotten",
  ]);
  latest.delete("c");
  record("c", "update-graph", "released", "waiting", 9);
  assert.deepEqual(stories.story("c", latest.get("c")).map((t) => t.stimulus), [
    "tick-6",
    "task-finished-7",
    "client-releases-keys-8",
    "update-graph-9",
  ]);
  assert.deepEqual(stories.story("unknown"), []);
  assert.deepEqual(new TaskStories(0).story("a"), []);
});

Deno.test("the transition table refuses moves it does not list", () => {
  assert.ok(TRANSITIONS.processing.memory);
  assert.doesNotThrow(() => transitionIndex("waiting", "processing"));
  assert.throws(() => transitionIndex("forgotten", "waiting"), /impossible task transition/);
  assert.throws(() => transitionIndex("memory", "processing"), /impossible task transition/);
});

Deno.test("a running input nobody needs any more is forgotten through released (composite)", () => {
  const d = new Driver();
  d.addWorker("w1");
  d.submit([spec("a"), spec("b", ["a"])], ["b"]);
  assert.equal(d.state("a"), "processing");
  const out = d.run({
    type: "client-message",
    client: "c1",
    msg: { op: "client-releases-keys", keys: ["b"] },
  });
  assert.equal(d.s.tasks.size, 0);
  const story = d.s.story("a");
  // processing → forgotten is not a pair of the table: it goes through released.
  assert.deepEqual(moves(story).slice(-2), ["processing→released", "released→forgotten"]);
  assert.ok(story.slice(-2).every((t) => t.stimulus.startsWith("client-releases-keys-")));
  // Its worker is told to drop it.
  assert.ok(
    out.some((m) => m.to === "worker" && m.msg.op === "free-keys" && m.msg.keys.includes("a")),
  );
});

Deno.test("the performers table dispatches exactly the pairs of the transitions table", () => {
  const performed: string[] = [];
  const table = Object.fromEntries(
    SCHEDULER_TASK_STATES.map((start) => [
      start,
      Object.fromEntries(
        Object.keys(TRANSITIONS[start]).map((finish) => [
          finish,
          (log: string[], task: string) => log.push(`${task}: ${start}→${finish}`),
        ]),
      ),
    ]),
  ) as unknown as TransitionPerformers<string[], string, undefined>;
  const perform = transitionDispatch(table);
  perform("processing", "memory")!(performed, "x", undefined);
  perform("released", "waiting")!(performed, "y", undefined);
  assert.deepEqual(performed, ["x: processing→memory", "y: released→waiting"]);
  for (const start of SCHEDULER_TASK_STATES) {
    for (const finish of SCHEDULER_TASK_STATES) {
      const listed = finish in TRANSITIONS[start];
      assert.equal(perform(start, finish) !== undefined, listed, `${start}→${finish}`);
    }
  }
});

Deno.test("a part's story outlives its fused task: the fused task's transitions, marked", () => {
  const d = new Driver();
  d.addWorker("w1");
  // a fused task keeps its chain's last key (core/optimize.ts)
  d.submit([{ ...spec("add-1"), parts: ["inc-1", "add-1"] }], ["add-1"]);
  d.finish("add-1");
  const live = d.s.story("inc-1");
  assert.ok(live.length > 0 && live.every((t) => t.fusedInto === "add-1"));
  d.run({
    type: "client-message",
    client: "c1",
    msg: { op: "client-releases-keys", keys: ["add-1"] },
  });
  assert.equal(d.state("add-1"), "forgotten");
  const told = d.s.story("inc-1");
  assert.deepEqual(moves(told).slice(0, live.length), moves(live));
  assert.equal(told.at(-1)!.finish, "forgotten");
  assert.ok(told.every((t) => t.fusedInto === "add-1" && t.key === "add-1"));
  assert.deepEqual(told[0].parts, ["inc-1", "add-1"]);
  assert.deepEqual(told.map(({ fusedInto: _, ...t }) => t), d.s.story("add-1"));
  assert.deepEqual(d.s.story("never-seen"), []);
});

Deno.test("forgotten fused tasks' parts are remembered up to half the ring, oldest dropped", () => {
  const stories = new TaskStories(8);
  stories.rememberFusion("f1", ["a1", "b1", "f1"]);
  assert.equal(stories.fusionOf("a1")?.key, "f1");
  assert.equal(stories.fusionOf("f1")?.key, "f1", "the fused key's story names its parts");
  stories.rememberFusion("f2", ["a2", "f2"]);
  assert.equal(stories.fusionOf("a1"), undefined, "four keys fit in a ring of 8: oldest out");
  assert.equal(stories.fusionOf("b1")?.key, "f1");
  assert.equal(stories.fusionOf("f2")?.key, "f2");
  assert.equal(stories.fusionOf("a2")?.key, "f2");
  assert.equal(new TaskStories(0).fusionOf("a1"), undefined);
});
