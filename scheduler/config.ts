/**
 * What a scheduler can be tuned with, and Dask's defaults where Dask has the same knob.
 *
 * @module
 */

/** The scheduler state machine's settings. */
export interface SchedulerConfig {
  /** Worker-to-worker bandwidth until workers report measurements, bytes/s. */
  bandwidth: number;
  /** Compute time assumed for a task prefix never seen finishing, seconds (Dask: 0.5). */
  unknownTaskDuration: number;
  /** Weight of a new sample in the per-prefix duration average (Dask: 0.5). */
  durationSmoothing: number;
  /**
   * Root-ish tasks a worker receives per thread before the rest wait on the scheduler (Dask:
   * 1.1). `Infinity` sends every ready task to a worker at once.
   */
  workerSaturation: number;
  /** Workers that may die while running a task before it errs with KilledWorker (Dask: 3). */
  allowedFailures: number;
  /** Move queued work from saturated to idle workers on `tick`. */
  stealing: boolean;
  /** Fixed cost of moving a task, seconds (Dask: 0.1). */
  stealLatency: number;
  /** Candidate tasks examined per `tick`. */
  maxStealChecksPerTick: number;
  /** Entries kept in the event log. */
  eventLogCapacity: number;
  /** Finished tasks kept in the task stream. */
  taskStreamCapacity: number;
  /** Transitions kept for keys' stories (all keys share them; the oldest go first). */
  storyCapacity: number;
  /**
   * Seconds after start during which keys this scheduler does not know are kept (held by
   * reconnecting workers) and awaited (asked for by reconnecting clients) instead of freed and
   * reported lost (scheduler/restart_grace.ts). 0: no grace (the state machine's default; the
   * scheduler command line gives 10).
   */
  restartGrace: number;
  /**
   * Client identities own their keys (tenancy.ts): set when the scheduler has a client tokens
   * file. Off: every client may touch every key, as in Dask.
   */
  tenancy: boolean;
}

/** The defaults; a scheduler given a partial config fills in the rest from here. */
export const DEFAULT_SCHEDULER_CONFIG: Readonly<SchedulerConfig> = Object.freeze({
  bandwidth: 100e6,
  unknownTaskDuration: 0.5,
  durationSmoothing: 0.5,
  workerSaturation: 1.1,
  allowedFailures: 3,
  stealing: true,
  stealLatency: 0.1,
  maxStealChecksPerTick: 1000,
  eventLogCapacity: 10_000,
  taskStreamCapacity: 100_000,
  storyCapacity: 100_000,
  restartGrace: 0,
  tenancy: false,
});
