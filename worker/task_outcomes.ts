/**
 * How the worker state machine words a task's failure when the task itself did not throw: a
 * result bigger than the memory limit, a literal without a value, a spec that cannot run, an
 * input gone from the store, a thread that died. Pure functions; no I/O.
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import type { WorkerAddress } from "../protocol/messages.ts";
import { formatBytes } from "./memory_limit.ts";
import { taskError } from "../threads/thread_end_errors.ts";

export {
  taskError,
  THREAD_DIED,
  threadDiedError,
  TIMED_OUT,
  timeoutError,
} from "../threads/thread_end_errors.ts";

/** The error name of a task whose result was bigger than the worker's memory limit. */
export const TOO_BIG = "MemoryLimitError";

/** A result too big to keep: keeping it would take the whole worker down. */
export function tooBigError(
  key: Key,
  nbytes: number,
  memoryLimit: number,
  address: WorkerAddress,
): ErrorRecord {
  return taskError(
    key,
    `task ${key} produced ${formatBytes(nbytes)}, more than the memory limit of worker ` +
      `${address} (${formatBytes(memoryLimit)}), so its result was discarded. Split ` +
      `the work into smaller pieces (smaller chunks, more partitions) or give workers a larger ` +
      `--memory-limit.`,
    TOO_BIG,
  );
}

/** The worker is paused for memory and cannot spill: `key` will never get to run here. */
export function memoryExhaustedError(
  key: Key,
  address: WorkerAddress,
  reason: string,
): ErrorRecord {
  return taskError(
    key,
    `task ${key} cannot run on worker ${address}: its memory is full and nothing more can be ` +
      `spilled (${reason}). Release results you no longer need, give workers a larger ` +
      `--memory-limit or more room for --local-directory (--spill-limit), or split the work.`,
    TOO_BIG,
  );
}

/** Why a task cannot be handed to a thread as it is, or null when it can. */
export function runSpecProblem(key: Key, fn: unknown, argsEncoded: boolean): string | null {
  if (fn === null || typeof fn !== "object" || typeof (fn as { id?: unknown }).id !== "string") {
    return `task ${key} has no valid function spec`;
  }
  return argsEncoded ? null : `task ${key} has no encoded arguments`;
}
