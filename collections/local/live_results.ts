/**
 * Table results of one local computation that stay in the thread that made them (the local
 * `threads` scheduler; docs/architecture.md, "Live tables in their thread"). The same mechanism
 * as a worker's (worker/executor.ts): a task posted with `RunItem.keepLive` pins its table result
 * in its thread (threads/live_tables.ts) and reports no bytes; a later task on that thread reads
 * the table itself (`RunItem.liveDeps`); the table is encoded once, when it moves — to a task
 * placed on another thread, or to the caller as an output — by the thread's `export`. From then on
 * this run holds the bytes, as for any other result.
 *
 * Which thread a reader runs on: the one holding most of its live inputs' bytes when that thread
 * has room or its queued work is shorter than moving the tables would take (locality); otherwise
 * the least loaded one, and the inputs are exported first (the reader waits, its slot stays free).
 *
 * A table is released on its thread (`release-refs`) when its last reader ran, and every table
 * still held when the run ends (outputs' cached copies, a failed run's results): no thread keeps
 * a table of a finished computation. A thread that dies loses its live tables: the computation
 * then fails with an error naming the lost results and the thread's end (the local schedulers do
 * not recompute lost results; a worker does, through the scheduler).
 *
 * Each computation files its tables under a scope of its own (`RunItem.liveScope`), as
 * computations sharing a pool may share keys.
 *
 * @module
 */

import type { Key } from "../../core/task.ts";
import type { Encoded } from "../../core/value_codec.ts";
import { scopedKey, staysWithTables } from "../../threads/live_tables.ts";
import type { RunResult } from "../../threads/thread_protocol.ts";
import type { RunState } from "./run_state.ts";
import type { RunSink, SharedPool } from "./shared_pool.ts";

/** The value recorded for a result that stayed live (pinned) in the thread of slot `slot`. */
export class LiveResult {
  constructor(readonly slot: number, readonly nbytes: number) {}
}

let scopes = 0;

/** Appends `value` to the list `lists` keeps for `slot` (tasks or keys grouped by thread). */
function addTo<T>(lists: Map<number, T[]>, slot: number, value: T): void {
  const list = lists.get(slot);
  if (list === undefined) lists.set(slot, [value]);
  else list.push(value);
}

/** The live tables of one computation on a shared pool. */
export class RunLiveTables {
  /** Where this computation's tables are filed in the threads. */
  readonly scope = `local-run-${++scopes}`;
  /** Tasks whose table a thread holds (pinned, or cached after an export), by task: its slot. */
  readonly #held = new Map<number, number>();
  /** Tables being exported, by task: the tasks waiting for their bytes. */
  readonly #exporting = new Map<number, number[]>();
  /** Export requests by id: their tasks, in key order. */
  readonly #requests = new Map<number, number[]>();
  /** Tasks waiting for inputs to be exported: how many they still wait for. */
  readonly #waiting = new Map<number, number>();
  /** Called once no export is under way (the outputs' bytes are in). */
  #whenExported: (() => void) | null = null;
  /** Tables exported so far (each once). */
  exports = 0;

  constructor(
    private readonly run: RunState,
    private readonly shared: SharedPool,
    private readonly sink: RunSink,
    /** Records the bytes of an exported result as the task's value. */
    private readonly recordEncoded: (t: number, encoded: Encoded) => void,
    /** Puts a task that waited for its inputs' export back among the ready ones. */
    private readonly requeue: (t: number) => void,
    /** Fails the computation. */
    private readonly fail: (error: Error) => void,
  ) {}

  /** Task `t`'s result stayed live on `slot`: its value to record. */
  pinned(t: number, slot: number, nbytes: number): LiveResult {
    this.#held.set(t, slot);
    return new LiveResult(slot, nbytes);
  }

  #liveOn(d: number): number {
    const value = this.run.valueAt(d);
    return value instanceof LiveResult && !this.#exporting.has(d) ? value.slot : -1;
  }

  /** True when `d`'s table is pinned on `slot` and a task posted there reads it as it is. */
  readsLive(d: number, slot: number): boolean {
    return this.#held.size > 0 && this.#liveOn(d) === slot;
  }

  /**
   * The slot task `t` should run on, given `slot` (the least loaded one): the slot holding most
   * of its inputs' live bytes when it has room, or its queued work is shorter than moving them.
   */
  place(t: number, slot: number): number {
    if (this.#held.size === 0) return slot; // no table of this run is in a thread
    let best = -1, bestBytes = 0;
    let bytes: Map<number, number> | undefined;
    this.run.forEachDependency(t, (d) => {
      const on = this.#liveOn(d);
      if (on < 0) return;
      bytes ??= new Map();
      const total = (bytes.get(on) ?? 0) + (this.run.valueAt(d) as LiveResult).nbytes;
      bytes.set(on, total);
      if (total > bestBytes || best < 0) [best, bestBytes] = [on, total];
    });
    if (best < 0 || best === slot) return slot;
    // the pool's loads are milliseconds
    const load = this.shared.load;
    return staysWithTables(
        this.shared.hasRoom(best),
        load[best] / 1000,
        load[slot] / 1000,
        bestBytes,
      )
      ? best
      : slot;
  }

  /**
   * True when a task of `slot` reading `d`'s result must wait for it: its table is live on
   * another slot, or being exported (a batch must not carry such a reader).
   */
  blocks(d: number, slot: number): boolean {
    if (this.#held.size === 0) return false;
    let waits = false;
    this.run.forEachDependency(d, (j) => {
      if (!this.run.isDone(j)) return;
      const value = this.run.valueAt(j);
      if (value instanceof LiveResult && (value.slot !== slot || this.#exporting.has(j))) {
        waits = true;
      }
    });
    return waits;
  }

  /**
   * Task `t` is to run on `slot`: its inputs live on other slots (or being exported) are
   * exported, and true is returned — `t` is put back among the ready tasks (`requeue`) once
   * their bytes are in. False when it may go now.
   */
  awaitInputs(t: number, slot: number): boolean {
    if (this.#held.size === 0) return false;
    let count = 0;
    let ask: Map<number, number[]> | undefined;
    this.run.forEachDependency(t, (d) => {
      const value = this.run.valueAt(d);
      if (!(value instanceof LiveResult)) return;
      const waiters = this.#exporting.get(d);
      if (waiters !== undefined) {
        if (!waiters.includes(t)) {
          waiters.push(t);
          count++;
        }
        return;
      }
      if (value.slot === slot) return;
      this.#exporting.set(d, [t]);
      count++;
      addTo(ask ??= new Map(), value.slot, d);
    });
    if (count === 0) return false;
    this.#waiting.set(t, count);
    if (ask !== undefined) { for (const [on, tasks] of ask) this.#ask(on, tasks); }
    return true;
  }

  #ask(slot: number, tasks: number[]): void {
    const keys = tasks.map((d) => scopedKey(this.scope, this.run.tasks[d].key));
    this.#requests.set(this.shared.exportTables(slot, keys, this.sink), tasks);
  }

  /**
   * The outputs' tables live in threads are exported (once); `then` is called when their bytes
   * are in. False when none is live nor being exported: the outputs may be read now.
   */
  exportOutputs(then: () => void): boolean {
    const ask = new Map<number, number[]>();
    for (const key of this.run.outputs) {
      const t = this.run.indexOf(key);
      const value = this.run.valueAt(t);
      if (!(value instanceof LiveResult) || this.#exporting.has(t)) continue;
      this.#exporting.set(t, []);
      addTo(ask, value.slot, t);
    }
    if (this.#exporting.size === 0) return false;
    this.#whenExported = then;
    for (const [on, tasks] of ask) this.#ask(on, tasks);
    return true;
  }

  /** A thread answered export `id`: the tables' bytes become their tasks' values. */
  exported(id: number, values: (Encoded | null)[]): void {
    const tasks = this.#requests.get(id);
    if (tasks === undefined) return;
    this.#requests.delete(id);
    for (let i = 0; i < tasks.length; i++) {
      const d = tasks[i];
      const encoded = values[i];
      if (encoded === null) {
        const slot = this.#held.get(d);
        return this.fail(
          new Error(
            `internal: the result of ${this.run.tasks[d].key} was not live on thread ${slot}`,
          ),
        );
      }
      this.exports++;
      this.recordEncoded(d, encoded);
      const waiters = this.#exporting.get(d) ?? [];
      this.#exporting.delete(d);
      for (const w of waiters) {
        const left = this.#waiting.get(w)! - 1;
        if (left > 0) {
          this.#waiting.set(w, left);
          continue;
        }
        this.#waiting.delete(w);
        this.requeue(w);
      }
    }
    if (this.#exporting.size === 0 && this.#whenExported !== null) {
      const then = this.#whenExported;
      this.#whenExported = null;
      then();
    }
  }

  /** Task `t` finished: the tables of its inputs that no task reads any more are released. */
  finished(t: number): void {
    if (this.#held.size === 0) return;
    this.run.forEachDependency(t, (j) => {
      if (this.run.valueAt(j) !== undefined) return; // still read, or an output
      const slot = this.#held.get(j);
      if (slot === undefined) return;
      this.#held.delete(j);
      this.shared.releaseTables(slot, [scopedKey(this.scope, this.run.tasks[j].key)]);
    });
  }

  /** The computation is over: every table it left in a thread is released. */
  releaseAll(): void {
    const bySlot = new Map<number, Key[]>();
    for (const [t, slot] of this.#held) {
      addTo(bySlot, slot, scopedKey(this.scope, this.run.tasks[t].key));
    }
    this.#held.clear();
    for (const [slot, keys] of bySlot) this.shared.releaseTables(slot, keys);
  }

  /**
   * A result that came back after the computation failed: a table it left pinned in its thread
   * is released there. `exported`: the keys of the values it reports (an item's own, or those
   * of the members it exports, in `RunResult.exported` order).
   */
  late(slot: number, exported: readonly Key[], result: RunResult): void {
    if (!result.ok) return;
    const live: Key[] = [];
    if (result.live) live.push(exported[0]);
    for (const i of result.liveExports ?? []) live.push(exported[i]);
    if (live.length === 0) return;
    this.shared.releaseTables(slot, live.map((key) => scopedKey(this.scope, key)));
  }

  /**
   * Slot `slot` died: the tables it held are gone. Those still needed (not yet exported) fail
   * the computation, naming them and the thread's end.
   */
  slotReplaced(slot: number, error: Error): void {
    const lost: number[] = [];
    for (const [t, on] of this.#held) {
      if (on !== slot) continue;
      this.#held.delete(t);
      if (this.run.valueAt(t) instanceof LiveResult) lost.push(t);
    }
    if (lost.length === 0) return;
    const keys = lost.map((t) => `'${this.run.tasks[t].key}'`);
    const named = keys.length > 3
      ? `${keys.slice(0, 3).join(", ")} and ${keys.length - 3} more`
      : keys.join(", ");
    this.fail(
      new Error(
        `Thread ${slot} of the threads scheduler ended (${error.message}) holding the only copy ` +
          `of ${lost.length} result${lost.length === 1 ? "" : "s"} this computation still needs ` +
          `(${named}): tables stay in the thread that made them until they move, and the local ` +
          `schedulers do not compute lost results again. Run the computation again (on a ` +
          `cluster, lost results are computed again).`,
        { cause: error },
      ),
    );
  }
}
