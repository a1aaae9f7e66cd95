/**
 * Events (Dask's `distributed.Event`): named flags held by the scheduler; `wait` blocks until
 * the flag is set. Pure bookkeeping; the request layer times waiters out.
 *
 * @module
 */

import { Waiters } from "./waiters.ts";

export class Events {
  readonly #set = new Set<string>();
  readonly #waiters = new Waiters<void>();

  isSet(name: string): boolean {
    return this.#set.has(name);
  }

  /** Sets the flag and wakes every waiter. */
  set(name: string): void {
    this.#set.add(name);
    this.#waiters.wakeAll(name, undefined);
  }

  clear(name: string): void {
    this.#set.delete(name);
  }

  /** Calls `wake` once the flag is set; returns a function that stops waiting. */
  whenSet(name: string, wake: () => boolean): () => void {
    return this.#waiters.add(name, wake);
  }
}
