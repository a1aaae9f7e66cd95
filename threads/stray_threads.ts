/**
 * Terminated task threads that keep running. Deno 2.9 does not stop a Web Worker busy in a
 * synchronous loop when it is terminated (denoland/deno#35657; measured: a terminated
 * `for (;;) {}` thread used a core for the 10 s watched, and the process could not exit): the
 * thread pool has already replaced it, but the old OS thread spins on until the process ends.
 * The worker's inspector can end it (worker/thread_inspector.ts `halt`); where the inspector is
 * not open (a worker with a token or TLS) or that failed, its supervisor has to replace the
 * process.
 *
 * On Linux (`/proc/self/task`) each Web Worker is an OS thread named `worker-<n>`. The pool learns
 * a thread's id when it starts it ({@link newTaskThreadId}) and, after terminating it,
 * {@link watchStray} looks again: an idle terminated thread is gone within a few hundred ms, a
 * spinning one is still there and still using CPU. Elsewhere (macOS, Windows), or where /proc
 * cannot be read, {@link watchStrayByProcessCpu} measures the whole process's CPU time
 * (`process.cpuUsage`) over seconds in which no task ran: a process that keeps a core busy with
 * nothing to run has a stray. Less precise (the main thread's own work counts too, so it asks
 * for two busy seconds in a row), hence the Linux path stays where it works.
 *
 * @module
 */

import process from "node:process";

const TASK_DIR = "/proc/self/task";
/** How long a terminated thread has to end before it is looked at. */
const GRACE_MS = 2000;
/** CPU ticks (1/100 s) it may use in the second after the grace and still count as ending. */
const ENDING_TICKS = 5;

/** Share of a core an idle process may use and still count as idle (a spinning thread on a loaded
 * 2-core machine was measured at 35 %, an idle worker at a few %). */
const IDLE_SHARE = 0.1;
/** How many seconds the process-wide watch waits for an idle second before giving up. */
const PROCESS_WATCH_TRIES = 60;

const onLinux = Deno.build.os === "linux";

/** The OS ids of this process's Web Worker threads. */
function webWorkerThreads(): Set<number> {
  const ids = new Set<number>();
  for (const entry of Deno.readDirSync(TASK_DIR)) {
    try {
      if (Deno.readTextFileSync(`${TASK_DIR}/${entry.name}/comm`).startsWith("worker-")) {
        ids.add(Number(entry.name));
      }
    } catch { /* the thread ended meanwhile */ }
  }
  return ids;
}

/** User + system CPU ticks of thread `id`, or null once it ended. */
export function threadTicks(id: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`${TASK_DIR}/${id}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/**
 * Calls `start` (which starts one Web Worker) and gives the OS id of the thread it started, or
 * undefined where that cannot be told (not Linux, no access to /proc, or another thread started
 * at the same moment).
 */
export function newTaskThreadId(start: () => void): number | undefined {
  let before: Set<number> | undefined;
  try {
    if (onLinux) before = webWorkerThreads();
  } catch { /* no /proc: no watch */ }
  start();
  if (before === undefined) return undefined;
  try {
    const fresh = [...webWorkerThreads()].filter((id) => !before.has(id));
    return fresh.length === 1 ? fresh[0] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Looks at the terminated thread `id` after a grace period: when it still exists and keeps using
 * CPU, calls `stray` with the share of a core it used in the last second. The timers do not keep
 * the process alive. Returns a function that stops watching.
 */
export function watchStray(id: number, stray: (coreShare: number) => void): () => void {
  let timer = setTimeout(() => {
    const first = threadTicks(id);
    if (first === null) return;
    timer = setTimeout(() => {
      const second = threadTicks(id);
      if (second === null || second - first <= ENDING_TICKS) return;
      stray((second - first) / 100);
    }, 1000);
    Deno.unrefTimer(timer);
  }, GRACE_MS);
  Deno.unrefTimer(timer);
  return () => clearTimeout(timer);
}

/** User + system CPU seconds this process used so far (any OS). */
function processCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * The watch where a thread's own CPU time cannot be read: after the grace period, measures this
 * process's CPU time over seconds in which no task ran. `activity` gives null while a task is
 * executing, else how many runs were started so far (a second counts only when it is the same at
 * both ends). Two idle seconds in a row above {@link IDLE_SHARE} of a core call `stray` with the
 * lower share; an idle second below it ends the watch (calling `quiet`, if given). Gives up after
 * {@link PROCESS_WATCH_TRIES} seconds without an idle one. The timers do not keep the process
 * alive. Returns a function that stops watching.
 */
export function watchStrayByProcessCpu(
  activity: () => number | null,
  stray: (coreShare: number) => void,
  options: { graceMs?: number; quiet?: () => void } = {},
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let tries = 0;
  let busySeconds: number[] = [];
  const later = (step: () => void, ms: number) => {
    timer = setTimeout(step, ms);
    Deno.unrefTimer(timer);
  };
  const measure = () => {
    if (tries++ >= PROCESS_WATCH_TRIES) return;
    const runs = activity();
    if (runs === null) return later(measure, 1000);
    const first = processCpuSeconds();
    const startedAt = performance.now();
    later(() => {
      const share = (processCpuSeconds() - first) / ((performance.now() - startedAt) / 1000);
      if (activity() !== runs) {
        busySeconds = [];
        return measure();
      }
      if (share <= IDLE_SHARE) return options.quiet?.();
      busySeconds.push(share);
      if (busySeconds.length >= 2) return stray(Math.min(...busySeconds));
      measure();
    }, 1000);
  };
  later(measure, options.graceMs ?? GRACE_MS);
  return () => clearTimeout(timer);
}
