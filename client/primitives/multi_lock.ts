/**
 * MultiLock (Dask's `distributed.MultiLock`): several named locks taken at once, fairly (in the
 * order requests reach the scheduler), so two holders that need overlapping sets never deadlock
 * by each taking part of what they need. Held by the scheduler; a holder's locks return when
 * its client disconnects.
 *
 * @module
 */

import { checkName, contextOf, type SharedStateOptions } from "./context.ts";
import type { SharedStateContext } from "./shared_values.ts";

/** Options of `MultiLock.acquire`. */
export interface MultiLockAcquireOptions {
  /** Seconds to wait; acquire then resolves false (0: do not wait). Default: wait for ever. */
  timeout?: number;
  /** How many of the locks to take (any of them). Default: all. */
  numLocks?: number;
}

/**
 * Takes several named locks as one.
 *
 * @example
 * ```ts
 * import { Client, MultiLock } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const both = new MultiLock(["input.csv", "output.csv"], { client });
 * if (await both.acquire({ timeout: 5 })) {
 *   try {
 *     // no other MultiLock holds either file's lock now
 *   } finally {
 *     await both.release();
 *   }
 * }
 * ```
 */
export class MultiLock implements AsyncDisposable {
  /** The lock names. */
  readonly names: readonly string[];
  readonly #context: SharedStateContext;
  /** The request that holds the locks, while held. */
  #held: string | null = null;

  /** The locks named `names` (at least one). */
  constructor(names: readonly string[], options: SharedStateOptions = {}) {
    if (!Array.isArray(names) || names.length === 0) {
      throw new TypeError("A MultiLock needs at least one lock name.");
    }
    this.names = names.map((name) => checkName("lock", name));
    this.#context = contextOf(options);
  }

  /**
   * Takes the locks (or `numLocks` of them); resolves false when they were not free within
   * `timeout` seconds.
   *
   * @throws when this object holds them already (release first).
   */
  async acquire(options: MultiLockAcquireOptions = {}): Promise<boolean> {
    if (this.#held !== null) throw new Error(`${this} is held already; release it first.`);
    const numLocks = options.numLocks ?? this.names.length;
    if (!Number.isInteger(numLocks) || numLocks < 1 || numLocks > new Set(this.names).size) {
      throw new RangeError(
        `numLocks must be an integer from 1 to ${new Set(this.names).size}, got ${numLocks}.`,
      );
    }
    const id = crypto.randomUUID();
    const params: Record<string, unknown> = { id, names: this.names, numLocks };
    if (options.timeout !== undefined) params.timeout = options.timeout;
    const got = await this.#context.request<boolean>("multi-lock-acquire", params);
    if (got) this.#held = id;
    return got;
  }

  /**
   * Gives the locks back.
   *
   * @throws when this object does not hold them.
   */
  async release(): Promise<void> {
    const id = this.#held;
    if (id === null) throw new Error(`${this}: released without being held.`);
    this.#held = null;
    await this.#context.request("multi-lock-release", { id });
  }

  /** `await using held = await locks.hold()`: releases at the end of the block. */
  async hold(options: MultiLockAcquireOptions = {}): Promise<AsyncDisposable> {
    if (!await this.acquire(options)) {
      throw new Error(`${this}: the locks were not free within ${options.timeout} s.`);
    }
    return { [Symbol.asyncDispose]: () => this.release() };
  }

  /** Releases the locks if held. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#held !== null) await this.release();
  }

  /** True while this object holds the locks. */
  get locked(): boolean {
    return this.#held !== null;
  }

  /** `MultiLock(a, b, ...)`. */
  toString(): string {
    return `MultiLock(${this.names.join(", ")})`;
  }
}
