/**
 * Plans that move data between workers: retiring workers (their unique data goes elsewhere
 * first), replicating keys (a tree broadcast, copies double each round) and rebalancing memory.
 * Plans are pure: they read the scheduler's books and return the copies to make and drop; the
 * server feeds them to the state machine (`acquire-replicas`, `drop-replicas`) and waits for
 * the copies to land.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { WorkerAddress } from "../protocol/messages.ts";
import type { TaskRecord, WorkerRecord } from "./records.ts";
import type { ReplicaDrop, ReplicaTransfer, SchedulerState } from "./state.ts";

/** One copy to move: make it on `to`, then drop it from `from`. */
export interface Move {
  key: Key;
  from: WorkerAddress;
  to: WorkerAddress;
  nbytes: number;
}

/** Bytes booked on each candidate, including copies planned so far. */
class Projection {
  readonly #bytes = new Map<WorkerRecord, number>();

  constructor(readonly workers: readonly WorkerRecord[]) {
    for (const worker of workers) this.#bytes.set(worker, worker.nbytes);
  }

  bytes(worker: WorkerRecord): number {
    return this.#bytes.get(worker) ?? 0;
  }

  /** Books `delta` more bytes (negative: fewer) on `worker`. */
  add(worker: WorkerRecord, delta: number): void {
    this.#bytes.set(worker, this.bytes(worker) + delta);
  }

  /** The candidate holding the fewest bytes among those `accept` allows, or null. */
  lightest(accept: (worker: WorkerRecord) => boolean): WorkerRecord | null {
    let best: WorkerRecord | null = null;
    for (const worker of this.workers) {
      if (!accept(worker)) continue;
      if (best === null || this.bytes(worker) < this.bytes(best)) best = worker;
    }
    return best;
  }
}

/** The registered workers named by `ids` (names or addresses), without duplicates. */
export function resolveWorkers(state: SchedulerState, ids: readonly string[]): {
  found: WorkerRecord[];
  unknown: string[];
} {
  const found: WorkerRecord[] = [];
  const unknown: string[] = [];
  for (const id of ids) {
    const worker = state.workers.get(id) ?? state.workersByName.get(id);
    if (worker === undefined) unknown.push(id);
    else if (!found.includes(worker)) found.push(worker);
  }
  return { found, unknown };
}

/** Keys in memory whose every copy is on one of `leaving`. */
export function uniqueKeys(leaving: readonly WorkerRecord[]): TaskRecord[] {
  const out = new Set<TaskRecord>();
  for (const worker of leaving) {
    for (const task of worker.hasWhat) {
      if (task.state !== "memory" || out.has(task)) continue;
      let elsewhere = false;
      for (const holder of task.whoHas) {
        if (!leaving.includes(holder)) {
          elsewhere = true;
          break;
        }
      }
      if (!elsewhere) out.add(task);
    }
  }
  return [...out];
}

/**
 * Copies that leave no key only on `leaving`: each unique key goes to the running worker (not
 * leaving) holding the fewest bytes, counting the copies planned before it. Keys in `skip`
 * (copies already requested) are left out. Empty when there is nothing to move or nowhere to
 * move it (see {@link recipientsFor}).
 */
export function planRetirement(
  state: SchedulerState,
  leaving: readonly WorkerRecord[],
  skip: ReadonlySet<Key> = new Set(),
): ReplicaTransfer[] {
  const recipients = recipientsFor(state, leaving);
  if (recipients.length === 0) return [];
  const projection = new Projection(recipients);
  const out: ReplicaTransfer[] = [];
  for (const task of uniqueKeys(leaving)) {
    if (skip.has(task.key)) continue;
    const target = projection.lightest(() => true)!;
    projection.add(target, Math.max(0, task.nbytes));
    out.push({
      worker: target.address,
      key: task.key,
      sources: task.holderAddresses(),
    });
  }
  return out;
}

/** Running workers that are not `leaving`: where a retiring worker's data may go. */
export function recipientsFor(
  state: SchedulerState,
  leaving: readonly WorkerRecord[],
): WorkerRecord[] {
  const out: WorkerRecord[] = [];
  for (const worker of state.runningWorkers.values()) {
    if (!leaving.includes(worker)) out.push(worker);
  }
  return out;
}

/**
 * One round of replication towards `n` copies of each key among `candidates` (default: every
 * running worker). A tree broadcast: in a round each current holder sends to at most one new
 * worker, so the copies double per round and no holder serves many at once. Keys with more than
 * `n` copies among the candidates lose the copies on the fullest workers. Keys not in memory,
 * and actors' keys, are skipped.
 */
export function planReplicationRound(
  state: SchedulerState,
  keys: readonly Key[],
  n: number,
  candidates: readonly WorkerRecord[] = [...state.runningWorkers.values()],
): { transfers: ReplicaTransfer[]; drops: ReplicaDrop[] } {
  const transfers: ReplicaTransfer[] = [];
  const drops: ReplicaDrop[] = [];
  if (candidates.length === 0) return { transfers, drops };
  const wanted = Math.min(n, candidates.length);
  const projection = new Projection(candidates);
  for (const key of keys) {
    const task = state.tasks.get(key);
    // an actor's key is not copied nor dropped: the actor lives with its worker's copy
    if (task === undefined || task.state !== "memory" || task.actor) continue;
    let have = 0;
    for (const worker of candidates) if (task.whoHas.has(worker)) have++;
    if (have > wanted) {
      const holders = candidates.filter((w) => task.whoHas.has(w));
      holders.sort((a, b) => projection.bytes(b) - projection.bytes(a));
      for (const worker of holders.slice(0, have - wanted)) {
        drops.push({ worker: worker.address, key });
        projection.add(worker, -Math.max(0, task.nbytes));
      }
      continue;
    }
    const sources = task.holderAddresses();
    const copies = Math.min(wanted - have, sources.length);
    const chosen = new Set<WorkerRecord>();
    for (let i = 0; i < copies; i++) {
      const target = projection.lightest((w) => !task.whoHas.has(w) && !chosen.has(w));
      if (target === null) break;
      chosen.add(target);
      projection.add(target, Math.max(0, task.nbytes));
      transfers.push({ worker: target.address, key, sources: [sources[i]] });
    }
  }
  return { transfers, drops };
}

/**
 * Moves that bring every candidate's bytes (default: every running worker) within a tolerance
 * of the mean: copies go from the fullest workers to the emptiest, each move only when it leaves
 * the sender no lower and the recipient no higher than the mean's band. With `keys`, only those
 * keys move. Cost: O(keys held by senders × candidates).
 */
export function planRebalance(
  state: SchedulerState,
  options: { keys?: ReadonlySet<Key>; candidates?: readonly WorkerRecord[]; tolerance?: number } =
    {},
): Move[] {
  const candidates = options.candidates ?? [...state.runningWorkers.values()];
  if (candidates.length < 2) return [];
  let total = 0;
  for (const worker of candidates) total += worker.nbytes;
  const mean = total / candidates.length;
  const band = mean * (options.tolerance ?? 0.05);
  const projection = new Projection(candidates);
  const senders = candidates.filter((w) => w.nbytes > mean + band);
  senders.sort((a, b) => b.nbytes - a.nbytes);
  const moves: Move[] = [];
  for (const sender of senders) {
    for (const task of sender.hasWhat) {
      if (projection.bytes(sender) <= mean + band) break;
      // an actor's record stays with its actor: freeing it at the sender would drop the actor
      if (task.state !== "memory" || task.nbytes <= 0 || task.actor) continue;
      if (options.keys !== undefined && !options.keys.has(task.key)) continue;
      if (projection.bytes(sender) - task.nbytes < mean - band) continue;
      const recipient = projection.lightest((w) =>
        w !== sender && !task.whoHas.has(w) && projection.bytes(w) + task.nbytes <= mean + band
      );
      if (recipient === null) continue;
      projection.add(sender, -task.nbytes);
      projection.add(recipient, task.nbytes);
      moves.push({
        key: task.key,
        from: sender.address,
        to: recipient.address,
        nbytes: task.nbytes,
      });
    }
  }
  return moves;
}
