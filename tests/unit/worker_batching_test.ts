/**
 * Short tasks reach busy threads in batches (worker/state.ts `shortTaskBatchSeconds`); tasks
 * with resources or big inputs still go one per thread.
 */
import assert from "node:assert/strict";
import { type WorkerInstruction, WorkerState, type WorkerStateConfig } from "../../worker/state.ts";
import type { ComputeTaskMsg, KeyLocation } from "../../protocol/messages.ts";

const ME = "tcp://me:1";

class Driver {
  readonly w: WorkerState;
  now = 0;
  #runIds = 0;

  constructor(config: Partial<WorkerStateConfig> = {}) {
    this.w = new WorkerState({ address: ME, nthreads: 1, ...config });
  }

  compute(key: string, extra: Partial<ComputeTaskMsg> = {}): string[] {
    const instructions = this.w.handle({
      type: "scheduler-message",
      msg: {
        op: "compute-task",
        key,
        runId: ++this.#runIds,
        fn: "fn",
        args: [],
        priority: [0, 0, this.#runIds],
        deps: [],
        resources: null,
        duration: 0.001,
        ...extra,
      },
      now: ++this.now,
    });
    return this.#executed(instructions);
  }

  done(key: string, nbytes = 8, typeName = "number"): string[] {
    const instructions = this.w.handle({
      type: "thread-finished",
      key,
      result: { ok: true, nbytes, typeName },
      start: this.now,
      stop: this.now + 0.001,
      thread: 0,
      now: ++this.now,
    });
    return this.#executed(instructions);
  }

  #executed(instructions: WorkerInstruction[]): string[] {
    this.w.validate();
    return instructions.flatMap((i: WorkerInstruction) =>
      i.type === "execute" ? i.tasks.map((t) => t.key) : []
    );
  }
}

Deno.test("short tasks join a busy thread's batch, up to the batch's expected seconds", () => {
  const d = new Driver({ nthreads: 2, shortTaskBatchSeconds: 0.005 });
  const executed: string[] = [];
  for (let i = 0; i < 20; i++) executed.push(...d.compute(`short-${i}`));
  // 2 threads × 5 ms of 1 ms tasks: about ten handed out at once, the rest wait
  assert.ok(executed.length > d.w.nthreads, `only ${executed.length} handed out`);
  assert.ok(executed.length >= 9 && executed.length <= 10, `${executed.length} handed out`);
  assert.deepEqual(executed, executed.toSorted((a, b) => +a.split("-")[1] - +b.split("-")[1]));
  assert.equal(d.w.executing, executed.length);
  // a finished task makes room for the next one in priority order
  assert.deepEqual(d.done(executed[0]), [`short-${executed.length}`]);
});

Deno.test("longer tasks go one per thread", () => {
  const d = new Driver({ nthreads: 1, shortTaskBatchSeconds: 0.005 });
  assert.deepEqual(d.compute("long-0", { duration: 0.5 }), ["long-0"]);
  assert.deepEqual(d.compute("short-0"), []);
  assert.equal(d.w.executing, 1);
});

Deno.test("tasks that need resources go one per thread however short", () => {
  const d = new Driver({ nthreads: 1, resources: { GPU: 8 } });
  const executed: string[] = [];
  for (let i = 0; i < 5; i++) {
    executed.push(...d.compute(`gpu-${i}`, { resources: { GPU: 1 } }));
  }
  assert.deepEqual(executed, ["gpu-0"]);
  assert.deepEqual(d.done("gpu-0"), ["gpu-1"]);
});

Deno.test("short tasks with big copied inputs go one per thread; others still batch", () => {
  const d = new Driver({ nthreads: 1 });
  assert.deepEqual(d.compute("big-0", { duration: 0.5 }), ["big-0"]);
  assert.deepEqual(d.done("big-0", 4 << 20), []);
  const big: KeyLocation[] = [{ key: "big-0", nbytes: 4 << 20, workers: [ME] }];
  assert.deepEqual(d.compute("reads-big-0", { deps: big }), ["reads-big-0"]);
  assert.deepEqual(d.compute("reads-big-1", { deps: big }), []);
  // a short task without inputs may still join the busy thread, behind nothing bigger
  const d2 = new Driver({ nthreads: 1 });
  assert.deepEqual(d2.compute("small-0"), ["small-0"]);
  assert.deepEqual(d2.compute("small-1"), ["small-1"]);
  // a big typed array is shared with the thread, not copied: readers of it batch
  const d3 = new Driver({ nthreads: 1 });
  assert.deepEqual(d3.compute("table", { duration: 0.5 }), ["table"]);
  assert.deepEqual(d3.done("table", 4 << 20, "Float64Array"), []);
  const table: KeyLocation[] = [{ key: "table", nbytes: 4 << 20, workers: [ME] }];
  assert.deepEqual(d3.compute("look-0", { deps: table }), ["look-0"]);
  assert.deepEqual(d3.compute("look-1", { deps: table }), ["look-1"]);
});
