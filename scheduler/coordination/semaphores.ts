/**
 * Semaphores (and Locks, which are semaphores of one lease, as in Dask): named lease counters
 * held by the scheduler. A lease belongs to the client that took it; when that client
 * disconnects its leases return, so a crashed holder never blocks the others for good.
 *
 * Pure bookkeeping: the request layer decides how long a waiter waits.
 *
 * @module
 */

import { Waiters } from "./waiters.ts";
import { CoordinationError } from "./datasets.ts";

interface SemaphoreRecord {
  maxLeases: number;
  /** lease id → the client holding it */
  leases: Map<string, string>;
}

export class Semaphores {
  readonly #semaphores = new Map<string, SemaphoreRecord>();
  readonly #waiters = new Waiters<void>();

  /** Makes `name` with `maxLeases` (or checks an existing one agrees). */
  declare(name: string, maxLeases: number): void {
    const found = this.#semaphores.get(name);
    if (found === undefined) {
      this.#semaphores.set(name, { maxLeases, leases: new Map() });
    } else if (found.maxLeases !== maxLeases) {
      throw new CoordinationError(
        `Semaphore '${name}' exists with maxLeases ${found.maxLeases}, not ${maxLeases}; use the ` +
          `same count everywhere, or another name.`,
      );
    }
  }

  /** Takes a lease when one is free; false otherwise. */
  tryAcquire(name: string, lease: string, holder: string): boolean {
    const record = this.#record(name);
    if (record.leases.has(lease)) return true;
    if (record.leases.size >= record.maxLeases) return false;
    record.leases.set(lease, holder);
    return true;
  }

  /** Waits (via `wake`) for a lease to be released; returns a function that stops waiting. */
  whenReleased(name: string, wake: () => boolean): () => void {
    return this.#waiters.add(name, wake);
  }

  /** Gives a lease back; false when it was not held (released twice, or its holder left). */
  release(name: string, lease: string): boolean {
    const record = this.#record(name);
    if (!record.leases.delete(lease)) return false;
    this.#waiters.wakeOne(name, undefined);
    return true;
  }

  /** Every lease of `holder` returns (it disconnected). */
  releaseHolder(holder: string): void {
    for (const [name, record] of this.#semaphores) {
      for (const [lease, owner] of record.leases) {
        if (owner !== holder) continue;
        record.leases.delete(lease);
        this.#waiters.wakeOne(name, undefined);
      }
    }
  }

  /** Leases held now. */
  held(name: string): number {
    return this.#semaphores.get(name)?.leases.size ?? 0;
  }

  #record(name: string): SemaphoreRecord {
    const record = this.#semaphores.get(name);
    if (record === undefined) {
      throw new CoordinationError(`No semaphore named '${name}'; create it first.`);
    }
    return record;
  }
}
