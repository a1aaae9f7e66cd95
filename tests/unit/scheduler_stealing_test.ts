/**
 * Work stealing on many workers: the load-ordered books of thieves and victims
 * (scheduler/worker_loads.ts) against a brute-force reading of the workers, and a balance's
 * choices on a state machine with a hundred workers.
 */

import assert from "node:assert/strict";
import { tasksOnThreads, WorkerRecord } from "../../scheduler/records.ts";
import {
  IDLE,
  loadPerThread,
  SATURATED,
  UNFILED,
  WorkerLoads,
} from "../../scheduler/worker_loads.ts";
import type { GraphTaskSpec } from "../../protocol/messages.ts";
import type { Outgoing } from "../../scheduler/state.ts";
import type { SchedulerEvent } from "../../scheduler/events.ts";
import { computes, Driver } from "../helpers/scheduler_driver.ts";

function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** A worker whose load the test sets by hand: `count` tasks on threads, `load` seconds queued. */
function setLoad(worker: WorkerRecord, count: number, load: number): void {
  worker.processing.clear();
  for (let i = 0; i < count; i++) worker.processing.add({} as never);
  worker.occupancy = load;
}

Deno.test("worker loads file idle and saturated workers by load through random changes", () => {
  const random = lcg(7);
  const loads = new WorkerLoads();
  const workers = Array.from({ length: 400 }, (_, i) => {
    const w = new WorkerRecord(`tcp://w${i}:1`, `w${i}`, 1 + (i % 4), 0, {}, 0);
    w.takesTasks = true;
    loads.update(w);
    return w;
  });
  for (let step = 0; step < 20_000; step++) {
    const w = workers[Math.floor(random() * workers.length)];
    const what = random();
    if (what < 0.05) w.takesTasks = !w.takesTasks;
    else if (what < 0.2) w.inFlightTasks += random() < 0.5 ? -1 : 1;
    else setLoad(w, Math.floor(random() * 2 * w.nthreads + 1), random() * 3);
    loads.update(w);
    if (step % 1000 !== 999) continue;
    // Every worker is where a walk of all of them would put it.
    let running = 0, threads = 0, total = 0;
    for (const worker of workers) {
      const count = tasksOnThreads(worker) + worker.inFlightTasks;
      const want = !worker.takesTasks
        ? UNFILED
        : count < worker.nthreads
        ? IDLE
        : count > worker.nthreads
        ? SATURATED
        : UNFILED;
      assert.equal(worker.loadFiling, want, worker.address);
      if (worker.takesTasks) {
        running++;
        threads += worker.nthreads;
        total += loadPerThread(worker) * worker.nthreads;
      }
    }
    assert.equal(loads.running, running);
    assert.equal(loads.totalThreads, threads);
    assert.ok(Math.abs(loads.totalLoad - total) < 1e-6, `${loads.totalLoad} != ${total}`);
    const idle = workers.filter((w) => w.loadFiling === IDLE);
    assert.equal(loads.idle.size, idle.length);
    const least = Math.min(...idle.map(loadPerThread));
    assert.equal(loadPerThread(loads.idle.peek()!), least);
    // The victims above a floor, most loaded first, are exactly those a sort would list.
    const floor = total / threads;
    const expected = workers
      .filter((w) => w.loadFiling === SATURATED && loadPerThread(w) > floor)
      .map(loadPerThread)
      .sort((a, b) => b - a);
    assert.deepEqual([...loads.victimsAbove(floor)].map(loadPerThread), expected);
  }
});

function spec(key: string, deps: string[] = [], workers?: string[]): GraphTaskSpec {
  return { key, fn: "fn", args: deps, deps, options: workers ? { workers } : undefined };
}

function stealRequests(out: Outgoing[]): { key: string; stealId: number; victim: string }[] {
  const found = [];
  for (const o of out) {
    if (o.to === "worker" && o.msg.op === "steal-request") {
      found.push({ key: o.msg.key, stealId: o.msg.stealId, victim: o.worker });
    }
  }
  return found;
}

Deno.test("a balance on 100 workers sends each stolen task to the idle worker where it starts first", () => {
  const d = new Driver({ stealing: true, workerSaturation: Infinity });
  const n = 100;
  for (let i = 0; i < n; i++) d.addWorker(`w${i}`, { nthreads: 2 });
  // Every worker but w0 and w57 runs one pinned task: one idle thread, half a guess of load
  // per thread. w57 is idle with nothing; w0 holds the input of 30 tasks, which all go there.
  const pinned = [];
  for (let i = 1; i < n; i++) if (i !== 57) pinned.push(spec(`pinned-${i}`, [], [`w${i}`]));
  d.submit(pinned, pinned.map((t) => t.key));
  d.run({
    type: "client-message",
    client: "c1",
    msg: {
      op: "scatter",
      data: [{ key: "seed", nbytes: 100, typeName: "number", workers: ["w0"] }],
    },
  });
  const work = Array.from({ length: 30 }, (_, i) => spec(`work-${i}`, ["seed"]));
  d.submit(work, work.map((t) => t.key));
  assert.equal(d.s.workers.get("w0")!.processing.size, 30);
  const requests = stealRequests(d.run({ type: "tick" }));
  assert.ok(requests.length >= 2, `${requests.length} steal requests`);
  // The first goes to w57 (nothing queued); after it, w57 (one task coming) and the others
  // (one task each) are equally loaded per thread, each with a free thread: all take part.
  const thieves = requests.map((r) => {
    assert.equal(r.victim, "w0");
    const out = d.run({
      type: "worker-message",
      worker: "w0",
      msg: { op: "steal-response", key: r.key, stealId: r.stealId, state: "ready" },
    });
    const to = out.find((o) => o.to === "worker" && o.msg.op === "compute-task");
    return to?.to === "worker" ? to.worker : null;
  });
  assert.equal(thieves[0], "w57");
  assert.equal(new Set(thieves).size, thieves.length, `a thief was picked twice: ${thieves}`);
  for (const thief of thieves) assert.notEqual(thief, "w0");
});

Deno.test("near the end of a root-ish queue only free threads take tasks, none is held ahead", () => {
  const d = new Driver({ workerSaturation: 2 });
  d.addWorker("w1", { nthreads: 2 });
  d.addWorker("w2", { nthreads: 2 });
  const tasks = Array.from({ length: 10 }, (_, i) => spec(`root-${i}`));
  d.submit(tasks, tasks.map((t) => t.key));
  // 10 tasks for 4 threads: each worker fills its 4 slots (2 running, 2 held ahead).
  assert.equal(d.s.workers.get("w1")!.processing.size, 4);
  assert.equal(d.s.workers.get("w2")!.processing.size, 4);
  const onW1 = [...d.s.workers.get("w1")!.processing].map((t) => t.key);
  // 2 left for 4 threads: w1 finishing one (then two) has a slot but no free thread: it takes
  // none (before, it took one for each slot, and the last tasks waited behind its others).
  let out = d.finish(onW1[0]);
  assert.deepEqual(computes(out), []);
  assert.equal(d.s.workers.get("w1")!.processing.size, 3);
  out = d.finish(onW1[1]);
  assert.deepEqual(computes(out), []);
  // Once it has a free thread it takes one (and only one).
  out = d.finish(onW1[2]);
  assert.equal(computes(out, "w1").length, 1);
  assert.equal(d.s.workers.get("w1")!.processing.size, 2);
});

/** Submits `n` tasks one at a time, each finished before the next: the workers they went to. */
function oneAtATime(d: Driver, n: number): string[] {
  const placed: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `one-${i}`;
    d.submit([spec(key)], [key]);
    placed.push(d.s.tasks.get(key)!.processingOn!.name);
    d.finish(key);
  }
  return placed;
}

Deno.test("one task at a time on idle, equally loaded workers keeps going to the same worker", () => {
  // a client awaiting each result before the next submit: the task should land where the last
  // one ran (its thread is awake), not on each worker in turn
  const d = new Driver();
  d.addWorker("w1", { nthreads: 1 });
  d.addWorker("w2", { nthreads: 1 });
  const placed = oneAtATime(d, 6);
  assert.equal(new Set(placed).size, 1, `placed on ${placed}`);
});

Deno.test("one task at a time goes to the first-joined of equally loaded idle workers, also after a burst", () => {
  // A burst fills both workers; w1 finishes last, so it re-enters the workers with free slots
  // after w2. Single tasks then still go to one worker, the one that joined first: the choice
  // among equals does not follow the order in which workers happened to free their threads.
  const d = new Driver();
  d.addWorker("w1", { nthreads: 1 });
  d.addWorker("w2", { nthreads: 1 });
  const burst = ["b-0", "b-1", "b-2", "b-3"];
  d.submit(burst.map((key) => spec(key)), burst);
  const on = (name: string) =>
    burst.filter((key) => d.s.tasks.get(key)?.processingOn?.name === name);
  assert.ok(on("w1").length > 0 && on("w2").length > 0, "the burst spreads over both workers");
  for (const name of ["w2", "w1"]) {
    for (let left = on(name); left.length > 0; left = on(name)) d.finish(left[0]);
  }
  assert.deepEqual(oneAtATime(d, 4), ["w1", "w1", "w1", "w1"]);
});

/** A driver whose books are not validated after each event (validation reads the load heaps). */
class UnvalidatedDriver extends Driver {
  override run(event: Parameters<Driver["run"]>[0]): Outgoing[] {
    this.s.handle({ ...event, now: event.now ?? ++this.now } as SchedulerEvent);
    return this.s.takeOutgoing();
  }
}

Deno.test("tasks assigned and finished move no worker in the load heaps until a balance reads them", () => {
  const d = new UnvalidatedDriver({ stealing: true, workerSaturation: Infinity });
  const n = 50;
  for (let i = 0; i < n; i++) d.addWorker(`w${i}`, { nthreads: 2 });
  const inputs = Array.from({ length: 400 }, (_, i) => spec(`in-${i}`));
  const outputs = Array.from({ length: 400 }, (_, i) => spec(`out-${i}`, [`in-${i}`]));
  d.submit([...inputs, ...outputs], outputs.map((t) => t.key));
  const before = d.s.loadHeapMoves;
  for (let round = 0; round < 2; round++) {
    for (const [key, task] of [...d.s.tasks]) if (task.state === "processing") d.finish(key);
  }
  const states = new Set([...d.s.tasks.values()].map((t) => t.state));
  assert.deepEqual([...states].sort(), ["memory", "released"]);
  // 800 tasks assigned and finished on 50 workers changed their loads ~1,600 times: no worker
  // moved in a heap (each move is O(log workers)) until a balance reads the heaps, which refiles
  // each worker at most once
  assert.equal(d.s.loadHeapMoves - before, 0);
  d.run({ type: "tick" });
  assert.ok(d.s.loadHeapMoves - before <= n, `${d.s.loadHeapMoves - before} moves`);
  d.s.validate();
});
