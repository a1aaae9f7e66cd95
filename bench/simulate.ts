/**
 * The scheduler at scale, by simulation: the real scheduler state machine (no sockets, no
 * codec, no threads) driven by simulated workers on a simulated clock — task durations,
 * transfer costs for dependencies held elsewhere, heartbeats, work stealing's ticks — for 10,
 * 100 and 1,000 workers and graphs of about 1,000,000 tasks in four shapes:
 *
 * - `map`: independent tasks;
 * - `tree`: a binary tree reduction;
 * - `shuffle`: inputs, then outputs that each read 8 inputs spread across the whole range;
 * - `chains`: chains of 10 tasks, each reading the previous one (locality matters).
 *
 * For each it reports the scheduler's own CPU time per task (CPU time, not wall clock, so a
 * busy shared machine does not inflate it): the CPU of the whole simulation less the CPU of
 * the same simulation replayed with the scheduler's recorded answers in place of the state
 * machine (the simulator's own cost, measured separately; a `cpuUsage()` per call would cost
 * more than the call it measures), the heap the scheduler adds per task once the graph is
 * submitted, and the placement quality: the simulated makespan over a lower bound (see
 * `lowerBound`: the critical path, and work / slots with the paths before or after it).
 * Targets (issue 17): ≤ 5 µs and ≤ 1 KB per task, within 20 % from 10 to 1,000 workers, makespan
 * within 10 % of the bound. Of the µs per task it also gives the part spent on the process's
 * other threads (V8 compiling the scheduler's code in the background, concurrent GC; Linux): a
 * fixed cost per process, which a run of 30,000 tasks spreads over few tasks; and the bytes the
 * scheduler allocates per task (V8's count over the run less the replay's: load does not move
 * it, so it shows a change in the garbage made per task where the CPU figures scatter).
 *
 *   deno run -A bench/simulate.ts [tasks] [--shapes=map,tree] [--workers=10,100]
 *
 * (default 1,000,000 tasks, every shape, 10/100/1,000 workers; reruns itself with gc exposed)
 */

import { SchedulerState } from "../scheduler/state.ts";
import type { SchedulerEvent } from "../scheduler/events.ts";
import type { GraphTaskSpec } from "../protocol/messages.ts";
import { encode } from "../core/value_codec.ts";
import { report } from "./measure.ts";
import { rng } from "../examples/github_events_data.ts";
import { cpuUsage } from "node:process";
import { getHeapStatistics } from "node:v8";

const THREADS_PER_WORKER = 4;
const MEAN_DURATION = 0.01; // s
const RESULT_BYTES = 100_000;
const BANDWIDTH = 1e9; // bytes/s between workers
const LATENCY = 0.0005; // s per transfer
const HEARTBEAT = 1; // s
const TICK = 0.1; // s, as the scheduler server's
const FN = { id: "fn-sim", kind: "source", name: "sim", source: "() => 0" };

/** A graph to simulate: specs in topological order, their durations, and the outputs. */
interface Shape {
  name: string;
  specs: GraphTaskSpec[];
  duration: Map<string, number>;
  outputs: string[];
}

function makeShape(name: string, n: number): Shape {
  const random = rng(n + name.length);
  const specs: GraphTaskSpec[] = [];
  const duration = new Map<string, number>();
  const args = encode([0]);
  const add = (key: string, deps: string[]) => {
    specs.push({ key, fn: specs.length === 0 ? FN : FN.id, args, deps });
    duration.set(key, MEAN_DURATION * (0.5 + random()));
  };
  const outputs: string[] = [];
  if (name === "map") {
    for (let i = 0; i < n; i++) add(`map-${i}`, []);
    for (let i = 0; i < n; i++) outputs.push(`map-${i}`);
  } else if (name === "tree") {
    let level: string[] = [];
    for (let i = 0; i < Math.ceil(n / 2); i++) {
      add(`leaf-${i}`, []);
      level.push(`leaf-${i}`);
    }
    for (let depth = 0; level.length > 1; depth++) {
      const next: string[] = [];
      for (let i = 0; i < level.length; i += 2) {
        if (i + 1 === level.length) {
          next.push(level[i]);
          continue;
        }
        const key = `sum-${depth}-${i / 2}`;
        add(key, [level[i], level[i + 1]]);
        next.push(key);
      }
      level = next;
    }
    outputs.push(level[0]);
  } else if (name === "shuffle") {
    const half = Math.floor(n / 2);
    const fan = 8;
    for (let i = 0; i < half; i++) add(`in-${i}`, []);
    const stride = Math.floor(half / fan);
    for (let j = 0; j < half; j++) {
      const deps = Array.from({ length: fan }, (_, m) => `in-${(j + m * stride) % half}`);
      add(`out-${j}`, [...new Set(deps)]);
      outputs.push(`out-${j}`);
    }
  } else {
    const length = 10;
    for (let c = 0; c < Math.floor(n / length); c++) {
      for (let l = 0; l < length; l++) {
        add(`chain-${c}-${l}`, l === 0 ? [] : [`chain-${c}-${l - 1}`]);
      }
      outputs.push(`chain-${c}-${length - 1}`);
    }
  }
  return { name, specs, duration, outputs };
}

/**
 * A lower bound of any schedule's makespan on `slots` threads (transfers free): the longest path
 * of durations, and for every τ the bound τ + W/slots where W is the work of the tasks followed
 * by a path of at least τ (they must all finish by makespan − τ), or preceded by one (they cannot
 * start before τ). τ = 0 is total work / slots. Where total work / slots and the longest path
 * are close — a tree on 1,000 workers: its leaves fill every thread, then its top levels run one
 * after another — their larger one alone is far below what any schedule can reach.
 */
function lowerBound(shape: Shape, slots: number): number {
  const n = shape.specs.length;
  const index = new Map<string, number>();
  const work = new Float64Array(n);
  const head = new Float64Array(n); // longest path of durations before a task starts
  const tail = new Float64Array(n); // longest path after it finishes
  let critical = 0;
  for (let i = 0; i < n; i++) {
    const spec = shape.specs[i];
    index.set(spec.key, i);
    work[i] = shape.duration.get(spec.key)!;
    for (const dep of spec.deps) {
      const j = index.get(dep)!;
      head[i] = Math.max(head[i], head[j] + work[j]);
    }
    critical = Math.max(critical, head[i] + work[i]);
  }
  for (let i = n - 1; i >= 0; i--) {
    for (const dep of shape.specs[i].deps) {
      const j = index.get(dep)!;
      tail[j] = Math.max(tail[j], work[i] + tail[i]);
    }
  }
  let bound = critical;
  for (const path of [head, tail]) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => path[b] - path[a]);
    let w = 0;
    for (const i of order) {
      w += work[i];
      bound = Math.max(bound, path[i] + w / slots);
    }
  }
  return bound;
}

/** A binary min-heap of simulated events by time. */
class EventQueue<T> {
  #times: number[] = [];
  #items: T[] = [];
  get size(): number {
    return this.#times.length;
  }
  push(time: number, item: T): void {
    const times = this.#times, items = this.#items;
    let i = times.length;
    times.push(time);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] <= time) break;
      times[i] = times[parent];
      items[i] = items[parent];
      i = parent;
    }
    times[i] = time;
    items[i] = item;
  }
  peekTime(): number {
    return this.#times[0];
  }
  pop(): T {
    const times = this.#times, items = this.#items;
    const top = items[0];
    const lastTime = times.pop()!, lastItem = items.pop()!;
    const n = times.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && times[child + 1] < times[child]) child++;
        if (times[child] >= lastTime) break;
        times[i] = times[child];
        items[i] = items[child];
        i = child;
      }
      times[i] = lastTime;
      items[i] = lastItem;
    }
    return top;
  }
}

/** A task a simulated worker was sent: its key and run, its inputs at `record[at…]`. */
interface SimTask {
  key: string;
  runId: number;
  record: Answer;
  at: number;
}

/** A simulated worker: its slots' free times, what it holds, what waits for a slot. */
interface SimWorker {
  index: number;
  address: string;
  holds: Set<string>;
  queue: SimTask[];
  queueHead: number;
  running: Map<string, number>; // key -> runId
  idleSlots: number;
}

type SimEvent =
  | { kind: "finish"; worker: SimWorker; key: string; runId: number; start: number }
  | { kind: "tick" }
  | { kind: "heartbeat"; worker: SimWorker };

interface Result {
  schedulerUsPerTask: number;
  /** Bytes allocated over the run (V8's count: kept or collected since, the bench's included). */
  allocated: number;
  bytesPerTask: number;
  makespanOverBound: number;
  ran: number;
}

type Outgoing = ReturnType<SchedulerState["takeOutgoing"]>;

/**
 * What the simulator reads of one event's answer, flat: per message to a worker
 * `COMPUTE, worker, key, runId, inputs, (key, nbytes) × inputs`, `FREE, worker, keys, key × keys`
 * or `STEAL, worker, key, stealId`. Kept for the replay, the answers stay alive for the whole
 * run; the scheduler's own messages are garbage once read, as in the server, where they are
 * encoded and dropped — kept as they were, every collection copied them and their cost was
 * counted as the scheduler's. The replay copies each record it reads, so both runs allocate and
 * keep the same records (bytes per task are measured before either).
 */
type Answer = (string | number)[];
const COMPUTE = 0, FREE = 1, STEAL = 2;

/** The part of `out` the simulated workers act on. */
function recordAnswer(out: Outgoing, workers: Map<string, SimWorker>): Answer {
  const record: Answer = [];
  for (const o of out) {
    if (o.to !== "worker") continue;
    const msg = o.msg;
    const worker = workers.get(o.worker)!.index;
    if (msg.op === "compute-task") {
      record.push(COMPUTE, worker, msg.key, msg.runId, msg.deps.length);
      for (const dep of msg.deps) record.push(dep.key, dep.nbytes);
    } else if (msg.op === "free-keys") {
      record.push(FREE, worker, msg.keys.length, ...msg.keys);
    } else if (msg.op === "steal-request") {
      record.push(STEAL, worker, msg.key, msg.stealId);
    }
  }
  return record;
}

/**
 * CPU µs of this process's main thread and of its other threads (V8's background compilation and
 * concurrent GC) so far, from /proc (Linux; zeros elsewhere). 10 ms resolution: for totals.
 */
function threadCpu(): { main: number; other: number } {
  let main = 0, other = 0;
  try {
    for (const entry of Deno.readDirSync("/proc/self/task")) {
      const stat = Deno.readTextFileSync(`/proc/self/task/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const us = (Number(fields[11]) + Number(fields[12])) * 10_000; // clock ticks of 10 ms
      if (Number(entry.name) === Deno.pid) main += us;
      else other += us;
    }
  } catch {
    // no /proc: no split
  }
  return { main, other };
}

/** Bytes V8 allocated in this process so far (Deno's `node:v8` gives it; its types omit it). */
function allocatedBytes(): number {
  const stats = getHeapStatistics() as unknown as { total_allocated_bytes?: number };
  return stats.total_allocated_bytes ?? 0;
}

/** CPU µs (user + system) spent since `start`. */
function cpuSince(start: ReturnType<typeof cpuUsage>): number {
  const spent = cpuUsage(start);
  return spent.user + spent.system;
}

/**
 * Runs the simulation. Without `replay` it drives the state machine and records its answers;
 * with `replay` it feeds those answers back without the state machine: the simulator's cost.
 */
function simulate(
  shape: Shape,
  nWorkers: number,
  replay?: Answer[],
): Result & { cpuUs: number; backgroundUs: number; answers: Answer[] } {
  const gc = (globalThis as { gc?: () => void }).gc;
  const cpuStart = cpuUsage();
  const threadsStart = threadCpu();
  const allocatedStart = allocatedBytes();
  let excludedUs = 0; // the collections around the bytes measurement
  const state = replay ? undefined : new SchedulerState();
  const answers: Answer[] = [];
  let answered = 0;
  let now = 0;
  const feed = (event: SchedulerEvent): Answer => {
    if (replay) {
      if (answered === replay.length) {
        throw new Error("the replay asked for more answers than recorded");
      }
      const copy = replay[answered++].slice();
      answers.push(copy);
      return copy;
    }
    state!.handle(event);
    const record = recordAnswer(state!.takeOutgoing(), workers);
    answers.push(record);
    return record;
  };
  const workers = new Map<string, SimWorker>();
  const byIndex: SimWorker[] = [];
  const events = new EventQueue<SimEvent>();
  for (let i = 0; i < nWorkers; i++) {
    const address = `tcp://10.0.${i >> 8}.${i & 255}:8786`;
    const worker: SimWorker = {
      index: i,
      address,
      holds: new Set(),
      queue: [],
      queueHead: 0,
      running: new Map(),
      idleSlots: THREADS_PER_WORKER,
    };
    workers.set(address, worker);
    byIndex.push(worker);
    feed({ type: "worker-added", worker: { address, nthreads: THREADS_PER_WORKER }, now });
    events.push(HEARTBEAT * (i / nWorkers), { kind: "heartbeat", worker });
  }
  feed({ type: "client-connected", client: "sim", now });
  events.push(TICK, { kind: "tick" });

  let gcStart = cpuUsage();
  gc?.();
  excludedUs += cpuSince(gcStart);
  const before = Deno.memoryUsage().heapUsed;
  let out = feed({
    type: "client-message",
    client: "sim",
    msg: { op: "update-graph", tasks: shape.specs, keys: shape.outputs },
    now,
  });
  gcStart = cpuUsage();
  gc?.();
  excludedUs += cpuSince(gcStart);
  const bytesPerTask = (Deno.memoryUsage().heapUsed - before) / shape.specs.length;

  let ran = 0;
  const wanted = new Set(shape.outputs);
  let outputsDone = 0;
  let makespan = 0;
  const startNext = (worker: SimWorker) => {
    while (worker.idleSlots > 0 && worker.queueHead < worker.queue.length) {
      const msg = worker.queue[worker.queueHead++];
      if (worker.queueHead > 1024 && worker.queueHead * 2 > worker.queue.length) {
        worker.queue = worker.queue.slice(worker.queueHead);
        worker.queueHead = 0;
      }
      if (msg.runId < 0) continue; // stolen away
      let fetch = 0;
      const fetched: { key: string; nbytes: number }[] = [];
      const record = msg.record;
      const inputs = record[msg.at] as number;
      for (let d = msg.at + 1; d < msg.at + 1 + 2 * inputs; d += 2) {
        const key = record[d] as string, nbytes = record[d + 1] as number;
        if (worker.holds.has(key)) continue;
        fetch += LATENCY + Math.max(nbytes, 0) / BANDWIDTH;
        fetched.push({ key, nbytes });
        worker.holds.add(key);
      }
      if (fetched.length > 0) {
        deliver(feed({
          type: "worker-message",
          worker: worker.address,
          msg: { op: "add-keys", keys: fetched },
          now,
        }));
      }
      worker.idleSlots--;
      worker.running.set(msg.key, msg.runId);
      const start = now + fetch;
      events.push(start + shape.duration.get(msg.key)!, {
        kind: "finish",
        worker,
        key: msg.key,
        runId: msg.runId,
        start,
      });
    }
  };
  const deliver = (record: Answer) => {
    let at = 0;
    while (at < record.length) {
      const op = record[at], worker = byIndex[record[at + 1] as number];
      if (op === COMPUTE) {
        const inputs = record[at + 4] as number;
        worker.queue.push({
          key: record[at + 2] as string,
          runId: record[at + 3] as number,
          record,
          at: at + 4,
        });
        at += 5 + 2 * inputs;
        startNext(worker);
      } else if (op === FREE) {
        const n = record[at + 2] as number;
        for (let k = at + 3; k < at + 3 + n; k++) worker.holds.delete(record[k] as string);
        at += 3 + n;
      } else {
        const key = record[at + 2] as string, stealId = record[at + 3] as number;
        at += 4;
        let state: "ready" | "executing" | "memory" | null = null;
        if (worker.running.has(key)) state = "executing";
        else if (worker.holds.has(key)) state = "memory";
        else {
          for (let i = worker.queueHead; i < worker.queue.length; i++) {
            const queued = worker.queue[i];
            if (queued.key === key && queued.runId >= 0) {
              worker.queue[i] = { ...queued, runId: -1 };
              state = "ready";
              break;
            }
          }
        }
        deliver(feed({
          type: "worker-message",
          worker: worker.address,
          msg: { op: "steal-response", key, stealId, state },
          now,
        }));
      }
    }
  };
  deliver(out);
  while (outputsDone < wanted.size && events.size > 0) {
    now = events.peekTime();
    const event = events.pop();
    if (event.kind === "tick") {
      out = feed({ type: "tick", now });
      deliver(out);
      events.push(now + TICK, event);
    } else if (event.kind === "heartbeat") {
      const w = event.worker;
      out = feed({
        type: "worker-message",
        worker: w.address,
        msg: {
          op: "heartbeat",
          metrics: {
            executing: w.running.size,
            ready: w.queue.length - w.queueHead,
            memory: w.holds.size * RESULT_BYTES,
          },
        },
        now,
      });
      deliver(out);
      events.push(now + HEARTBEAT, event);
    } else {
      const { worker, key, runId, start } = event;
      worker.running.delete(key);
      worker.idleSlots++;
      worker.holds.add(key);
      ran++;
      makespan = now;
      if (wanted.has(key)) outputsDone++;
      out = feed({
        type: "worker-message",
        worker: worker.address,
        msg: {
          op: "task-finished",
          key,
          runId,
          nbytes: RESULT_BYTES,
          typeName: "number",
          start,
          stop: now,
          thread: 0,
        },
        now,
      });
      deliver(out);
      startNext(worker);
    }
  }
  if (outputsDone < wanted.size) {
    throw new Error(`${shape.name} on ${nWorkers} workers stalled: ${ran} tasks ran`);
  }
  feed({
    type: "client-message",
    client: "sim",
    msg: { op: "client-releases-keys", keys: shape.outputs },
    now,
  });
  const backgroundUs = threadCpu().other - threadsStart.other;
  const allocated = allocatedBytes() - allocatedStart;
  const bound = lowerBound(shape, nWorkers * THREADS_PER_WORKER);
  return {
    schedulerUsPerTask: 0,
    allocated,
    cpuUs: cpuSince(cpuStart) - excludedUs,
    backgroundUs,
    answers,
    bytesPerTask,
    makespanOverBound: makespan / bound,
    ran,
  };
}

/** The value of `--name=a,b` among the arguments, split at commas, or `fallback`. */
function listArg(name: string, fallback: string[]): string[] {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : arg.slice(name.length + 3).split(",");
}

const SHAPES = ["map", "tree", "shuffle", "chains"];
const shapes = listArg("shapes", SHAPES);
for (const name of shapes) {
  if (!SHAPES.includes(name)) {
    throw new Error(`unknown shape ${name} in --shapes: use some of ${SHAPES.join(", ")}`);
  }
}
const sizes = listArg("workers", ["10", "100", "1000"]).map((w) => {
  const n = Number(w);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--workers takes worker counts (whole numbers ≥ 1), not ${w}`);
  }
  return n;
});
const tasks = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 1_000_000);
if ((globalThis as { gc?: () => void }).gc === undefined) {
  // bytes per task need a collection before and after: run again with gc exposed
  const { code } = await new Deno.Command(Deno.execPath(), {
    // a 1,000,000-task run holds the graph and the recorded answers at once: past V8's default
    // 4 GB heap (it ran out during shuffle)
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc,--max-old-space-size=16384",
      new URL(import.meta.url).href,
      ...Deno.args,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.exit(code);
}
for (const name of shapes) {
  const shape = makeShape(name, tasks);
  const perTask: number[] = [];
  for (const nWorkers of sizes) {
    const r = simulate(shape, nWorkers);
    const simulatorOnly = simulate(shape, nWorkers, r.answers);
    r.answers.length = 0; // free them before the next size runs
    r.schedulerUsPerTask = Math.max(0, r.cpuUs - simulatorOnly.cpuUs) / shape.specs.length;
    const backgroundPerTask = (r.backgroundUs - simulatorOnly.backgroundUs) / shape.specs.length;
    const allocatedPerTask = (r.allocated - simulatorOnly.allocated) / shape.specs.length;
    perTask.push(r.schedulerUsPerTask);
    report(
      `simulate ${name}, ${shape.specs.length.toLocaleString("en")} tasks, ${nWorkers} workers`,
      `${r.schedulerUsPerTask.toFixed(2)} µs/task, ${Math.round(r.bytesPerTask)} B/task, ` +
        `makespan ${r.makespanOverBound.toFixed(2)}× bound ` +
        `(${backgroundPerTask.toFixed(1)} µs/task on background threads, ` +
        `${Math.round(allocatedPerTask)} B/task allocated)`,
      "≤ 5 µs, ≤ 1 KB, ≤ 1.10×",
    );
  }
  if (sizes.length > 1) {
    report(
      `simulate ${name}: scheduler cost ${sizes.at(-1)!.toLocaleString("en")} vs ${
        sizes[0]
      } workers`,
      `${(perTask.at(-1)! / perTask[0]).toFixed(2)}×`,
      "≤ 1.2×",
    );
  }
}
