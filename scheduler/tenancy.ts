/**
 * Tenancy: which client identities may touch which keys (docs/security.md, "Tenancy"). A client
 * authenticates as an identity — the cluster's token is identity `cluster`; each line of the
 * scheduler's client tokens file, or a client certificate's subject, is one more. A key belongs to
 * the identities whose graphs or scatters made it, and to those that submitted the very same
 * spec for it (co_ownership.ts); an identity whose client holds it (it was handed over) may read
 * it too; keys held by the scheduler's own holders — published datasets, named variables and
 * queues — are readable by every identity, since putting futures there is how one shares them.
 * Clients of one identity share keys as Dask's clients do.
 *
 * Pure books, consulted by client_intake.ts and the server's requests; they cost nothing when
 * tenancy is off (no client tokens file): every check passes and nothing is recorded.
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import type { ClientRecord, TaskRecord } from "./records.ts";

/** The identity of the scheduler's own holders (datasets, variables, queues): shared with all. */
export const SHARED_IDENTITY = "*";
/** The identity of holders that grant nobody anything (fire-and-forget). */
export const NO_IDENTITY = "";

/** Who owns which task; a WeakMap, so a forgotten task takes its owners with it. */
export class KeyOwnership {
  /** False without client identities: every check passes, nothing is recorded. */
  readonly enabled: boolean;
  readonly #owners = new WeakMap<TaskRecord, string | Set<string>>();
  readonly #delegated = new WeakSet<TaskRecord>();

  constructor(enabled: boolean) {
    this.enabled = enabled;
  }

  /** `identity` owns `task` from now on. */
  claim(task: TaskRecord, identity: string): void {
    if (!this.enabled || identity === SHARED_IDENTITY || identity === NO_IDENTITY) return;
    const owners = this.#owners.get(task);
    if (owners === undefined) this.#owners.set(task, identity);
    else if (typeof owners === "string") {
      if (owners !== identity) this.#owners.set(task, new Set([owners, identity]));
    } else owners.add(identity);
  }

  /** Whether `identity` made `task` or was handed it (always, without tenancy). */
  owns(task: TaskRecord, identity: string): boolean {
    if (!this.enabled || identity === SHARED_IDENTITY) return true;
    const owners = this.#owners.get(task);
    return owners === identity || (typeof owners === "object" && owners.has(identity));
  }

  /**
   * Whether `identity` is `task`'s only owner (always, without tenancy). A key several identities
   * own (each submitted the same spec: co_ownership.ts) keeps that spec and its value: no owner
   * may scatter over it or give it a new one, which would overwrite what the others asked for.
   */
  ownsAlone(task: TaskRecord, identity: string): boolean {
    if (!this.enabled || identity === SHARED_IDENTITY) return true;
    return this.#owners.get(task) === identity;
  }

  /** The one identity that owns `task`, or undefined when it has none or several. */
  soleOwner(task: TaskRecord): string | undefined {
    const owners = this.#owners.get(task);
    return typeof owners === "string" ? owners : undefined;
  }

  /** `task` acted as its owner (scheduler/task_delegation.ts): never shared from now on. */
  markDelegated(task: TaskRecord): void {
    this.#delegated.add(task);
  }

  /** Whether `task` acted as its owner: another identity may not join it (co_ownership.ts). */
  delegated(task: TaskRecord): boolean {
    return this.#delegated.has(task);
  }

  /**
   * Whether a client of `identity` may read `task`'s result, hold it, or build on it: its owners
   * may, and so may an identity that holds it (it was handed over) or anyone while a shared
   * holder holds it. Holding grants no more: only owners give a key a new spec.
   */
  mayRead(task: TaskRecord, identity: string): boolean {
    if (this.owns(task, identity)) return true;
    for (const holder of task.whoWants) {
      if (holder.identity === SHARED_IDENTITY || holder.identity === identity) return true;
    }
    return false;
  }

  /** Whether `a` and `b` act as one (the same identity, or tenancy off). */
  sameIdentity(a: ClientRecord, b: ClientRecord): boolean {
    return !this.enabled || a.identity === b.identity;
  }
}

/** The error a client gets for a key of another identity. */
export function keyAccessError(key: Key, identity: string): ErrorRecord {
  return {
    name: "KeyAccessError",
    message: `Key '${key}' belongs to another client identity: identity '${identity}' may not ` +
      `read, hold, build on or overwrite it. Its owner can share it by publishing it ` +
      `(client.publishDataset); to compute the same thing yourself, submit it under another ` +
      `key (the key option, or pure: false).`,
    key,
  };
}
