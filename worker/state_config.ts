/**
 * How a worker state machine is set up: its threads, resources, memory limit and the limits on
 * transfers and on batching short tasks (Dask's defaults where Dask has one).
 *
 * @module
 */

import type { WorkerAddress } from "../protocol/messages.ts";

export interface WorkerStateConfig {
  /** This worker's address (never fetch from yourself). */
  address: WorkerAddress;
  nthreads: number;
  /** Abstract resources, e.g. `{ GPU: 2 }`. */
  resources?: Record<string, number>;
  /** Bytes; 0 for unlimited. */
  memoryLimit?: number;
  /** Concurrent incoming transfers (Dask: 10). */
  transferIncomingCountLimit?: number;
  /** Bytes per transfer request (Dask: 50 MB). */
  transferMessageBytesLimit?: number;
  /** Bytes in flight over all transfers; default 10% of memoryLimit, else unlimited. */
  transferIncomingBytesLimit?: number;
  /**
   * Seconds of expected work (the scheduler's `duration` estimates) per thread that may be
   * handed out beyond one task per thread, so that short tasks reach the threads in batches
   * instead of one message and one wait each. 0 keeps one task per thread. Default 0.005.
   */
  shortTaskBatchSeconds?: number;
  /** The most tasks handed out per thread at once, however short. Default 256. */
  maxTasksPerThread?: number;
}
