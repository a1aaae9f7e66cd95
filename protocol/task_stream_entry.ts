/**
 * The record of one task run as the scheduler's task stream keeps it and as the dashboard, the
 * client (`getTaskStream`, performance reports) read it.
 *
 * @module
 */

import type { Key } from "../core/task.ts";

/**
 * One finished (or failed) task run, as `client.getTaskStream()` returns it.
 *
 * ```ts
 * import { Client } from "./mod.ts";
 * await using client = await Client.local();
 * for (const run of await client.getTaskStream({ count: 5 })) {
 *   console.log(run.key, run.worker, run.stop - run.start);
 * }
 * ```
 */
export interface TaskStreamEntry {
  /** The task's key. */
  key: Key;
  /** The key's prefix (the function's name), which groups runs in displays. */
  prefix: string;
  /** The address of the worker that ran it. */
  worker: string;
  /** The worker's thread that ran it, when known. */
  thread: number | undefined;
  /** When the run started, seconds since the epoch. */
  start: number;
  /** When the run ended, seconds since the epoch. */
  stop: number;
  /** How it ended. */
  status: "memory" | "erred";
}
