/**
 * Plans transfers of dependencies from peers: one request per peer carrying many keys, in
 * priority order, within limits on concurrent requests and bytes in flight (Dask's defaults: 10
 * incoming connections, 50 MB per message).
 *
 * Each peer has its own priority queue of the keys it holds; a key held by several peers sits in
 * each of their queues. Entries are checked when read (the key must still be in `fetch` and that
 * peer still a holder), so nothing has to be removed from the middle of a queue.
 *
 * @module
 */

import { comparePriority } from "../protocol/messages.ts";
import { PriorityQueue } from "../core/priority_heap.ts";
import type { WorkerAddress } from "../protocol/messages.ts";
import type { WorkerTask } from "./worker_task.ts";

export interface GatherLimits {
  /** Requests running at once (one per peer at most). */
  maxConcurrentRequests: number;
  /** Bytes one request may carry (the first key is always taken, however large). */
  maxBytesPerRequest: number;
  /** Bytes in flight over all requests before new requests wait (one may always run). */
  maxInFlightBytes: number;
}

/** One transfer: `tasks` from `peer`. */
export interface GatherRequest {
  readonly id: number;
  readonly peer: WorkerAddress;
  readonly tasks: readonly WorkerTask[];
  readonly nbytes: number;
}

export class GatherPlanner {
  readonly inFlight = new Map<number, GatherRequest>();
  inFlightBytes = 0;
  readonly #queues = new Map<WorkerAddress, PriorityQueue<WorkerTask>>();
  readonly #busyPeers = new Set<WorkerAddress>();
  #nextId = 1;

  constructor(readonly limits: GatherLimits) {}

  /** Queues `task` (in `fetch`) to be fetched from `peer`. */
  enqueue(task: WorkerTask, peer: WorkerAddress): void {
    let queue = this.#queues.get(peer);
    if (queue === undefined) {
      queue = new PriorityQueue();
      this.#queues.set(peer, queue);
    }
    queue.push(task);
  }

  /** Peers with queued keys (some entries may be stale). */
  get queuedPeers(): number {
    return this.#queues.size;
  }

  /**
   * Chooses the next requests: idle peers whose best key has the highest priority first, each
   * request filled with that peer's keys in priority order up to the byte limits. The caller
   * moves the returned tasks to `flight`. Cost: O(peers with queued keys + keys taken).
   */
  plan(): GatherRequest[] {
    const limits = this.limits;
    const requests: GatherRequest[] = [];
    if (this.#busyPeers.size >= limits.maxConcurrentRequests) return requests;
    const candidates: [WorkerAddress, PriorityQueue<WorkerTask>][] = [];
    for (const [peer, queue] of this.#queues) {
      if (this.#busyPeers.has(peer)) continue;
      dropStale(queue, peer);
      if (queue.size === 0) this.#queues.delete(peer);
      else candidates.push([peer, queue]);
    }
    if (candidates.length > 1) {
      candidates.sort((a, b) => comparePriority(a[1].peek()!.priority, b[1].peek()!.priority));
    }
    for (const [peer, queue] of candidates) {
      if (this.#busyPeers.size >= limits.maxConcurrentRequests) break;
      if (this.#busyPeers.size > 0 && this.inFlightBytes >= limits.maxInFlightBytes) break;
      const tasks: WorkerTask[] = [];
      let nbytes = 0;
      for (;;) {
        dropStale(queue, peer);
        const task = queue.peek();
        if (task === undefined) break;
        const size = task.nbytes > 0 ? task.nbytes : 0;
        if (tasks.length > 0) {
          if (nbytes + size > limits.maxBytesPerRequest) break;
          if (this.inFlightBytes + nbytes + size > limits.maxInFlightBytes) break;
        }
        queue.pop();
        // A key queued twice for this peer must go once.
        if (task.flightPeer === peer) continue;
        task.flightPeer = peer;
        tasks.push(task);
        nbytes += size;
      }
      if (queue.size === 0) this.#queues.delete(peer);
      if (tasks.length === 0) continue;
      const request: GatherRequest = { id: this.#nextId++, peer, tasks, nbytes };
      this.inFlight.set(request.id, request);
      this.#busyPeers.add(peer);
      this.inFlightBytes += nbytes;
      requests.push(request);
    }
    return requests;
  }

  /** Ends a request (answered or failed); returns it, or undefined if unknown. */
  finish(id: number): GatherRequest | undefined {
    const request = this.inFlight.get(id);
    if (request === undefined) return undefined;
    this.inFlight.delete(id);
    this.#busyPeers.delete(request.peer);
    this.inFlightBytes -= request.nbytes;
    if (this.inFlight.size === 0) this.inFlightBytes = 0;
    return request;
  }

  /** Forgets the queue of a peer that cannot be reached. */
  dropPeer(peer: WorkerAddress): void {
    this.#queues.delete(peer);
  }
}

/** Pops entries that no longer ask for a transfer from `peer`. */
function dropStale(queue: PriorityQueue<WorkerTask>, peer: WorkerAddress): void {
  for (;;) {
    const task = queue.peek();
    if (task === undefined) return;
    if (task.state === "fetch" && task.whoHas.has(peer) && task.flightPeer === null) return;
    queue.pop();
  }
}
