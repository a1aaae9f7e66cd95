/**
 * Waiters on a named thing (a semaphore's free lease, an event being set, a queue's next item):
 * a FIFO per name, each woken once. Shared by the coordination records.
 *
 * @module
 */

/** One waiter: `wake` returns false when it no longer wants what it is offered. */
export type Wake<T> = (value: T) => boolean;

/** FIFO waiters per name. */
export class Waiters<T> {
  readonly #byName = new Map<string, Wake<T>[]>();

  /** Adds a waiter; the returned function removes it (timeout, disconnect). */
  add(name: string, wake: Wake<T>): () => void {
    let list = this.#byName.get(name);
    if (list === undefined) this.#byName.set(name, list = []);
    list.push(wake);
    return () => {
      const current = this.#byName.get(name);
      if (current === undefined) return;
      const i = current.indexOf(wake);
      if (i >= 0) current.splice(i, 1);
      if (current.length === 0) this.#byName.delete(name);
    };
  }

  /** Offers `value` to the oldest waiters until one takes it; true when one did. */
  wakeOne(name: string, value: T): boolean {
    const list = this.#byName.get(name);
    while (list !== undefined && list.length > 0) {
      const wake = list.shift()!;
      if (list.length === 0) this.#byName.delete(name);
      if (wake(value)) return true;
    }
    return false;
  }

  /** Wakes every waiter of `name`. */
  wakeAll(name: string, value: T): void {
    const list = this.#byName.get(name);
    if (list === undefined) return;
    this.#byName.delete(name);
    for (const wake of list) wake(value);
  }

  /** How many wait on `name`. */
  count(name: string): number {
    return this.#byName.get(name)?.length ?? 0;
  }
}
