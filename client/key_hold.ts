/**
 * The client's record of one key it holds: the state its Futures share, how many hold it, and
 * what the scheduler said about where its result is.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import type { WorkerAddress } from "../protocol/messages.ts";
import { FutureState } from "./future_state.ts";

/** One key held by this client: its shared state and how many Futures hold it. */
export class KeyHold extends FutureState {
  holders = 0;
  /** The workers holding the result, as the scheduler last said (fetches try them first). */
  workers: readonly WorkerAddress[] | undefined = undefined;
  /**
   * A tiny result that came with `key-in-memory` while this client was waiting to fetch it:
   * taken by the next fetch instead of asking a worker.
   */
  value: Encoded | undefined = undefined;
  /** @param awaitedChanged told when someone starts (true) and stops (false) waiting for it */
  constructor(key: Key, readonly awaitedChanged: (awaited: boolean) => void) {
    super(key);
  }

  /** Someone waits for this pending key: the client's connection keeps the process alive. */
  protected override waiting(awaited: boolean): void {
    this.awaitedChanged(awaited);
  }

  /** Pending again (recomputed, retried, resubmitted): the old holders are no longer news. */
  override reset(): void {
    this.workers = undefined;
    this.value = undefined;
    super.reset();
  }
}

/** True when the scheduler no longer holds the key for this client (it must be sent again). */
export function isGone(hold: FutureState): boolean {
  return hold.status === "cancelled" || hold.status === "lost";
}
