/**
 * Reads over the whole worker state machine, O(tasks): its invariants checked in full (for tests
 * and debugging) and its tasks counted per state (for displays).
 *
 * @module
 */

import type { WorkerState } from "./state.ts";
import type { WorkerTask, WorkerTaskState } from "./worker_task.ts";

/** What the check needs from inside the state machine. */
export interface WorkerStateInternals {
  /** Whether a ready task waits in a run queue. */
  queuedToRun(task: WorkerTask): boolean;
  /** The most tasks that may be handed to threads at once. */
  maxExecuting: number;
}

/** Throws on the first invariant `w` violates. */
export function validateWorkerState(w: WorkerState, internals: WorkerStateInternals): void {
  const fail = (what: string): never => {
    throw new Error(`WorkerState ${w.address} invariant violated: ${what}`);
  };
  let executing = 0;
  const used: Record<string, number> = {};
  let memoryBytes = 0;
  for (const [key, task] of w.tasks) {
    const state = task.state;
    if (task.key !== key) fail(`${task.key} filed under ${key}`);
    if (state === "released") fail(`released ${key} is still in tasks`);
    if (task.seceded && state !== "executing") fail(`${key} (${state}) is still seceded`);
    if (state === "executing") {
      if (!task.seceded) executing++; // a seceded task holds no slot
      if (!(task.thread >= 0 && task.thread < w.nthreads)) fail(`${key} runs on no thread`);
      for (const name in task.resources ?? {}) {
        used[name] = (used[name] ?? 0) + task.resources![name];
      }
    } else if (task.thread !== -1) fail(`${key} (${state}) still holds thread ${task.thread}`);
    if (state === "fetch" && task.whoHas.size === 0) fail(`${key} fetches from nobody`);
    if (state === "missing" && task.whoHas.size > 0) fail(`${key} missing with holders`);
    if ((state === "flight") !== (task.flightPeer !== null)) fail(`${key} flight peer`);
    if ((state === "memory") !== w.memory.has(key)) fail(`${key} memory map disagrees`);
    if (state === "memory") memoryBytes += w.memory.get(key)!;
    if (state === "ready" && !internals.queuedToRun(task)) {
      fail(`${key} ready but not queued to run`);
    }
    if (state === "waiting" || state === "ready") {
      if (!task.assigned && task.dependents.size === 0) fail(`${key} runs for nobody`);
      let notHere = 0;
      for (const dep of task.dependencies) {
        if (w.tasks.get(dep.key) !== dep) fail(`${key} reads dropped ${dep.key}`);
        if (!dep.dependents.has(task)) fail(`${dep.key} does not list dependent ${key}`);
        if (dep.state !== "memory") notHere++;
      }
      if (state === "waiting" && (notHere === 0 || notHere !== task.waitingFor)) {
        fail(`${key} waits for ${task.waitingFor} inputs, ${notHere} are not here`);
      }
      if (state === "ready" && notHere > 0) fail(`${key} ready without its inputs`);
    }
    for (const dependent of task.dependents) {
      if (!dependent.dependencies.includes(task)) fail(`${dependent.key} lost input ${key}`);
    }
    if (
      (state === "fetch" || state === "missing" || state === "memory") && !task.assigned &&
      !task.acquired && task.dependents.size === 0
    ) fail(`${key} (${state}) is kept for nothing`);
  }
  if (executing !== w.executing) fail(`executing ${w.executing}, tasks say ${executing}`);
  if (executing > internals.maxExecuting) fail(`${executing} tasks on ${w.nthreads} threads`);
  for (const name in w.usedResources) {
    const amount = w.usedResources[name];
    if (Math.abs(amount - (used[name] ?? 0)) > 1e-9) fail(`resource ${name} books`);
    if (amount > (w.resources[name] ?? 0) + 1e-9) fail(`resource ${name} oversubscribed`);
  }
  if (memoryBytes !== w.memoryBytes) fail(`memoryBytes ${w.memoryBytes} != ${memoryBytes}`);
}

/** Tasks per state. */
export function countStates(tasks: Iterable<WorkerTask>): Record<WorkerTaskState, number> {
  const counts: Record<WorkerTaskState, number> = {
    waiting: 0,
    ready: 0,
    executing: 0,
    memory: 0,
    error: 0,
    fetch: 0,
    flight: 0,
    missing: 0,
    released: 0,
  };
  for (const task of tasks) counts[task.state]++;
  return counts;
}
