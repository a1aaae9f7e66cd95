/**
 * Tables a task thread keeps in their live form after it sent their encoded form to its owner.
 * A dataframe partition is a columnar library's table (native memory behind a JS wrapper);
 * converting one to Arrow IPC and back costs about as much as sorting it (measured in
 * docs/architecture.md), so when a later task on the same thread takes the result as an input it
 * gets the table itself instead of decoding the bytes its owner sends. The owner's encoded copy
 * stays the one that moves (to a peer, a client, or disk) and the one its memory accounting
 * counts; this is a cache beside it, bounded in bytes (least recently used out first) and
 * emptied of a key as soon as the owner drops that key (`release-refs`).
 *
 * A worker goes further (docs/architecture.md, "Live tables in their thread"): a result may stay
 * here *instead of* being encoded — {@link LiveTables.pin}: the worker's store holds only a
 * pointer to this thread, and the table is encoded once, when it moves (to a peer, a client, disk,
 * or a task on another thread: {@link LiveTables.unpin}). A pinned table is never pushed out: it
 * is the only copy; the worker's memory accounting counts it and spills it. The local `threads`
 * scheduler pins the same way (collections/local/live_results.ts), each computation under a scope of
 * its own ({@link scopedKey}).
 *
 * Which values are tables is the table codec's knowledge (core/table_codec.ts): a table, or a
 * list of tables (a shuffle's split, whose pieces are picked by one small task per output), or a
 * list of such lists (a join's split: each output's piece is a list of sub-pieces).
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import { tableCodec } from "../core/table_codec.ts";

/**
 * The key a live table is filed under: `key` itself, or within `scope` (`RunItem.liveScope`: the
 * local `threads` scheduler gives each computation its own, as computations on one pool may share
 * keys).
 */
export function scopedKey(scope: string | undefined, key: Key): Key {
  return scope === undefined ? key : `${scope}\u0000${key}`;
}

/**
 * What moving a live table between threads costs, seconds per byte of its native size: encoding
 * it to Arrow IPC in its thread and decoding it in the reader's (docs/architecture.md: a 16 MB
 * frame encodes in 0.9-1.3 s and decodes in 0.32-0.35 s under load).
 */
export const LIVE_MOVE_SECONDS_PER_BYTE = 9e-8;

/**
 * Whether a task reading `bytes` of live tables held by one thread should run on that thread
 * rather than on the one the load alone picked (the worker's and the local `threads` pool's
 * rule alike): yes when the holder has room, or its queued work (`holderLoad`, seconds) is no
 * longer than the other's plus moving the tables would take.
 */
export function staysWithTables(
  holderHasRoom: boolean,
  holderLoad: number,
  otherLoad: number,
  bytes: number,
): boolean {
  return holderHasRoom || holderLoad <= otherLoad + bytes * LIVE_MOVE_SECONDS_PER_BYTE;
}

/** Bytes of live tables a thread keeps when its owner does not say (the local `threads` pool). */
export const DEFAULT_LIVE_TABLE_BYTES = 256 * 2 ** 20;

/**
 * The bytes `value` holds when it is a table or a non-empty list of tables (or of such lists: a
 * join's split gives each output a list of sub-pieces); else undefined.
 */
export function liveTableBytes(value: unknown, depth = 0): number | undefined {
  const codec = tableCodec();
  if (codec === undefined || typeof value !== "object" || value === null) return undefined;
  if (!Array.isArray(value)) return codec.sizeOf(value);
  if (value.length === 0 || depth > 1) return undefined;
  let total = 0;
  for (const item of value) {
    const bytes = liveTableBytes(item, depth + 1);
    if (bytes === undefined) return undefined;
    total += bytes;
  }
  return total;
}

/** Live tables by result key, least recently used first, at most `capBytes` in all. */
export class LiveTables {
  /** Map order is use order. */
  readonly #values = new Map<Key, { value: unknown; bytes: number }>();
  #bytes = 0;
  /** Tables whose only copy is here (the owner's store points at them): never pushed out. */
  readonly #pinned = new Map<Key, { value: unknown; bytes: number }>();
  /** Posted tasks that will read a pinned table, by key: it stays pinned until they ran. */
  readonly #readers = new Map<Key, number>();
  /** Pinned keys exported while tasks were still to read them: cached once they ran. */
  readonly #exported = new Set<Key>();

  constructor(public capBytes: number = DEFAULT_LIVE_TABLE_BYTES) {}

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of tables held (cached and pinned). */
  get size(): number {
    return this.#values.size + this.#pinned.size;
  }

  /** Bytes of the pinned tables (not bounded here: the owner counts and spills them). */
  get pinnedBytes(): number {
    let total = 0;
    for (const entry of this.#pinned.values()) total += entry.bytes;
    return total;
  }

  /** Keeps `value` as the only copy of `key`'s result, until unpinned or released. */
  pin(key: Key, value: unknown, bytes: number): void {
    this.release([key]);
    this.#pinned.set(key, { value, bytes });
  }

  /** Tasks now posted to this thread will read these pinned tables. */
  expect(keys: Iterable<Key>): void {
    for (const key of keys) this.#readers.set(key, (this.#readers.get(key) ?? 0) + 1);
  }

  /** A task that was to read these pinned tables ended. */
  readDone(keys: Iterable<Key>): void {
    for (const key of keys) {
      const left = (this.#readers.get(key) ?? 1) - 1;
      if (left > 0) {
        this.#readers.set(key, left);
        continue;
      }
      this.#readers.delete(key);
      if (this.#exported.delete(key)) this.#toCache(key);
    }
  }

  /**
   * The pinned table of `key`, which its owner now encodes (it moves): from here on it is a
   * cached copy like any other (kept pinned until the tasks posted to read it ran), or, with
   * `drop` (it is spilled), forgotten. Undefined when `key` is not pinned here.
   */
  unpin(key: Key, drop = false): unknown {
    const entry = this.#pinned.get(key);
    if (entry === undefined) return undefined;
    if (this.#readers.has(key)) this.#exported.add(key);
    else if (drop) this.#pinned.delete(key);
    else this.#toCache(key);
    return entry.value;
  }

  #toCache(key: Key): void {
    const entry = this.#pinned.get(key);
    if (entry === undefined) return;
    this.#pinned.delete(key);
    this.keep(key, entry.value, entry.bytes);
  }

  /**
   * Keeps `value` under `key` when it fits the cap (pushing out the least recently used);
   * returns whether it is kept.
   */
  keep(key: Key, value: unknown, bytes: number): boolean {
    this.release([key]);
    if (bytes > this.capBytes) return false;
    for (const [old, entry] of this.#values) {
      if (this.#bytes + bytes <= this.capBytes) break;
      this.#values.delete(old);
      this.#bytes -= entry.bytes;
    }
    this.#values.set(key, { value, bytes });
    this.#bytes += bytes;
    return true;
  }

  /** The live table of `key` (pinned, or cached and now the most recently used), or undefined. */
  take(key: Key): unknown {
    const pinned = this.#pinned.get(key);
    if (pinned !== undefined) return pinned.value;
    const entry = this.#values.get(key);
    if (entry === undefined) return undefined;
    this.#values.delete(key);
    this.#values.set(key, entry);
    return entry.value;
  }

  /** Forgets these keys (their owner dropped them). */
  release(keys: Iterable<Key>): void {
    for (const key of keys) {
      this.#pinned.delete(key);
      this.#readers.delete(key);
      this.#exported.delete(key);
      const entry = this.#values.get(key);
      if (entry === undefined) continue;
      this.#values.delete(key);
      this.#bytes -= entry.bytes;
    }
  }
}
