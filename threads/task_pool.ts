/**
 * What the local pool schedulers need of a pool of task runners: the Web Worker threads of
 * `threads` (thread_pool.ts) and the Deno subprocesses of `processes` (process_pool.ts).
 * A pool carries batches and results; its owner decides what runs where.
 *
 * @module
 */

import type { FunctionSpec } from "../core/function_codec.ts";
import type { Key } from "../core/task.ts";
import type { ExportedTables, RunItem, RunResult } from "./thread_protocol.ts";

/** Called with the results a slot (thread or process) sends back, and the slot's index. */
export type ResultHandler = (slot: number, results: RunResult[]) => void;

/** How a slot's runner died. */
export interface SlotFailure {
  error: Error;
  /**
   * When the pool knows it: the items of the batch that was running and had not returned. One
   * of them was running (the one to blame when there is only one); the others may have finished
   * without their results being sent. Items of later batches never started and may run again.
   * `undefined`: which of the slot's items was running is not known.
   */
  suspects?: number[];
}

/**
 * Called when a slot's runner dies outside any task's own error handling. The pool has already
 * replaced it (unless it is closed); the items it held are lost and are the owner's to settle.
 */
export type SlotFailureHandler = (slot: number, failure: SlotFailure) => void;

/** A fixed set of task runners, each fed batches in order. */
export interface TaskPool {
  readonly size: number;
  readonly closed: boolean;
  /** The form of `spec` to send to a slot: the whole spec the first time, then its id. */
  functionFor(slot: number, spec: FunctionSpec): FunctionSpec | string;
  /** Sends a batch to one slot; `transfer` lists buffers the slot may take over. */
  post(slot: number, batch: RunItem[], transfer?: ArrayBuffer[]): void;
  /**
   * Whether a batch posted to `slot` now would start at once: false while its runner boots (a
   * subprocess loading its entry). Pools without it take posts at any time. Once the pool is
   * closed every slot counts as ready (a post then fails and says why).
   */
  isReady?(slot: number): boolean;
  /** Told when a slot becomes ready ({@link isReady}), and for every waiting slot at close. */
  onSlotReady?: ((slot: number) => void) | undefined;
  /** Keeps the script alive while work is out (`true`), or lets it end while idle. */
  setBusy?(busy: boolean): void;
  /**
   * Asks `slot` for the bytes of results it keeps pinned (`RunItem.keepLive`), answered through
   * {@link onExported} with `id` (never when the slot dies first). Pools whose runners keep no
   * live tables lack it.
   */
  exportTables?(slot: number, id: number, keys: Key[]): void;
  /** Gets a slot's answer to {@link exportTables}. */
  onExported?: ((slot: number, answer: ExportedTables) => void) | undefined;
  /** Results `keys` that `slot` keeps (pinned or cached) are gone: it lets go of them. */
  releaseRefs?(slot: number, keys: Key[]): void;
  /** Stops every runner at once (running tasks are abandoned). */
  close(): void | Promise<void>;
}
