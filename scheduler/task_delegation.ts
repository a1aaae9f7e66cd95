/**
 * Task credentials under tenancy (docs/security.md, "Tenancy"): a task that calls `getClient()`
 * acts as the identity that submitted it — it reads that identity's keys and no other's — without
 * ever holding that identity's token, or the cluster's.
 *
 * When a task asks (through its worker, which proves the cluster's token), the scheduler checks
 * that the task is running on that worker right now and has one owner, a client identity, and
 * makes a credential of its own for it: a fresh identity name (`task.` and 24 random hex digits;
 * the client tokens file may not use the prefix) with a fresh random secret, proven in the
 * handshake like any identity's token and acting as the owner. It lives while the task runs on
 * that worker: once the task finishes, fails, moves or its worker goes, the name is forgotten and
 * the connections that proved it are closed. A task that acted so is never shared with another
 * identity (co_ownership.ts): its result may hold what only its owner may read.
 *
 * A task of a key several identities own gets none (it would act with more than each of them
 * may), and neither does a task of the cluster's own token (a stolen credential would carry the
 * cluster's rights: tasks of all identities share threads).
 *
 * The books are plain; the server (server.ts) does the I/O: it answers workers' `delegate-task`,
 * maps a connection's identity through {@link identityOf}, and calls {@link sweep}.
 *
 * @module
 */

import { CLUSTER_IDENTITY, TASK_IDENTITY_PREFIX } from "../net/auth.ts";
import type { Key } from "../core/task.ts";
import type { TaskRecord } from "./records.ts";
import type { KeyOwnership } from "./tenancy.ts";

/** Something the scheduler can close when a credential ends (a client connection). */
interface Closable {
  abort(reason?: string): unknown;
}

interface Delegation {
  identity: string;
  key: Key;
  worker: string;
  connections: Set<Closable>;
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export class TaskDelegations {
  /**
   * Identity tokens the scheduler's listener checks: those of the client tokens file and the
   * task credentials in force (this map is the listener's, so a credential counts at once).
   */
  readonly tokens: Map<string, string>;
  readonly #active = new Map<string, Delegation>();

  /**
   * @throws {TypeError} when a client identity's name starts with `task.` (it would stand for a
   *   task credential: over TLS, one that needs no certificate).
   */
  constructor(clientTokens: ReadonlyMap<string, string> | undefined) {
    for (const name of clientTokens?.keys() ?? []) {
      if (name.startsWith(TASK_IDENTITY_PREFIX)) {
        throw new TypeError(
          `Client identity ${name}: names starting with "${TASK_IDENTITY_PREFIX}" are the ` +
            `scheduler's own (task credentials); choose another name.`,
        );
      }
    }
    this.tokens = new Map(clientTokens);
  }

  /**
   * A credential (`name:secret`) for the client of `task`, asked for by `worker`; or why not.
   */
  issue(
    task: TaskRecord | undefined,
    key: Key,
    worker: string,
    ownership: KeyOwnership,
  ): { token: string } | { error: string } {
    if (
      task === undefined || task.state !== "processing" || task.processingOn?.address !== worker
    ) {
      return { error: `task ${key} does not run on this worker now` };
    }
    const owner = ownership.soleOwner(task);
    if (owner === undefined) {
      return {
        error: `task ${key} belongs to several client identities (each submitted it): a client ` +
          `of its own would act with more than each of them may`,
      };
    }
    if (owner === CLUSTER_IDENTITY) {
      return {
        error: `task ${key} was submitted with the cluster's own token: under tenancy tasks act ` +
          `only as client identities (a credential with the cluster's rights would reach the ` +
          `threads that every identity's tasks share)`,
      };
    }
    ownership.markDelegated(task);
    const name = TASK_IDENTITY_PREFIX + hex(crypto.getRandomValues(new Uint8Array(12)));
    const secret = hex(crypto.getRandomValues(new Uint8Array(32)));
    this.tokens.set(name, secret);
    this.#active.set(name, { identity: owner, key, worker, connections: new Set() });
    return { token: `${name}:${secret}` };
  }

  /** The identity a task credential acts as; undefined for any other name. */
  identityOf(name: string | undefined): string | undefined {
    return name === undefined ? undefined : this.#active.get(name)?.identity;
  }

  /** `connection` proved credential `name`: closed when the credential ends. */
  attach(name: string, connection: Closable): void {
    this.#active.get(name)?.connections.add(connection);
  }

  /** `connection` ended on its own. */
  detach(name: string, connection: Closable): void {
    this.#active.get(name)?.connections.delete(connection);
  }

  /**
   * Ends the credentials whose task no longer runs on the worker it was issued to (`tasks`: the
   * scheduler's books), closing their connections. Cheap when none are in force.
   */
  sweep(tasks: ReadonlyMap<Key, TaskRecord>): void {
    if (this.#active.size === 0) return;
    for (const [name, delegation] of this.#active) {
      const task = tasks.get(delegation.key);
      if (task?.state === "processing" && task.processingOn?.address === delegation.worker) {
        continue;
      }
      this.#active.delete(name);
      this.tokens.delete(name);
      for (const connection of delegation.connections) {
        void connection.abort(`task ${delegation.key}'s credential ended with the task`);
      }
    }
  }

  /** The number of credentials in force. */
  get size(): number {
    return this.#active.size;
  }
}
