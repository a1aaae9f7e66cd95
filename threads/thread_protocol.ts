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
    /** It holds Futures (returned by the task), which the thread keeps until `release-refs`. */
    holdsRefs?: boolean;
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
 * What the owner tells each thread once, before any batch: the cluster its tasks run on (for
 * `getClient()` in a task). The local `threads` scheduler sends none.
 */
export interface ThreadSetup {
  type: "setup";
  scheduler: string;
  worker: string;
  authToken?: string;
}

/** The owner granted a thread slot to a task that asked to rejoin. */
export interface Rejoined {
  type: "rejoined";
  id: number;
}

/** These results are gone from the owner: the Futures they held may go (their keys released). */
export interface ReleaseRefs {
  type: "release-refs";
  keys: Key[];
}

/** A Pub's message for the Subs of `name` on this thread. */
export interface PubSubDelivery {
  type: "pubsub-msg";
  name: string;
  value: Encoded;
}

/** Everything the owner posts to a thread. */
export type ToThread = RunBatch | ThreadSetup | Rejoined | ReleaseRefs | PubSubDelivery;

/** Tasks of this thread now subscribe to `name` (Pub messages arrive at the worker), or no more. */
export interface SubscriptionChange {
  type: "subscribe" | "unsubscribe";
  name: string;
}

/**
 * A running task gave its thread slot back (`secede`: the rest of its batch goes on, and the
 * owner may run more tasks beside it) or asks for one again (`rejoin`: answered by `rejoined`).
 */
export interface SlotRequest {
  type: "secede" | "rejoin";
  id: number;
}

/** Everything a thread posts to its owner. */
export type FromThread = RunResults | SlotRequest | SubscriptionChange;
