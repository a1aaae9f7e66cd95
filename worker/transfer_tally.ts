/**
 * Bytes this worker received from its peers since the last heartbeat, by peer and by type: the
 * heartbeat carries them (`transfers`) and the scheduler adds them up, from which the dashboard
 * draws bandwidth by worker pair and by type.
 *
 * @module
 */

import type { TransferTotals } from "../protocol/messages.ts";

export class TransferTally {
  #peers: Record<string, number> = {};
  #types: Record<string, number> = {};
  #empty = true;

  /** `bytes` of a value of `typeName` arrived from `peer`. */
  add(peer: string, typeName: string, bytes: number): void {
    this.#peers[peer] = (this.#peers[peer] ?? 0) + bytes;
    this.#types[typeName] = (this.#types[typeName] ?? 0) + bytes;
    this.#empty = false;
  }

  /** What arrived since the last call, and forgets it; null when nothing did. */
  take(): TransferTotals | null {
    if (this.#empty) return null;
    const totals = { peers: this.#peers, types: this.#types };
    this.#peers = {};
    this.#types = {};
    this.#empty = true;
    return totals;
  }
}
