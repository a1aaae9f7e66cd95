/**
 * The worker's data store: each key's value as it was encoded (by the thread that computed it,
 * or by the peer or client that sent it), with its size and type. Values stay encoded: they go to
 * threads, peers and clients as they are, and nobody decodes them here.
 *
 * Two tiers. In memory, values are kept least recently used first. With a spill directory and a
 * target, whenever the bytes in memory pass the target the least recently used values are written
 * to disk (worker/spill.ts) and their buffers dropped, so the memory can be reclaimed; a value
 * bigger than the target goes to disk at once. Reads are transparent: a spilled value is read
 * back from disk and moved back into memory as the most recently used when it fits under the
 * target without pushing anything out; otherwise it stays on disk and the reader gets fresh
 * buffers of its own ({@link DataStore.getOwned}: a thread can take them without a copy).
 *
 * A third kind of entry points into a task thread: a table result the thread kept in its live
 * form (threads/live_tables.ts), never encoded ({@link DataStore.setLive}). It counts in the
 * memory like any value (its estimated native bytes) but has no bytes here: whoever needs them
 * (a peer, a client, a task on another thread) has the owner export it first, which
 * {@link DataStore.fill}s the entry with its encoded form; spilling one asks for that too
 * ({@link DataStoreOptions.spillLive}). Such an entry goes with its thread ({@link DataStore.dropThread}).
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import type { SpillDirectory, SpillLocation } from "./spill.ts";
import type { SharedGarbage } from "../threads/shared_garbage.ts";
import { encodedBytes } from "./encoded_info.ts";

/** One stored value. `nbytes` is its size in memory once decoded (what the scheduler books). */
export interface StoredValue {
  encoded: Encoded;
  nbytes: number;
  typeName: string;
}

/** How a store bounds its memory. */
export interface DataStoreOptions {
  /** Where values go when memory passes `targetBytes`. Without it nothing is spilled. */
  spill?: SpillDirectory;
  /** Bytes of values kept in memory before spilling starts (Dask: 60% of the memory limit). */
  targetBytes?: number;
  /** Told when writing a value to disk fails; the value then stays in memory. */
  onSpillError?: (key: Key, error: Error) => void;
  /** Bytes the spill files may take on disk (`--spill-limit`). No cap by default. */
  spillLimitBytes?: number;
  /**
   * Told when spilling stops because the disk (or the spill limit) is full — with why — and
   * when it may start again (null): a spilled value was deleted, so there is room again.
   */
  onSpillFull?: (reason: string | null) => void;
  /** Counts the shared memory of values leaving memory (see {@link SharedGarbage}). */
  sharedGarbage?: SharedGarbage;
}

/** A result kept live in task thread `thread`: counted here, its bytes made when it moves. */
export interface LiveValue {
  thread: number;
  nbytes: number;
  typeName: string;
}

interface SpilledValue {
  location: SpillLocation;
  nbytes: number;
  typeName: string;
}

export class DataStore {
  /** Map order is use order: least recently used first. */
  readonly #memory = new Map<Key, StoredValue>();
  readonly #spilled = new Map<Key, SpilledValue>();
  /** Results live in a task thread, oldest first. */
  readonly #live = new Map<Key, LiveValue>();
  /** Live results asked to be spilled, not yet encoded. */
  readonly #spillingLive = new Set<Key>();
  #liveBytes = 0;
  #memoryBytes = 0;
  #spilledBytes = 0;
  #spilledDiskBytes = 0;
  readonly #spill: SpillDirectory | undefined;
  readonly #onSpillError: ((key: Key, error: Error) => void) | undefined;
  readonly #sharedGarbage: SharedGarbage | undefined;
  /** Bytes in memory above which values spill; Infinity without a spill directory. */
  targetBytes: number;
  /** Values written to disk (ever). */
  spillCount = 0;
  /** Values read back from disk (ever). */
  unspillCount = 0;
  /** Why spilling stopped (the disk or the spill limit is full), or null while it works. */
  spillFull: string | null = null;
  readonly #spillLimitBytes: number;
  readonly #onSpillFull: ((reason: string | null) => void) | undefined;
  /**
   * Asked to move these live results to disk: their owner encodes them and hands the bytes to
   * {@link spillEncoded}. Unset: live results are never spilled.
   */
  spillLive: ((keys: Key[]) => void) | undefined;
  /** A result was ever live in a task thread (the threads hold native tables). */
  heldLive = false;

  constructor(options: DataStoreOptions = {}) {
    this.#spill = options.spill;
    this.#onSpillError = options.onSpillError;
    this.#sharedGarbage = options.sharedGarbage;
    this.#spillLimitBytes = options.spillLimitBytes ?? Infinity;
    this.#onSpillFull = options.onSpillFull;
    this.targetBytes = options.spill !== undefined && options.targetBytes !== undefined &&
        options.targetBytes > 0
      ? options.targetBytes
      : Infinity;
  }

  /** Number of keys held, in memory or on disk. */
  get size(): number {
    return this.#memory.size + this.#spilled.size + this.#live.size;
  }

  /** Sum of the `nbytes` of the values held, in memory (encoded or live) or on disk. */
  get nbytes(): number {
    return this.memoryBytes + this.#spilledBytes;
  }

  /** Sum of the `nbytes` of the values in memory, encoded or live in a thread. */
  get memoryBytes(): number {
    return this.#memoryBytes + this.#liveBytes;
  }

  /** Sum of the `nbytes` of the results live in task threads. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /** Number of results live in task threads. */
  get liveKeys(): number {
    return this.#live.size;
  }

  /** Sum of the `nbytes` of the values on disk. */
  get spilledBytes(): number {
    return this.#spilledBytes;
  }

  /** Bytes the spill files take on disk. */
  get spilledDiskBytes(): number {
    return this.#spilledDiskBytes;
  }

  /** Number of keys on disk. */
  get spilledKeys(): number {
    return this.#spilled.size;
  }

  has(key: Key): boolean {
    return this.#memory.has(key) || this.#spilled.has(key) || this.#live.has(key);
  }

  /** The task thread `key`'s result is live in, or undefined when it has bytes (or is absent). */
  liveThread(key: Key): number | undefined {
    return this.#live.get(key)?.thread;
  }

  /** Stores `key` as a result live in a task thread (replacing any older copy); may spill. */
  setLive(key: Key, value: LiveValue): void {
    this.heldLive = true;
    this.delete(key);
    this.#live.set(key, value);
    this.#liveBytes += sizeOf(value);
    this.#spillToTarget();
  }

  /**
   * The encoded form of live result `key` came from its thread: from now on the entry holds
   * those bytes (most recently used). False when `key` is no longer live here.
   */
  fill(key: Key, encoded: Encoded): boolean {
    const live = this.#live.get(key);
    if (live === undefined) return false;
    this.#forgetLive(key, live);
    const value = { encoded, nbytes: live.nbytes, typeName: live.typeName };
    this.#memory.set(key, value);
    this.#memoryBytes += sizeOf(value);
    return true;
  }

  /** The encoded form of a live result asked to be spilled ({@link spillLive}): to disk. */
  spillEncoded(key: Key, encoded: Encoded): void {
    if (!this.fill(key, encoded)) return;
    this.#spillOne(key, this.#memory.get(key)!);
  }

  /** The results live in task thread `thread` are gone with it: dropped; their keys. */
  dropThread(thread: number): Key[] {
    const lost: Key[] = [];
    for (const [key, live] of this.#live) {
      if (live.thread !== thread) continue;
      this.#forgetLive(key, live);
      lost.push(key);
    }
    return lost;
  }

  #forgetLive(key: Key, live: LiveValue): void {
    this.#live.delete(key);
    this.#spillingLive.delete(key);
    this.#liveBytes -= sizeOf(live);
  }

  /** True when `key` is held on disk only. */
  isSpilled(key: Key): boolean {
    return this.#spilled.has(key);
  }

  /**
   * The value of `key`, marking it as most recently used. A spilled value is read back from
   * disk. Its buffers may be shared with the store: copy before transferring them.
   *
   * @throws when a spilled value cannot be read back (its file is gone or damaged).
   */
  get(key: Key): StoredValue | undefined {
    return this.getOwned(key)?.value;
  }

  /**
   * The encoded value of `key` when it is in memory, has no frames and a body of at most
   * `maxBytes` — small enough to ride along with a message — without counting as a use.
   */
  small(key: Key, maxBytes: number): Encoded | undefined {
    const encoded = this.#memory.get(key)?.encoded;
    return encoded !== undefined && encoded.frames.length === 0 &&
        encoded.body.byteLength <= maxBytes
      ? encoded
      : undefined;
  }

  /**
   * Like {@link get}, and says whether the caller owns the value's buffers: true when it was
   * read from disk and stays spilled (nobody else holds those buffers, so they may be
   * transferred as they are).
   */
  getOwned(key: Key): { value: StoredValue; owned: boolean } | undefined {
    const live = this.#live.get(key);
    if (live !== undefined) {
      throw new Error(
        `internal: ${key} is live in task thread ${live.thread}; export it before reading it`,
      );
    }
    const value = this.#memory.get(key);
    if (value !== undefined) {
      this.#memory.delete(key);
      this.#memory.set(key, value);
      return { value, owned: false };
    }
    const spilled = this.#spilled.get(key);
    if (spilled === undefined) return undefined;
    const stored: StoredValue = {
      encoded: this.#spill!.read(spilled.location),
      nbytes: spilled.nbytes,
      typeName: spilled.typeName,
    };
    this.unspillCount++;
    // Back into memory only when it fits without pushing others out: no thrashing.
    if (this.memoryBytes + sizeOf(stored) > this.targetBytes) {
      return { value: stored, owned: true };
    }
    this.#forgetSpilled(key, spilled);
    this.#memory.set(key, stored);
    this.#memoryBytes += sizeOf(stored);
    return { value: stored, owned: false };
  }

  /**
   * Swaps the encoded form of an in-memory value for one with the same bytes (its frames moved
   * into shared memory); sizes and recency stay as they are.
   */
  replaceEncoded(key: Key, encoded: Encoded): void {
    const value = this.#memory.get(key);
    if (value !== undefined) this.#memory.set(key, { ...value, encoded });
  }

  /** Stores `value` under `key` (replacing any older copy) as most recently used; may spill. */
  set(key: Key, value: StoredValue): void {
    this.delete(key);
    this.#memory.set(key, value);
    this.#memoryBytes += sizeOf(value);
    if (sizeOf(value) > this.targetBytes) {
      // Too big to ever sit under the target: straight to disk, the others stay.
      this.#spillOne(key, value);
      return;
    }
    this.#spillToTarget();
  }

  /** Drops `key` (from memory, a thread, or disk); false when it was not held. */
  delete(key: Key): boolean {
    const live = this.#live.get(key);
    if (live !== undefined) {
      this.#forgetLive(key, live);
      return true;
    }
    const old = this.#memory.get(key);
    if (old !== undefined) {
      this.#memory.delete(key);
      this.#memoryBytes -= sizeOf(old);
      this.#sharedGarbage?.drop(key, old.encoded.frames);
      return true;
    }
    const spilled = this.#spilled.get(key);
    if (spilled === undefined) return false;
    this.#forgetSpilled(key, spilled);
    return true;
  }

  /**
   * Spills least recently used values until at most `bytes` are in memory (or nothing is left
   * to spill, or writing fails). Returns the bytes moved to disk.
   */
  spillUntil(bytes: number): number {
    if (this.#spill === undefined) return 0;
    // live results already on their way to disk count as gone
    const leaving = this.#liveLeaving();
    let moved = 0;
    for (const [key, value] of this.#memory) {
      if (this.memoryBytes - leaving <= bytes) break;
      if (!this.#spillOne(key, value)) break;
      moved += sizeOf(value);
    }
    this.#spillLiveUntil(bytes, leaving);
    return moved;
  }

  /** Bytes of the live results asked to be spilled and not yet encoded. */
  #liveLeaving(): number {
    let bytes = 0;
    for (const key of this.#spillingLive) bytes += sizeOf(this.#live.get(key)!);
    return bytes;
  }

  /**
   * Encoded values are spilled first (no conversion needed); past them, the oldest live results
   * are asked for their bytes ({@link spillLive}), which go to disk when they come.
   */
  #spillLiveUntil(bytes: number, leaving: number): void {
    if (this.spillLive === undefined || this.spillFull !== null) return;
    let left = this.memoryBytes - leaving;
    const keys: Key[] = [];
    for (const [key, live] of this.#live) {
      if (left <= bytes) break;
      if (this.#spillingLive.has(key)) continue;
      this.#spillingLive.add(key);
      keys.push(key);
      left -= sizeOf(live);
    }
    if (keys.length > 0) this.spillLive(keys);
  }

  /** The size and type of `key`'s value (in memory or spilled), without counting as a use. */
  describeKey(key: Key): { nbytes: number; typeName: string } | undefined {
    const value = this.#memory.get(key) ?? this.#live.get(key) ?? this.#spilled.get(key);
    return value === undefined ? undefined : { nbytes: value.nbytes, typeName: value.typeName };
  }

  /** Every key with its size and type (what a worker reports when it registers again). */
  describe(): { key: Key; nbytes: number; typeName: string }[] {
    const out: { key: Key; nbytes: number; typeName: string }[] = [];
    for (const [key, value] of this.#spilled) {
      out.push({ key, nbytes: value.nbytes, typeName: value.typeName });
    }
    for (const [key, value] of this.#memory) {
      out.push({ key, nbytes: value.nbytes, typeName: value.typeName });
    }
    for (const [key, value] of this.#live) {
      out.push({ key, nbytes: value.nbytes, typeName: value.typeName });
    }
    return out;
  }

  /** Values in memory from least to most recently used (the order to spill in). */
  leastRecentlyUsed(): IterableIterator<[Key, StoredValue]> {
    return this.#memory.entries();
  }

  /** Drops everything, and the spill files with it. */
  clear(): void {
    for (const [key, value] of this.#memory) this.#sharedGarbage?.drop(key, value.encoded.frames);
    this.#memory.clear();
    this.#memoryBytes = 0;
    this.#live.clear();
    this.#spillingLive.clear();
    this.#liveBytes = 0;
    for (const spilled of this.#spilled.values()) this.#spill!.delete(spilled.location);
    this.#spilled.clear();
    this.#spilledBytes = 0;
    this.#spilledDiskBytes = 0;
    this.#setSpillFull(null);
  }

  #spillToTarget(): void {
    if (this.memoryBytes > this.targetBytes) this.spillUntil(this.targetBytes);
  }

  /**
   * Moves one value to disk; false (and it stays in memory) when writing fails or the disk is
   * full. A full disk is not tried again until a spilled value was deleted: a worker that cannot
   * spill must not spend its time failing to.
   */
  #spillOne(key: Key, value: StoredValue): boolean {
    if (this.spillFull !== null) return false;
    const onDisk = encodedBytes(value.encoded);
    if (this.#spilledDiskBytes + onDisk > this.#spillLimitBytes) {
      this.#setSpillFull(
        `the spill limit of ${this.#spillLimitBytes} bytes is reached ` +
          `(${this.#spilledDiskBytes} bytes on disk, ${key} needs ${onDisk} more)`,
      );
      return false;
    }
    let location: SpillLocation;
    try {
      location = this.#spill!.write(value.encoded);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#onSpillError?.(key, failure);
      // ENOSPC, a quota, a read-only or vanished folder: nothing more fits for now
      this.#setSpillFull(`writing ${key} failed: ${failure.message}`);
      return false;
    }
    // Dropping the store's reference is what lets the buffers be reclaimed.
    this.#memory.delete(key);
    this.#memoryBytes -= sizeOf(value);
    this.#sharedGarbage?.drop(key, value.encoded.frames);
    this.#spilled.set(key, { location, nbytes: value.nbytes, typeName: value.typeName });
    this.#spilledBytes += sizeOf(value);
    this.#spilledDiskBytes += location.diskBytes;
    this.spillCount++;
    return true;
  }

  #forgetSpilled(key: Key, spilled: SpilledValue): void {
    this.#spilled.delete(key);
    this.#spilledBytes -= spilled.nbytes > 0 ? spilled.nbytes : 0;
    this.#spilledDiskBytes -= spilled.location.diskBytes;
    this.#spill!.delete(spilled.location);
    this.#setSpillFull(null); // room again: the next spill may try
  }

  #setSpillFull(reason: string | null): void {
    if ((reason === null) === (this.spillFull === null)) return;
    this.spillFull = reason;
    this.#onSpillFull?.(reason);
  }
}

function sizeOf(value: { nbytes: number }): number {
  return value.nbytes > 0 ? value.nbytes : 0;
}
