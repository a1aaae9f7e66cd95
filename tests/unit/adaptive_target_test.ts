import assert from "node:assert/strict";
import {
  type AdaptiveSnapshot,
  adaptiveTarget,
  type AdaptiveWorker,
  workersToClose,
} from "../../scheduler/adaptive_target.ts";

const worker = (name: string, extra: Partial<AdaptiveWorker> = {}): AdaptiveWorker => ({
  address: `tcp://127.0.0.1:${1000 + Number(name.replace(/\D/g, "") || 0)}`,
  name,
  nthreads: 1,
  memoryLimit: 1e9,
  nbytes: 0,
  processing: 0,
  occupancy: 0,
  ...extra,
});

const snapshot = (
  workers: AdaptiveWorker[],
  pending = 0,
  pendingSample: number[] = [],
): AdaptiveSnapshot => ({ workers, pending, pendingSample });

Deno.test("no workers and queued work: at least one worker", () => {
  const t = adaptiveTarget(snapshot([], 3, [0.001, 0.001, 0.001]), { targetDuration: 5 });
  assert.equal(t.target, 1);
  assert.deepEqual(t.toClose, []);
});

Deno.test("10,000 queued tasks of 0.1 s: enough workers to finish in the target duration", () => {
  const sample = Array.from({ length: 100 }, () => 0.1);
  // 1,000 s of work in 5 s: 200 threads, 100 workers of 2 threads
  const t = adaptiveTarget(snapshot([worker("a", { nthreads: 2 })], 10_000, sample), {
    targetDuration: 5,
  });
  assert.equal(t.threads, 200);
  assert.equal(t.target, 100);
});

Deno.test("threads per worker given by the manager override the current average", () => {
  const sample = Array.from({ length: 10 }, () => 1);
  const t = adaptiveTarget(snapshot([], 10, sample), { targetDuration: 1, threadsPerWorker: 4 });
  assert.equal(t.threads, 10);
  assert.equal(t.target, 3);
});

Deno.test("a few long tasks ask for no more threads than there are tasks", () => {
  const t = adaptiveTarget(snapshot([worker("a", { processing: 2, occupancy: 1000 })]), {
    targetDuration: 5,
  });
  assert.equal(t.threads, 2);
  assert.equal(t.target, 2);
});

Deno.test("memory over 60 % of the limits asks for twice the workers", () => {
  const full = [worker("a", { nbytes: 7e8 }), worker("b", { nbytes: 7e8 })];
  assert.equal(adaptiveTarget(snapshot(full), { targetDuration: 5 }).target, 4);
});

Deno.test("idle workers close, the emptiest first; busy ones and data stay", () => {
  const workers = [
    worker("busy", { processing: 1, occupancy: 0.01 }),
    worker("full", { nbytes: 6e8 }),
    worker("empty"),
    worker("some", { nbytes: 1e6 }),
  ];
  const t = adaptiveTarget(snapshot(workers), { targetDuration: 5 });
  // one task: one worker wanted; "full" stays because the rest would hold under 2× its data
  assert.deepEqual(t.toClose, ["empty", "some"]);
  assert.equal(t.target, 2);
});

Deno.test("never below the minimum, and never the last holder of data", () => {
  const idle = [worker("w1"), worker("w2"), worker("w3")];
  assert.deepEqual(adaptiveTarget(snapshot(idle), { targetDuration: 5 }).toClose, [
    "w1",
    "w2",
    "w3",
  ]);
  assert.equal(adaptiveTarget(snapshot(idle), { targetDuration: 5, minimum: 2 }).target, 2);
  const holder = [worker("w1", { nbytes: 10 })];
  assert.deepEqual(workersToClose(holder), []);
  // workers without a memory limit hold any amount
  const unlimited = [
    worker("w1", { memoryLimit: 0, nbytes: 1e12 }),
    worker("w2", { memoryLimit: 0 }),
  ];
  assert.deepEqual(workersToClose(unlimited, { target: 1 }).map((w) => w.name), ["w2"]);
});

Deno.test("a target duration that is not positive is refused", () => {
  assert.throws(() => adaptiveTarget(snapshot([]), { targetDuration: 0 }), /targetDuration/);
});
