/**
 * What a client knows of one key: its status and, once it ends, how. All Futures of a key in
 * one client share this record, as in dask.distributed.
 *
 * @module
 */

import { errorFromRecord, type ErrorRecord } from "../core/errors.ts";
import type { Key } from "../core/task.ts";

/** The states of a Future, as Dask names them. */
export type FutureStatus = "pending" | "finished" | "error" | "cancelled" | "lost";

/** Shared by every ended state: most states are never awaited, so they make no promise. */
const ENDED: Promise<void> = Promise.resolve();

/**
 * The shared record of one key in one client. Clients hold a million of these: the promise and
 * the listener list are made only when someone waits.
 */
export class FutureState {
  #status: FutureStatus = "pending";
  #error: Error | undefined;
  /** Why it was cancelled or lost; the Error is made when asked for (stacks are costly). */
  #reason: string | undefined;
  #record: ErrorRecord | undefined;
  #done: Promise<void> | undefined;
  #resolve: (() => void) | undefined;
  #listeners: Array<() => void> | undefined;
  /** Someone awaits or listens while it is pending: {@link waiting} was told. */
  #awaited = false;
  /** Type of the value, once known (for display). */
  typeName: string | undefined;
  /** Bytes of the value, once known. */
  nbytes: number | undefined;

  /** @internal Clients make the states of their keys. */
  constructor(readonly key: Key) {}

  /** The current status. */
  get status(): FutureStatus {
    return this.#status;
  }

  /** True once the key ended (finished, erred, cancelled or lost). */
  get isDone(): boolean {
    return this.#status !== "pending";
  }

  /** Resolves when the key ends, however it ends. Never rejects. */
  get done(): Promise<void> {
    if (this.#status !== "pending") return ENDED;
    this.#done ??= new Promise((resolve) => (this.#resolve = resolve));
    this.#markAwaited();
    return this.#done;
  }

  /** The error the key ended with (error, cancelled or lost). */
  get error(): Error | undefined {
    if (this.#error === undefined && this.#reason !== undefined) {
      const message = `${this.#reason} (key '${this.key}')`;
      this.#error = this.#status === "cancelled"
        ? new CancelledError(message)
        : new FutureLostError(message);
    }
    return this.#error;
  }

  /** @internal The error as it travelled, with the remote stack. */
  get errorRecord(): ErrorRecord | undefined {
    return this.#record;
  }

  /** @internal The key's value is in memory on the cluster. */
  finish(typeName?: string, nbytes?: number): void {
    this.typeName = typeName;
    this.nbytes = nbytes;
    this.#error = undefined;
    this.#reason = undefined;
    this.#record = undefined;
    this.#end("finished");
  }

  /** @internal The task (or one it depends on) failed. */
  fail(record: ErrorRecord): void {
    this.#record = record;
    this.#error = errorFromRecord(record);
    this.#reason = undefined;
    this.#end("error");
  }

  /** @internal The key was cancelled. */
  cancel(reason = "This future was cancelled."): void {
    this.#error = undefined;
    this.#reason = reason;
    this.#end("cancelled");
  }

  /** @internal The key's data or state is gone and cannot be recomputed. */
  lose(reason: string): void {
    this.#error = undefined;
    this.#reason = reason;
    this.#end("lost");
  }

  /** @internal Back to pending (retry, resubmission after loss). */
  reset(): void {
    if (this.#status === "pending") return;
    this.#status = "pending";
    this.#error = undefined;
    this.#reason = undefined;
    this.#record = undefined;
    this.#done = undefined;
    this.#resolve = undefined;
  }

  /** Calls `listener` once, when the key ends (at once if it has). */
  onDone(listener: () => void): void {
    if (this.isDone) queueMicrotask(listener);
    else {
      (this.#listeners ??= []).push(listener);
      this.#markAwaited();
    }
  }

  /**
   * @internal Called with true when someone starts waiting for this pending key, and with false
   * when it ends: the client keeps the process alive meanwhile.
   */
  protected waiting(_awaited: boolean): void {}

  #markAwaited(): void {
    if (this.#awaited) return;
    this.#awaited = true;
    this.waiting(true);
  }

  #end(status: FutureStatus): void {
    this.#status = status;
    if (this.#awaited) {
      this.#awaited = false;
      this.waiting(false);
    }
    this.#resolve?.();
    this.#resolve = undefined;
    this.#done = undefined;
    const listeners = this.#listeners;
    if (listeners === undefined) return;
    this.#listeners = undefined;
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        console.error(`A done-callback of future '${this.key}' threw:`, error);
      }
    }
  }
}

/** Raised by `result()` of a cancelled future. */
export class CancelledError extends Error {
  /** Always `"CancelledError"`. */
  override name = "CancelledError";
}

/** Raised by `result()` of a future whose state was lost (e.g. the scheduler restarted). */
export class FutureLostError extends Error {
  /** Always `"FutureLostError"`. */
  override name = "FutureLostError";
}

/** Raised when waiting for a future or a call takes longer than its timeout. */
export class TimeoutError extends Error {
  /** Always `"TimeoutError"`. */
  override name = "TimeoutError";
}
