/**
 * A set that holds its first member inline and allocates a `Set` only for a second one. Most
 * tasks have exactly one holder and one client wanting them: two `Set`s per task cost ~400 bytes
 * of a million-task graph's scheduler memory, this costs ~50.
 *
 * @module
 */

/** The iterator of every empty set: it is done from the start and stays done, so one serves all. */
const NO_MEMBERS: Iterator<never> = [][Symbol.iterator]();

/**
 * Iterates a set of one member: one object that is also its own iterator result (what `for…of`
 * reads), where `[member].values()` allocated an array and an array iterator. Loops over a
 * task's single holder, client or dependent run several times in every task's life.
 */
class OneMember<T> implements Iterator<T> {
  done = false;
  value: T | undefined;
  #taken = false;
  constructor(member: T) {
    this.value = member;
  }
  next(): IteratorResult<T> {
    if (this.#taken) {
      this.done = true;
      this.value = undefined;
    }
    this.#taken = true;
    return this as IteratorResult<T>;
  }
}

/** What readers of a {@link CompactSet} may use (the read side of a `Set`). */
export interface ReadonlyCompactSet<T> extends Iterable<T> {
  readonly size: number;
  has(item: T): boolean;
}

/** A set of objects; iteration order is insertion order, like `Set`. */
export class CompactSet<T extends object> implements ReadonlyCompactSet<T> {
  #one: T | null = null;
  #many: Set<T> | null = null;

  get size(): number {
    return this.#many !== null ? this.#many.size : this.#one === null ? 0 : 1;
  }

  has(item: T): boolean {
    return this.#many !== null ? this.#many.has(item) : this.#one === item;
  }

  add(item: T): this {
    if (this.#many !== null) this.#many.add(item);
    else if (this.#one === null) this.#one = item;
    else if (this.#one !== item) {
      this.#many = new Set([this.#one, item]);
      this.#one = null;
    }
    return this;
  }

  /** True when `item` was a member. */
  delete(item: T): boolean {
    if (this.#many !== null) return this.#many.delete(item);
    if (this.#one !== item || item === null) return false;
    this.#one = null;
    return true;
  }

  clear(): void {
    this.#one = null;
    this.#many = null;
  }

  /** Like a `Set`'s: members deleted during iteration are not visited if not reached yet. */
  [Symbol.iterator](): Iterator<T> {
    if (this.#many !== null) return this.#many.values();
    return this.#one === null ? NO_MEMBERS : new OneMember(this.#one);
  }
}
