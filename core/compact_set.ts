/**
 * A set that holds its first member inline, up to {@link SMALL} members in a short array, and
 * allocates a `Set` only beyond. Most tasks have exactly one holder and one client wanting them,
 * and a few inputs or dependents: two `Set`s per task cost ~400 bytes of a million-task graph's
 * scheduler memory, one member inline ~50. A short array beats a `Set` where a task has a few
 * members (a shuffle's 8 inputs, each with 8 dependents): a scan of a few slots on one cache line
 * instead of a hash lookup, no table to grow or shrink as members come and go (a `Set` emptied
 * one by one reallocates its table as it shrinks), and ~50 bytes rather than ~200.
 *
 * @module
 */

/** Members kept in an array before a set moves to a `Set`. */
const SMALL = 16;

/** A packed array of at least `n` (≤ {@link SMALL}) null slots: 4, 8 or 16 of them. */
function nulls<T>(n: number): (T | null)[] {
  if (n <= 4) return [null, null, null, null];
  const eight = [null, null, null, null, null, null, null, null];
  return n <= 8 ? eight : eight.concat(eight);
}

/** What the iterator of an empty set answers, every time. */
const FINISHED: IteratorResult<never> = Object.freeze({ done: true, value: undefined });
/**
 * The iterator of every empty set: it is done from the start and stays done, so one serves all.
 * Not an empty array's iterator: that made a new result object at every call, a loop over an
 * empty set (a task's dependents, waiters) 40 bytes — 160 per task of a map in
 * `bench/simulate.ts`.
 */
const NO_MEMBERS: Iterator<never> = { next: () => FINISHED };

/**
 * Finished iterators, kept for the next loop: a loop over a task's holders, clients, inputs or
 * dependents runs several times in every task's life, and an iterator made per loop was, after
 * the messages, the largest part of what the scheduler allocated per task (180 of 2,480 bytes
 * in `bench/simulate.ts`'s shuffle on 1,000 workers, heap sampling). An iterator goes back here
 * when it reports done or when a loop leaves early (`return`, which `for…of` calls on `break`,
 * `return` and `throw`); so, unlike others, one must not be read again after it finished (no
 * `for…of`, spread or `Array.from` does). A few suffice: as many as loops nest.
 */
const onePool: OneMember<object>[] = [];
const listPool: ListMembers<object>[] = [];
const POOLED = 8;

/**
 * Iterates a set of one member: one object that is also its own iterator result (what `for…of`
 * reads), where `[member].values()` allocated an array and an array iterator. Loops over a
 * task's single holder, client or dependent run several times in every task's life.
 */
class OneMember<T> implements Iterator<T> {
  done = false;
  value: T | undefined;
  #taken = false;
  #pooled = false;
  constructor(member: T) {
    this.value = member;
  }
  static of<T extends object>(member: T): OneMember<T> {
    const pooled = onePool.pop() as OneMember<T> | undefined;
    if (pooled === undefined) return new OneMember(member);
    pooled.done = false;
    pooled.value = member;
    pooled.#taken = false;
    pooled.#pooled = false;
    return pooled;
  }
  next(): IteratorResult<T> {
    if (this.#taken) {
      this.done = true;
      this.value = undefined;
      this.#release();
    }
    this.#taken = true;
    return this as IteratorResult<T>;
  }
  return(): IteratorResult<T> {
    this.#taken = true;
    this.done = true;
    this.value = undefined;
    this.#release();
    return this as IteratorResult<T>;
  }
  #release(): void {
    if (this.#pooled || onePool.length >= POOLED) return;
    this.#pooled = true;
    onePool.push(this as OneMember<object>);
  }
}

/**
 * Iterates a set's short array: deleted members (null slots) are skipped, members appended
 * during the loop are visited. When the set replaced its array (rebuilt without holes, grown into
 * a `Set`, or emptied) this one no longer changes, so each member is checked against the set
 * before it is given.
 */
class ListMembers<T extends object> implements Iterator<T> {
  done = false;
  value: T | undefined = undefined;
  #index = 0;
  #pooled = false;
  constructor(public owner: CompactSet<T> | null, public list: (T | null)[]) {}
  static of<T extends object>(owner: CompactSet<T>, list: (T | null)[]): ListMembers<T> {
    const pooled = listPool.pop() as ListMembers<T> | undefined;
    if (pooled === undefined) return new ListMembers(owner, list);
    pooled.done = false;
    pooled.value = undefined;
    pooled.owner = owner;
    pooled.list = list;
    pooled.#index = 0;
    pooled.#pooled = false;
    return pooled;
  }
  next(): IteratorResult<T> {
    const list = this.list;
    const owner = this.owner;
    while (owner !== null && this.#index < list.length) {
      const member = list[this.#index++];
      if (member === null) continue;
      if (!owner.iterates(list) && !owner.has(member)) continue;
      this.value = member;
      return this as IteratorResult<T>;
    }
    return this.return();
  }
  return(): IteratorResult<T> {
    this.done = true;
    this.value = undefined;
    if (this.#pooled) return this as IteratorResult<T>;
    // (holds neither the set nor its array while it waits in the pool)
    this.owner = null;
    this.list = NO_SLOTS;
    if (listPool.length < POOLED) {
      this.#pooled = true;
      listPool.push(this as ListMembers<object>);
    }
    return this as IteratorResult<T>;
  }
}

/** The array of a finished iterator. */
const NO_SLOTS: never[] = [];

/** What readers of a {@link CompactSet} may use (the read side of a `Set`). */
export interface ReadonlyCompactSet<T> extends Iterable<T> {
  readonly size: number;
  has(item: T): boolean;
}

/** Members in `list`: its slots less the null ones. */
function listed(list: readonly unknown[]): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) if (list[i] !== null) n++;
  return n;
}

/**
 * `list` with `item` put after its last member; when no slot is left there, a new array without
 * the null slots (4, 8 or 16 slots: an array grown by `push` would reserve 17 or more), or a `Set`
 * past {@link SMALL} members. (A function, not a private method: that put a brand in every set.)
 */
function appended<T>(list: (T | null)[], item: T): (T | null)[] | Set<T> {
  let end = list.length;
  while (end > 0 && list[end - 1] === null) end--;
  if (end < list.length) {
    list[end] = item;
    return list;
  }
  const count = listed(list) + 1;
  if (count > SMALL) {
    const many = new Set<T>();
    for (let i = 0; i < list.length; i++) if (list[i] !== null) many.add(list[i]!);
    return many.add(item);
  }
  // (a new array, not the old one compacted: an iterator of the old one stays where it was)
  const next = nulls<T>(count);
  let used = 0;
  for (let i = 0; i < list.length; i++) if (list[i] !== null) next[used++] = list[i];
  next[used] = item;
  return next;
}

/** A set of objects; iteration order is insertion order, like `Set`. */
export class CompactSet<T extends object> implements ReadonlyCompactSet<T> {
  /** The member of a set of one. */
  #one: T | null = null;
  /**
   * From a second member on: an array of up to {@link SMALL} slots in insertion order (a deleted
   * member leaves a null slot; no count is kept, a field more in every set cost more than
   * counting a few slots), or past that a `Set`.
   */
  #members: (T | null)[] | Set<T> | null = null;

  get size(): number {
    const members = this.#members;
    if (members === null) return this.#one === null ? 0 : 1;
    return Array.isArray(members) ? listed(members) : members.size;
  }

  has(item: T): boolean {
    const members = this.#members;
    if (members === null) return this.#one === item && item !== null;
    return Array.isArray(members) ? item !== null && members.indexOf(item) >= 0 : members.has(item);
  }

  add(item: T): this {
    const members = this.#members;
    if (members !== null) {
      if (!Array.isArray(members)) members.add(item);
      else if (members.indexOf(item) < 0) this.#members = appended(members, item);
    } else if (this.#one === null) this.#one = item;
    else if (this.#one !== item) {
      this.#members = [this.#one, item, null, null];
      this.#one = null;
    }
    return this;
  }

  /** True when `item` was a member. */
  delete(item: T): boolean {
    const members = this.#members;
    if (members === null) {
      if (this.#one !== item || item === null) return false;
      this.#one = null;
      return true;
    }
    if (!Array.isArray(members)) return members.delete(item);
    const index = item === null ? -1 : members.indexOf(item);
    if (index < 0) return false;
    members[index] = null;
    if (listed(members) === 0) this.#members = null;
    return true;
  }

  clear(): void {
    this.#one = null;
    this.#members = null;
  }

  /** Whether `list` is this set's current array (for its iterators). */
  iterates(list: readonly (T | null)[]): boolean {
    return this.#members === list;
  }

  /**
   * Like a `Set`'s: members deleted during iteration are not visited if not reached yet. A member
   * added during iteration is visited when it went into the array or `Set` being read, but not
   * after the set changed how it holds its members (unlike a `Set`'s: no loop of the scheduler
   * adds to the set it reads).
   */
  [Symbol.iterator](): Iterator<T> {
    const members = this.#members;
    if (members !== null) {
      return Array.isArray(members) ? ListMembers.of(this, members) : members.values();
    }
    return this.#one === null ? NO_MEMBERS : OneMember.of(this.#one);
  }
}
