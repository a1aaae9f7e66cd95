/**
 * Options shared by the local schedulers.
 *
 * @module
 */

import type { Key } from "../../core/task.ts";

/** How a local scheduler runs a graph. */
export interface LocalRunOptions {
  /** Threads for the `threads` scheduler; default: the machine's cores. */
  numWorkers?: number;
  /**
   * Called once with `(null, total)` before the first task, then with each finished task's key.
   * Used by progress displays.
   */
  onTaskDone?: (key: Key | null, total: number) => void;
}
