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
  /** A fused task's group name (ComputeTaskMsg.group), or null: its key's prefix. */
  group: string | null = null;
  /** Where the inputs are, as the scheduler last said (linked when computing starts). */
  depLocations: readonly KeyLocation[] = [];
  // Allocated on first use: most keys of a big map read nothing, feed nothing here and are
  // fetched from nobody, and two Sets and an array per key were a fifth of a task's life on the
  // worker state machine (bench/state_machines.ts).
  #dependencies: WorkerTask[] | null = null;
  #dependents: Set<WorkerTask> | null = null;
  #whoHas: Set<WorkerAddress> | null = null;
  /** The inputs it reads (linked when computing starts). */
  get dependencies(): readonly WorkerTask[] {
    return this.#dependencies ?? NO_TASKS;
  }
  /** Local tasks that read this key. */
  get dependents(): ReadonlySet<WorkerTask> {
    return this.#dependents ?? NO_DEPENDENTS;
  }
  /** Peers believed to hold the data (while fetch/flight/missing). */
  get whoHas(): ReadonlySet<WorkerAddress> {
    return this.#whoHas ?? NO_PEERS;
  }
  /** Inputs not yet in memory (while `waiting`). */
  waitingFor = 0;
  /** The peer a running transfer asks. */
  flightPeer: WorkerAddress | null = null;
  /**
   * Executing, but it gave its thread slot back (`secede`) and has not taken one again: it
   * does not count against the worker's threads (Dask's `long-running`).
   */
  seceded = false;
  /** The thread it was handed to while executing, else -1. */
  thread = -1;
  /**
   * In memory as a live table in this thread (where it ran: worker/store.ts `setLive`), else -1.
   * A hint for placing its readers (run_queue.ts): the executor moves the table where it is read.
   */
  liveThread = -1;
  nbytes = -1;
  typeName = "";
  error: ErrorRecord | null = null;

  constructor(readonly key: Key, public state: WorkerTaskState, public priority: Priority) {}

  /** `dep` is one of its inputs and it one of `dep`'s dependents. */
  linkDependency(dep: WorkerTask): void {
    (this.#dependencies ??= []).push(dep);
    (dep.#dependents ??= new Set()).add(this);
  }

  /** It reads no inputs any more (each input's dependents are the caller's to update). */
  clearDependencies(): void {
    this.#dependencies = null;
  }

  /** `dependent` no longer reads this key; true when it did. */
  deleteDependent(dependent: WorkerTask): boolean {
    return this.#dependents !== null && this.#dependents.delete(dependent);
  }

  /** Records `peer` as a holder; false when it already was one. */
  addHolder(peer: WorkerAddress): boolean {
    const holders = this.#whoHas ??= new Set();
    if (holders.has(peer)) return false;
    holders.add(peer);
    return true;
  }

  /** `peer` no longer holds the data; true when it was a holder. */
  deleteHolder(peer: WorkerAddress): boolean {
    return this.#whoHas !== null && this.#whoHas.delete(peer);
  }

  /** No peer is known to hold the data. */
  clearHolders(): void {
    this.#whoHas = null;
  }
}

/** Shared stand-ins for collections never filled (read-only: the getters' type says so). */
const NO_TASKS: readonly WorkerTask[] = Object.freeze([]);
const NO_DEPENDENTS: ReadonlySet<WorkerTask> = new Set();
const NO_PEERS: ReadonlySet<WorkerAddress> = new Set();
