/**
 * What the stimulus handlers (client_intake.ts, worker_intake.ts) may ask of the state machine
 * (state.ts): the transitions and the task books, and nothing else. Every state change they cause
 * goes through these calls, so the transitions table (transitions.ts) sees all of them.
 *
 * @module
 */

import type { Encoded } from "../core/value_codec.ts";
import type { Key } from "../core/task.ts";
import type { IndexedHeap } from "../core/priority_heap.ts";
import type { WorkerAddress } from "../protocol/messages.ts";
import type { NewTask, Recommendation, TaskRecord, WorkerRecord } from "./records.ts";
import type { EventTopic } from "./events.ts";
import type { TaskPrefixStats } from "./task_prefix_stats.ts";

export interface TaskMoves {
  /** Every task the scheduler knows, by key. */
  readonly tasks: ReadonlyMap<Key, TaskRecord>;
  /** Time of the event being handled, seconds. */
  readonly now: number;
  /** Asks for `task` to move to `what` once the current step is done (state.ts `#settle`). */
  recommend(task: TaskRecord, what: Recommendation): void;
  /** Marks `task` erred (its `error`/`blamedKey` set), and its dependents after it. */
  toErred(task: TaskRecord): void;
  /** `task`'s result is held (its replicas are on the books); `value`: a tiny result to pass on. */
  toMemory(task: TaskRecord, value?: Encoded): void;
  /** A task in memory has no copy left: recomputed, or erred when it cannot be. */
  dataLost(task: TaskRecord): void;
  /** Forgets an erred task's error: `erred → released`. */
  clearError(task: TaskRecord): void;
  /** `task` no longer reads its dependencies (a fresh spec replaces it). */
  unlinkDependencies(task: TaskRecord): void;
  /** Files a new task (state `released`). */
  newTask(task: NewTask): TaskRecord;
  /** A stolen task goes to its thief (it stays `processing`; off its victim already). */
  reassign(task: TaskRecord, worker: WorkerRecord): void;
  /** Takes a task off its worker's books without changing its state. */
  exitProcessing(task: TaskRecord, freeOnWorker: boolean): void;
  /** Holds a failed task in `queue` on the scheduler: `processing → queued`. */
  toQueued(task: TaskRecord, queue: IndexedHeap<TaskRecord>): void;
  /** A task held on the scheduler (queued, no-worker) is placed again: `→ waiting`. */
  placeAgain(task: TaskRecord): void;
  /** The first measured duration of a prefix corrects the guesses counted in occupancy. */
  reviseGuesses(prefix: TaskPrefixStats): void;
  /** Adds an entry to the event log. */
  log(topic: EventTopic, message: string, key?: Key, worker?: WorkerAddress): void;
}
