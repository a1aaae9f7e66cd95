/**
 * Retries with a delay (`submit(..., { retries, retryDelay })`): a task that failed and may run
 * again is held on the scheduler (state `queued`) until its delay is over; periodic ticks
 * release it. Tasks retried without a delay never come here: they go back to `waiting` at once.
 *
 * @module
 */

import { IndexedHeap } from "../core/priority_heap.ts";
import type { TaskRecord } from "./records.ts";

export class RetryQueue {
  /** The queue a held task sits in (its `task.queue`, as for any queued task). */
  readonly heap: IndexedHeap<TaskRecord> = new IndexedHeap<TaskRecord>(true);
  /** Seconds between a failure and the rerun, for tasks submitted with `retryDelay`. */
  readonly #delays = new Map<TaskRecord, number>();
  /** Held tasks, with the time they may run again. */
  readonly #until = new Map<TaskRecord, number>();

  /** Tasks held now. */
  get size(): number {
    return this.#until.size;
  }

  /** Remembers `task`'s delay between a failure and its rerun. */
  setDelay(task: TaskRecord, seconds: number | undefined): void {
    if (seconds !== undefined && seconds > 0 && task.retries > 0) this.#delays.set(task, seconds);
  }

  /** Seconds `task` waits after a failure before it reruns (0: at once). */
  delayOf(task: TaskRecord): number {
    return this.#delays.get(task) ?? 0;
  }

  /** `task` (already in {@link heap}) may run again at `until`. */
  hold(task: TaskRecord, until: number): void {
    this.#until.set(task, until);
  }

  /** Takes the tasks whose delay is over out of the queue. */
  takeDue(now: number): TaskRecord[] {
    const due: TaskRecord[] = [];
    for (const [task, until] of this.#until) {
      if (until > now) continue;
      this.#until.delete(task);
      this.heap.remove(task);
      task.queue = null;
      due.push(task);
    }
    return due;
  }

  /** `task` left the queue some other way (released, erred, its data arrived). */
  leave(task: TaskRecord): void {
    if (this.#until.size > 0) this.#until.delete(task);
  }

  /** `task` was forgotten. */
  forget(task: TaskRecord): void {
    if (this.#delays.size > 0) this.#delays.delete(task);
  }

  /** Checks the queue's books (SchedulerState.validate). */
  validate(fail: (what: string) => never): void {
    for (const [task, until] of this.#until) {
      if (task.queue !== this.heap || !(until >= 0)) fail(`${task.key} retry books`);
    }
    if (this.#until.size !== this.heap.size) fail("retry queue and times disagree");
  }
}
