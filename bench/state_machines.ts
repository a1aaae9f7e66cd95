/**
 * The scheduler's and the worker's state machines alone, fed the messages a `map` of 10,000
 * independent tasks produces on 2 workers × 1 thread — no sockets, no codec, no threads. The
 * cluster benchmarks (bench/distributed.ts) move with machine load by a third; these figures are
 * steady enough to tell whether a change to scheduling logic made the per-task path cheaper.
 *
 *   deno run -A bench/state_machines.ts [--cpu]
 *
 * `--cpu` times rounds by the process's CPU time instead of the wall clock: on a machine shared
 * with other work, wall time also counts the time this process waited for a core.
 */

import { SchedulerState } from "../scheduler/state.ts";
import type { ComputeTaskMsg, GraphTaskSpec } from "../protocol/messages.ts";
import { type WorkerInstruction, WorkerState } from "../worker/state.ts";
import { encode } from "../core/value_codec.ts";
import { median, report } from "./measure.ts";
import { cpuUsage } from "node:process";

const TASKS = 10_000;
const ROUNDS = 30;
const WARMUP = 10;
const FN = { id: "fn-inc", kind: "source", name: "inc", source: "(x) => x + 1" };

/** Milliseconds: of the wall clock, or of the process's CPU time with `--cpu`. */
const timer: () => number = Deno.args.includes("--cpu")
  ? () => {
    const used = cpuUsage();
    return (used.user + used.system) / 1000;
  }
  : () => performance.now();

/** Per-task µs of the rounds after the warm-up. */
function measure(round: (index: number) => number): number {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const us = round(i);
    if (i >= WARMUP) times.push(us);
  }
  return median(times);
}

/** Keys and encoded arguments of one round's tasks (made before the clock starts). */
function roundTasks(index: number): { keys: string[]; args: ReturnType<typeof encode>[] } {
  const keys: string[] = [];
  const args = [];
  for (let i = 0; i < TASKS; i++) {
    keys.push(`inc-${index.toString(16)}-${i.toString(16).padStart(12, "0")}`);
    args.push(encode([index * TASKS + i]));
  }
  return { keys, args };
}

/**
 * Takes `keys` (independent tasks of one function) through a scheduler's books as a client and
 * its workers would: one update-graph, each compute-task answered by task-finished, then the
 * client lets go of every key. Returns how many tasks ran; `now` is the clock, in seconds.
 */
export function runSchedulerMap(
  state: SchedulerState,
  client: string,
  keys: readonly string[],
  args: readonly unknown[],
  clock: { now: number },
): number {
  const tasks: GraphTaskSpec[] = keys.map((key, i) => ({
    key,
    fn: i === 0 ? FN : FN.id,
    args: args[i],
    deps: [],
  }));
  state.handle({
    type: "client-message",
    client,
    msg: { op: "update-graph", tasks, keys: [...keys] },
    now: clock.now,
  });
  let ran = 0;
  for (let out = state.takeOutgoing(); ran < keys.length; out = state.takeOutgoing()) {
    let sent = 0;
    for (const o of out) {
      if (o.to !== "worker" || o.msg.op !== "compute-task") continue;
      sent++;
      clock.now += 1e-5;
      state.handle({
        type: "worker-message",
        worker: o.worker,
        msg: {
          op: "task-finished",
          key: o.msg.key,
          runId: o.msg.runId,
          nbytes: 8,
          typeName: "number",
          start: clock.now - 5e-6,
          stop: clock.now,
          thread: 0,
        },
        now: clock.now,
      });
    }
    if (sent === 0) break; // stalled: the caller sees fewer than asked
    ran += sent;
  }
  state.handle({
    type: "client-message",
    client,
    msg: { op: "client-releases-keys", keys: [...keys] },
    now: clock.now,
  });
  state.takeOutgoing();
  return ran;
}

function benchScheduler(): void {
  const state = new SchedulerState();
  const clock = { now: 1000 };
  for (const port of [1, 2]) {
    state.handle({
      type: "worker-added",
      worker: { address: `tcp://127.0.0.1:${port}`, nthreads: 1 },
      now: clock.now,
    });
  }
  state.handle({ type: "client-connected", client: "client-1", now: clock.now });
  state.takeOutgoing();
  const perTask = measure((index) => {
    const { keys, args } = roundTasks(index);
    const start = timer();
    const ran = runSchedulerMap(state, "client-1", keys, args, clock);
    const us = ((timer() - start) * 1000) / TASKS;
    if (ran !== TASKS) throw new Error(`the scheduler stalled after ${ran} tasks`);
    return us;
  });
  report("SchedulerState: a task through its whole life", `${perTask.toFixed(2)} µs`);
}

/** Adds the keys of the tasks `instructions` start to `started`. */
function collectStarted(instructions: WorkerInstruction[], started: string[]): void {
  for (const instruction of instructions) {
    if (instruction.type === "execute") {
      for (const task of instruction.tasks) started.push(task.key);
    }
  }
}

/** The worker: compute-task in (bursts of 200), execute out, thread-finished back, then freed. */
function benchWorker(): void {
  const state = new WorkerState({ address: "tcp://127.0.0.1:1", nthreads: 1 });
  let now = 1000;
  let runId = 0;
  const perTask = measure((index) => {
    const { keys, args } = roundTasks(index);
    const start = timer();
    const started: string[] = [];
    for (let first = 0; first < TASKS; first += 200) {
      for (let i = first; i < first + 200; i++) {
        const msg: ComputeTaskMsg = {
          op: "compute-task",
          key: keys[i],
          runId: ++runId,
          fn: index === 0 && i === 0 ? FN : FN.id,
          args: args[i],
          priority: [0, index, i],
          deps: [],
          resources: null,
          duration: 1e-5,
        };
        collectStarted(state.handle({ type: "scheduler-message", msg, now }), started);
      }
      while (started.length > 0) {
        const finished = started.splice(0);
        now += 1e-5;
        for (const key of finished) {
          const out = state.handle({
            type: "thread-finished",
            key,
            result: { ok: true, nbytes: 8, typeName: "number" },
            start: now - 5e-6,
            stop: now,
            thread: 0,
            now,
          });
          collectStarted(out, started);
        }
      }
    }
    state.handle({ type: "scheduler-message", msg: { op: "free-keys", keys }, now });
    return ((timer() - start) * 1000) / TASKS;
  });
  report("WorkerState: a task through its whole life", `${perTask.toFixed(2)} µs`);
}

const HELD_TASKS = 1_000_000;

/**
 * Heap bytes per task a scheduler holds for a million-task graph (all submitted, a few running,
 * the rest queued), with and without the story ring of each key's transitions: the ring is
 * shared by all keys, so its cost per task shrinks as the graph grows. Each setting runs in a
 * child process of its own with `--expose-gc` (`--memory=<story capacity>`).
 */
async function benchSchedulerMemory(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const asked = Deno.args.find((a) => a.startsWith("--memory="));
  if (gc === undefined || asked === undefined) {
    // One child per setting, so neither measurement sees the other's heap.
    for (const storyCapacity of [0, 100_000]) {
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--v8-flags=--expose-gc",
          new URL(import.meta.url).pathname,
          `--memory=${storyCapacity}`,
        ],
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (!child.success) throw new Error("the memory benchmark's child process failed");
    }
    return;
  }
  const storyCapacity = Number(asked.slice("--memory=".length));
  const args = Array.from({ length: HELD_TASKS }, (_, i) => encode([i]));
  gc();
  const before = Deno.memoryUsage().heapUsed;
  const state = new SchedulerState({ stealing: false, storyCapacity });
  for (const address of ["tcp://w1", "tcp://w2"]) {
    state.handle({ type: "worker-added", worker: { address, nthreads: 1 }, now: 0 });
  }
  const tasks: GraphTaskSpec[] = args.map((a, i) => ({
    key: `inc-${i.toString(16).padStart(12, "0")}`,
    fn: i === 0 ? FN : FN.id,
    args: a,
    deps: [],
  }));
  state.handle({
    type: "client-message",
    client: "c1",
    msg: { op: "update-graph", tasks, keys: tasks.map((t) => t.key) },
    now: 1,
  });
  state.takeOutgoing();
  tasks.length = 0;
  gc();
  const perTask = (Deno.memoryUsage().heapUsed - before) / HELD_TASKS;
  if (state.tasks.size !== HELD_TASKS) throw new Error("tasks were lost");
  report(
    `SchedulerState: heap per held task, 1,000,000 tasks, story ring of ${storyCapacity}`,
    `${perTask.toFixed(0)} B`,
  );
}

if (import.meta.main) {
  if (!Deno.args.some((a) => a.startsWith("--memory="))) {
    benchScheduler();
    benchWorker();
  }
  await benchSchedulerMemory();
}
