/**
 * One worker's page: its row of the workers table, what each of its threads ran last (from the
 * task stream), the tasks it is processing, and its newest log lines (which its heartbeats bring).
 *
 * @module
 */

import type { LogLine } from "../../core/recent_lines.ts";
import type { SchedulerState } from "../state.ts";
import { type WorkerRow, workerRow } from "./views.ts";

/** What a thread ran last: `null` when the task stream holds no run of it. */
export interface ThreadView {
  thread: number;
  last: { key: string; prefix: string; start: number; stop: number; erred: boolean } | null;
  /** Runs of this thread among the task stream's newest entries. */
  runs: number;
}

export interface WorkerView {
  now: number;
  worker: WorkerRow;
  threads: ThreadView[];
  /** Tasks assigned to the worker and not finished (the first `limit`). */
  processing: { key: string; prefix: string }[];
  /** The newest log lines, oldest first. */
  logs: LogLine[];
}

/** Task stream entries read for the threads' last runs (newest first). */
const STREAM_SCAN = 20_000;

/** The worker at `address`, or null when the scheduler has none there. */
export function workerView(
  state: SchedulerState,
  address: string,
  now: number,
  limit = 200,
): WorkerView | null {
  const worker = state.workers.get(address);
  if (worker === undefined) return null;
  const threads: ThreadView[] = Array.from(
    { length: worker.nthreads },
    (_, thread) => ({ thread, last: null, runs: 0 }),
  );
  const stream = state.taskStream;
  const entries = stream.since(Math.max(0, stream.total - STREAM_SCAN));
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e.worker !== address) continue;
    const view = threads[e.thread ?? 0];
    if (view === undefined) continue;
    view.runs++;
    view.last ??= {
      key: e.key,
      prefix: e.prefix,
      start: e.start,
      stop: e.stop,
      erred: e.status === "erred",
    };
  }
  const processing: { key: string; prefix: string }[] = [];
  for (const task of worker.processing) {
    if (processing.length >= limit) break;
    processing.push({ key: task.key, prefix: task.prefix.name });
  }
  return { now, worker: workerRow(worker), threads, processing, logs: worker.logs.toArray() };
}
