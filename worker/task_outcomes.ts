/**
 * How the worker state machine words a task's failure when the task itself did not throw: a
 * result bigger than the memory limit, a literal without a value, a spec that cannot run, an
 * input gone from the store, a thread that died. Pure functions; no I/O.
 *
 * @module
 */

import { type ErrorRecord, recordFromError } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import type { WorkerAddress } from "../protocol/messages.ts";
import { formatBytes } from "./memory_limit.ts";

/** The error name of a task whose result was bigger than the worker's memory limit. */
export const TOO_BIG = "MemoryLimitError";
/** The error name of a task whose thread ended while it ran. */
export const THREAD_DIED = "ThreadDiedError";

/** An error record for `key` with this message and name. */
export function taskError(key: Key, message: string, name = "Error"): ErrorRecord {
  return { ...recordFromError(new Error(message), key), name };
}

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

/** A thread of `where` (see {@link timeoutError}) ended while running `key`. */
export function threadDiedError(
  key: Key,
  thread: number,
  where: string,
  reason: string,
): ErrorRecord {
  return taskError(
    key,
    `thread ${thread} of ${where} ended while running ${key}: ${reason}. ` +
      `The thread was replaced; a task returns its result (or throws), it never ends its thread.`,
    THREAD_DIED,
  );
}

/** The error name of a task stopped for running past its `timeout`. */
export const TIMED_OUT = "TimeoutError";

/**
 * A run of `key` went past its time limit and was stopped. `where`: the threads' owner, e.g.
 * `worker tcp://…` or `the threads scheduler`.
 */
export function timeoutError(key: Key, timeoutMs: number, where: string): ErrorRecord {
  return taskError(
    key,
    `task ${key} did not finish within its timeout of ${timeoutMs} ms on ${where}; ` +
      `its thread was stopped and replaced. Give it a longer timeout, or split the work.`,
    TIMED_OUT,
  );
}

/** Why a task cannot be handed to a thread as it is, or null when it can. */
export function runSpecProblem(key: Key, fn: unknown, argsEncoded: boolean): string | null {
  if (fn === null || typeof fn !== "object" || typeof (fn as { id?: unknown }).id !== "string") {
    return `task ${key} has no valid function spec`;
  }
  return argsEncoded ? null : `task ${key} has no encoded arguments`;
}
