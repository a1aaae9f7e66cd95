/**
 * The scheduler's invariants, checked all at once: every record agrees with every other (task
 * states with queues, workers and replicas; counts with the tasks; workers' occupancy and
 * resources with what they process). O(tasks + workers): tests run it after every event; no
 * production path does.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { ClientId, WorkerAddress } from "../protocol/messages.ts";
import type { WorkerRunState } from "../protocol/session.ts";
import { comesBefore } from "../core/priority_heap.ts";
import { rootishSlots } from "./placement.ts";
import { IDLE, loadPerThread, SATURATED, UNFILED, type WorkerLoads } from "./worker_loads.ts";
import {
  type ClientRecord,
  type TaskRecord,
  tasksOnThreads,
  type WorkerRecord,
} from "./records.ts";
import type { RetryQueue } from "./retries.ts";
import type { ReadonlyWorkerList } from "./queuing.ts";
import {
  emptyStateCounts,
  type SchedulerTaskState,
  type StateCounts,
} from "./task_prefix_stats.ts";

/** The books of a SchedulerState, as validation reads them. */
export interface SchedulerBooks {
  tasks: ReadonlyMap<Key, TaskRecord>;
  workers: ReadonlyMap<WorkerAddress, WorkerRecord>;
  clients: ReadonlyMap<ClientId, ClientRecord>;
  stateCounts: Readonly<StateCounts>;
  totalThreads: number;
  workerSaturation: number;
  /** Tasks in state `no-worker`. */
  unrunnable: ReadonlySet<TaskRecord>;
  /** Workers that take no new tasks, and why. */
  notRunning: ReadonlyMap<WorkerRecord, Exclude<WorkerRunState, "running">>;
  running: ReadonlyMap<WorkerAddress, WorkerRecord>;
  workersWithSlots: ReadonlyWorkerList;
  workersWithFreeThreads: ReadonlyWorkerList;
  /** Work stealing's thieves and victims (worker_loads.ts). */
  loads: WorkerLoads;
  retries: RetryQueue;
}

/** Each running worker is filed by its load where worker_loads.ts says, and the totals add up. */
function validateLoads(books: SchedulerBooks, fail: (what: string) => never): void {
  const loads = books.loads;
  let load = 0, threads = 0, running = 0;
  for (const worker of books.workers.values()) {
    let filing = UNFILED;
    if (worker.takesTasks) {
      running++;
      threads += worker.nthreads;
      load += worker.occupancy + worker.inFlightOccupancy;
      const count = tasksOnThreads(worker) + worker.inFlightTasks;
      filing = count < worker.nthreads ? IDLE : count > worker.nthreads ? SATURATED : UNFILED;
    }
    const heap = filing === IDLE ? loads.idle : filing === SATURATED ? loads.saturated : null;
    if (
      worker.loadFiling !== filing ||
      (heap !== null && !heap.has(worker)) ||
      (heap !== null && Math.abs(worker.heapKey - loadPerThread(worker)) > 1e-9)
    ) {
      fail(`${worker.address} is filed ${worker.loadFiling} by load, not ${filing}`);
    }
  }
  for (const heap of [loads.idle, loads.saturated]) {
    const items = heap.values();
    for (let i = 1; i < items.length; i++) {
      if (comesBefore(heap.order, items[i], items[(i - 1) >> 1])) {
        fail("a load heap is out of order");
      }
    }
  }
  if (
    running !== loads.running || threads !== loads.totalThreads ||
    Math.abs(load - loads.totalLoad) > 1e-6 * Math.max(1, load)
  ) {
    fail(
      `load totals ${loads.running}/${loads.totalThreads}/${loads.totalLoad}, not ` +
        `${running}/${threads}/${load}`,
    );
  }
}

/** Throws `SchedulerState invariant violated: …` on the first violation found. */
export function validateBooks(books: SchedulerBooks): void {
  const fail = (what: string): never => {
    throw new Error(`SchedulerState invariant violated: ${what}`);
  };
  const counts = emptyStateCounts();
  const live = (w: WorkerRecord) => books.workers.get(w.address) === w;
  for (const [key, task] of books.tasks) {
    const state = task.state;
    counts[state]++;
    if (task.key !== key) fail(`task ${task.key} is filed under ${key}`);
    if (state === "forgotten") fail(`forgotten ${key} is still in tasks`);
    if (task.recommendation !== null || task.pendingPlacement) fail(`${key} has pending work`);
    if ((state === "processing") !== (task.processingOn !== null)) {
      fail(`${key} is ${state} with processingOn=${task.processingOn?.address}`);
    }
    if (state === "memory" ? task.whoHas.size === 0 : task.whoHas.size > 0) {
      fail(`${key} is ${state} with ${task.whoHas.size} replicas`);
    }
    for (const worker of task.whoHas) {
      if (!live(worker) || !worker.hasWhat.has(task)) fail(`${key} replica on ${worker.address}`);
    }
    const active = state === "waiting" || state === "queued" || state === "no-worker" ||
      state === "processing";
    for (const dep of task.dependencies) {
      if (!dep.dependents.has(task)) fail(`${key} is not a dependent of ${dep.key}`);
      if (books.tasks.get(dep.key) !== dep) fail(`${key} depends on forgotten ${dep.key}`);
      if (dep.waiters.has(task) !== active) fail(`${key} (${state}) waiter of ${dep.key}`);
      if (state === "waiting" && task.waitingOn.has(dep) !== (dep.whoHas.size === 0)) {
        fail(`${key} waitingOn ${dep.key} disagrees with its replicas`);
      }
      if (
        (state === "processing" || state === "queued" || state === "no-worker") &&
        dep.whoHas.size === 0
      ) fail(`${key} is ${state} while input ${dep.key} is not in memory`);
    }
    for (const dependent of task.dependents) {
      if (!dependent.dependencies.includes(task)) fail(`${dependent.key} lost dep ${key}`);
    }
    for (const waiter of task.waiters) {
      if (!task.dependents.has(waiter)) fail(`waiter ${waiter.key} of ${key} is no dependent`);
    }
    if (state === "waiting" && task.waitingOn.size === 0) fail(`${key} is ready but waiting`);
    if (state !== "waiting" && task.waitingOn.size > 0) fail(`${key} (${state}) waits on inputs`);
    if (state === "processing" && !task.processingOn!.processing.has(task)) {
      fail(`${key} missing from ${task.processingOn!.address}.processing`);
    }
    if ((state === "queued") !== (task.queue !== null && task.queue.has(task))) {
      fail(`${key} is ${state} and queue membership disagrees`);
    }
    if ((state === "no-worker") !== books.unrunnable.has(task)) {
      fail(`${key} is ${state} and the no-worker set disagrees`);
    }
    if (state === "erred" && task.error === null) fail(`${key} erred without an error`);
    if (state === "released" && (task.whoWants.size > 0 || task.waiters.size > 0)) {
      fail(`${key} is released but needed`);
    }
    if (state === "memory" && task.whoWants.size === 0 && task.waiters.size === 0) {
      fail(`${key} is in memory but nobody needs it`);
    }
    if (task.whoWants.size === 0 && task.dependents.size === 0) {
      fail(`${key} (${state}) is referenced by nothing but not forgotten`);
    }
    for (const client of task.whoWants) {
      if (!client.wantsWhat.has(task)) fail(`${client.id} does not list ${key}`);
    }
  }
  for (const state of Object.keys(counts) as SchedulerTaskState[]) {
    if (state !== "forgotten" && counts[state] !== books.stateCounts[state]) {
      fail(`${counts[state]} tasks are ${state}, counted ${books.stateCounts[state]}`);
    }
  }
  let threads = 0;
  for (const worker of books.workers.values()) {
    threads += worker.nthreads;
    let occupancy = 0;
    let longRunning = 0;
    const used: Record<string, number> = {};
    for (const task of worker.processing) {
      if (task.processingOn !== worker) fail(`${task.key} on ${worker.address} is elsewhere`);
      occupancy += task.estimate;
      if (task.longRunning) longRunning++;
      for (const name in task.resources ?? {}) {
        used[name] = (used[name] ?? 0) + task.resources![name];
      }
    }
    if (longRunning !== worker.longRunning) {
      fail(`${worker.address} counts ${worker.longRunning} long-running tasks, not ${longRunning}`);
    }
    if (Math.abs(occupancy - worker.occupancy) > 1e-6 * Math.max(1, occupancy)) {
      fail(`${worker.address} occupancy ${worker.occupancy}, tasks sum to ${occupancy}`);
    }
    for (const name in worker.usedResources) {
      const amount = worker.usedResources[name];
      if (Math.abs(amount - (used[name] ?? 0)) > 1e-9) fail(`${worker.address} ${name} books`);
      if (amount > (worker.resources[name] ?? 0) + 1e-9) {
        fail(`${worker.address} oversubscribes ${name}: ${amount}`);
      }
    }
    let nbytes = 0;
    for (const task of worker.hasWhat) {
      if (!task.whoHas.has(worker)) fail(`${worker.address} lists ${task.key} it does not hold`);
      if (task.nbytes > 0) nbytes += task.nbytes;
    }
    if (nbytes !== worker.nbytes) fail(`${worker.address} nbytes ${worker.nbytes} != ${nbytes}`);
    const running = !books.notRunning.has(worker);
    if (
      running !== (books.running.get(worker.address) === worker) || running !== worker.takesTasks
    ) {
      fail(`${worker.address} running books`);
    }
    if (!worker.member) fail(`${worker.address} is registered but not marked a member`);
    const hasSlots = running && rootishSlots(worker, books.workerSaturation) > 0;
    if (hasSlots !== books.workersWithSlots.has(worker) || hasSlots !== worker.hasSlots) {
      fail(`${worker.address} slots`);
    }
    const freeThread = hasSlots && tasksOnThreads(worker) < worker.nthreads;
    if (
      freeThread !== books.workersWithFreeThreads.has(worker) || freeThread !== worker.hasFreeThread
    ) {
      fail(`${worker.address} free threads`);
    }
  }
  if (threads !== books.totalThreads) fail(`totalThreads ${books.totalThreads} != ${threads}`);
  validateLoads(books, fail);
  books.retries.validate(fail);
  for (const client of books.clients.values()) {
    for (const task of client.wantsWhat) {
      if (!task.whoWants.has(client)) fail(`${task.key} does not list ${client.id}`);
    }
  }
}
