/**
 * The supervisor's memory limit (Dask's nanny `terminate` threshold): a supervised worker whose
 * process memory passes 95 % of its `--memory-limit` is terminated, so the supervisor replaces
 * it and the scheduler counts the task it was running as a suspect (after `allowedFailures`
 * such deaths the task errs with `KilledWorker`). The worker pauses itself at 80 %; this is for
 * a single task that allocates past everything (spilling cannot free a task's own memory).
 *
 * Termination is a signal the worker answers by telling the scheduler why it goes (so the
 * `KilledWorker` error names the memory) and exiting; SIGKILL follows when it does not exit in
 * time. Reads `/proc/<pid>/status` (Linux); elsewhere there is no watch.
 *
 * @module
 */

import { MEMORY_TERMINATE_SIGNAL } from "../protocol/exit_codes.ts";
import { formatBytes } from "../worker/memory_limit.ts";
import type { ManagedProcess } from "./process.ts";

/** Fraction of the memory limit past which a worker is terminated (Dask: 0.95). */
export const TERMINATE_FRACTION = 0.95;
/** How often the supervisor samples (Dask's nanny: 100 ms). */
const SAMPLE_INTERVAL_MS = 100;
/** How long a terminated worker has to say why and exit before SIGKILL. */
const TERMINATE_GRACE_MS = 1000;

/** Resident memory of process `pid` in bytes, or 0 where it cannot be read. */
export function residentMemoryOf(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = /VmRSS:\s+(\d+) kB/.exec(status);
    return kb === null ? 0 : Number(kb[1]) * 1024;
  } catch {
    return 0; // not Linux, or the process is gone
  }
}

/**
 * Watches `process` until it exits: past {@link TERMINATE_FRACTION} of `limit` bytes, logs it
 * and terminates the process. Returns a function that stops watching. No-op for `limit <= 0`.
 * With `holdProcess` false, the sampling timer does not keep this process alive.
 */
export function watchMemory(
  process: ManagedProcess,
  limit: number,
  log: (line: string) => void,
  holdProcess = true,
): () => void {
  if (limit <= 0 || Deno.build.os !== "linux") return () => {};
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const sampler = setInterval(() => {
    if (process.exited) return stop();
    const rss = residentMemoryOf(process.child.pid);
    if (rss <= TERMINATE_FRACTION * limit) return;
    clearInterval(sampler);
    log(
      `${process.label}: process memory ${formatBytes(rss)} is above ` +
        `${TERMINATE_FRACTION * 100}% of its memory limit ${formatBytes(limit)}: terminating it`,
    );
    process.signal(MEMORY_TERMINATE_SIGNAL);
    killTimer = setTimeout(() => process.signal("SIGKILL"), TERMINATE_GRACE_MS);
  }, SAMPLE_INTERVAL_MS);
  if (!holdProcess) Deno.unrefTimer(sampler);
  const stop = () => {
    clearInterval(sampler);
    clearTimeout(killTimer);
  };
  void process.status.then(stop, stop);
  return stop;
}
