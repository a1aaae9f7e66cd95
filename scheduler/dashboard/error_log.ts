/**
 * The errors the Info page lists, with their remote stacks. The state machine logs every task
 * that erred in its event log; the error itself lives on the task record only while the task is
 * known, so the dashboard copies it when it first reads the log entry (O(new log entries)).
 *
 * @module
 */

import type { SchedulerLogEntry, SchedulerState } from "../state.ts";

export interface ErrorView {
  /** Event log sequence number of the entry that reported it. */
  seq: number;
  time: number;
  key: string;
  /** The worker the task ran on when it raised, if known. */
  worker: string | null;
  name: string;
  message: string;
  /** The remote stack, as the worker captured it; null when the task was already forgotten. */
  stack: string | null;
}

export class ErrorLog {
  readonly #errors: ErrorView[] = [];
  #nextSeq = 0;

  constructor(readonly capacity = 200) {}

  /** Reads the log entries added since the last call; returns the errors they reported. */
  harvest(state: SchedulerState): ErrorView[] {
    const log = state.eventLog;
    const first = Math.max(this.#nextSeq, log.total - log.size);
    const entries = log.since(first);
    this.#nextSeq = log.total;
    const found: ErrorView[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < entries.length; i++) {
      const error = errorOf(state, entries[i], first + i);
      // One failure may be logged twice (e.g. KilledWorker): list it once.
      if (error !== null && !seen.has(error.key)) {
        seen.add(error.key);
        found.push(error);
      }
    }
    if (found.length > 0) {
      this.#errors.push(...found);
      if (this.#errors.length > this.capacity) {
        this.#errors.splice(0, this.#errors.length - this.capacity);
      }
    }
    return found;
  }

  /** The newest errors, oldest first. */
  toArray(): ErrorView[] {
    return this.#errors.slice();
  }
}

function errorOf(state: SchedulerState, entry: SchedulerLogEntry, seq: number): ErrorView | null {
  if (entry.topic !== "task" || entry.key === undefined) return null;
  const task = state.tasks.get(entry.key);
  if (task !== undefined) {
    // Only the task that raised carries its own error; dependents are blamed on it.
    if (task.state !== "erred" || task.error === null || task.blamedKey !== task.key) return null;
    return {
      seq,
      time: entry.time,
      key: task.key,
      worker: task.erredOn ?? entry.worker ?? null,
      name: task.error.name,
      message: task.error.message,
      stack: task.error.stack ?? null,
    };
  }
  // Forgotten already (nobody held it): the log line is all that is left.
  const lead = `${entry.key} erred: `;
  if (!entry.message.startsWith(lead)) return null;
  const text = entry.message.slice(lead.length);
  const colon = text.indexOf(": ");
  return {
    seq,
    time: entry.time,
    key: entry.key,
    worker: entry.worker ?? null,
    name: colon < 0 ? "Error" : text.slice(0, colon),
    message: colon < 0 ? text : text.slice(colon + 2),
    stack: null,
  };
}
