/**
 * Terminated task threads that keep running. Deno 2.9 does not stop a Web Worker busy in a
 * synchronous loop when it is terminated (denoland/deno#35657; measured: a terminated
 * `for (;;) {}` thread used a core for the 10 s watched, and the process could not exit): the
 * thread pool has already replaced it, but the old OS thread spins on until the process ends.
 * The worker's inspector can end it (worker/thread_inspector.ts `halt`); where the inspector is
 * not open (a worker with a token or TLS) or that failed, its supervisor has to replace the
 * process.
 *
 * Linux only (reads `/proc/self/task`): each Web Worker is an OS thread named `worker-<n>`. The
 * pool learns a thread's id when it starts it ({@link newTaskThreadId}) and, after terminating
 * it, {@link watchStray} looks again: an idle terminated thread is gone within a few hundred ms,
 * a spinning one is still there and still using CPU.
 *
 * @module
 */

const TASK_DIR = "/proc/self/task";
/** How long a terminated thread has to end before it is looked at. */
const GRACE_MS = 2000;
/** CPU ticks (1/100 s) it may use in the second after the grace and still count as ending. */
const ENDING_TICKS = 5;

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
