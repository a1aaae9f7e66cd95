/**
 * What the scheduler's requests check under tenancy (scheduler/tenancy.ts, docs/security.md): a
 * client identity reads only keys it may read, overwrites only its own, publishes over no other
 * identity's dataset, and asks for no administration. Without client identities every check passes.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import { CLUSTER_IDENTITY } from "../net/auth.ts";
import type { ClientId } from "../protocol/messages.ts";
import type { SchedulerState } from "./state.ts";
import { NO_IDENTITY } from "./tenancy.ts";
import { RequestError } from "./request_error.ts";

/** A request for keys of another identity, or for administration by a client identity. */
export class KeyAccessError extends RequestError {
  override name = "KeyAccessError";
}

/** What requests check under tenancy (scheduler/tenancy.ts); all pass without it. */
export class TenancyChecks {
  readonly #state: SchedulerState;
  constructor(state: SchedulerState) {
    this.#state = state;
  }

  get enabled(): boolean {
    return this.#state.ownership.enabled;
  }

  #identity(clientId: ClientId): string {
    return this.#state.clients.get(clientId)?.identity ?? NO_IDENTITY;
  }

  /** Only the cluster's own clients restart, retire, run code on or move data between workers. */
  checkAdmin(clientId: ClientId, method: string): void {
    if (!this.enabled || this.#identity(clientId) === CLUSTER_IDENTITY) return;
    throw new KeyAccessError(
      `${method} is for clients holding the cluster's own token; client identity ` +
        `'${this.#identity(clientId)}' may not ask for it.`,
    );
  }

  /** Which identity published each dataset: only it may replace or unpublish it. */
  readonly #publishers = new Map<string, string>();

  /** Passes when `method` leaves other identities' datasets alone (and records publishers). */
  checkPublisher(clientId: ClientId, method: string, name: unknown): void {
    if (!this.enabled || typeof name !== "string") return;
    if (method !== "publish-put" && method !== "publish-delete") return;
    const identity = this.#identity(clientId);
    const publisher = this.#publishers.get(name);
    if (publisher !== undefined && publisher !== identity) {
      throw new KeyAccessError(
        `Dataset '${name}' was published by another client identity; identity ` +
          `'${identity}' may read it but not replace or unpublish it.`,
      );
    }
    // (a put the store then refuses leaves a name recorded: it is taken either way)
    if (method === "publish-put") this.#publishers.set(name, identity);
    else this.#publishers.delete(name);
  }

  /** `keys`, if the client may read every one of them. */
  readable(clientId: ClientId, keys: Key[]): Key[] {
    if (!this.enabled) return keys;
    const refused = keys.filter((key) => !this.#state.mayRead(clientId, key));
    if (refused.length > 0) throw this.#refusal(clientId, refused, "read");
    return keys;
  }

  /** Passes if no key of `keys` belongs to another identity (alone or with this one). */
  writable(clientId: ClientId, keys: Key[]): void {
    if (!this.enabled) return;
    const identity = this.#identity(clientId);
    const refused = keys.filter((key) => {
      const task = this.#state.tasks.get(key);
      return task !== undefined && !this.#state.ownership.ownsAlone(task, identity);
    });
    if (refused.length > 0) throw this.#refusal(clientId, refused, "overwrite");
  }

  #refusal(clientId: ClientId, keys: Key[], what: string): KeyAccessError {
    const shown = keys.slice(0, 3).map((key) => `'${key}'`).join(", ") +
      (keys.length > 3 ? ` and ${keys.length - 3} more` : "");
    return new KeyAccessError(
      `Client identity '${this.#identity(clientId)}' may not ${what} ${shown}: unknown here, or ` +
        `they belong to another identity. An owner shares keys by publishing them ` +
        `(client.publishDataset).`,
    );
  }
}
