/**
 * The scheduler's outbox: every message the state machine produces, in order, until the server
 * takes them ({@link SchedulerOutbox.take}) and writes one batch per destination. Consecutive
 * `free-keys` for one worker within one batch merge into one message.
 *
 * @module
 */

import { ScratchList } from "../core/scratch_list.ts";
import type { Key } from "../core/task.ts";
import type { ErrorRecord } from "../core/errors.ts";
import type { Encoded } from "../core/value_codec.ts";
import {
  FIRE_AND_FORGET,
  type KeyInMemoryMsg,
  type SchedulerToClientMsg,
  type SchedulerToWorkerMsg,
} from "../protocol/messages.ts";
import type { ClientRecord, TaskRecord, WorkerRecord } from "./records.ts";
import type { Outgoing } from "./events.ts";

export class SchedulerOutbox {
  /**
   * Kept from take to take; `take` hands out an array of the exact length (an array filled by
   * `push` from empty reserves 17 slots: ~150 bytes per event for its one or two messages).
   */
  readonly #messages = new ScratchList<Outgoing>();
  /** Counts takes, so an open `free-keys` of an earlier batch is never extended. */
  #epoch = 0;

  /** Returns the messages produced since the last call, in order, and empties the outbox. */
  take(): Outgoing[] {
    const out = this.#messages.toArray();
    this.#messages.clear();
    this.#epoch++;
    return out;
  }

  toWorker(worker: WorkerRecord, msg: SchedulerToWorkerMsg): void {
    this.#messages.push({ to: "worker", worker: worker.address, msg });
    worker.openFreeKeys = null;
  }

  /** Tells `worker` to forget `key`, merged into the worker's open `free-keys` when it has one. */
  freeKeys(worker: WorkerRecord, key: Key): void {
    const open = worker.openFreeKeys;
    if (open !== null && worker.openFreeKeysEpoch === this.#epoch) {
      open.keys.push(key);
      return;
    }
    const msg = { op: "free-keys" as const, keys: [key] };
    this.toWorker(worker, msg);
    worker.openFreeKeys = msg;
    worker.openFreeKeysEpoch = this.#epoch;
  }

  /** Nothing goes to the fire-and-forget holder: it is not a connection. */
  toClient(client: ClientRecord, msg: SchedulerToClientMsg): void {
    if (client.id === FIRE_AND_FORGET) return;
    this.#messages.push({ to: "client", client: client.id, msg });
  }

  /** Tells `client` that `task` is in memory (`value`: the tiny result, when it rode along). */
  reportInMemory(task: TaskRecord, client: ClientRecord, value?: Encoded): void {
    const msg: KeyInMemoryMsg = {
      op: "key-in-memory",
      key: task.key,
      typeName: task.typeName,
      nbytes: task.nbytes,
      workers: task.holderAddresses(),
    };
    if (value !== undefined) msg.value = value;
    this.toClient(client, msg);
  }

  /** Tells `client` that `task` erred, and which key is to blame. */
  reportErred(task: TaskRecord, client: ClientRecord): void {
    this.toClient(client, {
      op: "task-erred",
      key: task.key,
      error: task.error as ErrorRecord,
      blamedKey: task.blamedKey ?? task.key,
    });
  }
}
