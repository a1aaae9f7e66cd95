/**
 * What goes into the scheduler's state machine ({@link SchedulerEvent}), what comes out
 * ({@link Outgoing}, {@link SchedulerLogEntry}), and the stimulus id each event gives the
 * transitions it causes (a key's story, task_story.ts).
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type {
  ClientId,
  ClientToSchedulerMsg,
  SchedulerToClientMsg,
  SchedulerToWorkerMsg,
  WorkerAddress,
  WorkerToSchedulerMsg,
} from "../protocol/messages.ts";

/** A worker that joined, as its server registered it. */
export interface WorkerSpec {
  address: WorkerAddress;
  /** A stable name for `workers` restrictions; defaults to the address. */
  name?: string;
  nthreads: number;
  /** Bytes, or 0 when unlimited. */
  memoryLimit?: number;
  resources?: Record<string, number>;
  /**
   * Data the worker already holds (it reconnected). Copies of keys the scheduler is computing or
   * waiting for are adopted instead of recomputed.
   */
  keys?: { key: Key; nbytes: number; typeName?: string }[];
}

/** One copy to make: `worker` fetches `key` from `sources` (any holder when none is alive). */
export interface ReplicaTransfer {
  worker: WorkerAddress;
  key: Key;
  sources: WorkerAddress[];
}

/** One copy to drop: `worker` forgets `key` (never the last copy). */
export interface ReplicaDrop {
  worker: WorkerAddress;
  key: Key;
}

/** Everything that can happen to the scheduler. `now` is the time in seconds. */
export type SchedulerEvent =
  // identity: the client identity it authenticated as (tenancy.ts); for a client-message,
  // used only when the sender is not known yet (the scheduler's own holders)
  | { type: "client-connected"; client: ClientId; identity?: string; now: number }
  | { type: "client-disconnected"; client: ClientId; now: number }
  | {
    type: "client-message";
    client: ClientId;
    msg: ClientToSchedulerMsg;
    identity?: string;
    now: number;
  }
  | { type: "worker-added"; worker: WorkerSpec; now: number }
  /** The worker left on purpose (closed, retired): its tasks move without blame. */
  | { type: "worker-removed"; worker: WorkerAddress; now: number }
  /** The worker died or stopped answering: its running tasks count it as a failure. */
  | { type: "worker-lost"; worker: WorkerAddress; now: number; cause?: string }
  | { type: "worker-message"; worker: WorkerAddress; msg: WorkerToSchedulerMsg; now: number }
  /**
   * The worker paused (short of memory: give it nothing new), is exhausted (paused, unable to
   * spill, nothing running: it will not resume by itself) or runs again.
   */
  | {
    type: "worker-status";
    worker: WorkerAddress;
    status: "running" | "paused" | "exhausted";
    now: number;
  }
  /** These workers are being retired: no new tasks; they close once their data has moved. */
  | { type: "retire-workers"; workers: WorkerAddress[]; now: number }
  /** Make these copies (replicate, rebalance, retire): `acquire-replicas` to each worker. */
  | { type: "acquire-replicas"; transfers: ReplicaTransfer[]; now: number }
  /** Drop these copies (rebalance, replicate with fewer copies): `free-keys` to each worker. */
  | { type: "drop-replicas"; drops: ReplicaDrop[]; now: number }
  /**
   * Forget every task: holders get `cancelled` for each key they held (the server restarts the
   * workers around it).
   */
  | { type: "restart"; now: number }
  /** Periodic (about every 100 ms): rebalances work, releases delayed retries. */
  | { type: "tick"; now: number };

/** A message the server must deliver. */
export type Outgoing =
  | { to: "worker"; worker: WorkerAddress; msg: SchedulerToWorkerMsg }
  | { to: "client"; client: ClientId; msg: SchedulerToClientMsg };

/** What an event-log entry is about. */
export type EventTopic = "worker" | "client" | "task" | "stealing" | "graph";

/** One entry of the event log shown by the dashboard. */
export interface SchedulerLogEntry {
  time: number;
  topic: EventTopic;
  message: string;
  key?: Key;
  worker?: WorkerAddress;
}

/**
 * What caused the transitions of an event: its name (a message's `op`, else the event's type).
 * With the event's time it makes Dask's stimulus id, `task-erred-1733300000.25` (task_story.ts).
 */
export function causeOf(event: SchedulerEvent | null): string {
  if (event === null) return "unknown";
  return event.type === "client-message" || event.type === "worker-message"
    ? event.msg.op
    : event.type;
}

/** The worker an event is about, if any. */
export function workerOf(event: SchedulerEvent | null): WorkerAddress | null {
  switch (event?.type) {
    case "worker-added":
      return event.worker.address;
    case "worker-removed":
    case "worker-lost":
    case "worker-message":
    case "worker-status":
      return event.worker;
    default:
      return null;
  }
}
