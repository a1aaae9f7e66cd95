/**
 * Which ready task runs next, and on which thread: the worker state machine's run queue. Ready
 * tasks run highest priority first, one per free thread (and free resources), plus short tasks
 * queued behind them so threads get them in batches (`batchSeconds` of expected work in all);
 * each goes to the thread with the least expected work, or to the thread holding its live table
 * inputs (thread_loads.ts). No I/O.
 *
 * @module
 */

import { KIND_BY_TAG } from "../core/codec_kinds.ts";
import { IndexedHeap } from "../core/priority_heap.ts";
import { resourcesFree } from "../core/resources.ts";
import type { Key } from "../core/task.ts";
import { ThreadLoads } from "./thread_loads.ts";
import type { WorkerTask } from "./worker_task.ts";

/**
 * A task queued behind a running one holds its inputs in its thread until it runs — copies of
 * their bodies and small frames — so only tasks with small inputs are queued that way.
 */
const MAX_BATCHED_INPUT_BYTES = 1 << 20;

/**
 * Whether a value of this type is one buffer: the worker shares those with its threads (large
 * frames are shared memory, worker/executor.ts), so a queued task holds no copy of them.
 */
function isOneBuffer(typeName: string): boolean {
  return KIND_BY_TAG[typeName] !== undefined || typeName === "ArrayBuffer" ||
    typeName === "NDArray";
}

export interface RunQueueConfig {
  nthreads: number;
  resources: Readonly<Record<string, number>>;
  /** Expected seconds of work that may be handed to all threads beyond one task each. */
  batchSeconds: number;
  /** The most tasks handed to threads at once. */
  maxExecuting: number;
  /** Keys in memory → bytes (to weigh a queued task's inputs). */
  memory: ReadonlyMap<Key, number>;
}

export class RunQueue {
  readonly usedResources: Record<string, number> = {};
  /**
   * Tasks handed to threads: one running per thread, and beyond that short tasks (without
   * resources) waiting in a thread's batch.
   */
  executing = 0;
  /** Expected seconds of the tasks handed to threads (sum of their `duration` estimates). */
  #executingSeconds = 0;
  readonly #ready = new IndexedHeap<WorkerTask>();
  /** Ready tasks whose resources were not free. */
  readonly #constrained = new IndexedHeap<WorkerTask>();
  readonly #threads: ThreadLoads;
  /** Seceded tasks asking for a slot again, oldest first. */
  readonly #rejoining: WorkerTask[] = [];

  constructor(readonly config: RunQueueConfig) {
    this.#threads = new ThreadLoads(config.nthreads);
  }

  /** Ready tasks waiting (including those waiting for resources). */
  get size(): number {
    return this.#ready.size + this.#constrained.size;
  }

  /** Expected seconds of work handed to each thread and not finished. */
  get threadLoads(): number[] {
    return this.#threads.loads;
  }

  has(task: WorkerTask): boolean {
    return this.#ready.has(task) || this.#constrained.has(task);
  }

  push(task: WorkerTask): void {
    this.#ready.push(task);
  }

  remove(task: WorkerTask): void {
    this.#ready.remove(task);
    this.#constrained.remove(task);
  }

  /** The next task to hand to a thread now, taken out of the queue; null when none may go. */
  next(): WorkerTask | null {
    if (this.executing < this.config.nthreads) return this.#nextRunnable();
    // A seceded task waits for a slot: nothing queues ahead of it on busy threads.
    if (this.#rejoining.length > 0) return null;
    // Every thread busy: a short task joins a thread's batch, in priority order.
    const next = this.#ready.peek();
    if (
      next === undefined || next.resources !== null ||
      this.executing >= this.config.maxExecuting ||
      this.#executingSeconds + next.duration > this.config.batchSeconds ||
      this.#inputBytes(next) > MAX_BATCHED_INPUT_BYTES
    ) return null;
    return this.#ready.pop()!;
  }

  /**
   * `task` goes to a thread: books the thread, its expected time and its resources. A task
   * reading live tables prefers the thread holding most of their bytes (they need not move).
   */
  start(task: WorkerTask): void {
    let holder = -1, holderBytes = 0;
    let bytes: Map<number, number> | undefined;
    for (const dep of task.dependencies) {
      if (dep.liveThread < 0 || dep.state !== "memory") continue;
      bytes ??= new Map();
      const total = (bytes.get(dep.liveThread) ?? 0) + Math.max(0, dep.nbytes);
      bytes.set(dep.liveThread, total);
      if (holder < 0 || total > holderBytes) [holder, holderBytes] = [dep.liveThread, total];
    }
    task.thread = this.#threads.assign(task.duration, holder, holderBytes);
    this.executing++;
    this.#executingSeconds += task.duration;
    const resources = task.resources;
    if (resources === null) return;
    for (const name in resources) {
      this.usedResources[name] = (this.usedResources[name] ?? 0) + resources[name];
    }
  }

  /** `task` is over on its thread (finished, failed or lost). */
  finish(task: WorkerTask): void {
    this.executing--;
    this.#executingSeconds = this.executing === 0 ? 0 : this.#executingSeconds - task.duration;
    this.#threads.release(task.thread, task.duration, this.executing === 0);
    task.thread = -1;
    this.#releaseResources(task);
  }

  #releaseResources(task: WorkerTask): void {
    const resources = task.resources;
    if (resources === null) return;
    for (const name in resources) this.usedResources[name] -= resources[name];
  }

  /**
   * `task` gave its slot back (Dask's `secede`): it no longer counts against the threads, so
   * another task may start. It keeps its resources, and its thread (where it still runs).
   */
  secede(task: WorkerTask): void {
    this.executing--;
    this.#executingSeconds = this.executing === 0 ? 0 : this.#executingSeconds - task.duration;
    this.#threads.release(task.thread, task.duration, this.executing === 0);
  }

  /** A seceded `task` asks for a slot again; {@link grantRejoins} gives it one. */
  askRejoin(task: WorkerTask): void {
    if (!this.#rejoining.includes(task)) this.#rejoining.push(task);
  }

  /**
   * Seceded tasks that take a slot now, oldest first: each once a slot is free and its own
   * thread runs nothing else (it cannot move to another thread).
   */
  grantRejoins(): WorkerTask[] {
    const granted: WorkerTask[] = [];
    for (let i = 0; i < this.#rejoining.length && this.executing < this.config.nthreads;) {
      const task = this.#rejoining[i];
      if (!this.#threads.idle(task.thread)) {
        i++;
        continue;
      }
      this.#rejoining.splice(i, 1);
      this.#threads.book(task.thread, task.duration);
      this.executing++;
      this.#executingSeconds += task.duration;
      granted.push(task);
    }
    return granted;
  }

  /** A seceded `task` is over (finished, failed or lost): it held no slot, only resources. */
  finishSeceded(task: WorkerTask): void {
    const waiting = this.#rejoining.indexOf(task);
    if (waiting !== -1) this.#rejoining.splice(waiting, 1);
    task.thread = -1;
    this.#releaseResources(task);
  }

  /** Bytes of a task's inputs that its thread would get as copies. */
  #inputBytes(task: WorkerTask): number {
    let bytes = 0;
    for (const dep of task.dependencies) {
      if (!isOneBuffer(dep.typeName)) bytes += this.config.memory.get(dep.key) ?? 0;
    }
    return bytes;
  }

  /** The highest-priority ready task whose resources are free, or null. */
  #nextRunnable(): WorkerTask | null {
    const constrained = this.#constrained.peek();
    if (constrained !== undefined && this.#resourcesFree(constrained.resources!)) {
      return this.#constrained.pop()!;
    }
    for (;;) {
      const task = this.#ready.pop();
      if (task === undefined) return null;
      if (task.resources === null || this.#resourcesFree(task.resources)) return task;
      this.#constrained.push(task);
    }
  }

  #resourcesFree(required: Readonly<Record<string, number>>): boolean {
    return resourcesFree(this.config.resources, this.usedResources, required);
  }
}
