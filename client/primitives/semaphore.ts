/**
 * Semaphore and Lock (Dask's `distributed.Semaphore` and `distributed.Lock`): leases held by the
 * scheduler, shared by every client of it under one name. A lease belongs to the client that
 * took it and returns when that client disconnects (or its process dies), so a crashed holder
 * does not block the others for good.
 *
 * @module
 */

import { checkName, contextOf, type SharedStateOptions } from "./context.ts";
import type { SharedStateContext } from "./shared_values.ts";

/** Options of `acquire`. */
export interface AcquireOptions {
  /** Seconds to wait for a lease; acquire then resolves false. Default: wait for ever. */
  timeout?: number;
}

/**
 * At most `maxLeases` holders at once, cluster-wide.
 *
 * @example
 * ```ts
 * import { Client, Semaphore } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const database = new Semaphore(2, "database", { client });
 * if (await database.acquire({ timeout: 5 })) {
 *   try {
 *     // at most two clients are here at once
 *   } finally {
 *     await database.release();
 *   }
 * }
 * ```
 */
export class Semaphore implements AsyncDisposable {
  /** The shared name. */
  readonly name: string;
  /** Leases the semaphore has. */
  readonly maxLeases: number;
  readonly #context: SharedStateContext;
  readonly #declared: Promise<unknown>;
  /** This object's leases, newest last (release gives back the newest). */
  readonly #leases: string[] = [];

  /** A semaphore of `maxLeases` named `name` (default: a new unique name). */
  constructor(maxLeases = 1, name?: string, options: SharedStateOptions = {}) {
    if (!Number.isInteger(maxLeases) || maxLeases < 1) {
      throw new TypeError(`maxLeases must be an integer ≥ 1, got ${JSON.stringify(maxLeases)}.`);
    }
    this.maxLeases = maxLeases;
    this.name = checkName("semaphore", name ?? `semaphore-${crypto.randomUUID()}`);
    this.#context = contextOf(options);
    this.#declared = this.#context.request("semaphore-declare", { name: this.name, maxLeases });
    this.#declared.catch(() => {}); // reported by the first acquire
  }

  /** Takes a lease; resolves false when none was free within `timeout`. */
  async acquire(options: AcquireOptions = {}): Promise<boolean> {
    await this.#declared;
    const lease = crypto.randomUUID();
    const params: Record<string, unknown> = { name: this.name, lease };
    if (options.timeout !== undefined) params.timeout = options.timeout;
    const got = await this.#context.request<boolean>("semaphore-acquire", params);
    if (got) this.#leases.push(lease);
    return got;
  }

  /**
   * Gives back this object's newest lease.
   *
   * @throws when it holds none (released more often than acquired).
   */
  async release(): Promise<void> {
    const lease = this.#leases.pop();
    if (lease === undefined) {
      throw new Error(`${this}: released more often than acquired.`);
    }
    await this.#context.request("semaphore-release", { name: this.name, lease });
  }

  /** `await using held = await semaphore.hold()`: gives the lease back at the end of the block. */
  async hold(options: AcquireOptions = {}): Promise<AsyncDisposable> {
    if (!await this.acquire(options)) {
      throw new Error(`${this}: no lease was free within ${options.timeout} s.`);
    }
    return { [Symbol.asyncDispose]: () => this.release() };
  }

  /** Gives back every lease this object holds. */
  async [Symbol.asyncDispose](): Promise<void> {
    while (this.#leases.length > 0) await this.release();
  }

  /** True while this object holds a lease. */
  get locked(): boolean {
    return this.#leases.length > 0;
  }

  /** `Semaphore(name, maxLeases)`. */
  toString(): string {
    return `Semaphore(${this.name}, ${this.maxLeases})`;
  }
}

/**
 * A cluster-wide lock: one holder at a time among every client using the name. `await using`
 * releases it at the end of a block.
 *
 * @example
 * ```ts
 * import { Client, Lock } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const lock = new Lock("results-file", { client });
 * {
 *   await using _held = await lock.hold();
 *   // only one client at a time runs here
 * }
 * ```
 */
export class Lock extends Semaphore {
  /** The lock named `name` (default: a new unique name). */
  constructor(name?: string, options: SharedStateOptions = {}) {
    super(1, `lock-${checkName("lock", name ?? crypto.randomUUID())}`, options);
  }

  /** `Lock(name)`. */
  override toString(): string {
    return `Lock(${this.name.slice("lock-".length)})`;
  }
}
