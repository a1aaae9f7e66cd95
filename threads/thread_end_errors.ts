/**
 * How a task's failure is worded when its thread ended under it or its time ran out: shared by
 * the thread entry, the worker state machine and the local `threads` scheduler. Pure functions.
 *
 * @module
 */

import { type ErrorRecord, recordFromError } from "../core/errors.ts";
import type { Key } from "../core/task.ts";

/** The error name of a task whose thread ended while it ran. */
export const THREAD_DIED = "ThreadDiedError";

/** An error record for `key` with this message and name. */
export function taskError(key: Key, message: string, name = "Error"): ErrorRecord {
  return { ...recordFromError(new Error(message), key), name };
}

/** The error name of a task stopped for running past its `timeout`. */
export const TIMED_OUT = "TimeoutError";

/**
 * A run of `key` went past its time limit and was stopped. `where`: the threads' owner, e.g.
 * `worker tcp://…` or `the threads scheduler`.
 */
export function timeoutError(key: Key, timeoutMs: number, where?: string): ErrorRecord {
  return taskError(
    key,
    `task ${key} did not finish within its timeout of ${timeoutMs} ms` +
      `${where === undefined ? "" : ` on ${where}`}, so it was stopped. Give it a longer ` +
      `timeout, or split the work.`,
    TIMED_OUT,
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
