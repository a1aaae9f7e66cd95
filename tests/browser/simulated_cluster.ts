/**
 * A real SchedulerState driven by simulated workers: the workers run no code, they take each
 * `compute-task`, hold a thread for the task's duration and report `task-finished` (or
 * `task-erred`) with real timings, send heartbeats with memory / spill / transfer metrics, and
 * answer steal requests. It gives the dashboard a live, changing scheduler without processes —
 * for the browser test and the dashboard benchmark.
 *
 * @module
 */

import type { ErrorRecord } from "../../core/errors.ts";
import type { GraphTaskSpec } from "../../protocol/messages.ts";
import { type SchedulerEvent, SchedulerState } from "../../scheduler/state.ts";

export interface SimulatedTask {
  key: string;
  deps?: string[];
  /** Seconds the task holds a thread (default: the cluster's `taskSeconds`). */
  seconds?: number;
  /** Makes the task raise this error. */
  fail?: ErrorRecord;
  /** Bytes of its result (default 8 KiB). */
  nbytes?: number;
}

export interface SimulatedClusterOptions {
  workers?: number;
  threadsPerWorker?: number;
  /** Default task duration, seconds; 0 completes tasks in rounds as fast as the state allows. */
  taskSeconds?: number;
  memoryLimit?: number;
  heartbeatMs?: number;
}

interface Running {
  key: string;
  runId: number;
  thread: number;
  start: number;
}

interface SimWorker {
  address: string;
  nthreads: number;
  queue: { key: string; runId: number }[];
  freeThreads: number[];
  running: Map<string, Running>;
  memory: Map<string, number>;
  spilled: number;
  inFlight: number;
}

const clock = () => Date.now() / 1000;

export class SimulatedCluster {
  readonly state = new SchedulerState();
  readonly workers: SimWorker[] = [];
  readonly #tasks = new Map<string, SimulatedTask>();
  readonly #options: Required<SimulatedClusterOptions>;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(options: SimulatedClusterOptions = {}) {
    this.#options = {
      workers: options.workers ?? 2,
      threadsPerWorker: options.threadsPerWorker ?? 2,
      taskSeconds: options.taskSeconds ?? 0.05,
      memoryLimit: options.memoryLimit ?? 2 ** 30,
      heartbeatMs: options.heartbeatMs ?? 500,
    };
    for (let i = 0; i < this.#options.workers; i++) {
      const address = `tcp://127.0.0.1:${40000 + i}`;
      const nthreads = this.#options.threadsPerWorker;
      this.workers.push({
        address,
        nthreads,
        queue: [],
        freeThreads: Array.from({ length: nthreads }, (_, t) => t),
        running: new Map(),
        memory: new Map(),
        spilled: 0,
        inFlight: 0,
      });
      this.#handle({
        type: "worker-added",
        worker: { address, name: `worker-${i}`, nthreads, memoryLimit: this.#options.memoryLimit },
        now: clock(),
      });
    }
    this.#heartbeat = setInterval(() => this.#sendHeartbeats(), this.#options.heartbeatMs);
  }

  /** A client submits tasks and holds `wanted` (default: all of them). */
  submit(client: string, tasks: SimulatedTask[], wanted?: string[]): void {
    const specs: GraphTaskSpec[] = tasks.map((t) => {
      this.#tasks.set(t.key, t);
      return { key: t.key, fn: { simulated: true }, args: null, deps: t.deps ?? [] };
    });
    this.#handle({ type: "client-connected", client, now: clock() });
    this.#handle({
      type: "client-message",
      client,
      msg: { op: "update-graph", tasks: specs, keys: wanted ?? tasks.map((t) => t.key) },
      now: clock(),
    });
  }

  /** The client lets go of these keys (their results are freed). */
  release(client: string, keys: string[]): void {
    this.#handle({
      type: "client-message",
      client,
      msg: { op: "client-releases-keys", keys },
      now: clock(),
    });
  }

  /** Sets what a worker's heartbeats report about spilling and transfers. */
  setWorkerMetrics(index: number, metrics: { spilled?: number; inFlight?: number }): void {
    const worker = this.workers[index];
    worker.spilled = metrics.spilled ?? worker.spilled;
    worker.inFlight = metrics.inFlight ?? worker.inFlight;
    this.#sendHeartbeats();
  }

  /** Resolves once no task is processing, waiting or queued. */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const resolve of this.#idle) resolve();
  }

  #isIdle(): boolean {
    const c = this.state.stateCounts;
    return c.processing + c.waiting + c.queued + c["no-worker"] === 0;
  }

  #handle(event: SchedulerEvent): void {
    this.state.handle(event);
    this.#deliver();
  }

  #deliver(): void {
    for (const out of this.state.takeOutgoing()) {
      if (out.to !== "worker") continue;
      const worker = this.workers.find((w) => w.address === out.worker);
      if (worker === undefined) continue;
      const msg = out.msg;
      if (msg.op === "compute-task") {
        worker.queue.push({ key: msg.key, runId: msg.runId });
      } else if (msg.op === "free-keys") {
        const freed = new Set(msg.keys);
        for (const key of msg.keys) worker.memory.delete(key);
        if (worker.queue.length > 0) worker.queue = worker.queue.filter((q) => !freed.has(q.key));
      } else if (msg.op === "steal-request") {
        const queued = worker.queue.findIndex((q) => q.key === msg.key);
        if (queued >= 0) worker.queue.splice(queued, 1);
        const state = queued >= 0 ? "ready" : worker.running.has(msg.key) ? "executing" : null;
        this.#later(0, () =>
          this.#handle({
            type: "worker-message",
            worker: worker.address,
            msg: { op: "steal-response", key: msg.key, stealId: msg.stealId, state },
            now: clock(),
          }));
      }
    }
    for (const worker of this.workers) this.#startReady(worker);
    if (this.#idle.length > 0 && this.#isIdle()) {
      const waiting = this.#idle;
      this.#idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  #startReady(worker: SimWorker): void {
    while (worker.freeThreads.length > 0 && worker.queue.length > 0) {
      const { key, runId } = worker.queue.shift()!;
      const thread = worker.freeThreads.shift()!;
      const run: Running = { key, runId, thread, start: clock() };
      worker.running.set(key, run);
      const spec = this.#tasks.get(key);
      const seconds = spec?.seconds ?? this.#options.taskSeconds;
      this.#later(seconds * 1000, () => this.#finish(worker, run, spec));
    }
  }

  #finish(worker: SimWorker, run: Running, spec: SimulatedTask | undefined): void {
    worker.running.delete(run.key);
    worker.freeThreads.push(run.thread);
    const stop = clock();
    const timing = { start: run.start, stop, thread: run.thread };
    if (spec?.fail !== undefined) {
      this.#handle({
        type: "worker-message",
        worker: worker.address,
        msg: { op: "task-erred", key: run.key, runId: run.runId, error: spec.fail, ...timing },
        now: stop,
      });
      return;
    }
    const nbytes = spec?.nbytes ?? 8192;
    worker.memory.set(run.key, nbytes);
    this.#handle({
      type: "worker-message",
      worker: worker.address,
      msg: {
        op: "task-finished",
        key: run.key,
        runId: run.runId,
        nbytes,
        typeName: "Float64Array",
        ...timing,
      },
      now: stop,
    });
  }

  #sendHeartbeats(): void {
    for (const worker of this.workers) {
      let memory = 0;
      for (const n of worker.memory.values()) memory += n;
      this.#handle({
        type: "worker-message",
        worker: worker.address,
        msg: {
          op: "heartbeat",
          metrics: {
            memory,
            spilled: worker.spilled,
            inFlight: worker.inFlight,
            executing: worker.running.size,
            ready: worker.queue.length,
            cpu: (100 * worker.running.size) / worker.nthreads,
          },
        },
        now: clock(),
      });
    }
    this.#handle({ type: "tick", now: clock() });
  }

  #later(ms: number, fn: () => void): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(timer);
  }
}

/**
 * Tasks of a small blocked computation: `load` → `inc` → pairwise `add` tree → `total`. Keys
 * look like the real ones (`prefix-token`), so prefixes are `load`, `inc`, `add`, `total`.
 */
export function treeWorkload(tag: string, leaves: number, seconds: number): SimulatedTask[] {
  const tasks: SimulatedTask[] = [];
  let level: string[] = [];
  for (let i = 0; i < leaves; i++) {
    const load = `load-${tag}x${i}`;
    const inc = `inc-${tag}x${i}`;
    tasks.push({ key: load, seconds: seconds * 0.5 });
    tasks.push({ key: inc, deps: [load], seconds });
    level.push(inc);
  }
  let depth = 0;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const pair = level.slice(i, i + 2);
      const key = `add-${tag}x${depth}x${i / 2}`;
      tasks.push({ key, deps: pair, seconds: seconds * 0.7 });
      next.push(key);
    }
    level = next;
    depth++;
  }
  tasks.push({ key: `total-${tag}`, deps: level, seconds: seconds * 0.3 });
  return tasks;
}
