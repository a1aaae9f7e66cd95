/**
 * Futures going into and coming out of a Client: making a Future of a key (pending again when
 * the scheduler had dropped it), checking that a Future passed to a task or a method may be used
 * here, and adopting another client's Future of the same scheduler — this client then holds the
 * key too (clients share data by key) through a Future kept until the submission that reads it
 * has ended.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import { Future, type FutureOwner } from "./future.ts";
import { CancelledError } from "./future_state.ts";
import type { HeldKeys } from "./held_keys.ts";
import { isGone } from "./key_hold.ts";

/** What {@link FutureKeys} needs of its client. */
export interface FutureKeysHost {
  /** The client: the owner of the Futures made here. */
  readonly owner: FutureOwner;
  /** The keys the client holds. */
  readonly keys: HeldKeys;
  /** The scheduler address of a Future's owner, when it is a Client. */
  schedulerOf(owner: FutureOwner): string | undefined;
  /** Throws when the client is closed. */
  checkOpen(): void;
  /** Asks the scheduler to keep `keys` for this client (they were dropped or held elsewhere). */
  desire(keys: readonly Key[]): void;
}

/** The Futures of one client, and the other clients' Futures its submissions read. */
export class FutureKeys {
  /** Futures of other clients that the submission being built reads (see `futureKey`). */
  #borrowing: Future[] = [];

  constructor(readonly host: FutureKeysHost) {}

  /** A new Future of `key`, making a key the scheduler dropped for this client pending again. */
  newFuture = (key: Key): Future => {
    const hold = this.host.keys.get(key);
    if (hold !== undefined && isGone(hold)) hold.reset();
    return new Future(key, this.host.owner);
  };

  /** A new Future of a key this client holds and the cluster still has, if any. */
  heldFuture = (key: Key): Future | undefined => {
    if (!this.host.keys.isHeld(key)) return undefined;
    this.#borrowing = []; // the held key needs none of what its arguments borrowed
    return new Future(key, this.host.owner);
  };

  /**
   * A Future for a key the cluster already holds; asks the scheduler for it unless this client
   * holds it already. Its status follows the key's; an unknown key ends as `lost`.
   */
  futureOf<T>(key: Key): Future<T> {
    this.host.checkOpen();
    const fresh = !this.host.keys.isHeld(key);
    const hold = this.host.keys.get(key);
    if (hold !== undefined && isGone(hold)) hold.reset();
    const future = new Future<T>(key, this.host.owner);
    if (fresh) this.host.desire([key]);
    return future;
  }

  /**
   * Checks a Future may go into this client's tasks; gives its key. Another client's Future of
   * the same scheduler is adopted (see the module's note).
   *
   * @throws {CancelledError} for a cancelled Future: as in Dask, the task reading it is
   *   cancelled too (submit catches this).
   */
  futureKey = (future: Future): Key => {
    if (future.client !== this.host.owner) return this.#adopt(future);
    const hold = this.host.keys.get(future.key);
    if (hold === undefined) {
      throw new Error(
        `The future '${future.key}' was released, so a task cannot read it; keep a future ` +
          `(do not release() it) while tasks are submitted with it.`,
      );
    }
    if (hold.status === "cancelled") {
      throw new CancelledError(
        `The future '${future.key}' passed as an argument was cancelled, so the task reading ` +
          `it cannot run.`,
      );
    }
    if (isGone(hold)) {
      throw new Error(
        `The future '${future.key}' was ${future.status}: the cluster no longer has its data, ` +
          `so a task cannot read it. Submit its task (or scatter its data) again and pass the ` +
          `new future.`,
      );
    }
    return future.key;
  };

  /** `futureKey` for a holder that keeps the key itself (a published dataset): nothing borrowed. */
  keyKeptElsewhere = (future: Future): Key => {
    const key = this.futureKey(future);
    this.#borrowing = [];
    return key;
  };

  /** Keeps the futures borrowed while building `future`'s submission until it has ended. */
  keepBorrowed = (future: Future): void => {
    if (this.#borrowing.length === 0) return;
    const borrowed = this.#borrowing;
    this.#borrowing = [];
    future.addDoneCallback(() => borrowed.length = 0);
  };

  /**
   * A future of `key` that is cancelled at once, never sent: what submitting with a cancelled
   * argument gives, as in Dask (awaiting it rejects with CancelledError).
   */
  cancelledFuture = (key: Key, error: CancelledError): Future => {
    this.#borrowing = [];
    const future = this.newFuture(key);
    const hold = this.host.keys.get(key)!;
    if (!hold.isDone) hold.cancel(error.message);
    return future;
  };

  /** The keys of Futures of this client. @throws for a Future of another client. */
  ownKeys(futures: Future | Iterable<Future>): Key[] {
    const list = futures instanceof Future ? [futures] : [...futures];
    for (const future of list) this.checkOwn(future);
    return list.map((f) => f.key);
  }

  /** @throws for a Future of another client, saying how to get one of this client. */
  checkOwn(future: Future): void {
    const owner = this.host.owner;
    if (future.client !== owner) {
      throw new Error(
        `The future '${future.key}' belongs to another client (${future.client.id}), not to ` +
          `${owner.id}. Use it with the client that made it, or get a future of this client for ` +
          `the same key with client.futureOf(key).`,
      );
    }
  }

  #adopt(future: Future): Key {
    const other = future.client;
    const here = this.host.schedulerOf(this.host.owner);
    const there = this.host.schedulerOf(other);
    if (there === undefined || there !== here) {
      throw new Error(
        `The future '${future.key}' belongs to a client of another scheduler ` +
          `(${there ?? other.id}); this client's scheduler (${here}) does not have its data. ` +
          `Gather its value there and scatter it here.`,
      );
    }
    if (!this.host.keys.isHeld(future.key)) this.#borrowing.push(this.futureOf(future.key));
    return future.key;
  }
}
