/**
 * Read-only views of the scheduler's books for the dashboard and the progress requests: they
 * never change the state.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import { TASK_DONE, TASK_ERRED, TASK_PENDING, type WorkerAddress } from "../protocol/messages.ts";
import type { TaskRecord, WorkerRecord } from "./records.ts";

/** A worker as the dashboard shows it. */
export interface WorkerSummary {
  address: WorkerAddress;
  name: string;
  nthreads: number;
  memoryLimit: number;
  resources: Readonly<Record<string, number>>;
  usedResources: Readonly<Record<string, number>>;
  processing: number;
  occupancy: number;
  nbytes: number;
  keysInMemory: number;
  finished: number;
  lastSeen: number;
  metrics: Readonly<Record<string, number>>;
}

/**
 * Where each of `keys` stands, for progress displays (the `task-progress` request):
 * `TASK_PENDING` while it waits or runs, `TASK_ERRED` once it failed, else `TASK_DONE` — in
 * memory, or released or forgotten after running (a key unknown here is one that ran and was
 * let go, since a client asks only about keys it submitted).
 */
export function taskProgress(
  tasks: ReadonlyMap<Key, TaskRecord>,
  keys: readonly Key[],
): Uint8Array {
  const out = new Uint8Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const state = tasks.get(keys[i])?.state;
    out[i] = state === "erred"
      ? TASK_ERRED
      : state === "waiting" || state === "queued" || state === "no-worker" ||
          state === "processing"
      ? TASK_PENDING
      : TASK_DONE;
  }
  return out;
}

/** One summary per worker. O(workers). */
export function workerSummaries(workers: Iterable<WorkerRecord>): WorkerSummary[] {
  const out: WorkerSummary[] = [];
  for (const w of workers) {
    out.push({
      address: w.address,
      name: w.name,
      nthreads: w.nthreads,
      memoryLimit: w.memoryLimit,
      resources: w.resources,
      usedResources: { ...w.usedResources },
      processing: w.processing.size,
      occupancy: w.occupancy,
      nbytes: w.nbytes,
      keysInMemory: w.hasWhat.size,
      finished: w.finished,
      lastSeen: w.lastSeen,
      metrics: w.metrics,
    });
  }
  return out;
}
