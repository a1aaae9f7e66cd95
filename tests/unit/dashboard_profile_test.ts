import assert from "node:assert/strict";
import { profileView, taskStreamProfile } from "../../scheduler/dashboard/profile_view.ts";
import { SchedulerState } from "../../scheduler/state.ts";
import { finishTask } from "../helpers/scheduler_driver.ts";

const A = "tcp://127.0.0.1:1001";

function run(state: SchedulerState, key: string, start: number, stop: number): void {
  state.handle({
    type: "client-message",
    client: "Client-1",
    msg: { op: "update-graph", tasks: [{ key, fn: {}, args: null, deps: [] }], keys: [key] },
    now: start,
  });
  finishTask(state, A, key, start, stop);
}

Deno.test("without samplers the profile tree holds task time by prefix, then worker, clipped", async () => {
  const state = new SchedulerState();
  state.handle({ type: "worker-added", worker: { address: A, nthreads: 1 }, now: 0 });
  run(state, "spin-1", 10, 14);
  run(state, "inc-1", 14, 15);
  run(state, "spin-2", 20, 22);
  const view = await profileView(state, null, 12, 21);
  assert.equal(view.source, "task-stream", "labelled as the fallback it is");
  assert.equal(view.unit, "s");
  assert.equal(view.runs, 3);
  assert.equal(view.root.count, 2 + 1 + 1);
  assert.equal(view.root.children.spin.count, 3);
  assert.deepEqual(view.root.children.spin.children[A], {
    identifier: A,
    description: { name: A, filename: "", line_number: 0 },
    count: 3,
    children: {},
  });
  assert.equal(view.root.children.inc.count, 1);
  assert.equal(taskStreamProfile(state, 30, 40).root.count, 0, "no run in the range");
});
