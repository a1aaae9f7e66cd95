/**
 * What a worker knows about one key: a task it computes, a dependency it fetches, or data it
 * holds (often several of these over time).
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import type { HeapItem } from "../core/priority_heap.ts";
import type {
  KeyLocation,
  Priority,
  StealResponseState,
  WorkerAddress,
} from "../protocol/messages.ts";

/**
 * Compute: `waiting` (inputs not all here) → `ready` → `executing` → `memory` | `error`.
 * Dependency: `fetch` (queued for a transfer) → `flight` (transfer running) → `memory`, or
 * `missing` when no known holder has it. `released`: dropped from the worker (stale references to
 * the object read this).
 */
export type WorkerTaskState = NonNullable<StealResponseState> | "released";

export class WorkerTask implements HeapItem {
  heapIndex = -1;
  /** The scheduler assigned this key to be computed here (and tracks the result here). */
  assigned = false;
  /** The scheduler asked this worker to keep the data (scatter, acquire-replicas). */
  acquired = false;
  /** The scheduler believes this worker holds the data (so dropping it must be reported). */
  reported = false;
  /** Executing, but the scheduler withdrew it: the result is discarded unless needed here. */
  cancelled = false;
  runId = 0;
  /** The scheduler asked for the value with task-finished, if it is tiny. */
  returnValue = false;
  fn: unknown = null;
  args: unknown = null;
  resources: Readonly<Record<string, number>> | null = null;
  /** The scheduler's duration estimate, seconds. */
  duration = 0;
  /** Milliseconds a run may take before it is stopped (0: no limit). */
  timeoutMs = 0;
  /** It builds an actor (in the worker's actor thread, not a task thread). */
  actor = false;
  /** Where the inputs are, as the scheduler last said (linked when computing starts). */
  depLocations: readonly KeyLocation[] = [];
  readonly dependencies: WorkerTask[] = [];
  /** Local tasks that read this key. */
  readonly dependents = new Set<WorkerTask>();
  /** Inputs not yet in memory (while `waiting`). */
  waitingFor = 0;
  /** Peers believed to hold the data (while fetch/flight/missing). */
  readonly whoHas = new Set<WorkerAddress>();
  /** The peer a running transfer asks. */
  flightPeer: WorkerAddress | null = null;
  /**
   * Executing, but it gave its thread slot back (`secede`) and has not taken one again: it
   * does not count against the worker's threads (Dask's `long-running`).
   */
  seceded = false;
  /** The thread it was handed to while executing, else -1. */
  thread = -1;
  nbytes = -1;
  typeName = "";
  error: ErrorRecord | null = null;

  constructor(readonly key: Key, public state: WorkerTaskState, public priority: Priority) {}
}
