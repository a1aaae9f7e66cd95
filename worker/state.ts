/**
 * The worker's state machine: pure, no I/O, no clock. {@link WorkerState.handle} takes one
 * {@link WorkerEvent} (a scheduler message, a finished or lost thread, a finished transfer, data
 * put into the store) and returns the {@link WorkerInstruction}s the server carries out: run tasks
 * on the threads it chose, keep or store values, fetch data from peers, send messages to the
 * scheduler, drop data, and close, restart or run a function when the scheduler says so. Every
 * decision is made here (worker/events.ts is the boundary; worker/server.ts only does I/O).
 *
 * Compute tasks go `waiting → ready → executing → memory | error`; their inputs go
 * `fetch → flight → memory` (or `missing` when no holder has them). Which ready task runs next and
 * on which thread is run_queue.ts; literals are stored without a thread; a result bigger than the
 * memory limit fails its task. Fetching inputs from peers (what from whom, what a finished or
 * failed transfer means) is fetching.ts's.
 *
 * The store belongs to the server: a transfer's data is stored *before* the event comes here; a
 * thread's result waits with the server until `keep-result` says to store it.
 *
 * Over 800 lines because the event switch and the transitions it drives read best together; the
 * collaborators named above are already split out.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import {
  type ComputeTaskMsg,
  INLINE_RESULT_BYTES,
  type Priority,
  type SchedulerToWorkerMsg,
  type StealResponseState,
  type TaskFinishedMsg,
  type WorkerAddress,
  type WorkerToSchedulerMsg,
} from "../protocol/messages.ts";
import { isEncoded } from "../protocol/message_checks.ts";
import { encodedBytes, encodedTypeName } from "./encoded_info.ts";
import type {
  ExecuteSpec,
  ReceivedData,
  SchedulerMessage,
  ThreadResult,
  WorkerEvent,
  WorkerInstruction,
} from "./events.ts";
import { Fetching, LOWEST_PRIORITY } from "./fetching.ts";
import { RunQueue } from "./run_queue.ts";
import { schedulerMessageProblem } from "./scheduler_message_checks.ts";
import { countStates, validateWorkerState } from "./state_validation.ts";
import {
  memoryExhaustedError,
  taskError,
  threadDiedError,
  timeoutError,
  tooBigError,
} from "./task_outcomes.ts";
import type { ThreadEndCause } from "../threads/thread_pool.ts";
import type { WorkerStateConfig } from "./state_config.ts";
import { WorkerTask, type WorkerTaskState } from "./worker_task.ts";

export type * from "./events.ts";
export type { WorkerStateConfig } from "./state_config.ts";

export class WorkerState {
  readonly address: WorkerAddress;
  readonly nthreads: number;
  readonly resources: Readonly<Record<string, number>>;
  readonly tasks = new Map<Key, WorkerTask>();
  /** Keys in memory → bytes, least recently used first (room for spilling). */
  readonly memory = new Map<Key, number>();
  /** Bytes in `memory`. */
  memoryBytes = 0;
  /** Tasks handed to threads (see run_queue.ts). */
  get executing(): number {
    return this.#runQueue.executing;
  }

  /** Resources booked by the tasks handed to threads. */
  get usedResources(): Readonly<Record<string, number>> {
    return this.#runQueue.usedResources;
  }

  /** Time of the latest event, seconds. */
  now = 0;
  /** Paused for lack of memory: nothing starts (see the `pause` event). */
  paused = false;
  readonly #runQueue: RunQueue;
  readonly #fetching: Fetching;
  #instructions: WorkerInstruction[] = [];
  readonly #memoryLimit: number;
  #toFree: Key[] = [];
  #released: Key[] = [];

  constructor(config: WorkerStateConfig) {
    if (!(config.nthreads >= 1)) {
      throw new RangeError(`A worker needs at least one thread, got nthreads=${config.nthreads}.`);
    }
    this.address = config.address;
    this.nthreads = config.nthreads;
    this.resources = config.resources ?? {};
    this.#runQueue = new RunQueue({
      nthreads: config.nthreads,
      resources: this.resources,
      batchSeconds: config.nthreads * (config.shortTaskBatchSeconds ?? 0.005),
      maxExecuting: config.nthreads * Math.max(1, config.maxTasksPerThread ?? 256),
      memory: this.memory,
    });
    const memoryLimit = config.memoryLimit ?? 0;
    this.#memoryLimit = memoryLimit;
    this.#fetching = new Fetching({
      address: this.address,
      tasks: this.tasks,
      taskOf: (key, priority) => this.#taskOf(key, priority),
      toMemory: (task) => this.#toMemory(task),
      reportFinished: (task) => this.#reportFinished(task),
      startCompute: (task) => this.#startCompute(task),
      drop: (task) => this.#drop(task),
      free: (key) => this.#toFree.push(key),
      send: (msg) => this.#send(msg),
      instruct: (instruction) => this.#instructions.push(instruction),
    }, {
      maxConcurrentRequests: config.transferIncomingCountLimit ?? 10,
      maxBytesPerRequest: config.transferMessageBytesLimit ?? 50e6,
      maxInFlightBytes: config.transferIncomingBytesLimit ??
        (memoryLimit > 0 ? 0.1 * memoryLimit : Infinity),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Entry points

  /** Applies one event and returns what the server must do, in order. */
  handle(event: WorkerEvent): WorkerInstruction[] {
    this.now = event.now;
    switch (event.type) {
      case "scheduler-message":
        this.#schedulerMessage(event.msg);
        break;
      case "thread-finished":
        this.#threadFinished(event.key, event.result, event.start, event.stop, event.thread);
        break;
      case "execute-failed":
        this.#threadFinished(
          event.key,
          { ok: false, error: taskError(event.key, event.reason) },
          event.now,
          event.now,
          undefined,
        );
        break;
      case "data-lost":
        this.#dataLost(event.keys, event.withdrawn);
        break;
      case "thread-died":
        this.#threadDied(event.thread, event.cause, event.culprit, event.reason);
        break;
      case "task-seceded":
        this.#seceded(event.key);
        break;
      case "task-rejoin":
        this.#rejoin(event.key);
        break;
      case "gather-done":
        this.#fetching.gatherDone(event.requestId, event.data);
        break;
      case "gather-failed":
        this.#fetching.gatherFailed(event.requestId);
        break;
      case "update-data":
        this.#updateData(event.data, event.report);
        break;
      case "pause":
        this.paused = true;
        break;
      case "resume":
        if (this.paused) {
          this.paused = false;
          this.#fetching.wake();
        }
        break;
      case "memory-exhausted":
        this.#memoryExhausted(event.reason);
        break;
    }
    this.#settle();
    const out = this.#instructions;
    this.#instructions = [];
    return out;
  }

  /** Expected seconds of work handed to each thread and not finished. */
  get threadLoads(): number[] {
    return this.#runQueue.threadLoads;
  }

  /** Tasks ready to run (not counting those waiting for resources). */
  get readyCount(): number {
    return this.#runQueue.size;
  }

  /** Transfers running. */
  get transfersInFlight(): number {
    return this.#fetching.inFlight;
  }

  /** Bytes being transferred in. */
  get transferBytesInFlight(): number {
    return this.#fetching.inFlightBytes;
  }

  /** Tasks per state. O(tasks). */
  stateCounts(): Record<WorkerTaskState, number> {
    return countStates(this.tasks.values());
  }

  /**
   * Checks every invariant and throws on the first violation. O(tasks): for tests and debugging.
   */
  validate(): void {
    validateWorkerState(this, {
      queuedToRun: (task) => this.#runQueue.has(task),
      maxExecuting: this.#runQueue.config.maxExecuting,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Scheduler messages

  #schedulerMessage(message: SchedulerMessage): void {
    const problem = schedulerMessageProblem(message);
    if (problem !== null) {
      this.#instructions.push({ type: "abort-session", problem });
      return;
    }
    switch (message.op) {
      case "close":
      case "restart":
        this.#instructions.push({ type: message.op, reason: String(message.reason) });
        return;
      case "run":
        this.#instructions.push({ type: "run", msg: message });
        return;
    }
    const msg: SchedulerToWorkerMsg = message;
    switch (msg.op) {
      case "compute-task":
        return this.#computeTask(msg);
      case "free-keys":
        for (const key of msg.keys) this.#freeKey(key);
        return;
      case "steal-request":
        return this.#stealRequest(msg.key, msg.stealId);
      case "acquire-replicas":
        return this.#fetching.acquireReplicas(msg.keys);
      case "refresh-who-has":
        for (const location of msg.keys) this.#fetching.refreshWhoHas(location);
        return;
    }
  }

  #computeTask(msg: ComputeTaskMsg): void {
    const task = this.#taskOf(msg.key, msg.priority);
    task.assigned = true;
    task.runId = msg.runId;
    task.returnValue = msg.returnValue === true;
    task.fn = msg.fn;
    task.args = msg.args;
    task.resources = msg.resources;
    task.duration = msg.duration;
    task.timeoutMs = typeof msg.timeoutMs === "number" && msg.timeoutMs > 0 ? msg.timeoutMs : 0;
    task.actor = msg.actor === true;
    task.group = msg.group ?? null;
    task.depLocations = msg.deps;
    switch (task.state) {
      case "memory":
        // Already here (computed before, or fetched): done.
        task.reported = true;
        this.#reportFinished(task);
        return;
      case "executing":
        // Withdrawn and assigned again while running: the running execution serves.
        task.cancelled = false;
        return;
      case "waiting":
      case "ready":
        return;
      case "flight":
        // The scheduler has it computed only once it counts no copy anywhere: the transfer
        // under way is from a holder it wrote off (dead, frozen, or it dropped the key), and
        // waiting on it could last as long as that peer's silence. Compute it now; a transfer
        // that lands after all is superseded (fetching.ts keeps one copy).
        task.flightPeer = null;
      // falls through
      default:
        // released (new), fetch, missing, error: compute it.
        this.#fetching.forget(task);
        task.error = null;
        this.#startCompute(task);
    }
  }

  /** Links the inputs of an assigned task and makes it waiting or ready. */
  #startCompute(task: WorkerTask): void {
    task.waitingFor = 0;
    task.flightPeer = null;
    const locations = task.depLocations;
    for (let i = 0; i < locations.length; i++) {
      const location = locations[i];
      const dep = this.#taskOf(location.key, task.priority);
      if (dep.dependents.has(task)) continue;
      task.linkDependency(dep);
      if (dep.state === "memory") continue;
      task.waitingFor++;
      switch (dep.state) {
        case "error":
          // The scheduler recomputed it elsewhere: this worker's error record is obsolete.
          dep.assigned = false;
          dep.error = null;
          // falls through
        case "released":
        case "missing":
          // Not here: fetch it from the holders the scheduler named.
          if (dep.nbytes < 0) dep.nbytes = location.nbytes;
          this.#fetching.setHolders(dep, location.workers);
          this.#fetching.toFetchOrMissing(dep);
          break;
        case "fetch":
        case "flight":
          for (const peer of location.workers) this.#fetching.addHolder(dep, peer);
          break;
        default:
          // waiting/ready/executing: computed here; it arrives when it is done.
          break;
      }
    }
    if (task.waitingFor === 0) this.#toReady(task);
    else task.state = "waiting";
  }

  #freeKey(key: Key): void {
    const task = this.tasks.get(key);
    if (task === undefined) return;
    // The scheduler no longer counts on this worker for the key.
    task.assigned = false;
    task.acquired = false;
    task.reported = false;
    this.#releaseIfUnneeded(task);
  }

  #stealRequest(key: Key, stealId: number): void {
    const task = this.tasks.get(key);
    let state: StealResponseState = null;
    if (task !== undefined && task.assigned) {
      state = task.state === "released" ? null : task.state;
      if (task.state === "waiting" || task.state === "ready") {
        if (task.dependents.size > 0) {
          // A local task reads it: keep it, as if it had started.
          state = "executing";
        } else {
          task.assigned = false;
          this.#releaseIfUnneeded(task);
        }
      } else if (task.state === "flight") {
        // Give up computing it; the transfer still lands if the data is needed here.
        task.assigned = false;
      }
    }
    this.#send({ op: "steal-response", key, stealId, state });
  }

  // -------------------------------------------------------------------------------------------
  // Threads

  #threadFinished(
    key: Key,
    result: ThreadResult,
    start: number,
    stop: number,
    thread: number | undefined,
  ): void {
    const task = this.tasks.get(key);
    // Not ours any more (released, or done another way): its value is not kept.
    if (task === undefined || task.state !== "executing") return;
    this.#offThread(task);
    if (result.ok && this.#memoryLimit > 0 && result.nbytes > this.#memoryLimit) {
      // Keeping it would take the whole worker down: the task fails, the worker lives on.
      const error = tooBigError(key, result.nbytes, this.#memoryLimit, this.address);
      result = { ok: false, error };
    }
    this.#finish(task, result, start, stop, thread, { type: "keep-result", key });
  }

  /**
   * A running task gave its slot back: another task may start, and the scheduler stops counting
   * it against this worker's threads (Dask's `long-running`).
   */
  #seceded(key: Key): void {
    const task = this.tasks.get(key);
    if (task === undefined || task.state !== "executing" || task.seceded) return;
    task.seceded = true;
    this.#runQueue.secede(task);
    if (task.assigned) this.#send({ op: "long-running", key, runId: task.runId });
  }

  /** A seceded task asks for a slot again; granted when one is free (see #startExecuting). */
  #rejoin(key: Key): void {
    const task = this.tasks.get(key);
    if (task !== undefined && task.state === "executing" && task.seceded) {
      this.#runQueue.askRejoin(task);
    } else {
      // not counted here (withdrawn, or never seceded): it must not wait for ever
      this.#instructions.push({ type: "rejoined", key });
    }
  }

  /** No memory and no disk: the tasks not started here fail rather than wait forever. */
  #memoryExhausted(reason: string): void {
    const stuck: WorkerTask[] = [];
    for (const task of this.tasks.values()) {
      if (task.assigned && (task.state === "ready" || task.state === "waiting")) stuck.push(task);
    }
    for (const task of stuck) {
      if (task.state === "ready") this.#runQueue.remove(task);
      const error = memoryExhaustedError(task.key, this.address, reason);
      this.#finish(task, { ok: false, error }, this.now, this.now, undefined, null);
    }
  }

  /**
   * `thread` was replaced. The culprit (the task running on it) errs naming what happened,
   * or, when it was stopped because it was withdrawn, is dropped (or runs again if it was
   * assigned again since). The other tasks handed to the thread did nothing wrong: they run again.
   */
  #threadDied(thread: number, cause: ThreadEndCause, culprit: Key | null, reason: string): void {
    const lost: WorkerTask[] = [];
    for (const task of this.tasks.values()) {
      if (task.state === "executing" && task.thread === thread) lost.push(task);
    }
    for (const task of lost) {
      const wanted = task.assigned && !task.cancelled;
      if (task.key === culprit && !(cause === "stopped" && wanted)) {
        const error = cause === "timeout"
          ? timeoutError(task.key, task.timeoutMs, `worker ${this.address}`)
          : threadDiedError(task.key, thread, `worker ${this.address}`, reason);
        this.#threadFinished(task.key, { ok: false, error }, this.now, this.now, undefined);
      } else if (wanted) {
        this.#offThread(task);
        this.#toReadyOrWaiting(task);
      } else {
        this.#offThread(task);
        this.#drop(task);
        this.#unlinkDependencies(task);
      }
    }
  }

  /**
   * Results that were live in a task thread went with it (worker/store.ts): the scheduler hears
   * they are gone here (`release-worker-data`) and computes them again; tasks here that read
   * them wait until they are back (or the scheduler withdraws them). `withdrawn` tasks were
   * handed out but never posted: they wait too.
   */
  #dataLost(keys: readonly Key[], withdrawn: readonly Key[]): void {
    const waiting: WorkerTask[] = [];
    for (const key of keys) {
      const task = this.tasks.get(key);
      if (task === undefined || task.state !== "memory") continue;
      if (task.reported) this.#released.push(key);
      const nbytes = this.memory.get(key);
      if (nbytes !== undefined) {
        this.memory.delete(key);
        this.memoryBytes -= nbytes;
      }
      task.assigned = false;
      task.reported = false;
      task.acquired = false;
      if (task.dependents.size === 0) {
        this.#drop(task);
        continue;
      }
      // needed here: no holder is known until the scheduler computes it again
      this.#fetching.setHolders(task, []);
      this.#fetching.toFetchOrMissing(task);
      for (const dependent of task.dependents) {
        if (dependent.state === "ready" || dependent.state === "waiting") waiting.push(dependent);
      }
    }
    for (const key of withdrawn) {
      const task = this.tasks.get(key);
      if (task === undefined || task.state !== "executing") continue;
      this.#offThread(task);
      waiting.push(task);
    }
    for (const task of waiting) {
      if (task.state === "ready") this.#runQueue.remove(task);
      this.#toReadyOrWaiting(task);
    }
  }

  /** `task` runs once every input is here: ready now, or waiting for those that are not. */
  #toReadyOrWaiting(task: WorkerTask): void {
    let missing = 0;
    for (const dep of task.dependencies) if (dep.state !== "memory") missing++;
    task.waitingFor = missing;
    if (missing === 0) this.#toReady(task);
    else task.state = "waiting";
  }

  /** `task` no longer runs on its thread: its slot (or, seceded, its resources) is free. */
  #offThread(task: WorkerTask): void {
    if (task.seceded) {
      task.seceded = false;
      this.#runQueue.finishSeceded(task);
    } else {
      this.#runQueue.finish(task);
    }
  }

  /**
   * A task's outcome is known: on success `keep` puts its value into the store when it is
   * wanted here; otherwise the value is dropped.
   */
  #finish(
    task: WorkerTask,
    result: ThreadResult,
    start: number,
    stop: number,
    thread: number | undefined,
    keep: WorkerInstruction | null,
  ): void {
    const key = task.key;
    const wanted = task.assigned && !task.cancelled;
    task.cancelled = false;
    if (result.ok) {
      task.nbytes = result.nbytes;
      task.typeName = result.typeName;
      const liveThread = result.live === true && thread !== undefined ? thread : -1;
      if (wanted) {
        if (keep !== null) this.#instructions.push(keep);
        this.#toMemory(task, liveThread);
        task.reported = true;
        this.#reportFinished(task, start, stop, thread);
      } else if (task.dependents.size > 0 || task.acquired) {
        // Withdrawn, but needed here: keep it and let the scheduler know the copy exists.
        if (keep !== null) this.#instructions.push(keep);
        this.#toMemory(task, liveThread);
        task.reported = true;
        this.#send({ op: "add-keys", keys: [{ key, nbytes: result.nbytes }] });
      } else {
        this.#toFree.push(key);
        this.#drop(task);
      }
    } else if (wanted && result.stopped) {
      // stopped because it was withdrawn, and handed out again before it ended: it runs again
      this.#toReady(task);
      return;
    } else if (wanted) {
      task.state = "error";
      task.error = result.error;
      this.#send({
        op: "task-erred",
        key,
        runId: task.runId,
        error: result.error,
        start,
        stop,
        thread,
      });
    } else {
      this.#drop(task);
    }
    this.#unlinkDependencies(task);
  }

  /** A literal's value is its encoded `args`: stored as it is, no thread involved. */
  #storeLiteral(task: WorkerTask): void {
    const key = task.key;
    const now = this.now;
    if (!isEncoded(task.args)) {
      const error = taskError(key, `the literal ${key} has no encoded value`);
      this.#finish(task, { ok: false, error }, now, now, undefined, null);
      return;
    }
    const encoded = task.args as Encoded;
    const nbytes = encodedBytes(encoded);
    const typeName = encodedTypeName(encoded);
    const result: ThreadResult = this.#memoryLimit > 0 && nbytes > this.#memoryLimit
      ? { ok: false, error: tooBigError(key, nbytes, this.#memoryLimit, this.address) }
      : { ok: true, nbytes, typeName };
    this.#finish(task, result, now, now, undefined, {
      type: "store",
      key,
      encoded,
      nbytes,
      typeName,
    });
  }

  #updateData(data: ReceivedData[], report: boolean): void {
    const added: { key: Key; nbytes: number }[] = [];
    for (const item of data) {
      const task = this.#taskOf(item.key, LOWEST_PRIORITY);
      task.acquired = true;
      task.nbytes = item.nbytes;
      task.typeName = item.typeName;
      if (report) {
        task.reported = true;
        added.push({ key: item.key, nbytes: item.nbytes });
      }
      // Executing: the thread's result is the same data and lands through thread-finished.
      if (task.state === "memory" || task.state === "executing") continue;
      this.#runQueue.remove(task);
      this.#fetching.forget(task);
      task.flightPeer = null;
      this.#toMemory(task);
      if (task.assigned) {
        this.#reportFinished(task);
      }
      this.#unlinkDependencies(task);
    }
    if (added.length > 0) this.#send({ op: "add-keys", keys: added });
  }

  // -------------------------------------------------------------------------------------------
  // Transitions

  #toReady(task: WorkerTask): void {
    task.state = "ready";
    this.#runQueue.push(task);
  }

  /** `liveThread`: the thread holding it as a live table, or -1 (bytes in the store). */
  #toMemory(task: WorkerTask, liveThread = -1): void {
    task.state = "memory";
    task.error = null;
    task.liveThread = liveThread;
    const nbytes = task.nbytes > 0 ? task.nbytes : 0;
    if (!this.memory.has(task.key)) this.memoryBytes += nbytes;
    this.memory.set(task.key, nbytes);
    for (const dependent of task.dependents) {
      if (dependent.state === "waiting" && --dependent.waitingFor === 0) this.#toReady(dependent);
    }
  }

  /** Drops a key that nothing here needs and the scheduler does not count on. */
  #releaseIfUnneeded(task: WorkerTask): void {
    if (task.assigned || task.acquired || task.dependents.size > 0) return;
    switch (task.state) {
      case "executing":
        // Stop it (a busy loop or a promise that never settles would hold its thread for
        // ever); a thread-died with cause `stopped` then drops it.
        if (!task.cancelled) {
          task.cancelled = true;
          this.#instructions.push({ type: "stop-task", key: task.key, thread: task.thread });
        }
        return;
      case "flight":
        // Decided when the transfer lands.
        return;
      case "memory":
        this.#toFree.push(task.key);
        if (task.reported) this.#released.push(task.key);
        break;
      case "waiting":
      case "ready":
        this.#runQueue.remove(task);
        this.#unlinkDependencies(task);
        break;
    }
    this.#drop(task);
  }

  #drop(task: WorkerTask): void {
    if (task.state === "memory") {
      const nbytes = this.memory.get(task.key);
      if (nbytes !== undefined) {
        this.memory.delete(task.key);
        this.memoryBytes -= nbytes;
      }
    }
    this.#fetching.forget(task);
    task.state = "released";
    task.assigned = false;
    task.reported = false;
    if (this.tasks.get(task.key) === task) this.tasks.delete(task.key);
  }

  /** A task no longer reads its inputs: inputs nothing else needs go. */
  #unlinkDependencies(task: WorkerTask): void {
    const deps = task.dependencies;
    for (let i = 0; i < deps.length; i++) {
      const dep = deps[i];
      dep.deleteDependent(task);
      this.#releaseIfUnneeded(dep);
    }
    task.clearDependencies();
    task.waitingFor = 0;
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** The record of `key`, made (released, at `priority`) when there is none. */
  #taskOf(key: Key, priority: Priority): WorkerTask {
    let task = this.tasks.get(key);
    if (task === undefined) {
      task = new WorkerTask(key, "released", priority);
      this.tasks.set(key, task);
    }
    return task;
  }

  /** Tells the scheduler `task`'s result is here; the timing when this worker ran it. */
  #reportFinished(task: WorkerTask, start?: number, stop?: number, thread?: number): void {
    const msg: TaskFinishedMsg = {
      op: "task-finished",
      key: task.key,
      runId: task.runId,
      nbytes: task.nbytes,
      typeName: task.typeName,
    };
    if (start !== undefined && stop !== undefined) {
      msg.start = start;
      msg.stop = stop;
      msg.thread = thread;
    }
    if (task.returnValue) {
      // A client waits for this value: when tiny it goes along, and nobody asks for it.
      this.#instructions.push({ type: "send-result", msg, inlineMaxBytes: INLINE_RESULT_BYTES });
    } else {
      this.#send(msg);
    }
  }

  #send(msg: WorkerToSchedulerMsg): void {
    this.#instructions.push({ type: "send-to-scheduler", msg });
  }

  /** End of every event: frees, then executions, then transfers. */
  #settle(): void {
    this.#flushReleases();
    // Paused: whatever became runnable or fetchable waits for `resume`.
    if (this.paused) return;
    this.#startExecuting();
    // Tasks that needed no thread may have let go of keys.
    this.#flushReleases();
    this.#fetching.plan();
  }

  #flushReleases(): void {
    if (this.#toFree.length > 0) {
      this.#instructions.push({ type: "free", keys: this.#toFree });
      this.#toFree = [];
    }
    if (this.#released.length > 0) {
      this.#send({ op: "release-worker-data", keys: this.#released });
      this.#released = [];
    }
  }

  #startExecuting(): void {
    for (const task of this.#runQueue.grantRejoins()) {
      task.seceded = false;
      this.#instructions.push({ type: "rejoined", key: task.key });
    }
    let batch: ExecuteSpec[] | null = null;
    for (;;) {
      const task = this.#runQueue.next();
      if (task === null) break;
      if (task.fn === null) {
        this.#storeLiteral(task);
        continue;
      }
      task.state = "executing";
      this.#runQueue.start(task);
      const deps: Key[] = [];
      for (const dep of task.dependencies) {
        deps.push(dep.key);
        // Most recently used last: spilling takes from the front.
        const nbytes = this.memory.get(dep.key);
        if (nbytes !== undefined) {
          this.memory.delete(dep.key);
          this.memory.set(dep.key, nbytes);
        }
      }
      const spec: ExecuteSpec = {
        key: task.key,
        runId: task.runId,
        fn: task.fn,
        args: task.args,
        deps,
        resources: task.resources,
        thread: task.thread,
        timeoutMs: task.timeoutMs,
      };
      // set only when true (a spread of `{}` here cost an allocation per task)
      if (task.actor) spec.actor = true;
      if (task.group !== null) spec.group = task.group;
      (batch ??= []).push(spec);
    }
    if (batch !== null) this.#instructions.push({ type: "execute", tasks: batch });
  }
}
