/**
 * The messages that travel between clients, the scheduler and workers (docs/protocol.md is the
 * reference that explains each one). Every message is a plain object with an `op` field, so it
 * encodes with the value codec as it is.
 *
 * Times are seconds (floating point, e.g. `performance.timeOrigin/1000 + performance.now()/1000`
 * or `Date.now() / 1000`); sizes are bytes.
 *
 * @module
 */

import type { Key, TaskOptions } from "../core/task.ts";
import type { ErrorRecord } from "../core/errors.ts";
import type { Encoded } from "../core/value_codec.ts";

/** A client's id, unique per connection (e.g. `Client-<uuid>`). */
export type ClientId = string;
/** A worker's address, e.g. `tcp://10.0.0.5:40123`: its identity everywhere. */
export type WorkerAddress = string;

import type { Priority } from "../core/priority.ts";
export { comparePriority, type Priority } from "../core/priority.ts";

/** The client id under which `fire-and-forget` keys are held until they finish. */
export const FIRE_AND_FORGET: ClientId = "fire-and-forget";

/** Where a key's data lives: what a worker needs to fetch it. */
export interface KeyLocation {
  key: Key;
  /** Size of the data, or -1 when unknown. */
  nbytes: number;
  /** Addresses of the workers holding a copy. */
  workers: WorkerAddress[];
}

// ---------------------------------------------------------------------------------------------
// Client → scheduler

/** One task of a submitted graph; `fn` and `args` are already encoded and stay opaque. */
export interface GraphTaskSpec {
  key: Key;
  /** The encoded function (core/function_codec.ts), or `null` for a literal. */
  fn: unknown;
  /** The encoded arguments, holding references to the results of `deps`. */
  args: unknown;
  /** The distinct keys this task reads. Each must be in the same message or already known. */
  deps: Key[];
  options?: TaskOptions;
  /**
   * A task fused from a linear chain by graph optimization: the keys of its parts in the order
   * they run, the last being `key`. The scheduler groups and shows it by their prefixes
   * (`inc+add`, core/task.ts `fusedPrefix`).
   */
  parts?: Key[];
  /**
   * The client is waiting for this value: send it with `key-in-memory` if it is tiny (see
   * `TaskFinishedMsg.value`). Other tiny results stay on their worker like any other.
   */
  returnValue?: true;
}

/** Submit tasks and hold references to `keys`. Tasks are listed in the client's preferred order. */
export interface UpdateGraphMsg {
  op: "update-graph";
  tasks: GraphTaskSpec[];
  /** The keys the client wants (holds futures for). */
  keys: Key[];
  /** Default user priority for tasks without `options.priority`. */
  priority?: number;
}

/** One key the client already placed on workers. */
export interface ScatteredKey {
  key: Key;
  nbytes: number;
  typeName: string;
  workers: WorkerAddress[];
}

/** Record data the client sent to workers directly; the client holds the keys. */
export interface ScatterMsg {
  op: "scatter";
  data: ScatteredKey[];
}

/** The client dropped its futures for these keys. */
export interface ClientReleasesKeysMsg {
  op: "client-releases-keys";
  keys: Key[];
}

/** The client holds futures for these existing keys (e.g. futures received from elsewhere). */
export interface ClientDesiresKeysMsg {
  op: "client-desires-keys";
  keys: Key[];
}

/** Keep these keys alive until they finish, even after the client lets go of them. */
export interface FireAndForgetMsg {
  op: "fire-and-forget";
  keys: Key[];
}

/**
 * Cancel these keys and, transitively, their dependents held by no other client. With `force`,
 * cancel them even when other clients hold them.
 */
export interface CancelMsg {
  op: "cancel";
  keys: Key[];
  force?: boolean;
}

/** Run these erred keys (and the erred tasks they depend on) again. */
export interface RetryMsg {
  op: "retry";
  keys: Key[];
}

export type ClientToSchedulerMsg =
  | UpdateGraphMsg
  | ScatterMsg
  | ClientReleasesKeysMsg
  | ClientDesiresKeysMsg
  | FireAndForgetMsg
  | CancelMsg
  | RetryMsg
  | MissingDataMsg;

// ---------------------------------------------------------------------------------------------
// Scheduler → client

/**
 * A held key's result is in memory on some worker. `workers` are its holders when this was sent,
 * so the client can fetch without asking `who-has` first (it asks again if they no longer hold it).
 */
export interface KeyInMemoryMsg {
  op: "key-in-memory";
  key: Key;
  typeName: string;
  nbytes: number;
  workers: WorkerAddress[];
  /** The value itself, when it is small and was just computed (see TaskFinishedMsg.value). */
  value?: Encoded;
}

/** A held key failed: `blamedKey` is the task that raised `error` (the key or a dependency). */
export interface TaskErredClientMsg {
  op: "task-erred";
  key: Key;
  error: ErrorRecord;
  blamedKey: Key;
}

/** A held key was cancelled. `reason`: why, when no client asked (scattered data lost). */
export interface CancelledMsg {
  op: "cancelled";
  key: Key;
  reason?: string;
}

/**
 * A held key's data was lost with its workers. Without `error` the scheduler is recomputing it
 * and a `key-in-memory` follows; with `error` it cannot come back (scattered data, or lost
 * lineage) and the error says what to do.
 */
export interface LostMsg {
  op: "lost";
  key: Key;
  error?: ErrorRecord;
}

/** A held erred key runs again (after `retry`): its future is pending again. */
export interface TaskRetriedMsg {
  op: "task-retried";
  key: Key;
}

/** A Pub's message for this client's Subs of `name` (forwarded by the scheduler). */
export interface PubSubClientMsg {
  op: "pubsub-msg";
  name: string;
  value: Encoded;
}

/**
 * Who subscribes to `name` now, for this client's Pubs: the workers whose tasks subscribe (sent
 * to peer to peer), and whether clients do (sent through the scheduler).
 */
export interface PubSubSubscribersMsg {
  op: "pubsub-subscribers";
  name: string;
  workers: WorkerAddress[];
  clients: boolean;
}

export type SchedulerToClientMsg =
  | KeyInMemoryMsg
  | TaskErredClientMsg
  | CancelledMsg
  | LostMsg
  | TaskRetriedMsg;

/** What the scheduler's Pub/Sub books send a client (apart from the state machine's messages). */
export type PubSubToClientMsg = PubSubClientMsg | PubSubSubscribersMsg;

// ---------------------------------------------------------------------------------------------
// Scheduler → worker

/** Compute `key`. `runId` identifies this assignment; results echo it. */
export interface ComputeTaskMsg {
  op: "compute-task";
  key: Key;
  runId: number;
  fn: unknown;
  args: unknown;
  priority: Priority;
  /** Every dependency with its size and holders. */
  deps: KeyLocation[];
  /** Abstract resources the task holds while it runs, or null. */
  resources: Record<string, number> | null;
  /** The scheduler's estimate of the compute time, seconds. */
  duration: number;
  /** A client waits for the value: send it with `task-finished` if it is tiny. */
  returnValue?: true;
  /** Milliseconds the run may take before the worker stops it (`TimeoutError`). */
  timeoutMs?: number;
  /** It builds an actor, which stays on this worker (docs/architecture.md, "Actors"). */
  actor?: true;
  /**
   * A fused task's group, named by its parts (`inc×2+add`, as the scheduler groups it): the
   * worker's profile files its samples under this name. Absent: the key's own prefix.
   */
  group?: string;
}

/** Forget these keys: stop (or discard) their computation and drop their data. */
export interface FreeKeysMsg {
  op: "free-keys";
  keys: Key[];
}

/** Give up `key` if it has not started; answer with `steal-response`. */
export interface StealRequestMsg {
  op: "steal-request";
  key: Key;
  stealId: number;
}

/** Fetch copies of these keys from their holders and keep them. */
export interface AcquireReplicasMsg {
  op: "acquire-replicas";
  keys: KeyLocation[];
}

/** Updated holders for keys the worker reported missing. */
export interface RefreshWhoHasMsg {
  op: "refresh-who-has";
  keys: KeyLocation[];
}

export type SchedulerToWorkerMsg =
  | ComputeTaskMsg
  | FreeKeysMsg
  | StealRequestMsg
  | AcquireReplicasMsg
  | RefreshWhoHasMsg;

// ---------------------------------------------------------------------------------------------
// Worker → scheduler

/**
 * `key` is in memory. `start`/`stop` are absent when the worker did not run it (it already had
 * the data).
 */
export interface TaskFinishedMsg {
  op: "task-finished";
  key: Key;
  runId: number;
  nbytes: number;
  typeName: string;
  start?: number;
  stop?: number;
  /** Index of the thread that ran it. */
  thread?: number;
  /**
   * The result itself, when the compute-task asked for it (`returnValue`) and it is tiny (no
   * frames, at most `INLINE_RESULT_BYTES` of body): the scheduler passes it on, unread, in the
   * `key-in-memory` it sends the key's holders right then, so the client waiting for the value
   * need not ask the worker for it. Never kept.
   */
  value?: Encoded;
}

/** Results up to this many bytes (encoded, without frames) travel with their notifications. */
export const INLINE_RESULT_BYTES = 256;

/** Running `key` threw `error`. */
export interface TaskErredMsg {
  op: "task-erred";
  key: Key;
  runId: number;
  error: ErrorRecord;
  start?: number;
  stop?: number;
  thread?: number;
}

/** The worker now holds copies of these keys (fetched dependencies, replicas, received data). */
export interface AddKeysMsg {
  op: "add-keys";
  keys: { key: Key; nbytes: number }[];
}

/**
 * `errantWorker` was supposed to hold these keys but did not have them, or could not be reached.
 * Sent by a worker fetching inputs, and by a client fetching results (only of keys it holds).
 */
export interface MissingDataMsg {
  op: "missing-data";
  keys: Key[];
  errantWorker: WorkerAddress;
}

/** The worker task states a steal-response may carry (null: the worker does not know the key). */
export type StealResponseState =
  | "waiting"
  | "ready"
  | "executing"
  | "memory"
  | "error"
  | "fetch"
  | "flight"
  | "missing"
  | null;

/**
 * Answer to `steal-request`: the state the task was in. `waiting`/`ready`: the worker gave it up;
 * anything else: it kept it (or never had it, `null`).
 */
export interface StealResponseMsg {
  op: "steal-response";
  key: Key;
  stealId: number;
  state: StealResponseState;
}

/**
 * The running task `key` gave its thread slot back (`secede()` in the task, Dask's
 * `long-running`): it no longer counts as the worker's load.
 */
export interface LongRunningMsg {
  op: "long-running";
  key: Key;
  runId: number;
}

/** The worker dropped its copies of these keys on its own (unneeded fetched dependencies). */
export interface ReleaseWorkerDataMsg {
  op: "release-worker-data";
  keys: Key[];
}

/**
 * Periodic liveness and metrics. Well-known metrics: `memory` (bytes of values held, Dask's
 * "managed"), `rss` (the process's resident bytes; the rest of it is "unmanaged"), `spilled`
 * (bytes on disk), `cpu` (% of one core), `pid`, `openFiles`, `executing`, `ready`, `inFlight` (transfers), `bandwidth` (measured bytes/s of
 * recent transfers), `live` and `liveKeys` (dataframe partitions kept live in their task thread,
 * counted in `memory`), `tableConversions` (tables the task threads converted to or from Arrow
 * IPC, ever).
 */
export interface HeartbeatMsg {
  op: "heartbeat";
  metrics: Record<string, number>;
  /**
   * The worker's log lines since its last heartbeat, `[seconds since the epoch, text]`, oldest
   * first (absent when none); the scheduler keeps the newest for the dashboard's worker pages.
   */
  logs?: [number, string][];
  /** Bytes received from peers since the last heartbeat (absent when none). */
  transfers?: TransferTotals;
}

/** Bytes moved, by peer address and by the values' type names. */
export interface TransferTotals {
  peers: Record<string, number>;
  types: Record<string, number>;
}

export type WorkerToSchedulerMsg =
  | TaskFinishedMsg
  | TaskErredMsg
  | AddKeysMsg
  | MissingDataMsg
  | StealResponseMsg
  | ReleaseWorkerDataMsg
  | LongRunningMsg
  | HeartbeatMsg;

/**
 * Where a task stands, as the `task-progress` request answers (one byte per key asked): waiting
 * or running; in memory, or released or forgotten after it ran; failed.
 */
export const TASK_PENDING = 0;
export const TASK_DONE = 1;
export const TASK_ERRED = 2;
