/**
 * Grouping by key for bag kernels (frequencies, distinct, foldby, groupby, join): a map whose
 * keys compare by value, and a hash that places a key in the same shuffle bucket on every
 * thread and machine.
 *
 * Primitive keys compare as `Map` compares them (`NaN` equals `NaN`, `0` equals `-0`). Arrays
 * and objects compare by their JSON text, so tuple keys such as `[user, day]` group together
 * although each element builds a new array — JavaScript has no hashable tuples. Each group
 * keeps the first key value it saw.
 *
 * @module
 */

/** One group: the first key value seen for it, and what was gathered under it. */
export interface Entry<V> {
  readonly key: unknown;
  value: V;
}

function isObjectKey(key: unknown): key is object {
  return typeof key === "object" && key !== null;
}

/** Text of an array or object key. Throws a readable error for keys JSON cannot write. */
function objectKeyText(key: object): string {
  try {
    return JSON.stringify(key);
  } catch (error) {
    throw new TypeError(
      `A grouping key must be a primitive, or an array/object JSON can write; this one cannot ` +
        `be written (${(error as Error).message}). Return a string or number key instead.`,
    );
  }
}

/** A map from keys compared by value to groups, iterated in order of first appearance. */
export class KeyedMap<V> {
  readonly #primitive = new Map<unknown, Entry<V>>();
  readonly #object = new Map<string, Entry<V>>();
  /** Groups in order of first appearance. */
  readonly entries: Entry<V>[] = [];

  get size(): number {
    return this.entries.length;
  }

  /** The group of `key`, or undefined. */
  get(key: unknown): Entry<V> | undefined {
    return isObjectKey(key) ? this.#object.get(objectKeyText(key)) : this.#primitive.get(key);
  }

  /** The group of `key`, made with `initial(key)` when it is new. */
  upsert(key: unknown, initial: (key: unknown) => V): Entry<V> {
    if (isObjectKey(key)) {
      const text = objectKeyText(key);
      let entry = this.#object.get(text);
      if (entry === undefined) {
        entry = { key, value: initial(key) };
        this.#object.set(text, entry);
        this.entries.push(entry);
      }
      return entry;
    }
    let entry = this.#primitive.get(key);
    if (entry === undefined) {
      entry = { key, value: initial(key) };
      this.#primitive.set(key, entry);
      this.entries.push(entry);
    }
    return entry;
  }

  /** The groups as `[key, value]` pairs, the form partial results travel in. */
  pairs(): [unknown, V][] {
    const out = new Array<[unknown, V]>(this.entries.length);
    for (let i = 0; i < out.length; i++) out[i] = [this.entries[i].key, this.entries[i].value];
    return out;
  }
}

/**
 * Counts per key, keys compared as {@link KeyedMap} compares them, in order of first
 * appearance. Kept as two parallel arrays (keys, counts) and an index by key: no object per
 * group, so counting 60,000 distinct keys allocates three growing arrays and a Map.
 */
export class Counter {
  readonly #primitive = new Map<unknown, number>();
  readonly #object = new Map<string, number>();
  /** Keys in order of first appearance (the first value seen for each group). */
  readonly keys: unknown[] = [];
  /** `counts[i]` is the count of `keys[i]`. */
  readonly counts: number[] = [];

  /** Adds `n` to the count of `key`. */
  add(key: unknown, n: number): void {
    if (isObjectKey(key)) {
      const text = objectKeyText(key);
      const at = this.#object.get(text);
      if (at !== undefined) {
        this.counts[at] += n;
        return;
      }
      this.#object.set(text, this.keys.length);
    } else {
      const at = this.#primitive.get(key);
      if (at !== undefined) {
        this.counts[at] += n;
        return;
      }
      this.#primitive.set(key, this.keys.length);
    }
    this.keys.push(key);
    this.counts.push(n);
  }
}

/** FNV-1a over the UTF-16 units of a string, mixed into `hash`. */
function fnv1a(text: string, hash: number): number {
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash;
}

/**
 * A 32-bit hash of a key, equal for keys {@link KeyedMap} treats as equal and the same in every
 * process. Types are mixed in so `1` and `"1"` usually land apart (they are different groups).
 */
export function hashKey(key: unknown): number {
  const seed = 0x811c9dc5;
  switch (typeof key) {
    case "string":
      return fnv1a(key, fnv1a("s", seed)) >>> 0;
    case "number":
      // 0 and -0 are one key; String(-0) is "0" already, and NaN is "NaN"
      return fnv1a(String(key), fnv1a("n", seed)) >>> 0;
    case "bigint":
      return fnv1a(String(key), fnv1a("i", seed)) >>> 0;
    case "boolean":
      return key ? 1 : 2;
    case "undefined":
      return 3;
    case "object":
      return key === null ? 4 : fnv1a(objectKeyText(key), fnv1a("o", seed)) >>> 0;
    default:
      throw new TypeError(
        `A shuffle key must be a primitive, an array or an object; got a ${typeof key}. ` +
          `Return a string or number key instead.`,
      );
  }
}
