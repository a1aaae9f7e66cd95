/**
 * What the scheduler's journal remembers (docs/architecture.md, "Scheduler journal"): the records
 * derived from the scheduler's events, and the book they fold into — who wants which key, the
 * specs of the tasks those keys need, published datasets, the shared state clients coordinate
 * through (queues' items, variables' values, semaphores' and locks' leases) and the workers that
 * were members.
 *
 * Pure: no files and no clock. scheduler/server.ts derives records from the events it feeds the
 * state machine ({@link recordsFor}); scheduler/journal.ts writes and reads them; at start the
 * book turns back into events ({@link JournalBook.replayEvents}) that the server feeds like any
 * other. Finished tasks keep their specs while someone wants them: a result whose last copy died
 * with its worker is computed again from them, as it would have been without the restart.
 *
 * @module
 */

import { FunctionReceiver } from "../core/function_link.ts";
import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import type {
  ClientId,
  ClientToSchedulerMsg,
  GraphTaskSpec,
  WorkerAddress,
} from "../protocol/messages.ts";
import type { SchedulerEvent } from "./events.ts";

/** A published dataset as the journal keeps it. */
export interface JournaledDataset {
  keys: Key[];
  value: Encoded;
}

/** A queue as the journal keeps it: its bound (0: none) and its items, oldest first. */
export interface JournaledQueue {
  maxsize: number;
  items: JournaledDataset[];
}

/** A semaphore (a Lock is one of one lease): its size and who holds which lease. */
export interface JournaledSemaphore {
  maxLeases: number;
  /** lease id → the client holding it */
  leases: [string, ClientId][];
}

/**
 * A change of the shared state clients coordinate through, written by the request layer
 * (scheduler/coordination/requests.ts) as it happens. The keys those objects hold are journaled
 * apart, as the messages of their holders (`queue-<name>`, `variable-<name>`).
 */
export type SharedStateRecord =
  | { t: "queue-declare"; name: string; maxsize: number }
  | { t: "queue-put"; name: string; item: JournaledDataset }
  | { t: "queue-take"; name: string; n: number }
  | { t: "variable"; name: string; value: JournaledDataset | null }
  | { t: "semaphore"; name: string; maxLeases: number }
  | { t: "lease"; name: string; lease: string; holder: ClientId | null }
  | { t: "event"; name: string; set: boolean }
  /** A granted multi-lock request and the locks it holds; `holder` null: released. */
  | { t: "multi-lock"; id: string; names: string[]; holder: ClientId | null };

/** One line of the journal. */
export type JournalRecord =
  | SharedStateRecord
  | { t: "msg"; client: ClientId; msg: ClientToSchedulerMsg }
  | { t: "client"; client: ClientId; identity: string }
  | { t: "gone"; client: ClientId }
  | { t: "final"; keys: Key[] }
  | { t: "worker"; address: WorkerAddress; member: boolean }
  | { t: "dataset"; name: string; dataset: JournaledDataset | null }
  | { t: "restart" }
  | {
    t: "snapshot";
    tasks: GraphTaskSpec[];
    clients: [ClientId, Key[]][];
    identities?: [ClientId, string][];
    fireAndForget: Key[];
    datasets: [string, JournaledDataset][];
    workers: WorkerAddress[];
    /** Absent in journals written before shared state was kept. */
    queues?: [string, JournaledQueue][];
    variables?: [string, JournaledDataset][];
    semaphores?: [string, JournaledSemaphore][];
    /** The Events that are set (absent in journals written before Events were kept). */
    events?: string[];
    /** Granted multi-lock requests (absent in journals written before they were kept). */
    multiLocks?: [string, { names: string[]; holder: ClientId }][];
  };

/** The pseudo-client that resubmits the journaled graph at start, then lets go of it. */
export const REPLAY_CLIENT: ClientId = "journal-replay";

/**
 * The records one event of the state machine adds to the journal (none for most: heartbeats,
 * task progress). `fireAndForget` says which keys the journal keeps alive until final, so a
 * worker's `task-finished` is journaled only for them.
 */
export function recordsFor(
  event: SchedulerEvent,
  fireAndForget: ReadonlySet<Key>,
): JournalRecord[] {
  switch (event.type) {
    case "client-message":
      return [{ t: "msg", client: event.client, msg: withFullFunctions(event.msg) }];
    case "client-connected":
      return event.identity === undefined
        ? []
        : [{ t: "client", client: event.client, identity: event.identity }];
    case "client-disconnected":
      return [{ t: "gone", client: event.client }];
    case "worker-added":
      return [{ t: "worker", address: event.worker.address, member: true }];
    case "worker-removed":
    case "worker-lost":
      return [{ t: "worker", address: event.worker, member: false }];
    case "restart":
      return [{ t: "restart" }];
    case "worker-message": {
      if (fireAndForget.size === 0) return [];
      const msg = event.msg;
      if (
        (msg.op === "task-finished" || msg.op === "task-erred") && fireAndForget.has(msg.key)
      ) return [{ t: "final", keys: [msg.key] }];
      return [];
    }
    default:
      return [];
  }
}

/**
 * An `update-graph` whose tasks each carry their whole function: on the wire a function travels
 * in full once per message and by id after (core/function_link.ts); the journal keeps tasks
 * beyond their message.
 */
function withFullFunctions(msg: ClientToSchedulerMsg): ClientToSchedulerMsg {
  if (msg.op !== "update-graph" || msg.tasks.every((spec) => typeof spec.fn !== "string")) {
    return msg;
  }
  const functions = new FunctionReceiver();
  return { ...msg, tasks: msg.tasks.map((spec) => ({ ...spec, fn: functions.expand(spec.fn) })) };
}

/** The journal's records folded: what a restarted scheduler must know again. */
export class JournalBook {
  /**
   * Task specs as their graphs arrived, one array per graph. They are indexed by key only when
   * a cancel, a snapshot or the replay reads them ({@link tasks}): a 10,000-task map then costs
   * the book one push, not 10,000 map inserts on the scheduler's busiest path.
   */
  #graphs: GraphTaskSpec[][] = [];
  /** Specs by key (the first to arrive wins), over `#graphs[0 .. #indexed)`. */
  readonly #index = new Map<Key, GraphTaskSpec>();
  #indexed = 0;
  /** The keys each client (or dataset holder) wants. */
  readonly wants = new Map<ClientId, Set<Key>>();
  /** The identity each client authenticated as (tenancy), when the server said. */
  readonly identities = new Map<ClientId, string>();
  readonly fireAndForget = new Set<Key>();
  readonly datasets = new Map<string, JournaledDataset>();
  readonly workers = new Set<WorkerAddress>();
  readonly queues = new Map<string, JournaledQueue>();
  readonly variables = new Map<string, JournaledDataset>();
  /** Semaphores and locks; leases by lease id. */
  readonly semaphores = new Map<string, { maxLeases: number; leases: Map<string, ClientId> }>();
  /** The Events that are set (a cleared Event is as one never set). */
  readonly events = new Set<string>();
  /** Granted multi-lock requests by id: the lock names held, and by whom. */
  readonly multiLocks = new Map<string, { names: string[]; holder: ClientId }>();

  /** Task specs by key, in the order they arrived (a snapshot keeps that order). */
  get tasks(): ReadonlyMap<Key, GraphTaskSpec> {
    for (; this.#indexed < this.#graphs.length; this.#indexed++) {
      for (const spec of this.#graphs[this.#indexed]) {
        if (!this.#index.has(spec.key)) this.#index.set(spec.key, spec);
      }
    }
    return this.#index;
  }

  /** Replaces every spec with `specs`. */
  #resetTasks(specs: GraphTaskSpec[]): void {
    this.#graphs = specs.length === 0 ? [] : [specs];
    this.#index.clear();
    this.#indexed = 0;
  }

  /** True when there is nothing to bring back. */
  get isEmpty(): boolean {
    for (const keys of this.wants.values()) if (keys.size > 0) return false;
    return this.fireAndForget.size === 0 && this.datasets.size === 0 && this.queues.size === 0 &&
      this.variables.size === 0 && this.semaphores.size === 0 && this.events.size === 0 &&
      this.multiLocks.size === 0;
  }

  /** The clients holding a lease of a semaphore or lock, or a multi-lock. */
  leaseHolders(): Set<ClientId> {
    const holders = new Set<ClientId>();
    for (const { leases } of this.semaphores.values()) {
      for (const holder of leases.values()) holders.add(holder);
    }
    for (const { holder } of this.multiLocks.values()) holders.add(holder);
    return holders;
  }

  apply(record: JournalRecord): void {
    switch (record.t) {
      case "msg":
        return this.#message(record.client, record.msg);
      case "client":
        this.identities.set(record.client, record.identity);
        return;
      case "gone":
        this.wants.delete(record.client);
        this.identities.delete(record.client);
        // as the scheduler does: a client that left gives its leases back
        for (const { leases } of this.semaphores.values()) {
          for (const [lease, holder] of leases) if (holder === record.client) leases.delete(lease);
        }
        for (const [id, { holder }] of this.multiLocks) {
          if (holder === record.client) this.multiLocks.delete(id);
        }
        return;
      case "queue-declare": {
        // the first bound stays, as in Queues.declare (only bounds are journaled)
        const queue = this.queues.get(record.name);
        if (queue === undefined) {
          this.queues.set(record.name, { maxsize: record.maxsize, items: [] });
        } else if (queue.maxsize === 0) queue.maxsize = record.maxsize;
        return;
      }
      case "queue-put": {
        let queue = this.queues.get(record.name);
        if (queue === undefined) this.queues.set(record.name, queue = { maxsize: 0, items: [] });
        queue.items.push(record.item);
        return;
      }
      case "queue-take": {
        const queue = this.queues.get(record.name);
        if (queue === undefined) return;
        queue.items.splice(0, record.n);
        if (queue.items.length === 0 && queue.maxsize === 0) this.queues.delete(record.name);
        return;
      }
      case "variable":
        if (record.value === null) this.variables.delete(record.name);
        else this.variables.set(record.name, record.value);
        return;
      case "semaphore":
        if (!this.semaphores.has(record.name)) {
          this.semaphores.set(record.name, { maxLeases: record.maxLeases, leases: new Map() });
        }
        return;
      case "lease": {
        const leases = this.semaphores.get(record.name)?.leases;
        if (leases === undefined) return;
        if (record.holder === null) leases.delete(record.lease);
        else leases.set(record.lease, record.holder);
        return;
      }
      case "multi-lock":
        if (record.holder === null) this.multiLocks.delete(record.id);
        else this.multiLocks.set(record.id, { names: record.names, holder: record.holder });
        return;
      case "event":
        if (record.set) this.events.add(record.name);
        else this.events.delete(record.name);
        return;
      case "final":
        for (const key of record.keys) this.fireAndForget.delete(key);
        return;
      case "worker":
        if (record.member) this.workers.add(record.address);
        else this.workers.delete(record.address);
        return;
      case "dataset":
        if (record.dataset === null) this.datasets.delete(record.name);
        else this.datasets.set(record.name, record.dataset);
        return;
      case "restart":
        // as on the scheduler: every held key is cancelled; the datasets stay published
        this.#resetTasks([]);
        this.wants.clear();
        this.fireAndForget.clear();
        return;
      case "snapshot":
        this.#resetTasks(record.tasks);
        this.wants.clear();
        for (const [client, keys] of record.clients) this.wants.set(client, new Set(keys));
        this.identities.clear();
        for (const [client, identity] of record.identities ?? []) {
          this.identities.set(client, identity);
        }
        this.fireAndForget.clear();
        for (const key of record.fireAndForget) this.fireAndForget.add(key);
        this.datasets.clear();
        for (const [name, dataset] of record.datasets) this.datasets.set(name, dataset);
        this.workers.clear();
        for (const address of record.workers) this.workers.add(address);
        this.queues.clear();
        for (const [name, queue] of record.queues ?? []) this.queues.set(name, queue);
        this.variables.clear();
        for (const [name, value] of record.variables ?? []) this.variables.set(name, value);
        this.semaphores.clear();
        for (const [name, { maxLeases, leases }] of record.semaphores ?? []) {
          this.semaphores.set(name, { maxLeases, leases: new Map(leases) });
        }
        this.events.clear();
        for (const name of record.events ?? []) this.events.add(name);
        this.multiLocks.clear();
        for (const [id, held] of record.multiLocks ?? []) this.multiLocks.set(id, held);
        return;
    }
  }

  #wanted(client: ClientId): Set<Key> {
    let keys = this.wants.get(client);
    if (keys === undefined) this.wants.set(client, keys = new Set());
    return keys;
  }

  #message(client: ClientId, msg: ClientToSchedulerMsg): void {
    switch (msg.op) {
      case "update-graph": {
        // a copy of the list: the message stays the state machine's
        if (msg.tasks.length > 0) this.#graphs.push(msg.tasks.slice());
        const wanted = this.#wanted(client);
        for (const key of msg.keys) wanted.add(key);
        return;
      }
      case "scatter": {
        const wanted = this.#wanted(client);
        for (const item of msg.data) wanted.add(item.key);
        return;
      }
      case "client-desires-keys": {
        const wanted = this.#wanted(client);
        for (const key of msg.keys) wanted.add(key);
        return;
      }
      case "client-releases-keys": {
        const wanted = this.wants.get(client);
        if (wanted !== undefined) { for (const key of msg.keys) wanted.delete(key); }
        return;
      }
      case "fire-and-forget":
        for (const key of msg.keys) this.fireAndForget.add(key);
        return;
      case "cancel":
        return this.#cancel(client, msg.keys, msg.force === true);
      case "retry":
        return;
    }
  }

  /** Cancelled keys and their dependents are no longer wanted (by anyone, when forced). */
  #cancel(client: ClientId, keys: Key[], force: boolean): void {
    const specs = this.tasks;
    const gone = new Set(keys);
    // dependents, to a fixed point (cancel is rare: a scan per round is fine)
    for (let grew = true; grew;) {
      grew = false;
      for (const spec of specs.values()) {
        if (!gone.has(spec.key) && spec.deps.some((dep) => gone.has(dep))) {
          gone.add(spec.key);
          grew = true;
        }
      }
    }
    const holders = force ? [...this.wants.values()] : [this.wants.get(client)];
    for (const wanted of holders) {
      if (wanted !== undefined) { for (const key of gone) wanted.delete(key); }
    }
    if (force) { for (const key of gone) this.fireAndForget.delete(key); }
  }

  /** The specs someone still needs: those of wanted keys and, transitively, of their inputs. */
  liveTasks(): GraphTaskSpec[] {
    const roots: Key[] = [...this.fireAndForget];
    for (const keys of this.wants.values()) for (const key of keys) roots.push(key);
    return this.#closure(roots, new Set());
  }

  /** The specs `roots` need that are not in `done` (added to it), in arrival order. */
  #closure(roots: Iterable<Key>, done: Set<Key>): GraphTaskSpec[] {
    const specs = this.tasks;
    const found = new Set<Key>();
    const stack = [...roots];
    while (stack.length > 0) {
      const key = stack.pop()!;
      if (found.has(key) || done.has(key)) continue;
      const spec = specs.get(key);
      if (spec === undefined) continue;
      found.add(key);
      done.add(key);
      for (const dep of spec.deps) stack.push(dep);
    }
    const tasks: GraphTaskSpec[] = [];
    for (const spec of specs.values()) if (found.has(spec.key)) tasks.push(spec);
    return tasks;
  }

  /** One record that says everything still needed (specs nobody needs are dropped here too). */
  snapshot(): JournalRecord {
    const tasks = this.liveTasks();
    this.#resetTasks(tasks);
    for (const [client, keys] of this.wants) if (keys.size === 0) this.wants.delete(client);
    return {
      t: "snapshot",
      tasks,
      clients: [...this.wants].map(([client, keys]) => [client, [...keys]]),
      identities: [...this.identities].filter(([client]) => this.wants.has(client)),
      fireAndForget: [...this.fireAndForget],
      datasets: [...this.datasets],
      workers: [...this.workers],
      queues: [...this.queues],
      variables: [...this.variables],
      semaphores: [...this.semaphores].map(([name, { maxLeases, leases }]) => [
        name,
        { maxLeases, leases: [...leases] },
      ]),
      events: [...this.events],
      multiLocks: [...this.multiLocks],
    };
  }

  /**
   * The events that bring the books back, fed after the workers re-registered (their results wait
   * as orphans of the restart grace, and the graph adopts them instead of computing again): each
   * client (and dataset holder), under its own id and identity, submits the live tasks its keys
   * need that no earlier client submitted, wanting its keys; keys without a spec (scattered) are
   * claimed back from the workers. Fire-and-forget keys nobody wants come through the replay
   * client, which then lets go.
   */
  replayEvents(now: number): SchedulerEvent[] {
    const events: SchedulerEvent[] = [];
    const specs = this.tasks;
    const submitted = new Set<Key>();
    // copies: the state machine expands functions in place and must not touch the book's specs
    const graphOf = (client: ClientId, roots: Iterable<Key>, keys: Key[]) => {
      const tasks = this.#closure(roots, submitted).map((spec) => ({ ...spec }));
      const msg: ClientToSchedulerMsg = { op: "update-graph", tasks, keys };
      events.push({ type: "client-message", client, msg, now });
    };
    for (const [client, keys] of this.wants) {
      if (keys.size === 0) continue;
      const identity = this.identities.get(client);
      if (identity !== undefined) {
        events.push({ type: "client-connected", client, identity, now });
      }
      const withSpec = [...keys].filter((key) => specs.has(key));
      graphOf(client, withSpec, withSpec);
      const scattered = [...keys].filter((key) => !specs.has(key));
      if (scattered.length > 0) {
        const msg: ClientToSchedulerMsg = { op: "client-desires-keys", keys: scattered };
        events.push({ type: "client-message", client, msg, now });
      }
    }
    if (this.fireAndForget.size > 0) {
      const keys = [...this.fireAndForget].filter((key) => specs.has(key));
      graphOf(REPLAY_CLIENT, keys, keys);
      const msg: ClientToSchedulerMsg = { op: "fire-and-forget", keys };
      events.push({ type: "client-message", client: REPLAY_CLIENT, msg, now });
      events.push({ type: "client-disconnected", client: REPLAY_CLIENT, now });
    }
    return events;
  }
}
