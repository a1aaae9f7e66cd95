/**
 * Fetching: the inputs a worker gets from its peers. An input the worker does not hold goes
 * `fetch → flight → memory` (or `missing` when no holder is known): holders.ts knows who holds
 * what, gather_planner.ts batches the transfers (one request per peer carrying many keys, with
 * limits on what is in flight). This decides what to fetch from whom, what a finished or failed
 * transfer means (compute it here instead, fetch it elsewhere, tell the scheduler it is missing),
 * and copies the scheduler asks for (`acquire-replicas`) or points to (`refresh-who-has`). The
 * state changes that are not the fetch's own go through {@link FetchHost} (state.ts).
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type {
  KeyLocation,
  Priority,
  WorkerAddress,
  WorkerToSchedulerMsg,
} from "../protocol/messages.ts";
import type { ReceivedData, WorkerInstruction } from "./events.ts";
import { GatherPlanner, type GatherRequest } from "./gather_planner.ts";
import { Holders } from "./holders.ts";
import type { WorkerTask, WorkerTaskState } from "./worker_task.ts";

/** A priority below every task's: keys fetched for their own sake wait behind inputs. */
export const LOWEST_PRIORITY: Priority = [Infinity, Infinity, Infinity];

/** What fetching asks of the worker's state machine. */
export interface FetchHost {
  readonly address: WorkerAddress;
  readonly tasks: ReadonlyMap<Key, WorkerTask>;
  /** The record of `key`, made (released, at `priority`) when there is none. */
  taskOf(key: Key, priority: Priority): WorkerTask;
  /** `task`'s data is here: dependents waiting for it may become ready. */
  toMemory(task: WorkerTask): void;
  /** Tells the scheduler the result of an assigned task is here. */
  reportFinished(task: WorkerTask): void;
  /** An assigned task whose data did not arrive is computed here. */
  startCompute(task: WorkerTask): void;
  /** Forgets a task nothing here needs. */
  drop(task: WorkerTask): void;
  /** The store frees `key` (end of the event). */
  free(key: Key): void;
  send(msg: WorkerToSchedulerMsg): void;
  instruct(instruction: WorkerInstruction): void;
}

/** Limits of the transfers in flight (worker options). */
export interface FetchLimits {
  maxConcurrentRequests: number;
  maxBytesPerRequest: number;
  maxInFlightBytes: number;
}

export class Fetching {
  readonly #host: FetchHost;
  readonly #gather: GatherPlanner;
  readonly #holders = new Holders();
  /** Something to fetch may have changed: plan transfers at the end of the event. */
  #changed = false;

  constructor(host: FetchHost, limits: FetchLimits) {
    this.#host = host;
    this.#gather = new GatherPlanner(limits);
  }

  /** Transfers running. */
  get inFlight(): number {
    return this.#gather.inFlight.size;
  }

  /** Bytes being transferred in. */
  get inFlightBytes(): number {
    return this.#gather.inFlightBytes;
  }

  /** Plans transfers at the end of the next event (the worker resumed). */
  wake(): void {
    this.#changed = true;
  }

  /** `task` is no longer fetched from anyone (it is here, computed here, or gone). */
  forget(task: WorkerTask): void {
    this.#holders.drop(task);
  }

  /** End of an event: starts the transfers the planner allows, if anything changed. */
  plan(): void {
    if (!this.#changed) return;
    this.#changed = false;
    this.#startTransfers();
  }

  /** `acquire-replicas`: fetch copies of these keys (confirming those already here). */
  acquireReplicas(locations: KeyLocation[]): void {
    const confirmed: { key: Key; nbytes: number }[] = [];
    for (const location of locations) {
      const task = this.#host.taskOf(location.key, LOWEST_PRIORITY);
      task.acquired = true;
      if (task.nbytes < 0) task.nbytes = location.nbytes;
      if (task.state === "memory") {
        task.reported = true;
        confirmed.push({ key: task.key, nbytes: task.nbytes });
      } else if (task.state === "released" || task.state === "missing" || task.state === "error") {
        task.error = null;
        this.setHolders(task, location.workers);
        this.toFetchOrMissing(task);
      } else if (task.state === "fetch" || task.state === "flight") {
        for (const peer of location.workers) this.addHolder(task, peer);
      }
    }
    if (confirmed.length > 0) this.#host.send({ op: "add-keys", keys: confirmed });
  }

  /** `refresh-who-has`: the holders of a key being fetched, as the scheduler knows them now. */
  refreshWhoHas(location: KeyLocation): void {
    const task = this.#host.tasks.get(location.key);
    if (task === undefined) return;
    const state = task.state;
    if (state !== "fetch" && state !== "flight" && state !== "missing") return;
    this.setHolders(task, location.workers);
    if (state !== "flight") this.toFetchOrMissing(task);
  }

  /** A transfer came back (its data already stored): what arrived, what the peer did not have. */
  gatherDone(requestId: number, data: ReceivedData[]): void {
    const request = this.#gather.finish(requestId);
    if (request === undefined) {
      for (const item of data) if (!this.#host.tasks.has(item.key)) this.#host.free(item.key);
      return;
    }
    this.#changed = true;
    const received = new Map<Key, ReceivedData>();
    for (const item of data) received.set(item.key, item);
    const added: { key: Key; nbytes: number }[] = [];
    const missing: Key[] = [];
    for (const task of request.tasks) {
      const item = received.get(task.key);
      received.delete(task.key);
      if (task.state !== "flight" || task.flightPeer !== request.peer) {
        // Superseded while in flight (the data arrived another way): keep one copy only.
        if (item !== undefined && this.#host.tasks.get(task.key)?.state !== "memory") {
          this.#host.free(task.key);
        }
        continue;
      }
      task.flightPeer = null;
      if (item !== undefined) {
        task.nbytes = item.nbytes;
        task.typeName = item.typeName;
        this.#holders.drop(task);
        if (task.assigned) {
          this.#host.toMemory(task);
          task.reported = true;
          this.#host.reportFinished(task);
        } else if (task.dependents.size > 0 || task.acquired) {
          this.#host.toMemory(task);
          task.reported = true;
          added.push({ key: task.key, nbytes: item.nbytes });
        } else {
          this.#host.free(task.key);
          this.#host.drop(task);
        }
      } else {
        missing.push(task.key);
        this.#holders.remove(task, request.peer);
        this.#afterFailedTransfer(task);
      }
    }
    // Data nobody asked this request for.
    for (const key of received.keys()) if (!this.#host.tasks.has(key)) this.#host.free(key);
    if (added.length > 0) this.#host.send({ op: "add-keys", keys: added });
    if (missing.length > 0) {
      this.#host.send({ op: "missing-data", keys: missing, errantWorker: request.peer });
    }
  }

  /** A transfer failed: the peer counts as holding nothing. */
  gatherFailed(requestId: number): void {
    const request = this.#gather.finish(requestId);
    if (request === undefined) return;
    this.#changed = true;
    const peer = request.peer;
    // The peer is unreachable: it holds nothing as far as this worker is concerned.
    const affected = this.#holders.dropPeer(peer);
    this.#gather.dropPeer(peer);
    const lost: Key[] = [];
    if (affected !== undefined) {
      for (const task of affected) {
        if (task.state === "fetch" && task.whoHas.size === 0) {
          task.state = "missing";
          lost.push(task.key);
        }
      }
    }
    for (const task of request.tasks) {
      if (task.state !== "flight" || task.flightPeer !== peer) continue;
      task.flightPeer = null;
      this.#afterFailedTransfer(task);
      if ((task.state as WorkerTaskState) === "missing") lost.push(task.key);
    }
    // Without another holder the scheduler must say where the data is, or recompute it.
    if (lost.length > 0) this.#host.send({ op: "missing-data", keys: lost, errantWorker: peer });
  }

  /** A key that did not arrive: compute it if assigned, else fetch elsewhere, else drop. */
  #afterFailedTransfer(task: WorkerTask): void {
    if (task.assigned) {
      this.#holders.drop(task);
      this.#host.startCompute(task);
    } else if (task.dependents.size > 0 || task.acquired) {
      this.toFetchOrMissing(task);
    } else {
      this.#host.drop(task);
    }
  }

  /** `task` is fetched from its holders, or `missing` when none is known. */
  toFetchOrMissing(task: WorkerTask): void {
    task.flightPeer = null;
    if (task.whoHas.size === 0) {
      task.state = "missing";
      return;
    }
    task.state = "fetch";
    for (const peer of task.whoHas) this.#gather.enqueue(task, peer);
    this.#changed = true;
  }

  /** The holders of `task` are `peers` (the scheduler said so). */
  setHolders(task: WorkerTask, peers: readonly WorkerAddress[]): void {
    this.#holders.drop(task);
    for (const peer of peers) this.addHolder(task, peer);
  }

  /** A new holder: a key being fetched may come from it, a missing one is fetched again. */
  addHolder(task: WorkerTask, peer: WorkerAddress): void {
    if (peer === this.#host.address || !this.#holders.add(task, peer)) return;
    if (task.state === "fetch") {
      this.#gather.enqueue(task, peer);
      this.#changed = true;
    } else if (task.state === "missing") {
      this.toFetchOrMissing(task);
    }
  }

  /** Starts the transfers the planner allows now. */
  #startTransfers(): void {
    const requests: GatherRequest[] = this.#gather.plan();
    for (const request of requests) {
      const keys: Key[] = [];
      for (const task of request.tasks) {
        task.state = "flight";
        keys.push(task.key);
      }
      this.#host.instruct({
        type: "gather-dependencies",
        requestId: request.id,
        peer: request.peer,
        keys,
        nbytes: request.nbytes,
      });
    }
  }
}
