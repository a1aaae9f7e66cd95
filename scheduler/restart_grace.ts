/**
 * What a restarted scheduler (without a journal) does with keys it does not know, during a grace
 * period after its start: workers that reconnect still hold results, and clients that reconnect
 * ask for keys, in either order. Results a worker brings are kept aside ("orphans") instead of
 * being freed; a client asking for a key nobody brought yet waits instead of hearing `lost`. At
 * the end of the grace period the orphans nobody asked for are freed and the waiting clients hear
 * `lost`. Without it, a client that reconnected 0.4 s before the workers lost every future,
 * finished ones too.
 *
 * Pure bookkeeping: scheduler/state.ts asks and acts; the time comes in with each event.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { WorkerAddress } from "../protocol/messages.ts";

/** A result a reconnecting worker holds that the books do not know. */
export interface OrphanCopy {
  workers: WorkerAddress[];
  nbytes: number;
  typeName: string;
}

/**
 * The grace period's bookkeeping; `C` is how the state machine names a client, `G` a graph
 * submission that waits for inputs workers have not brought yet.
 */
export class RestartGrace<C, G> {
  #endsAt: number | undefined;
  #over = false;
  readonly #orphans = new Map<Key, OrphanCopy>();
  readonly #waiting = new Map<Key, Set<C>>();
  #parked: [C, G][] = [];

  /** @param seconds length of the grace period from the first event; 0 disables it */
  constructor(readonly seconds: number) {
    if (!(seconds > 0)) this.#over = true;
  }

  /** True while unknown keys are kept and awaited; starts the clock at the first call. */
  open(now: number): boolean {
    if (this.#over) return false;
    this.#endsAt ??= now + this.seconds;
    return now < this.#endsAt;
  }

  /** A reconnecting worker holds `key`, which the books do not know. */
  addOrphan(key: Key, worker: WorkerAddress, held: { nbytes: number; typeName?: string }): void {
    const copy = this.#orphans.get(key);
    if (copy === undefined) {
      this.#orphans.set(key, {
        workers: [worker],
        nbytes: held.nbytes,
        typeName: held.typeName ?? "unknown",
      });
    } else if (!copy.workers.includes(worker)) copy.workers.push(worker);
  }

  /** True when a worker brought a copy of `key` nobody took yet. */
  hasOrphan(key: Key): boolean {
    // asked for every task of every graph; orphans exist only for a while after a restart
    return this.#orphans.size > 0 && this.#orphans.has(key);
  }

  /** Takes the orphan copy of `key` (it enters the books), if a worker brought one. */
  takeOrphan(key: Key): OrphanCopy | undefined {
    const copy = this.#orphans.get(key);
    this.#orphans.delete(key);
    return copy;
  }

  /** `client` asked for `key`, which neither the books nor any worker has yet. */
  await(key: Key, client: C): void {
    let clients = this.#waiting.get(key);
    if (clients === undefined) this.#waiting.set(key, clients = new Set());
    clients.add(client);
  }

  /** True when a client waits for `key`. */
  isAwaited(key: Key): boolean {
    return this.#waiting.has(key);
  }

  /** The clients waiting for `key` (forgotten here). */
  takeWaiting(key: Key): Set<C> | undefined {
    const clients = this.#waiting.get(key);
    this.#waiting.delete(key);
    return clients;
  }

  /** `client` submitted `graph`, whose inputs include keys no worker brought yet. */
  park(client: C, graph: G): void {
    this.#parked.push([client, graph]);
  }

  /** The parked submissions, in order (forgotten here: submit them again). */
  takeParked(): [C, G][] {
    const parked = this.#parked;
    this.#parked = [];
    return parked;
  }

  /** A worker left: its orphan copies are gone. */
  removeWorker(worker: WorkerAddress): void {
    for (const [key, copy] of this.#orphans) {
      copy.workers = copy.workers.filter((w) => w !== worker);
      if (copy.workers.length === 0) this.#orphans.delete(key);
    }
  }

  /** A client left: it waits for nothing any more. */
  removeClient(client: C): void {
    this.#parked = this.#parked.filter(([c]) => c !== client);
    for (const [key, clients] of this.#waiting) {
      clients.delete(client);
      if (clients.size === 0) this.#waiting.delete(key);
    }
  }

  /**
   * Ends the grace period once its time is up: returns the orphans nobody asked for (to free)
   * and the keys clients still wait for (to answer `lost`); undefined while it lasts.
   */
  expire(now: number): { orphans: Map<Key, OrphanCopy>; waiting: Map<Key, Set<C>> } | undefined {
    if (this.#over || this.open(now)) return undefined;
    this.#over = true;
    return { orphans: new Map(this.#orphans), waiting: new Map(this.#waiting) };
  }
}
