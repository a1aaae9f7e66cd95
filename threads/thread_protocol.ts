/**
 * Messages between a thread pool's owner (the local `threads` scheduler or a distributed
 * worker) and its Web Worker threads. One way to execute a task, everywhere.
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { FunctionSpec } from "../core/function_codec.ts";
import type { Encoded } from "../core/value_codec.ts";
import type { Key } from "../core/task.ts";

/** One task to run on a thread. */
export interface RunItem {
  /** The owner's handle for this run, echoed back in the result. */
  id: number;
  key: Key;
  /** The function, or only its id once this thread has been sent it. */
  fn: FunctionSpec | string;
  /** The task's arguments, with `TaskRef`s where dependency values go. */
  args: Encoded;
  /** Values of the referenced dependencies, as parallel arrays. */
  depKeys: Key[];
  depValues: Encoded[];
}

/** What the owner posts: a batch of tasks in one message. */
export interface RunBatch {
  type: "run";
  batch: RunItem[];
}

/** A task's outcome. Times are `performance.timeOrigin + performance.now()` in milliseconds. */
export type RunResult =
  | {
    id: number;
    ok: true;
    value: Encoded;
    /** Bytes the value holds in memory. */
    nbytes: number;
    /** The value's type name, for displays (`Float64Array`, `NDArray`, `object`, ...). */
    typeName: string;
    start: number;
    stop: number;
  }
  | { id: number; ok: false; error: ErrorRecord; start: number; stop: number };

/** What a thread posts back: results of tasks of one or more batches. */
export interface RunResults {
  type: "results";
  results: RunResult[];
}

/**
 * What a worker subprocess (process_entry.ts) writes besides results: that it has loaded and
 * reads batches, or the uncaught error that is about to end it.
 */
export type ProcessNotice = { type: "ready" } | { type: "fatal"; message: string };
