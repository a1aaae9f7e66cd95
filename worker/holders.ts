/**
 * Who holds what, as far as a worker knows: each task's `whoHas` (peers believed to hold its
 * data) and its inverse, the tasks per peer, kept in step. A collaborator of the worker state
 * machine (which decides what a new holder means for fetching); no I/O.
 *
 * @module
 */

import type { WorkerAddress } from "../protocol/messages.ts";
import type { WorkerTask } from "./worker_task.ts";

export class Holders {
  /** Tasks in fetch/flight/missing per peer believed to hold them. */
  readonly #hasWhat = new Map<WorkerAddress, Set<WorkerTask>>();

  /** Records `peer` as a holder of `task`; false when it already was one. */
  add(task: WorkerTask, peer: WorkerAddress): boolean {
    if (!task.addHolder(peer)) return false;
    let held = this.#hasWhat.get(peer);
    if (held === undefined) {
      held = new Set();
      this.#hasWhat.set(peer, held);
    }
    held.add(task);
    return true;
  }

  remove(task: WorkerTask, peer: WorkerAddress): void {
    if (!task.deleteHolder(peer)) return;
    this.#unlist(task, peer);
  }

  /** `task` has no known holder any more. */
  drop(task: WorkerTask): void {
    if (task.whoHas.size === 0) return;
    for (const peer of task.whoHas) this.#unlist(task, peer);
    task.clearHolders();
  }

  /** `peer` holds nothing any more: returns the tasks it was believed to hold. */
  dropPeer(peer: WorkerAddress): Set<WorkerTask> | undefined {
    const affected = this.#hasWhat.get(peer);
    this.#hasWhat.delete(peer);
    if (affected !== undefined) { for (const task of affected) task.deleteHolder(peer); }
    return affected;
  }

  #unlist(task: WorkerTask, peer: WorkerAddress): void {
    const held = this.#hasWhat.get(peer);
    if (held === undefined) return;
    held.delete(task);
    if (held.size === 0) this.#hasWhat.delete(peer);
  }
}
