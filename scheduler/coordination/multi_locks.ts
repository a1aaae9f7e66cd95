/**
 * Multi-locks (Dask's `distributed.MultiLock`): a request takes several named locks at once, or
 * `numLocks` of them. Each lock name keeps its requests in arrival order and belongs to the
 * first; a request is granted once it is first at `numLocks` of its locks, so requests are
 * served fairly (no later request overtakes an earlier one at a lock both want) and a holder
 * never holds part of what it asked for while waiting for the rest to come free elsewhere —
 * the waiting positions it keeps are what orders later requests behind it.
 *
 * Pure bookkeeping: the request layer decides how long a request waits and drops the requests
 * of clients that left. Separate from Lock/Semaphore names, as in Dask.
 *
 * @module
 */

import { CoordinationError } from "./datasets.ts";

interface MultiLockRequest {
  /** Lock names it still queues at (those it no longer needs are left when granted). */
  names: Set<string>;
  /** Locks still to get. */
  left: number;
  /** The client that asked. */
  holder: string;
  /** Called once when the request is granted after waiting. */
  wake: (() => void) | null;
}

export class MultiLocks {
  /** Lock name → request ids in arrival order; the first holds the lock. */
  readonly #queues = new Map<string, string[]>();
  readonly #requests = new Map<string, MultiLockRequest>();

  /**
   * Queues request `id` for `numLocks` of `names` (all of them by default). True when granted
   * at once; otherwise it waits (see {@link whenGranted}).
   */
  request(id: string, names: readonly string[], numLocks: number, holder: string): boolean {
    if (this.#requests.has(id)) {
      throw new CoordinationError(`multi-lock request ${id} was made already`);
    }
    const unique = [...new Set(names)];
    if (unique.length === 0 || !(Number.isInteger(numLocks) && numLocks >= 1)) {
      throw new CoordinationError("a multi-lock needs at least one lock name and numLocks ≥ 1");
    }
    if (numLocks > unique.length) {
      throw new CoordinationError(
        `numLocks ${numLocks} is more than the ${unique.length} lock names given`,
      );
    }
    const request: MultiLockRequest = { names: new Set(), left: numLocks, holder, wake: null };
    this.#requests.set(id, request);
    // the least contended locks first: with numLocks < names, the free ones are taken
    const ordered = unique.sort((a, b) => this.#queueLength(a) - this.#queueLength(b));
    for (const name of ordered) {
      let queue = this.#queues.get(name);
      if (queue === undefined) this.#queues.set(name, queue = []);
      queue.push(id);
      request.names.add(name);
      if (queue.length === 1 && --request.left === 0) return true;
    }
    return false;
  }

  /** Calls `wake` when the waiting request `id` is granted. */
  whenGranted(id: string, wake: () => void): void {
    const request = this.#requests.get(id);
    if (request !== undefined) request.wake = wake;
  }

  /** The lock names request `id` holds (it is first in their queues). */
  held(id: string): string[] {
    const names = this.#requests.get(id)?.names ?? [];
    return [...names].filter((name) => this.#queues.get(name)?.[0] === id);
  }

  /** Whether request `id` holds its locks. */
  granted(id: string): boolean {
    return this.#requests.get(id)?.left === 0;
  }

  /**
   * Ends request `id`: given up (timeout) or released. Its locks go to the requests queued next;
   * false when there was no such request.
   */
  release(id: string): boolean {
    const request = this.#requests.get(id);
    if (request === undefined) return false;
    this.#requests.delete(id);
    const ready: MultiLockRequest[] = [];
    for (const name of request.names) {
      const queue = this.#queues.get(name)!;
      const at = queue.indexOf(id);
      queue.splice(at, 1);
      if (queue.length === 0) {
        this.#queues.delete(name);
        continue;
      }
      if (at !== 0) continue;
      const next = this.#requests.get(queue[0])!;
      if (next.left > 0 && --next.left === 0) ready.push(next);
    }
    for (const next of ready) {
      const wake = next.wake;
      next.wake = null;
      wake?.();
    }
    return true;
  }

  /** Every request of `holder` ends (it disconnected). */
  releaseHolder(holder: string): void {
    for (const [id, request] of [...this.#requests]) {
      if (request.holder === holder) this.release(id);
    }
  }

  #queueLength(name: string): number {
    return this.#queues.get(name)?.length ?? 0;
  }
}
