/**
 * Placement: which worker a ready task goes to.
 *
 * A ready task goes to the worker where it can start earliest: that worker's queued work per
 * thread (occupancy, from measured durations per task prefix) plus the time to move the inputs it
 * does not hold yet (bytes at the measured bandwidth). Restrictions filter first: `workers` (names
 * or addresses; `allowOtherWorkers` lifts it when none of them is alive) and `resources` (a worker
 * must have the capacity, and the amounts must be free now, or the task waits).
 *
 * Root-ish tasks (no restrictions, and no inputs or a few inputs shared by very many tasks) gain
 * nothing from data locality; state.ts queues them on the scheduler and hands them to workers as
 * threads free up.
 *
 * @module
 */

import { ScratchList } from "../core/scratch_list.ts";
import {
  hasFreeResources,
  hasResourceCapacity,
  type TaskRecord,
  tasksOnThreads,
  type WorkerRecord,
} from "./records.ts";

/** What placement needs to know about the cluster. */
export interface PlacementContext {
  readonly workers: ReadonlyMap<string, WorkerRecord>;
  readonly workersByName: ReadonlyMap<string, WorkerRecord>;
  /** Worker-to-worker bandwidth, bytes per second. */
  readonly bandwidth: number;
}

/** `decideWorker` found workers that could run the task, but none has its resources free now. */
export const WAIT_FOR_RESOURCES = "wait-for-resources";

/** How many dependents make an input "shared by very many tasks", per thread of the cluster. */
const ROOTISH_FANOUT_PER_THREAD = 2;
/** At most this many inputs for a task to count as root-ish. */
const ROOTISH_MAX_DEPS = 4;

/**
 * True for tasks whose placement cannot profit from data locality: unrestricted, and either
 * without inputs or with at most a few inputs that each feed more than twice as many tasks as
 * the cluster has threads (copies of those end up everywhere anyway).
 */
export function isRootish(task: TaskRecord, totalThreads: number): boolean {
  if (task.workers !== null || task.resources !== null) return false;
  const deps = task.dependencies;
  if (deps.length === 0) return true;
  if (deps.length > ROOTISH_MAX_DEPS) return false;
  const fanout = ROOTISH_FANOUT_PER_THREAD * totalThreads;
  for (let i = 0; i < deps.length; i++) {
    if (deps[i].dependents.size <= fanout) return false;
  }
  return true;
}

/** Bytes of `task`'s inputs that `worker` does not hold. */
export function missingInputBytes(task: TaskRecord, worker: WorkerRecord): number {
  let bytes = 0;
  const deps = task.dependencies;
  for (let i = 0; i < deps.length; i++) {
    const dep = deps[i];
    if (!dep.whoHas.has(worker) && dep.nbytes > 0) bytes += dep.nbytes;
  }
  return bytes;
}

/** Seconds until `task` could start on `worker`: queued work per thread plus input transfers. */
export function startTime(task: TaskRecord, worker: WorkerRecord, bandwidth: number): number {
  return (worker.occupancy + worker.inFlightOccupancy) / worker.nthreads +
    missingInputBytes(task, worker) / bandwidth;
}

/**
 * The workers `task` may run on, ignoring whether resources are free now; `null` means "any
 * worker". An empty array means none of the live workers qualifies.
 */
export function validWorkers(task: TaskRecord, ctx: PlacementContext): WorkerRecord[] | null {
  let pool: WorkerRecord[] | null = null;
  if (task.workers !== null) {
    pool = listedWorkers(task, ctx);
    if (pool.length === 0 && task.looseRestrictions) pool = null;
  }
  const resources = task.resources;
  if (resources === null) return pool;
  const out: WorkerRecord[] = [];
  for (const worker of pool ?? ctx.workers.values()) {
    if (hasResourceCapacity(worker, resources)) out.push(worker);
  }
  return out;
}

/** The live workers named (by name or address) in `task.workers`, without duplicates. */
function listedWorkers(task: TaskRecord, ctx: PlacementContext): WorkerRecord[] {
  const out: WorkerRecord[] = [];
  for (const id of task.workers!) {
    const worker = ctx.workers.get(id) ?? ctx.workersByName.get(id);
    if (worker !== undefined && !out.includes(worker)) out.push(worker);
  }
  return out;
}

/** True when `task` may run on `worker` now (restrictions hold and its resources are free). */
export function canRunNow(task: TaskRecord, worker: WorkerRecord, ctx: PlacementContext): boolean {
  if (
    task.workers !== null && !task.workers.has(worker.address) && !task.workers.has(worker.name)
  ) {
    // Loose restrictions only give way when no listed worker is alive.
    if (!task.looseRestrictions || listedWorkers(task, ctx).length > 0) return false;
  }
  return task.resources === null || hasFreeResources(worker, task.resources);
}

let visitEpoch = 0;

/**
 * Picks the worker where `task` can start earliest. Returns `null` when no live worker may ever
 * run it (state `no-worker`), {@link WAIT_FOR_RESOURCES} when some may but none has the
 * resources free now.
 *
 * Cost: O(replicas of the inputs × inputs), or O(valid workers × inputs) when no holder of an
 * input may run the task.
 */
export function decideWorker(
  task: TaskRecord,
  ctx: PlacementContext,
): WorkerRecord | typeof WAIT_FOR_RESOURCES | null {
  if (ctx.workers.size === 0) return null;
  let valid = validWorkers(task, ctx);
  if (valid !== null) {
    if (valid.length === 0) return null;
    if (task.resources !== null) {
      const resources = task.resources;
      valid = valid.filter((worker) => hasFreeResources(worker, resources));
      if (valid.length === 0) return WAIT_FOR_RESOURCES;
    }
    if (valid.length === 1) return valid[0];
  }
  // First choice: the workers that already hold an input.
  const holders = scratch;
  const deps = task.dependencies;
  if (deps.length > 0) {
    const epoch = ++visitEpoch;
    for (let i = 0; i < deps.length; i++) {
      for (const worker of deps[i].whoHas) {
        if (worker.visitMark === epoch) continue;
        worker.visitMark = epoch;
        if (valid === null || valid.includes(worker)) holders.push(worker);
      }
    }
  }
  if (holders.size === 0) return earliestStart(task, valid ?? ctx.workers.values(), ctx.bandwidth);
  let best: WorkerRecord | null = null;
  let bestStart = Infinity;
  for (let i = 0; i < holders.size; i++) {
    const worker = holders.at(i);
    const start = startTime(task, worker, ctx.bandwidth);
    if (sooner(start, worker, best, bestStart)) {
      best = worker;
      bestStart = start;
    }
  }
  holders.clear();
  return best;
}

/** Reused candidate list (placement runs one decision at a time). */
const scratch = new ScratchList<WorkerRecord>();

/** Whether `worker`, starting at `start`, beats `best`: sooner, or as soon holding fewer bytes. */
function sooner(
  start: number,
  worker: WorkerRecord,
  best: WorkerRecord | null,
  bestStart: number,
): boolean {
  return best === null || start < bestStart || (start === bestStart && worker.nbytes < best.nbytes);
}

/** The worker of `workers` where `task` starts earliest; ties go to the one holding fewer bytes. */
export function earliestStart(
  task: TaskRecord,
  workers: Iterable<WorkerRecord>,
  bandwidth: number,
): WorkerRecord | null {
  let best: WorkerRecord | null = null;
  let bestStart = Infinity;
  for (const worker of workers) {
    const start = startTime(task, worker, bandwidth);
    if (sooner(start, worker, best, bestStart)) {
      best = worker;
      bestStart = start;
    }
  }
  return best;
}

/**
 * Seconds of known work per thread below which a worker always takes another root-ish task.
 * Short tasks would otherwise wait a scheduler round trip each (a worker holding only
 * `saturation × nthreads` of them idles between them); long or unmeasured ones still queue on the
 * scheduler, where they can go wherever a thread frees up first.
 */
export const SHORT_WORK_SECONDS = 0.02;

/**
 * How many more tasks `worker` may receive from the root-ish queue: the saturation factor times
 * its threads (at least one), minus what it is processing already — and at least one while its
 * queued work is shorter than {@link SHORT_WORK_SECONDS} per thread.
 */
export function rootishSlots(worker: WorkerRecord, saturation: number): number {
  if (saturation === Infinity) return Infinity;
  const slots = Math.max(Math.ceil(saturation * worker.nthreads), 1) - tasksOnThreads(worker);
  if (slots > 0) return slots;
  return worker.occupancy < SHORT_WORK_SECONDS * worker.nthreads ? 1 : 0;
}
