/**
 * A pool of task runners (threads or processes) shared by the computations of this process:
 * which run owns each item in flight, how much estimated work each slot holds, and when an idle
 * pool stops. Used by the `threads` and `processes` schedulers (pool_run.ts).
 *
 * @module
 */

import type { Key } from "../../core/task.ts";
import type { Encoded } from "../../core/value_codec.ts";
import type { RunResult } from "../../threads/thread_protocol.ts";
import type { ResultHandler, SlotFailureHandler, TaskPool } from "../../threads/task_pool.ts";

/** How much estimated work (ms) one batch carries, and how much a slot may have queued. */
export const BATCH_MS = 2;
const QUEUED_MS = 2 * BATCH_MS;
/**
 * A slot whose one item in flight is estimated under this (ms) takes a second item: its runner
 * then starts the next item at once instead of waiting idle for the round trip to the owner
 * after each one (tasks too long to share a batch and short all the same, as a cold Monte Carlo
 * walk of a few ms). A longer item runs with nothing queued behind it, so a long task never
 * waits on a runner behind another while a second runner is free.
 */
const PREFETCH_MS = 50;
/** Item ids carry their slot's index below this factor. */
const SLOT_FACTOR = 4096;

/** A run's handlers for the results of the items it posted. */
export interface RunSink {
  onResult(slot: number, result: RunResult): void;
  /** The slot died and which of the run's items was running there is not known. */
  onSlotDied(slot: number, error: Error): void;
  /** The item was running, alone in its batch, when its slot died. */
  onItemCrashed(id: number, error: Error): void;
  /**
   * The items were lost with their slot. `suspect`: one of them (or of another run's items of
   * the same batch) was running; they must run again each alone, so the next crash names one.
   * Otherwise they never started and may run again as usual.
   */
  onItemsLost(ids: number[], suspect: boolean): void;
  /** Hands ready tasks to slots with room; called whenever slots free up. */
  dispatch(): void;
  /** True once the run failed: its late results only free their slots' room. */
  readonly abandoned: boolean;
  /** A result of the run's that came after it failed (what it left in its runner may go). */
  onLateResult?(slot: number, result: RunResult): void;
  /** The answer to the run's export `id` ({@link SharedPool.exportTables}), in key order. */
  onExported?(id: number, values: (Encoded | null)[]): void;
  /**
   * Slot `slot` died and was replaced (after the items the run lost there were settled): the
   * tables it kept live are gone.
   */
  onSlotReplaced?(slot: number, error: Error): void;
}

/** Starts a pool of `size` slots that reports to these handlers. */
export type PoolFactory = (
  size: number,
  onResults: ResultHandler,
  onFailure: SlotFailureHandler,
) => TaskPool;

/** A task pool shared by concurrent runs. */
export class SharedPool {
  readonly pool: TaskPool;
  /** Estimated ms of work posted to each slot and not yet returned. */
  readonly load: Float64Array;
  readonly inFlight: Int32Array;
  /** Items in flight in the order they were posted (a Map keeps insertion order). */
  readonly #owners = new Map<number, { sink: RunSink; estimate: number }>();
  /** Runs in progress: all of them get a turn when any slot frees up. */
  readonly #runs = new Set<RunSink>();
  /** Exports of live tables asked of slots and not answered, by id: whose they are. */
  readonly #exports = new Map<number, { slot: number; sink: RunSink }>();
  #nextExportId = 1;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #nextId = 1;

  /**
   * @param idleShutdownMs stop the pool after this long without runs; `undefined` keeps it
   *   (its runners must then not keep the script alive while idle, see TaskPool.setBusy).
   */
  constructor(
    size: number,
    start: PoolFactory,
    private readonly idleShutdownMs: number | undefined,
    private readonly onClosed: () => void,
  ) {
    this.load = new Float64Array(size);
    this.inFlight = new Int32Array(size);
    this.pool = start(size, (slot, results) => {
      for (const result of results) {
        const owner = this.#take(result.id);
        if (owner === undefined) continue;
        if (!owner.sink.abandoned) owner.sink.onResult(slot, result);
        else owner.sink.onLateResult?.(slot, result);
      }
      // the room freed may serve any run, not only the one whose results came back
      this.#dispatchAll();
    }, (slot, { error, suspects }) => {
      for (const [id, e] of this.#exports) if (e.slot === slot) this.#exports.delete(id);
      const lost: { id: number; sink: RunSink }[] = [];
      for (const [id, owner] of this.#owners) {
        if (id % SLOT_FACTOR === slot) lost.push({ id, sink: owner.sink });
      }
      for (const { id } of lost) this.#owners.delete(id);
      this.load[slot] = 0;
      this.inFlight[slot] = 0;
      if (suspects !== undefined) {
        const suspected = new Set(suspects);
        const owned = lost.filter((l) => !l.sink.abandoned);
        if (suspects.length === 1) {
          const crashed = owned.find((l) => l.id === suspects[0]);
          crashed?.sink.onItemCrashed(crashed.id, error);
        }
        for (const suspect of suspects.length === 1 ? [false] : [true, false]) {
          const bySink = new Map<RunSink, number[]>();
          for (const { id, sink } of owned) {
            if (suspects.length === 1 && id === suspects[0]) continue;
            if (suspected.has(id) !== suspect) continue;
            bySink.set(sink, [...(bySink.get(sink) ?? []), id]);
          }
          for (const [sink, ids] of bySink) if (!sink.abandoned) sink.onItemsLost(ids, suspect);
        }
      } else {
        for (const sink of new Set(lost.map((l) => l.sink))) {
          if (!sink.abandoned) sink.onSlotDied(slot, error);
        }
      }
      for (const run of this.#runs) if (!run.abandoned) run.onSlotReplaced?.(slot, error);
      this.#dispatchAll();
    });
    // a runner that finished starting takes the work that waited for it
    this.pool.onSlotReady = () => this.#dispatchAll();
    this.pool.onExported = (_slot, answer) => {
      const asker = this.#exports.get(answer.id);
      if (asker === undefined) return;
      this.#exports.delete(answer.id);
      if (!asker.sink.abandoned) asker.sink.onExported?.(answer.id, answer.values);
    };
  }

  /** Whether the pool's runners keep table results live until asked for them. */
  get keepsLiveTables(): boolean {
    return this.pool.exportTables !== undefined;
  }

  /**
   * Asks `slot` for the bytes of the live tables `keys` (scoped, `RunItem.liveScope`); the
   * answer goes to `sink.onExported` with the returned id (never when the slot dies first).
   */
  exportTables(slot: number, keys: Key[], sink: RunSink): number {
    const id = this.#nextExportId++;
    this.#exports.set(id, { slot, sink });
    this.pool.exportTables!(slot, id, keys);
    return id;
  }

  /** The live tables `keys` (scoped) on `slot` are no longer needed. */
  releaseTables(slot: number, keys: Key[]): void {
    this.pool.releaseRefs?.(slot, keys);
  }

  #dispatchAll(): void {
    for (const run of this.#runs) run.dispatch();
  }

  #take(id: number): { sink: RunSink; estimate: number } | undefined {
    const owner = this.#owners.get(id);
    if (owner === undefined) return undefined; // posted to a slot that died since
    this.#owners.delete(id);
    this.load[id % SLOT_FACTOR] -= owner.estimate;
    this.inFlight[id % SLOT_FACTOR]--;
    return owner;
  }

  /** An id that records which slot an item went to (`id % SLOT_FACTOR`) and who owns it. */
  register(slot: number, sink: RunSink, estimate: number): number {
    const id = this.#nextId++ * SLOT_FACTOR + slot;
    this.#owners.set(id, { sink, estimate });
    this.load[slot] += estimate;
    this.inFlight[slot]++;
    return id;
  }

  /** Takes back items that were registered but never posted. */
  unregister(ids: readonly number[]): void {
    for (const id of ids) this.#take(id);
  }

  /**
   * Whether `slot` takes more work now: its runner is up (a process still starting gets none,
   * so the first work goes to the first runners up), and it is idle, its queued work is short, or
   * it holds one item estimated under {@link PREFETCH_MS}.
   */
  hasRoom(slot: number): boolean {
    if (this.pool.isReady?.(slot) === false) return false;
    const inFlight = this.inFlight[slot], load = this.load[slot];
    return inFlight === 0 || load < QUEUED_MS || (inFlight === 1 && load < PREFETCH_MS);
  }

  /** The slot with the least queued work, or -1 when all are full. */
  leastLoaded(): number {
    let best = -1;
    for (let t = 0; t < this.load.length; t++) {
      if (!this.hasRoom(t)) continue;
      if (best < 0 || this.load[t] < this.load[best]) best = t;
    }
    return best;
  }

  acquire(run: RunSink): void {
    if (this.#runs.size === 0) this.pool.setBusy?.(true);
    this.#runs.add(run);
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  release(run: RunSink): void {
    this.#runs.delete(run);
    if (this.#runs.size > 0) return;
    this.pool.setBusy?.(false);
    if (this.idleShutdownMs !== undefined) {
      this.#idleTimer = setTimeout(() => this.close(), this.idleShutdownMs);
    }
  }

  close(): void | Promise<void> {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.onClosed();
    return this.pool.close();
  }
}

/** The shared pools of one kind (threads or processes), one per size. */
export class SharedPools {
  readonly #pools = new Map<number, SharedPool>();

  constructor(
    private readonly start: PoolFactory,
    private readonly idleShutdownMs: number | undefined,
  ) {}

  /** The pool of `size` slots, started if there is none or it closed. */
  get(size: number): SharedPool {
    let shared = this.#pools.get(size);
    if (shared === undefined || shared.pool.closed) {
      const fresh: SharedPool = new SharedPool(size, this.start, this.idleShutdownMs, () => {
        if (this.#pools.get(size) === fresh) this.#pools.delete(size);
      });
      shared = fresh;
      this.#pools.set(size, shared);
    }
    return shared;
  }

  /** The pool of `size` slots if one runs now (never starts one). */
  running(size: number): SharedPool | undefined {
    const shared = this.#pools.get(size);
    return shared === undefined || shared.pool.closed ? undefined : shared;
  }

  /**
   * Starts the pool of `size` slots now and keeps it from its idle shutdown until the returned
   * function is called: a computation starts its threads before building its graph, so the
   * threads boot while the graph is built.
   */
  hold(size: number): () => void {
    const shared = this.get(size);
    const holder: RunSink = {
      abandoned: true, // posts nothing, so nothing comes back to it
      dispatch() {},
      onResult() {},
      onSlotDied() {},
      onItemCrashed() {},
      onItemsLost() {},
    };
    shared.acquire(holder);
    let held = true;
    return () => {
      if (held) shared.release(holder);
      held = false;
    };
  }

  /** Stops every pool now; settles once their runners have ended. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((shared) => shared.close()));
  }
}
