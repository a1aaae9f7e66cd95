/**
 * The keys a Client holds: one {@link KeyHold} per key that its Futures share and count, what
 * the scheduler says about each key (`key-in-memory`, `task-erred`, `cancelled`, `lost`,
 * `task-retried`), which keys a fetch is waiting for (their tiny results are kept on arrival),
 * and the claims a client makes again after it reconnects. No sockets: the Client passes the
 * scheduler's messages in and tells the scheduler what `release` and `reclaim` return.
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import type { SchedulerToClientMsg } from "../protocol/messages.ts";
import { isGone, KeyHold } from "./key_hold.ts";

/** The keys one client holds, with the state their Futures share. */
export class HeldKeys {
  readonly #holds = new Map<Key, KeyHold>();
  /** Keys a fetch is waiting for, with how many fetches: their tiny results are kept on arrival. */
  readonly awaitingValues = new Map<Key, number>();
  /** Keys claimed again after a reconnection: a `lost` for them means the scheduler forgot. */
  #reclaimed = new Set<Key>();
  /** Keys someone awaits; while there are any, the connection keeps the process alive. */
  #awaited = 0;
  #releaseProcess: (() => void) | undefined;

  /**
   * @param holdProcess keeps the process alive while someone awaits a key; gives the release
   * @param schedulerAddress named when the scheduler forgot a key across a reconnection
   */
  constructor(
    readonly holdProcess: () => () => void,
    readonly schedulerAddress: string,
  ) {}

  /** The hold of `key`, if this client holds it. */
  get(key: Key): KeyHold | undefined {
    return this.#holds.get(key);
  }

  /** Every key this client holds. */
  keys(): IterableIterator<Key> {
    return this.#holds.keys();
  }

  /** The hold of `key`, made on first use (what a new Future shares). */
  stateOf(key: Key): KeyHold {
    let hold = this.#holds.get(key);
    if (hold === undefined) {
      hold = new KeyHold(key, this.#awaitedChanged);
      this.#holds.set(key, hold);
    }
    return hold;
  }

  /** True when some Future holds `key` and the scheduler still has it for this client. */
  isHeld(key: Key): boolean {
    const hold = this.#holds.get(key);
    return hold !== undefined && hold.holders > 0 && !isGone(hold);
  }

  /** One more Future holds `key`. */
  retain(key: Key): void {
    this.#holds.get(key)!.holders++;
  }

  /**
   * One Future less holds `key`; true when that was the last (the scheduler is to be told). A
   * released key that had not finished is cancelled: nothing will report on it any more.
   */
  release(key: Key): boolean {
    const hold = this.#holds.get(key);
    if (hold === undefined || --hold.holders > 0) return false;
    this.#holds.delete(key);
    if (!hold.isDone) hold.cancel("The future was released before it finished.");
    return true;
  }

  /** Resolves when every key held among `keys` has ended. */
  async waitEnded(keys: readonly Key[]): Promise<void> {
    for (const key of keys) await this.#holds.get(key)?.done;
  }

  /**
   * Marks `keys` as about to be fetched, until the returned function is called: the tiny
   * results of those that finish meanwhile are kept from their key-in-memory (no worker asked).
   */
  expect(keys: readonly Key[]): () => void {
    const awaiting = this.awaitingValues;
    for (const key of keys) awaiting.set(key, (awaiting.get(key) ?? 0) + 1);
    return () => {
      for (const key of keys) {
        const left = (awaiting.get(key) ?? 1) - 1;
        if (left > 0) awaiting.set(key, left);
        else awaiting.delete(key);
      }
    };
  }

  /** Applies what the scheduler said about a key to its hold (nothing when released meanwhile). */
  receive(msg: SchedulerToClientMsg): void {
    // the first answer about a key claimed after a reconnection settles the claim
    const reclaimed = this.#reclaimed.size > 0 && this.#reclaimed.delete(msg.key);
    const hold = this.#holds.get(msg.key);
    if (hold === undefined) return;
    switch (msg.op) {
      case "key-in-memory":
        hold.workers = msg.workers;
        if (msg.value !== undefined && this.awaitingValues.has(msg.key)) hold.value = msg.value;
        hold.finish(msg.typeName, msg.nbytes);
        return;
      case "task-erred":
        hold.fail(withKey(msg.error, msg.blamedKey));
        return;
      case "cancelled":
        if (hold.status !== "cancelled") {
          hold.cancel(msg.reason ?? "The task was cancelled on the cluster.");
        }
        return;
      case "lost":
        hold.workers = undefined;
        if (msg.error === undefined) {
          hold.reset(); // being recomputed: `key-in-memory` follows
        } else if (reclaimed) {
          hold.lose(
            `The connection to the scheduler at ${this.schedulerAddress} broke, and once ` +
              `reconnected the scheduler no longer knew this key (it restarted, or it released ` +
              `the key meanwhile). Submit the task (or scatter the data) again.`,
          );
        } else {
          hold.lose(msg.error.message);
        }
        return;
      case "task-retried":
        hold.reset();
        return;
    }
  }

  /**
   * After a reconnection: the keys to claim again from a scheduler that may have restarted (the
   * held ones not among `queued`, which go out with their submissions). Keys it does not know
   * come back as `lost`, and their futures fail saying to resubmit.
   */
  reclaim(queued: ReadonlySet<Key>): Key[] {
    const held: Key[] = [];
    for (const [key, hold] of this.#holds) {
      if (hold.holders > 0 && !isGone(hold) && !queued.has(key)) held.push(key);
    }
    this.#reclaimed = new Set(held);
    return held;
  }

  /**
   * Ends every key still pending when the client closes: cancelled when closed on purpose,
   * lost with `error` when the scheduler is gone for good.
   */
  endAll(error: Error, closedOnPurpose: boolean): void {
    for (const hold of this.#holds.values()) {
      if (hold.isDone) continue;
      if (closedOnPurpose) hold.cancel("The client was closed before this key finished.");
      else hold.lose(error.message);
    }
  }

  #awaitedChanged = (awaited: boolean): void => {
    if (awaited) {
      if (this.#awaited++ === 0) this.#releaseProcess = this.holdProcess();
    } else if (--this.#awaited === 0) {
      this.#releaseProcess?.();
      this.#releaseProcess = undefined;
    }
  };
}

/** The error record with the failing task's key, so `error.key` names it. */
function withKey(record: ErrorRecord, blamedKey: Key): ErrorRecord {
  return record.key === undefined ? { ...record, key: blamedKey } : record;
}
