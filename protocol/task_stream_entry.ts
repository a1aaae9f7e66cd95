/**
 * The record of one task run as the scheduler's task stream keeps it and as the dashboard, the
 * client (`getTaskStream`, performance reports) read it.
 *
 * @module
 */

import type { Key } from "../core/task.ts";

/** One finished (or failed) task run. */
export interface TaskStreamEntry {
  key: Key;
  prefix: string;
  worker: string;
  thread: number | undefined;
  start: number;
  stop: number;
  status: "memory" | "erred";
}
