/**
 * Replicas: which workers hold which results (`task.whoHas` ↔ `worker.hasWhat`, and the bytes
 * each worker holds), kept in step in both directions, and the copies that administration
 * (replicate, rebalance, retire — decided by data_movement.ts) asks to make or drop. A result
 * whose last copy goes is the state machine's concern (state.ts `#dataLost`): these methods
 * say when that happened and never change a task's state.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { KeyLocation, WorkerAddress } from "../protocol/messages.ts";
import type { TaskRecord, WorkerRecord } from "./records.ts";
import type { ReplicaDrop, ReplicaTransfer } from "./events.ts";
import type { SchedulerOutbox } from "./outbox.ts";

export class Replicas {
  readonly #outbox: SchedulerOutbox;
  readonly #workers: ReadonlyMap<WorkerAddress, WorkerRecord>;
  readonly #tasks: ReadonlyMap<Key, TaskRecord>;

  constructor(
    outbox: SchedulerOutbox,
    workers: ReadonlyMap<WorkerAddress, WorkerRecord>,
    tasks: ReadonlyMap<Key, TaskRecord>,
  ) {
    this.#outbox = outbox;
    this.#workers = workers;
    this.#tasks = tasks;
  }

  /** `worker` holds a copy of `task`'s result. */
  add(task: TaskRecord, worker: WorkerRecord): void {
    if (task.whoHas.has(worker)) return;
    task.addHolder(worker);
    worker.hasWhat.add(task);
    if (task.nbytes > 0) worker.nbytes += task.nbytes;
  }

  /** `worker` no longer holds `task`'s result (the worker is not told). */
  remove(task: TaskRecord, worker: WorkerRecord): void {
    if (!task.deleteHolder(worker)) return;
    worker.hasWhat.delete(task);
    if (task.nbytes > 0) worker.nbytes -= task.nbytes;
  }

  /** Frees every copy of a task's data, telling each holder. */
  dropAll(task: TaskRecord): void {
    if (task.nbytes > 0) task.prefix.nbytesInMemory -= task.nbytes;
    for (const worker of task.whoHas) {
      worker.hasWhat.delete(task);
      if (task.nbytes > 0) worker.nbytes -= task.nbytes;
      this.#outbox.freeKeys(worker, task.key);
    }
    task.clearHolders();
  }

  /**
   * A worker left: its copies are off the books. Returns the tasks in memory that had their last
   * copy there.
   */
  dropWorker(worker: WorkerRecord): TaskRecord[] {
    const lastCopies: TaskRecord[] = [];
    for (const task of worker.hasWhat) {
      task.deleteHolder(worker);
      if (task.whoHas.size === 0 && task.state === "memory") lastCopies.push(task);
    }
    worker.hasWhat.clear();
    worker.nbytes = 0;
    return lastCopies;
  }

  /** Where `task`'s result can be fetched. */
  location(task: TaskRecord): KeyLocation {
    return task.location();
  }

  /** Addresses of the workers holding `key`'s result. */
  whoHas(key: Key): WorkerAddress[] {
    const task = this.#tasks.get(key);
    if (task === undefined) return [];
    return task.holderAddresses();
  }

  /**
   * Asks workers to fetch copies (`acquire-replicas`, one message per worker), from the sources
   * given that still hold the key, else from any holder. Copies of keys no longer in memory, or
   * already held, are skipped; the books gain a replica when the worker reports it (`add-keys`).
   */
  acquire(transfers: readonly ReplicaTransfer[]): void {
    const perWorker = new Map<WorkerRecord, KeyLocation[]>();
    for (const { worker: address, key, sources } of transfers) {
      const worker = this.#workers.get(address);
      const task = this.#tasks.get(key);
      if (worker === undefined || task === undefined || task.state !== "memory") continue;
      if (task.whoHas.has(worker)) continue;
      const live: WorkerAddress[] = [];
      for (const source of sources) {
        const holder = this.#workers.get(source);
        if (holder !== undefined && task.whoHas.has(holder)) live.push(source);
      }
      const location = live.length > 0
        ? { key, nbytes: task.nbytes, workers: live }
        : this.location(task);
      let list = perWorker.get(worker);
      if (list === undefined) perWorker.set(worker, list = []);
      list.push(location);
    }
    for (const [worker, keys] of perWorker) {
      this.#outbox.toWorker(worker, { op: "acquire-replicas", keys });
    }
  }

  /** Drops copies of results in memory, never the last one. */
  dropCopies(drops: readonly ReplicaDrop[]): void {
    for (const { worker: address, key } of drops) {
      const worker = this.#workers.get(address);
      const task = this.#tasks.get(key);
      if (worker === undefined || task === undefined || task.state !== "memory") continue;
      if (!task.whoHas.has(worker) || task.whoHas.size < 2) continue;
      this.remove(task, worker);
      this.#outbox.freeKeys(worker, key);
    }
  }

  /**
   * A worker could not fetch `task` from `errant`: the copy is taken off the books, and off the
   * errant worker too, so the books stay true either way.
   */
  distrust(task: TaskRecord, errant: WorkerRecord | undefined): void {
    if (errant === undefined || !task.whoHas.has(errant)) return;
    this.remove(task, errant);
    this.#outbox.freeKeys(errant, task.key);
  }
}
