/**
 * Work stealing: idle workers take queued work from saturated ones.
 *
 * Every processing task is filed by its cost level: how expensive moving it is compared with
 * running it, `round(log2(transfer / compute) + 6)` where transfer is the bytes of its inputs at
 * the bandwidth plus a fixed latency (Dask's heuristic; a task without inputs is level 0; a task
 * whose transfer dwarfs its compute is never stolen). On each balance, cheap levels are visited
 * first: a task moves when it would start on the thief sooner than on the victim by a margin
 * (`thief + its transfer + compute <= victim - (victim transfer + compute) / 2`, all per thread).
 *
 * A steal is a request: the victim answers whether the task was still queued. Only then does the
 * scheduler reassign it (state.ts). While a request is out, the expected durations count as
 * moved ("in flight") so one balance does not pile everything on one thief.
 *
 * @module
 */

import { CompactSet } from "../core/compact_set.ts";
import { missingInputBytes, type PlacementContext, startTime } from "./placement.ts";
import { hasFreeResources, STEAL_LEVELS, type TaskRecord, type WorkerRecord } from "./records.ts";
import { IDLE, loadPerThread, WorkerLoads } from "./worker_loads.ts";

/** A steal request that awaits the victim's answer. */
export interface StealInFlight {
  readonly stealId: number;
  readonly victim: WorkerRecord;
  readonly thief: WorkerRecord;
  /** Occupancy moved off the victim and onto the thief while the request is out. */
  readonly victimDuration: number;
  readonly thiefDuration: number;
}

/** What balance needs from the scheduler. */
export interface StealHost extends PlacementContext {
  /** Expected compute time of `task`, seconds. */
  taskDuration(task: TaskRecord): number;
  /** Sends `steal-request` to the victim. */
  sendStealRequest(victim: WorkerRecord, task: TaskRecord, stealId: number): void;
}

export interface StealingOptions {
  /** Seconds added to every move: request, answer and resubmission round trips. */
  latency: number;
  /** Bound on candidate tasks examined per balance, so one tick stays cheap. */
  maxChecksPerBalance: number;
}

export class WorkStealing {
  readonly inFlight = new Map<TaskRecord, StealInFlight>();
  /** The running workers by load: thieves and victims (worker_loads.ts). */
  readonly loads = new WorkerLoads();
  /** Stealable tasks per cost level, over all workers (a balance skips the empty levels). */
  readonly #levelCounts = new Array<number>(STEAL_LEVELS).fill(0);
  /** Counters for the dashboard. */
  requested = 0;
  confirmed = 0;
  rejected = 0;
  #nextStealId = 1;

  constructor(readonly options: StealingOptions) {}

  /** The cost level of `task`, or -1 when it should never move. */
  costLevel(task: TaskRecord, computeSeconds: number, bandwidth: number): number {
    const deps = task.dependencies;
    if (deps.length === 0) return 0;
    if (!(computeSeconds > 0)) return -1;
    let bytes = 0;
    for (let i = 0; i < deps.length; i++) if (deps[i].nbytes > 0) bytes += deps[i].nbytes;
    const transfer = bytes / bandwidth + this.options.latency;
    const level = Math.round(Math.log2(transfer / computeSeconds) + 6);
    if (level >= STEAL_LEVELS) return -1;
    return level < 1 ? 1 : level;
  }

  /** Files a task that just started processing. */
  add(task: TaskRecord, computeSeconds: number, bandwidth: number): void {
    const level = this.costLevel(task, computeSeconds, bandwidth);
    task.stealLevel = level;
    if (level >= 0) {
      (task.processingOn!.stealable[level] ??= new CompactSet()).add(task);
      this.#levelCounts[level]++;
    }
  }

  /** Refiles a processing task after its duration estimate changed. */
  refile(task: TaskRecord, computeSeconds: number, bandwidth: number): void {
    this.pin(task, task.processingOn!);
    this.add(task, computeSeconds, bandwidth);
  }

  /** Unfiles a task that can no longer move (its worker started running it). */
  pin(task: TaskRecord, worker: WorkerRecord): void {
    const level = task.stealLevel;
    if (level >= 0) {
      if (worker.stealable[level]?.delete(task)) this.#levelCounts[level]--;
      task.stealLevel = -1;
    }
  }

  /** Unfiles a task that stops processing on `worker`, and aborts its steal if one is out. */
  remove(task: TaskRecord, worker: WorkerRecord): void {
    this.pin(task, worker);
    if (this.inFlight.size > 0) this.settle(task);
  }

  /** Forgets the steals of a worker that left (its tasks are rescheduled by the caller). */
  removeWorker(worker: WorkerRecord): void {
    for (const [task, info] of this.inFlight) {
      if (info.victim === worker || info.thief === worker) this.settle(task);
    }
  }

  /**
   * Ends the request for `task` (answered or aborted) and returns it, or null when there is none
   * or `stealId` names an older request (a stale answer).
   */
  settle(task: TaskRecord, stealId?: number): StealInFlight | null {
    const info = this.inFlight.get(task);
    if (info === undefined || (stealId !== undefined && info.stealId !== stealId)) return null;
    this.inFlight.delete(task);
    info.victim.inFlightOccupancy += info.victimDuration;
    info.victim.inFlightTasks++;
    info.thief.inFlightOccupancy -= info.thiefDuration;
    info.thief.inFlightTasks--;
    if (this.inFlight.size === 0) {
      // Drop accumulated float error once nothing is in flight.
      info.victim.inFlightOccupancy = 0;
      info.thief.inFlightOccupancy = 0;
    }
    this.loads.update(info.victim);
    this.loads.update(info.thief);
    return info;
  }

  /**
   * Sends steal requests from saturated to idle workers. The thieves and victims come from
   * {@link WorkerLoads}, kept up to date as loads change, so a balance walks no worker list: it
   * visits the victims above the average load most loaded first (O(log workers) each), and picks
   * each task's thief among the least loaded idle worker and the idle holders of its inputs
   * (O(inputs' replicas)); a task with worker or resource restrictions compares every idle
   * worker. At most `maxChecksPerBalance` candidate tasks. Returns the number of requests sent.
   */
  balance(host: StealHost): number {
    const loads = this.loads;
    const idle = loads.idle;
    if (
      loads.running < 2 || idle.size === 0 || idle.size === loads.running ||
      loads.saturated.size === 0
    ) return 0;
    const average = loads.totalLoad / loads.totalThreads;
    // Victims: more tasks than threads (some are queued there) and more work than average,
    // walked in order as far as needed; their loads refile after the balance.
    const walk = loads.victimsAbove(average);
    const victims: WorkerRecord[] = [];
    let checks = 0;
    let sent = 0;
    loads.startBalance();
    try {
      for (let level = 0; level < STEAL_LEVELS; level++) {
        if (this.#levelCounts[level] === 0) continue;
        for (let v = 0;; v++) {
          let victim = victims[v];
          if (victim === undefined) {
            const next = walk.next();
            if (next.done) break;
            victims.push(victim = next.value);
          }
          const tasks = victim.stealable[level];
          if (tasks === undefined) continue;
          for (const task of tasks) {
            if (++checks > this.options.maxChecksPerBalance) return sent;
            if (this.inFlight.has(task)) continue;
            const thief = this.#pickThief(task, host);
            if (thief === null) continue;
            const compute = host.taskDuration(task);
            const thiefComm = missingInputBytes(task, thief) / host.bandwidth;
            const victimComm = missingInputBytes(task, victim) / host.bandwidth;
            if (
              loadPerThread(thief) + thiefComm + compute >
                loadPerThread(victim) - (victimComm + compute) / 2
            ) {
              continue;
            }
            const info: StealInFlight = {
              stealId: this.#nextStealId++,
              victim,
              thief,
              victimDuration: compute + victimComm,
              thiefDuration: compute + thiefComm,
            };
            this.inFlight.set(task, info);
            victim.inFlightOccupancy -= info.victimDuration;
            victim.inFlightTasks--;
            thief.inFlightOccupancy += info.thiefDuration;
            thief.inFlightTasks++;
            loads.update(victim);
            loads.update(thief);
            this.requested++;
            sent++;
            host.sendStealRequest(victim, task, info.stealId);
            if (idle.size === 0) return sent;
          }
        }
      }
      return sent;
    } finally {
      loads.endBalance();
    }
  }

  /** The idle worker where `task` starts earliest among those allowed to run it now. */
  #pickThief(task: TaskRecord, host: StealHost): WorkerRecord | null {
    const idle = this.loads.idle;
    if (task.workers === null && task.resources === null) {
      // Any idle worker may run it: the least loaded one, unless one holding an input starts it
      // sooner (every other worker waits for all its inputs and is loaded at least as much).
      let best = idle.peek()!;
      let bestStart = startTime(task, best, host.bandwidth);
      const deps = task.dependencies;
      for (let i = 0; i < deps.length; i++) {
        for (const holder of deps[i].whoHas) {
          // (its start is at least its load: most holders are passed over without their inputs)
          if (holder.heapFiling !== IDLE || loadPerThread(holder) >= bestStart) continue;
          const start = startTime(task, holder, host.bandwidth);
          if (start < bestStart) {
            best = holder;
            bestStart = start;
          }
        }
      }
      return best;
    }
    let best: WorkerRecord | null = null;
    let bestStart = Infinity;
    let anyAllowed = false;
    for (let pass = 0; pass < 2 && best === null; pass++) {
      // Second pass: loose restrictions let any thief take the task.
      if (pass === 1 && (anyAllowed || task.workers === null || !task.looseRestrictions)) break;
      for (const thief of idle.values()) {
        if (pass === 0 && !satisfiesWorkers(task, thief)) continue;
        anyAllowed = true;
        if (task.resources !== null && !hasFreeResources(thief, task.resources)) continue;
        const start = startTime(task, thief, host.bandwidth);
        if (start < bestStart) {
          best = thief;
          bestStart = start;
        }
      }
    }
    return best;
  }
}

function satisfiesWorkers(task: TaskRecord, worker: WorkerRecord): boolean {
  return task.workers === null || task.workers.has(worker.address) ||
    task.workers.has(worker.name);
}
