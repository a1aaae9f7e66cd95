import assert from "node:assert/strict";
import { SchedulerState } from "../../scheduler/state.ts";
import { DashboardModel } from "../../scheduler/dashboard/model.ts";
import { LiveFeed, type LiveView } from "../../scheduler/dashboard/live_feed.ts";
import { GraphTracker } from "../../scheduler/dashboard/graph_view.ts";
import { coalesceRuns, type TaskStreamTuple } from "../../scheduler/dashboard/views.ts";
import { finishTask } from "../helpers/scheduler_driver.ts";
import { runsOfColumns } from "../../scheduler/dashboard/page/task_columns.js";

const WORKER = "tcp://127.0.0.1:1";

/** Decoded event data: checked field by field below. */
// deno-lint-ignore no-explicit-any
type Json = any;

function cluster(): SchedulerState {
  const state = new SchedulerState();
  state.handle({ type: "worker-added", worker: { address: WORKER, nthreads: 2 }, now: 1 });
  state.handle({
    type: "client-message",
    client: "Client-1",
    msg: {
      op: "update-graph",
      tasks: [
        { key: "inc-1", fn: {}, args: null, deps: [] },
        { key: "inc-2", fn: {}, args: null, deps: [] },
        { key: "add-1", fn: {}, args: null, deps: ["inc-1", "inc-2"] },
      ],
      keys: ["add-1"],
    },
    now: 1,
  });
  return state;
}

function finish(state: SchedulerState, key: string, now: number): void {
  finishTask(state, WORKER, key, now - 0.5, now, 1);
}

/** Subscribes and decodes what the feed sends: `[event, data]` pairs. */
function subscribe(feed: LiveFeed, views: LiveView[]): [string, Json][] {
  const received: [string, Json][] = [];
  const decoder = new TextDecoder();
  feed.subscribe(new Set(views), (chunk) => {
    const text = decoder.decode(chunk);
    const match = /^event: update\ndata: (.*)\n\n$/s.exec(text);
    assert.ok(match, `not a server-sent update: ${JSON.stringify(text)}`);
    const { now, parts } = JSON.parse(match[1]);
    assert.equal(typeof now, "number");
    // one message per push: read back as its parts, the task stream's columns as runs
    for (const [name, data] of parts) {
      received.push([
        name,
        name === "tasks" ? { ...data, entries: runsOfColumns(data.columns) } : data,
      ]);
    }
    return true;
  });
  return received;
}

const identity = { schedulerAddress: "tcp://127.0.0.1:8786", dashboardUrl: "", startedAt: 0 };

Deno.test("a new page gets the full picture, then only what changed", () => {
  const state = cluster();
  const feed = new LiveFeed(new DashboardModel(state, identity));
  const received = subscribe(feed, ["status"]);
  assert.deepEqual(received.map(([e]) => e), ["status", "tasks"]);
  const [, status] = received[0];
  assert.deepEqual(
    status.prefixes.map((p: Json) => [p.name, p.total, p.processing, p.waiting]),
    [["inc", 2, 2, 0], ["add", 1, 0, 1]],
  );
  assert.equal(status.workers[0].processing, 2);
  assert.equal(received[1][1].entries.length, 0);

  received.length = 0;
  feed.tick();
  assert.equal(received.length, 0, "nothing changed, nothing sent");

  finish(state, "inc-1", 10);
  feed.tick();
  assert.deepEqual(received.map(([e]) => e), ["status", "tasks"]);
  const tasks = received[1][1];
  assert.equal(tasks.first, 0);
  assert.equal(tasks.total, 1);
  assert.deepEqual(tasks.entries, [["inc-1", "inc", WORKER, 1, 9.5, 10, 0, 1]]);
  const inc = received[0][1].prefixes.find((p: Json) => p.name === "inc");
  assert.equal(inc.memory, 1);
  assert.equal(inc.processing, 1);

  received.length = 0;
  finish(state, "inc-2", 11);
  feed.tick();
  const next = received.find(([e]) => e === "tasks")![1];
  assert.equal(next.first, 1, "only the new run is sent");
  assert.deepEqual(next.entries.map((e: Json) => e[0]), ["inc-2"]);
});

Deno.test("a page on Info gets errors with their remote stacks", () => {
  const state = cluster();
  const feed = new LiveFeed(new DashboardModel(state, identity));
  const received = subscribe(feed, ["info"]);
  assert.equal(received[0][0], "info");
  assert.equal(received[0][1].scheduler.workers, 1);
  received.length = 0;
  state.handle({
    type: "worker-message",
    worker: WORKER,
    msg: {
      op: "task-erred",
      key: "inc-1",
      runId: state.tasks.get("inc-1")!.runId,
      error: { name: "RangeError", message: "too big", stack: "RangeError: too big\n    at f" },
      start: 1,
      stop: 2,
    },
    now: 2,
  });
  feed.tick();
  const info = received.find(([e]) => e === "info")![1];
  assert.equal(info.errors.length, 1);
  assert.deepEqual(
    [info.errors[0].key, info.errors[0].name, info.errors[0].stack, info.errors[0].worker],
    ["inc-1", "RangeError", "RangeError: too big\n    at f", WORKER],
  );
  assert.ok(info.events.some((e: Json) => e.message.includes("inc-1 erred")));
  // The blamed dependent is not listed as an error of its own.
  assert.equal(state.tasks.get("add-1")!.state, "erred");
});

Deno.test("a page that cannot keep up is dropped", () => {
  const state = cluster();
  const feed = new LiveFeed(new DashboardModel(state, identity));
  feed.subscribe(new Set(["status"]), () => false);
  assert.equal(feed.subscriberCount, 1);
  finish(state, "inc-1", 10);
  feed.tick();
  assert.equal(feed.subscriberCount, 0);
});

Deno.test("the graph tracker sends the shape once, then state changes", () => {
  const state = cluster();
  const tracker = new GraphTracker(10);
  const first = tracker.update(state)!;
  assert.equal(first.kind, "structure");
  if (first.kind !== "structure") return;
  assert.deepEqual(first.nodes.map(([key]) => key), ["inc-1", "inc-2", "add-1"]);
  assert.deepEqual(first.edges, [[0, 2], [1, 2]]);
  assert.equal(first.stateNames[first.states[0]], "processing");
  assert.equal(tracker.update(state), null);

  finish(state, "inc-1", 10);
  const change = tracker.update(state)!;
  assert.equal(change.kind, "states");
  if (change.kind !== "states") return;
  assert.deepEqual(change.changes, [[0, first.stateNames.indexOf("memory")]]);

  state.handle({
    type: "client-message",
    client: "Client-1",
    msg: { op: "update-graph", tasks: [{ key: "inc-3", fn: {}, args: null, deps: [] }], keys: [] },
    now: 11,
  });
  state.handle({
    type: "client-message",
    client: "Client-1",
    msg: {
      op: "update-graph",
      tasks: [{ key: "inc-4", fn: {}, args: null, deps: [] }],
      keys: ["inc-4"],
    },
    now: 11,
  });
  const grown = tracker.update(state)!;
  assert.equal(grown.kind, "structure");
  assert.equal(tracker.snapshot(state).kind, "structure");

  const small = new GraphTracker(2);
  const tooLarge = small.update(state)!;
  assert.deepEqual(tooLarge.kind === "too-large" && [tooLarge.tasks, tooLarge.limit], [4, 2]);
  assert.equal(small.update(state), null, "said once while the size holds");
});

Deno.test("memory by kind and its history come from heartbeats, sampled once a second", () => {
  const state = cluster();
  const model = new DashboardModel(state, identity);
  const feed = new LiveFeed(model);
  const received = subscribe(feed, ["workers"]);
  assert.deepEqual(received.find(([event]) => event === "history")?.[1].samples, []);
  state.handle({
    type: "worker-message",
    worker: WORKER,
    msg: { op: "heartbeat", metrics: { memory: 1000, rss: 50_000, spilled: 300 } },
    now: 2,
  });
  feed.tick(10);
  feed.tick(10.5); // within the sampling interval: no new sample
  const samples = received.filter(([event]) => event === "history").flatMap(([, d]) => d.samples);
  // [worker, time, managed, unmanaged, spilled, processing, occupancy]
  assert.equal(samples.length, 1);
  assert.deepEqual(samples[0].slice(0, 5), [WORKER, 10, 1000, 49_000, 300]);
  assert.equal(samples[0][5], 2, "inc-1 and inc-2 are processing");
  const row = received.findLast(([event]) => event === "workers")?.[1].workers[0];
  assert.deepEqual([row.managed, row.unmanaged, row.spilled], [1000, 49_000, 300]);
  // A page that opens later gets the history so far.
  const later = subscribe(feed, ["workers"]);
  assert.equal(later.find(([event]) => event === "history")?.[1].samples.length, 1);
});

Deno.test("above its threshold the graph tracker sends task groups with their progress", () => {
  const state = cluster();
  const tracker = new GraphTracker(5000, 2);
  const first: Json = tracker.update(state);
  assert.equal(first.kind, "groups");
  assert.deepEqual(first.groups.map((g: Json) => [g.name, g.total, g.done]), [
    ["inc", 2, 0],
    ["add", 1, 0],
  ]);
  assert.deepEqual(first.edges, [[0, 1]]);
  assert.equal(tracker.update(state), null, "nothing changed");
  finish(state, "inc-1", 2);
  const next: Json = tracker.update(state);
  assert.equal(next.groups[0].done, 1);
  assert.equal(tracker.snapshot(state).kind, "groups");
});

Deno.test("a flood of task runs reaches the pages coalesced per thread, a trickle as it is", () => {
  const runs: TaskStreamTuple[] = [
    ["inc-1", "inc", "w1", 0, 1.0, 1.001, 0],
    ["inc-2", "inc", "w1", 1, 1.0, 1.002, 0],
    ["inc-3", "inc", "w1", 0, 1.0015, 1.002, 0], // 0.5 ms after inc-1 on thread 0: joins it
    ["add-1", "add", "w1", 0, 1.0021, 1.003, 0], // another prefix: apart
    ["inc-4", "inc", "w1", 1, 1.0025, 1.003, 1], // erred: apart
    ["inc-5", "inc", "w1", 1, 1.5, 1.6, 0], // long after: apart
    ["add-2", "add", "w1", 0, 1.0031, 1.004, 0], // joins add-1
  ];
  assert.deepEqual(coalesceRuns(runs, 0.005), [
    ["inc-3", "inc", "w1", 0, 1.0, 1.002, 0, 2],
    ["inc-2", "inc", "w1", 1, 1.0, 1.002, 0],
    ["add-2", "add", "w1", 0, 1.0021, 1.004, 0, 2],
    ["inc-4", "inc", "w1", 1, 1.0025, 1.003, 1],
    ["inc-5", "inc", "w1", 1, 1.5, 1.6, 0],
  ]);

  // through the feed: above `coalesceAbove` entries in one push
  const state = cluster();
  const feed = new LiveFeed(new DashboardModel(state, identity), { coalesceAbove: 1 });
  const received = subscribe(feed, ["status"]);
  received.length = 0;
  finish(state, "inc-1", 10);
  finish(state, "inc-2", 10.001);
  feed.tick();
  const tasks = received.find(([e]) => e === "tasks")![1];
  assert.equal(tasks.total, 2);
  assert.deepEqual(tasks.entries, [["inc-2", "inc", WORKER, 1, 9.5, 10.001, 0, 2]]);
});

Deno.test("each page gets one message per push, with at most the cap of task rectangles", () => {
  const state = cluster();
  const feed = new LiveFeed(new DashboardModel(state, identity), {
    coalesceAbove: 100,
    taskStreamCap: 1,
  });
  /** Messages (chunks) each page received. */
  const chunks = { status: 0, both: 0, info: 0 };
  const count = (page: keyof typeof chunks) => () => (chunks[page]++, true);
  feed.subscribe(new Set(["status"]), count("status"));
  feed.subscribe(new Set(["status", "workers", "info"]), count("both"));
  feed.subscribe(new Set(["info"]), count("info"));
  const received = subscribe(feed, ["status"]);
  chunks.status = chunks.both = chunks.info = 0;
  received.length = 0;
  finish(state, "inc-1", 10);
  finish(state, "inc-2", 11);
  feed.tick();
  // status, tasks, workers and info all changed: still one message per page
  assert.deepEqual(chunks, { status: 1, both: 1, info: 1 });
  assert.deepEqual(received.map(([e]) => e), ["status", "tasks"]);
  const tasks = received[1][1];
  assert.equal(tasks.total, 2);
  assert.deepEqual(tasks.entries.map((e: Json) => e[0]), ["inc-2"], "the newest rectangle kept");
  assert.equal(tasks.first, 1);
  assert.deepEqual(tasks.columns.workers, [WORKER], "workers named once");
});
