/**
 * Client intake: what clients ask of the scheduler — graphs (`update-graph`), scattered data,
 * wanting and releasing keys, fire-and-forget, cancel and retry — and the restart grace (a
 * restarted scheduler keeps unknown keys a while for reconnecting workers and clients). It decides
 * which tasks exist and who wants them; the state changes it causes go through {@link TaskMoves}.
 *
 * @module
 */

import { FunctionReceiver } from "../core/function_link.ts";
import type { Key } from "../core/task.ts";
import { ArgsArena, packArgs } from "./args_arena.ts";
import {
  type ClientId,
  type ClientToSchedulerMsg,
  FIRE_AND_FORGET,
  type GraphTaskSpec,
  type Priority,
  type UpdateGraphMsg,
  type WorkerAddress,
} from "../protocol/messages.ts";
import { ClientRecord, type TaskRecord, type WorkerRecord } from "./records.ts";
import { findCycles } from "./cycles.ts";
import {
  cycleError,
  lostDataError,
  missingDependencyError,
  unknownKeyError,
} from "./scheduler_errors.ts";
import type { RestartGrace } from "./restart_grace.ts";
import type { SchedulerOutbox } from "./outbox.ts";
import type { Replicas } from "./replicas.ts";
import type { TaskMoves } from "./task_moves.ts";
import { keyAccessError, type KeyOwnership, NO_IDENTITY } from "./tenancy.ts";
import { joinableTasks, sameTaskSpec } from "./co_ownership.ts";
import { deriveFunctionIds } from "./function_identity.ts";
import { missingData } from "./missing_data.ts";

export class ClientIntake {
  readonly clients = new Map<ClientId, ClientRecord>();
  /** Holds the keys submitted with `fire-and-forget` until they are final. */
  readonly #fireAndForget: ClientRecord;
  /** Where small task arguments are kept (args_arena.ts). */
  readonly #argsArena = new ArgsArena();
  #generation = 0;
  readonly #moves: TaskMoves;
  readonly #outbox: SchedulerOutbox;
  readonly #replicas: Replicas;
  readonly #grace: RestartGrace<ClientRecord, UpdateGraphMsg>;
  readonly #workers: ReadonlyMap<WorkerAddress, WorkerRecord>;
  readonly #ownership: KeyOwnership;

  constructor(
    moves: TaskMoves,
    outbox: SchedulerOutbox,
    replicas: Replicas,
    grace: RestartGrace<ClientRecord, UpdateGraphMsg>,
    workers: ReadonlyMap<WorkerAddress, WorkerRecord>,
    books: { ownership: KeyOwnership },
  ) {
    this.#ownership = books.ownership;
    this.#moves = moves;
    this.#outbox = outbox;
    this.#replicas = replicas;
    this.#grace = grace;
    this.#workers = workers;
    this.#fireAndForget = new ClientRecord(FIRE_AND_FORGET, 0, NO_IDENTITY);
    this.clients.set(FIRE_AND_FORGET, this.#fireAndForget);
  }

  /** A task that became final is no longer kept alive for fire-and-forget. */
  releaseFireAndForget(task: TaskRecord): void {
    if (this.#fireAndForget.wantsWhat.delete(task)) task.deleteWant(this.#fireAndForget);
  }

  /** The record of client `id`, made when it is first seen (as `identity`: tenancy.ts). */
  connected(id: ClientId, identity = NO_IDENTITY): ClientRecord {
    let client = this.clients.get(id);
    if (client === undefined) {
      client = new ClientRecord(id, this.#moves.now, identity);
      this.clients.set(id, client);
    }
    return client;
  }

  /** Client `id` went away: it no longer wants anything. */
  disconnected(id: ClientId): void {
    const client = this.clients.get(id);
    if (client === undefined || client === this.#fireAndForget) return;
    this.clients.delete(id);
    this.#grace.removeClient(client);
    for (const task of client.wantsWhat) this.#unwant(task, client);
    client.wantsWhat.clear();
    this.#moves.log("client", `client ${id} disconnected`);
  }

  /** Applies one message of `client`. */
  message(client: ClientRecord, msg: ClientToSchedulerMsg): void {
    switch (msg.op) {
      case "update-graph":
        return this.#updateGraph(client, msg);
      case "scatter":
        return this.#scatter(client, msg.data);
      case "client-releases-keys":
        for (const key of msg.keys) {
          const task = this.#moves.tasks.get(key);
          if (task !== undefined && client.wantsWhat.delete(task)) this.#unwant(task, client);
        }
        return;
      case "client-desires-keys":
        for (const key of msg.keys) this.#desire(client, key);
        return;
      case "fire-and-forget":
        for (const key of msg.keys) {
          const task = this.#moves.tasks.get(key);
          // Already final: nothing to keep alive.
          if (task === undefined || task.state === "memory" || task.state === "erred") continue;
          if (!this.#ownership.mayRead(task, client.identity)) continue;
          this.#want(task, this.#fireAndForget);
        }
        return;
      case "cancel":
        return this.#cancel(client, msg.keys, msg.force === true);
      case "retry":
        return this.#retry(client, msg.keys);
      case "missing-data":
        return this.#missingData(client, msg.keys, msg.errantWorker);
    }
  }

  /**
   * `client` could not fetch `keys` from `errantAddress` (missing_data.ts): only keys it holds
   * count, as it may touch nothing else (docs/security.md).
   */
  #missingData(client: ClientRecord, keys: Key[], errantAddress: WorkerAddress): void {
    const errant = this.#workers.get(errantAddress);
    const held = (task: TaskRecord) => client.wantsWhat.has(task);
    const { dropped, lost } = missingData(this.#moves, this.#replicas, errant, keys, held);
    if (dropped === 0 && lost === 0) return;
    this.#moves.log(
      "client",
      `client ${client.id} could not fetch ${keys.length} keys from ${errantAddress}: ` +
        `${dropped} copies dropped, ${lost} keys lost`,
      undefined,
      errantAddress,
    );
  }

  /** One task's dependencies as update-graph finds them (a scratch list, empty between tasks). */
  readonly #foundDependencies: TaskRecord[] = [];

  #want(task: TaskRecord, client: ClientRecord): void {
    task.addWant(client);
    client.wantsWhat.add(task);
  }

  /** `client` no longer holds `task` (already removed from `client.wantsWhat`). */
  #unwant(task: TaskRecord, client: ClientRecord): void {
    task.deleteWant(client);
    if (task.whoWants.size === 0) this.#moves.recommend(task, "released");
  }

  #desire(client: ClientRecord, key: Key): void {
    const task = this.#moves.tasks.get(key);
    if (task === undefined) return this.#unknownKey(client, key);
    if (!this.#ownership.mayRead(task, client.identity)) return this.#refuse(client, key);
    this.#want(task, client); // held: readable by its identity while held (tenancy.ts)
    if (task.state === "memory") this.#outbox.reportInMemory(task, client);
    else if (task.state === "erred") this.#outbox.reportErred(task, client);
    else if (task.state === "released") this.#moves.recommend(task, "waiting");
  }

  #updateGraph(client: ClientRecord, msg: UpdateGraphMsg): void {
    if (this.#awaitsRestartedKeys(client, msg)) return;
    const generation = ++this.#generation;
    const defaultPriority = msg.priority ?? 0;
    const specs = msg.tasks;
    // one message is the client link's lifetime: its tasks name specs sent earlier in it
    const functions = new FunctionReceiver();
    for (let i = 0; i < specs.length; i++) specs[i].fn = functions.expand(specs[i].fn);
    deriveFunctionIds(specs); // ids the scheduler vouches for: no client can swap another's code
    const linked: TaskRecord[] = [];
    const linkedSpecs: GraphTaskSpec[] = [];
    /** New tasks whose result a reconnecting worker brought (the restart grace's orphans). */
    let held: Set<TaskRecord> | undefined;
    const ownership = this.#ownership;
    const identity = client.identity;
    // Another identity's keys submitted with the very spec stored: joined below (co_ownership.ts).
    let joining: Map<TaskRecord, GraphTaskSpec> | undefined;
    /**
     * Which of `linked` this message creates (not known before it), by position: 1. A flag array,
     * not a Set of a 100,000-task graph's records (its growth was copied by every collection).
     */
    const created = new Uint8Array(specs.length);
    // Pass 1: records for new keys. A known key is the same computation (content addressing).
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i];
      let task = this.#moves.tasks.get(spec.key);
      if (task !== undefined) {
        if (!ownership.owns(task, identity)) {
          // another identity's key is never given a new spec (tenancy.ts); the same one joins
          // (not one that acted as its owner: its result may hold what only the owner may read)
          if (!ownership.delegated(task) && sameTaskSpec(task, spec)) {
            (joining ??= new Map()).set(task, spec);
          }
          continue;
        }
        if (spec.returnValue === true) task.returnValue = true;
        if (!task.lostLineage || (task.state !== "released" && task.state !== "erred")) continue;
        // a key several identities own keeps the spec they all asked for
        if (!ownership.ownsAlone(task, identity)) continue;
        // The client sent a fresh spec for a task that lost its inputs: adopt it.
        this.#moves.unlinkDependencies(task);
        if (task.state === "erred") this.#moves.clearError(task);
        task.fn = spec.fn;
        task.args = packArgs(spec.args, this.#argsArena);
        task.lostLineage = false;
      } else {
        // `0 -` rather than unary minus: -0 is not a small integer and boxes every priority
        const priority: Priority = [0 - (spec.options?.priority ?? defaultPriority), generation, i];
        const args = packArgs(spec.args, this.#argsArena);
        task = this.#moves.newTask({
          key: spec.key,
          fn: spec.fn,
          args,
          runnable: true,
          priority,
          options: spec.options,
          parts: spec.parts,
        });
        ownership.claim(task, identity);
        created[linked.length] = 1;
        if (spec.returnValue === true) task.returnValue = true;
        if (this.#grace.hasOrphan(spec.key)) (held ??= new Set()).add(task);
      }
      linked.push(task);
      linkedSpecs.push(spec);
    }
    if (joining !== undefined) {
      const joined = joinableTasks(new Set(joining.keys()), (t) => ownership.mayRead(t, identity));
      for (const [task, spec] of joining) {
        if (!joined.has(task)) continue;
        ownership.claim(task, identity);
        if (spec.returnValue === true) task.returnValue = true;
        linked.push(task);
        linkedSpecs.push(spec);
      }
    }
    // Pass 2: dependencies (they may come later in the message).
    /** A linked task's position in `linked` and the key it reads that is unknown or not its own. */
    const broken: [number, Key][] = [];
    const found = this.#foundDependencies;
    for (let i = 0; i < linked.length; i++) {
      const task = linked[i];
      const deps = linkedSpecs[i].deps;
      if (deps.length === 0) continue;
      for (let j = 0; j < deps.length; j++) {
        const dep = this.#moves.tasks.get(deps[j]);
        if (dep === undefined || !ownership.mayRead(dep, identity)) {
          broken.push([i, deps[j]]);
          continue;
        }
        if (dep.dependents.has(task)) continue; // listed twice
        found.push(dep);
        dep.addDependent(task);
      }
      task.addDependencies(found);
      found.length = 0;
    }
    // A new task reading a key the scheduler does not know (released, or lost with its workers)
    // is cancelled below with its readers, as Dask cancels "computation on lost data"; a key of
    // another identity errs its reader with a KeyAccessError.
    const onLostData: [TaskRecord, Key][] = [];
    for (const [i, missing] of broken) {
      const task = linked[i];
      if (task.state === "erred") continue;
      if (created[i] === 1 && !this.#moves.tasks.has(missing)) {
        onLostData.push([task, missing]);
        continue;
      }
      task.error = this.#moves.tasks.has(missing)
        ? { ...keyAccessError(missing, identity), key: task.key }
        : missingDependencyError(task.key, missing);
      task.blamedKey = task.key;
      this.#moves.toErred(task);
    }
    const cycles = findCycles(linked, generation);
    for (const cycle of cycles) {
      const error = cycleError(cycle.map((task) => task.key));
      this.#moves.log("graph", error.message, cycle[0].key);
      for (const task of cycle) {
        if (task.state === "erred") continue;
        task.error = { ...error, key: task.key };
        task.blamedKey = task.key;
        this.#moves.toErred(task);
      }
    }
    for (const key of msg.keys) {
      const task = this.#moves.tasks.get(key);
      if (task === undefined) {
        this.#unknownKey(client, key);
        continue;
      }
      if (!ownership.mayRead(task, identity)) {
        this.#refuse(client, key);
        continue;
      }
      this.#want(task, client);
      if (task.state === "memory") this.#outbox.reportInMemory(task, client);
      else if (task.state === "erred") this.#outbox.reportErred(task, client);
      else if (task.state === "released") this.#moves.recommend(task, "waiting");
    }
    if (held !== undefined) this.#adoptHeld(held);
    for (const [task, missing] of onLostData) {
      this.cancelWithReaders(task, missingDependencyError(task.key, missing).message);
    }
    // Tasks nobody asked for and nothing reads are garbage.
    for (const task of linked) {
      if (task.whoWants.size === 0 && task.dependents.size === 0) {
        this.#moves.recommend(task, "forgotten");
      }
    }
    if (broken.length > 0) {
      this.#moves.log(
        "graph",
        `${broken.length} submitted tasks read unknown keys (${onLostData.length} cancelled ` +
          `with their readers, the rest erred)`,
      );
    }
  }

  /** `client` asked for a key of another identity: its future fails with a KeyAccessError. */
  #refuse(client: ClientRecord, key: Key): void {
    const error = keyAccessError(key, client.identity);
    this.#outbox.toClient(client, { op: "task-erred", key, error, blamedKey: key });
    this.#moves.log("client", `client ${client.id} was refused key ${key} of another identity`);
  }

  /**
   * A graph submitted again after a restart (by a client, or the journal's replay) takes the
   * results workers brought instead of computing them again: those wanted, and those a task that
   * still has to run reads. The others stay orphans (freed when the grace ends).
   */
  #adoptHeld(held: Set<TaskRecord>): void {
    for (const task of held) {
      let needed = task.whoWants.size > 0;
      for (const dependent of task.dependents) if (!held.has(dependent)) needed = true;
      if (!needed) continue;
      const copy = this.#grace.takeOrphan(task.key)!;
      const holders = copy.workers.map((address) => this.#workers.get(address));
      task.nbytes = copy.nbytes;
      task.typeName = copy.typeName;
      for (const worker of holders) if (worker !== undefined) this.#replicas.add(task, worker);
      this.#moves.toMemory(task);
      // its readers become waiting later in this step: keep it for them
      if (task.whoWants.size === 0) this.#moves.recommend(task, "waiting");
    }
  }

  /**
   * `client` asks for a key the books do not know: a copy a reconnecting worker brought enters
   * them (as data, like scattered data: it has no lineage here); during the restart grace the
   * client waits for a worker to bring one; otherwise the key is lost.
   */
  #unknownKey(client: ClientRecord, key: Key): void {
    const copy = this.#grace.takeOrphan(key);
    if (copy !== undefined) return this.#scatter(client, [{ key, ...copy }]);
    if (this.#grace.open(this.#moves.now)) return this.#grace.await(key, client);
    this.#outbox.toClient(client, { op: "lost", key, error: unknownKeyError(key) });
  }

  /** A reconnecting worker holds `key`, unknown here: kept for the clients that ask, if any. */
  orphanHeld(worker: WorkerRecord, key: Key, held: { nbytes: number; typeName?: string }) {
    const waiting = this.#grace.takeWaiting(key);
    if (waiting === undefined) return this.#grace.addOrphan(key, worker.address, held);
    const item = {
      key,
      nbytes: held.nbytes,
      typeName: held.typeName ?? "unknown",
      workers: [worker.address],
    };
    for (const client of waiting) this.#scatter(client, [item]);
  }

  /**
   * During the restart grace, a graph with inputs this scheduler does not know takes the copies
   * workers brought, and waits (parked) for those a reconnecting client already waits for until
   * a worker brings them or the grace ends. Other unknown inputs fail as usual (a graph that is
   * simply wrong is answered at once). False when the graph can be taken now.
   */
  #awaitsRestartedKeys(client: ClientRecord, msg: UpdateGraphMsg): boolean {
    if (!this.#grace.open(this.#moves.now)) return false;
    let inGraph: Set<Key> | undefined;
    let waits = false;
    for (const spec of msg.tasks) {
      for (const dep of spec.deps) {
        if (this.#moves.tasks.has(dep)) continue;
        inGraph ??= new Set(msg.tasks.map((t) => t.key));
        if (inGraph.has(dep)) continue;
        const copy = this.#grace.takeOrphan(dep);
        if (copy !== undefined) this.#scatter(client, [{ key: dep, ...copy }]);
        else if (this.#grace.isAwaited(dep)) waits = true;
      }
    }
    if (waits) this.#grace.park(client, msg);
    return waits;
  }

  /** Parked graphs try again (a worker brought keys, or the grace is over). */
  retryParkedGraphs(): void {
    for (const [client, msg] of this.#grace.takeParked()) this.#updateGraph(client, msg);
  }

  /** The restart grace is over: unclaimed copies are freed, clients still waiting hear lost. */
  endGrace(): void {
    const ended = this.#grace.expire(this.#moves.now);
    if (ended === undefined) return;
    for (const [key, copy] of ended.orphans) {
      for (const address of copy.workers) {
        const worker = this.#workers.get(address);
        if (worker !== undefined) this.#outbox.freeKeys(worker, key);
      }
    }
    for (const [key, clients] of ended.waiting) {
      for (const client of clients) {
        this.#outbox.toClient(client, { op: "lost", key, error: unknownKeyError(key) });
      }
    }
    this.retryParkedGraphs();
    this.#moves.log(
      "client",
      `restart grace over: ${ended.orphans.size} results no client asked for were freed, ` +
        `${ended.waiting.size} keys no worker brought are lost`,
    );
  }

  #scatter(
    client: ClientRecord,
    data: { key: Key; nbytes: number; typeName: string; workers: WorkerAddress[] }[],
  ): void {
    for (const item of data) {
      const holders: WorkerRecord[] = [];
      for (const address of item.workers) {
        const worker = this.#workers.get(address);
        if (worker !== undefined) holders.push(worker);
      }
      let task = this.#moves.tasks.get(item.key);
      if (holders.length === 0) {
        this.#outbox.toClient(client, {
          op: "lost",
          key: item.key,
          error: lostDataError(item.key, true),
        });
        continue;
      }
      if (task === undefined) {
        task = this.#moves.newTask({
          key: item.key,
          fn: null,
          args: null,
          runnable: false,
          priority: [0, 0, 0],
        });
      } else if (!this.#ownership.ownsAlone(task, client.identity)) {
        // another identity's key (or one shared with others) keeps its value; copies placed
        // under its name are dropped
        for (const worker of holders) {
          if (!task.whoHas.has(worker)) this.#outbox.freeKeys(worker, task.key);
        }
        this.#refuse(client, item.key);
        continue;
      }
      this.#ownership.claim(task, client.identity);
      this.#want(task, client);
      if (task.state === "memory") {
        // The key keeps the value it has: copies this scatter placed elsewhere may differ
        // (another client's data under the same key), so they are dropped, not adopted.
        for (const worker of holders) {
          if (!task.whoHas.has(worker)) this.#outbox.freeKeys(worker, task.key);
        }
        this.#outbox.reportInMemory(task, client);
        continue;
      }
      // Whatever the key was doing, the data is here now.
      if (task.state === "erred") this.#moves.clearError(task);
      task.nbytes = item.nbytes;
      task.typeName = item.typeName;
      for (const worker of holders) this.#replicas.add(task, worker);
      this.#moves.toMemory(task);
    }
  }

  #cancel(client: ClientRecord, keys: Key[], force: boolean): void {
    // Walk down to dependents, stopping at tasks other clients hold (unless forced).
    const stack: TaskRecord[] = [];
    for (const key of keys) {
      const task = this.#moves.tasks.get(key);
      if (task !== undefined) stack.push(task);
    }
    const seen = new Set<TaskRecord>();
    const cancelled: TaskRecord[] = [];
    while (stack.length > 0) {
      const task = stack.pop()!;
      if (seen.has(task)) continue;
      seen.add(task);
      if (!this.#ownership.mayRead(task, client.identity)) continue;
      {
        // force cancels for the other clients of this identity only (tenancy.ts)
        let heldByOthers = false;
        for (const holder of task.whoWants) {
          if (holder !== client && (!force || !this.#ownership.sameIdentity(holder, client))) {
            heldByOthers = true;
          }
        }
        if (heldByOthers) {
          // Only this client's interest goes; the task stays for the others.
          if (client.wantsWhat.delete(task)) {
            task.deleteWant(client);
            this.#outbox.toClient(client, { op: "cancelled", key: task.key });
          }
          continue;
        }
      }
      for (const dependent of task.dependents) stack.push(dependent);
      this.cancelForHolders(task, undefined);
      cancelled.push(task);
    }
    for (const task of cancelled) this.#moves.recommend(task, "released");
    if (cancelled.length > 0) {
      this.#moves.log("task", `client ${client.id} cancelled ${cancelled.length} tasks`);
    }
  }

  /**
   * `task` cannot run or be recomputed (data it reads is gone): it and the tasks that would read
   * it are released and their holders told `cancelled`, saying why, as Dask does; results
   * already computed from it stay (without lineage).
   */
  cancelWithReaders(task: TaskRecord, reason: string): void {
    const stack = [task];
    const seen = new Set<TaskRecord>();
    const gone: TaskRecord[] = [];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      if (next !== task && (next.state === "memory" || next.state === "erred")) continue;
      for (const dependent of next.dependents) stack.push(dependent);
      this.cancelForHolders(next, reason);
      gone.push(next);
    }
    for (const next of gone) this.#moves.recommend(next, "released");
  }

  /** Every client holding `task` loses it, told `cancelled` (with `reason` when given). */
  cancelForHolders(task: TaskRecord, reason: string | undefined): void {
    for (const holder of task.whoWants) {
      holder.wantsWhat.delete(task);
      if (holder === this.#fireAndForget) continue;
      this.#outbox.toClient(
        holder,
        reason === undefined
          ? { op: "cancelled", key: task.key }
          : { op: "cancelled", key: task.key, reason },
      );
    }
    task.clearWants();
  }

  #retry(client: ClientRecord, keys: Key[]): void {
    // Up: the erred tasks these depend on. Down: erred tasks blamed on any of them.
    const retried = new Set<TaskRecord>();
    const stack: TaskRecord[] = [];
    for (const key of keys) {
      const task = this.#moves.tasks.get(key);
      if (
        task !== undefined && task.state === "erred" &&
        this.#ownership.owns(task, client.identity)
      ) stack.push(task);
    }
    while (stack.length > 0) {
      const task = stack.pop()!;
      if (retried.has(task) || !task.runnable) continue;
      retried.add(task);
      for (const dep of task.dependencies) if (dep.state === "erred") stack.push(dep);
    }
    const downward = [...retried];
    while (downward.length > 0) {
      const task = downward.pop()!;
      for (const dependent of task.dependents) {
        if (
          dependent.state === "erred" && !retried.has(dependent) && dependent.runnable &&
          dependent.blamedKey !== dependent.key
        ) {
          retried.add(dependent);
          downward.push(dependent);
        }
      }
    }
    for (const task of retried) {
      this.#moves.clearError(task);
      task.diedOn = null;
      for (const holder of task.whoWants) {
        this.#outbox.toClient(holder, { op: "task-retried", key: task.key });
      }
    }
    for (const task of retried) {
      if (task.whoWants.size > 0) this.#moves.recommend(task, "waiting");
      else this.#moves.recommend(task, "released");
    }
    if (retried.size > 0) this.#moves.log("task", `retrying ${retried.size} erred tasks`);
  }

  /**
   * Every holder loses every key (told `cancelled`); then every task is released. Returns how
   * many held keys were cancelled.
   */
  restart(): number {
    let held = 0;
    for (const client of this.clients.values()) {
      for (const task of client.wantsWhat) {
        task.deleteWant(client);
        this.#outbox.toClient(client, { op: "cancelled", key: task.key });
        held++;
      }
      client.wantsWhat.clear();
    }
    for (const task of this.#moves.tasks.values()) this.#moves.recommend(task, "released");
    return held;
  }
}
