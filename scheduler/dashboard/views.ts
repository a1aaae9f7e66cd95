/**
 * JSON views of the scheduler state for the dashboard's pages and its `/api/v1` endpoints. Each
 * view reads the state machine without changing it and costs O(prefixes + workers), never
 * O(tasks): they run every push interval while a page is open.
 *
 * @module
 */

import type { SchedulerState, TaskStreamEntry } from "../state.ts";
import type { WorkerRecord } from "../records.ts";
import type { StateCounts } from "../task_prefix_stats.ts";

/** Progress of one task prefix: the dashboard's progress bars. */
export interface PrefixProgress {
  name: string;
  /** Results held in memory. */
  memory: number;
  /** Finished and released again (their dependents have what they needed), or not started. */
  released: number;
  processing: number;
  /** Waiting for inputs, queued on the scheduler, or with no worker that may run them. */
  waiting: number;
  erred: number;
  /** Live tasks of this prefix (every state but forgotten). */
  total: number;
  /** Bytes of this prefix's results in memory. */
  nbytes: number;
  /** Average compute time, seconds; null until one finished. */
  duration: number | null;
}

/** Load of one worker: the status page's memory and processing bars. */
export interface WorkerLoad {
  address: string;
  name: string;
  nthreads: number;
  /** Bytes of results the scheduler knows this worker holds. */
  nbytes: number;
  /** Bytes the worker reports spilled to disk. */
  spilled: number;
  /** Bytes, 0 when unlimited. */
  memoryLimit: number;
  processing: number;
  /** Expected seconds of queued work. */
  occupancy: number;
}

export interface StatusView {
  /** Server time, seconds (task stream times use the same clock). */
  now: number;
  counts: StateCounts;
  prefixes: PrefixProgress[];
  workers: WorkerLoad[];
}

/** One row of the workers table. */
export interface WorkerRow {
  address: string;
  name: string;
  nthreads: number;
  /** Bytes in memory as the worker reports it (its store), else as the scheduler counts it. */
  memory: number;
  memoryLimit: number;
  spilled: number;
  /** Bytes of values in the worker's store (Dask's "managed"). */
  managed: number;
  /** Resident memory beyond the managed bytes: heaps, threads, buffers. */
  unmanaged: number;
  processing: number;
  inMemory: number;
  finished: number;
  /** CPU use in percent of one core, null when the worker does not report it. */
  cpu: number | null;
  /** Transfers in flight into this worker. */
  inFlight: number;
  occupancy: number;
  resources: Readonly<Record<string, number>>;
  /** Time of the last message from the worker, seconds (server clock). */
  lastSeen: number;
}

export interface WorkersView {
  now: number;
  workers: WorkerRow[];
}

/**
 * A task stream entry as it travels: `[key, prefix, worker, thread, start, stop, erred]`, and
 * an eighth number when it stands for several runs coalesced ({@link coalesceRuns}): their count
 * (the key is then the latest run's).
 */
export type TaskStreamTuple =
  | [string, string, string, number, number, number, 0 | 1]
  | [string, string, string, number, number, number, 0 | 1, number];

export interface TaskStreamView {
  now: number;
  /** Sequence number of the next entry: poll again with `since` = this. */
  total: number;
  entries: TaskStreamTuple[];
}

/** The clock the dashboard shows, seconds (the servers stamp events with the same clock). */
export function wallClock(): number {
  return Date.now() / 1000;
}

/** Heartbeat metrics are free-form numbers: read one, with a fallback when absent or junk. */
export function metric(metrics: Readonly<Record<string, number>>, name: string): number | null {
  const value = metrics[name];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** A worker's memory split by kind, bytes. */
export interface MemoryByKind {
  managed: number;
  unmanaged: number;
  spilled: number;
}

/**
 * Managed, unmanaged and spilled bytes from heartbeat metrics (`memory`, `rss`, `spilled`);
 * before a worker's first heartbeat the scheduler's own count of its results stands for managed.
 */
export function memoryByKind(
  metrics: Readonly<Record<string, number>>,
  schedulerBytes: number,
): MemoryByKind {
  const managed = metric(metrics, "memory") ?? schedulerBytes;
  const rss = metric(metrics, "rss") ?? 0;
  return {
    managed,
    unmanaged: Math.max(0, rss - managed),
    spilled: metric(metrics, "spilled") ?? 0,
  };
}

export function prefixProgress(state: SchedulerState): PrefixProgress[] {
  const out: PrefixProgress[] = [];
  for (const prefix of state.prefixes.values()) {
    const c = prefix.counts;
    const total = prefix.active;
    if (total === 0) continue;
    out.push({
      name: prefix.name,
      memory: c.memory,
      released: c.released,
      processing: c.processing,
      waiting: c.waiting + c.queued + c["no-worker"],
      erred: c.erred,
      total,
      nbytes: prefix.nbytesInMemory,
      duration: prefix.durationAverage >= 0 ? prefix.durationAverage : null,
    });
  }
  return out;
}

function workerLoads(state: SchedulerState): WorkerLoad[] {
  const out: WorkerLoad[] = [];
  for (const w of state.workers.values()) {
    out.push({
      address: w.address,
      name: w.name,
      nthreads: w.nthreads,
      nbytes: w.nbytes,
      spilled: metric(w.metrics, "spilled") ?? 0,
      memoryLimit: w.memoryLimit,
      processing: w.processing.size,
      occupancy: w.occupancy,
    });
  }
  return out;
}

export function statusView(state: SchedulerState, now = wallClock()): StatusView {
  return {
    now,
    counts: { ...state.stateCounts },
    prefixes: prefixProgress(state),
    workers: workerLoads(state),
  };
}

export function workersView(state: SchedulerState, now = wallClock()): WorkersView {
  const workers: WorkerRow[] = [];
  for (const w of state.workers.values()) workers.push(workerRow(w));
  return { now, workers };
}

/** One worker's row of the workers table. */
export function workerRow(w: WorkerRecord): WorkerRow {
  return {
    address: w.address,
    name: w.name,
    nthreads: w.nthreads,
    memory: metric(w.metrics, "memory") ?? w.nbytes,
    memoryLimit: w.memoryLimit,
    ...memoryByKind(w.metrics, w.nbytes),
    processing: w.processing.size,
    inMemory: w.hasWhat.size,
    finished: w.finished,
    cpu: metric(w.metrics, "cpu"),
    inFlight: metric(w.metrics, "inFlight") ?? 0,
    occupancy: w.occupancy,
    resources: w.resources,
    lastSeen: w.lastSeen,
  };
}

export function taskStreamTuple(e: TaskStreamEntry): TaskStreamTuple {
  return [e.key, e.prefix, e.worker, e.thread ?? 0, e.start, e.stop, e.status === "erred" ? 1 : 0];
}

/**
 * Task stream entries numbered `since` and later, at most `limit` of them (the newest): a page
 * draws a window of recent time, so older entries of a burst are of no use to it.
 */
export function taskStreamView(
  state: SchedulerState,
  since: number,
  limit: number,
  now = wallClock(),
): TaskStreamView {
  const stream = state.taskStream;
  const total = stream.total;
  const first = Math.max(since, total - limit);
  const entries = stream.since(first).map(taskStreamTuple);
  return { now, total, entries };
}

/**
 * Runs of one prefix on one thread that follow each other with less than `gapSeconds` between
 * them, as one entry each (`[…, count]`): what a page draws of them at its live scale (15 s
 * over about a thousand pixels, 15 ms a pixel) stays the same, while a flood of tiny tasks —
 * thousands a second — costs the pages a few entries per thread and push interval instead of
 * one object, parse and draw per run. Entries come in the order runs finished; a coalesced
 * entry keeps the place of its first run.
 */
export function coalesceRuns(
  entries: readonly TaskStreamTuple[],
  gapSeconds: number,
): TaskStreamTuple[] {
  const out: TaskStreamTuple[] = [];
  /** The entry each thread's next run may join, by `worker thread`, with its index in `out`. */
  const open = new Map<string, number>();
  for (const entry of entries) {
    const [key, prefix, worker, thread, start, stop, erred] = entry;
    const count = entry.length === 8 ? entry[7] : 1;
    const id = `${worker} ${thread}`;
    const at = open.get(id);
    if (at !== undefined) {
      const last = out[at];
      if (last[1] === prefix && last[6] === erred && start - last[5] < gapSeconds) {
        const merged: TaskStreamTuple = [
          key,
          prefix,
          worker,
          thread,
          Math.min(last[4], start),
          Math.max(last[5], stop),
          erred,
          (last.length === 8 ? last[7] : 1) + count,
        ];
        out[at] = merged;
        continue;
      }
    }
    open.set(id, out.length);
    out.push(entry);
  }
  return out;
}

/**
 * Task stream entries column by column, as the live feed sends them to pages (page/
 * task_columns.js reads them back): per run a few numbers rather than an array of strings,
 * prefixes and workers named once, times in milliseconds after `t0` to 10 µs.
 */
export interface TaskStreamColumns {
  /** Seconds (server clock) the times count from: the first entry's start. */
  t0: number;
  key: string[];
  prefixes: string[];
  prefix: number[];
  workers: string[];
  worker: number[];
  thread: number[];
  start: number[];
  stop: number[];
  erred: (0 | 1)[];
  /** Runs each entry stands for (coalesced entries: several). */
  count: number[];
}

export function taskStreamColumns(entries: readonly TaskStreamTuple[]): TaskStreamColumns {
  const t0 = entries.length === 0 ? 0 : entries[0][4];
  const columns: TaskStreamColumns = {
    t0,
    key: [],
    prefixes: [],
    prefix: [],
    workers: [],
    worker: [],
    thread: [],
    start: [],
    stop: [],
    erred: [],
    count: [],
  };
  const prefixIds = new Map<string, number>();
  const workerIds = new Map<string, number>();
  const idOf = (ids: Map<string, number>, names: string[], name: string) => {
    let id = ids.get(name);
    if (id === undefined) {
      ids.set(name, id = names.length);
      names.push(name);
    }
    return id;
  };
  const ms = (t: number) => Math.round((t - t0) * 1e5) / 100;
  for (const entry of entries) {
    const [key, prefix, worker, thread, start, stop, erred] = entry;
    columns.key.push(key);
    columns.prefix.push(idOf(prefixIds, columns.prefixes, prefix));
    columns.worker.push(idOf(workerIds, columns.workers, worker));
    columns.thread.push(thread);
    columns.start.push(ms(start));
    columns.stop.push(ms(stop));
    columns.erred.push(erred);
    columns.count.push(entry.length === 8 ? entry[7] : 1);
  }
  return columns;
}
