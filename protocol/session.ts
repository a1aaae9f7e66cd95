/**
 * The messages servers and clients exchange around the state machines (docs/protocol.md §8):
 * registration, requests to the scheduler, data transfer between workers and to clients, and
 * shutdown. The state machines' own messages are in protocol.ts.
 *
 * @module
 */

import type { ActorCallMsg, ActorReadMsg, ActorReplyMsg } from "./actors.ts";
import type {
  CallStacksReplyMsg,
  CallStacksRequestMsg,
  ProfileReplyMsg,
  ProfileRequestMsg,
} from "./profile.ts";
import type { ErrorRecord } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import type { ClientId, ScatteredKey, WorkerAddress } from "./messages.ts";

/** The version of this session protocol; registrations carrying another one are refused. */
export const SESSION_PROTOCOL = 1;

/** Default seconds between worker heartbeats; 10 missed ones declare the worker lost. */
export const DEFAULT_HEARTBEAT_INTERVAL = 0.5;

/** A worker's peers may have at most this many data requests served at once ("busy" beyond). */
export const MAX_CONCURRENT_PEER_REQUESTS = 50;

// ---------------------------------------------------------------------------------------------
// Registration

/** Worker → scheduler, first message on a `"worker"` connection. */
export interface RegisterWorkerMsg {
  op: "register-worker";
  /** Where the worker listens for peers. */
  address: WorkerAddress;
  name: string;
  nthreads: number;
  /** Bytes; 0 for no limit. */
  memoryLimit: number;
  resources: Record<string, number>;
  /** Data the worker still holds (after reconnecting). */
  keys: { key: Key; nbytes: number; typeName: string }[];
  pid: number;
  protocol: number;
  /** True when the worker unpacks `batch` messages; otherwise each message comes on its own. */
  batches?: boolean;
}

/** Scheduler → worker: registration accepted. */
export interface WorkerRegisteredMsg {
  op: "worker-registered";
  /** Seconds between heartbeats. */
  heartbeatInterval: number;
  /**
   * The scheduler has client identities (tenancy): task threads get no cluster token, so a
   * tenant's task cannot act with the cluster's rights.
   */
  tenancy?: boolean;
}

/** Scheduler → worker or client: registration refused; the connection closes after it. */
export interface RefusedMsg {
  op: "refused";
  reason: string;
  /** The kind of process that refused, when it is not a scheduler (a client dialled a worker). */
  from?: "worker";
}

/** Client → scheduler, first message on a `"client"` connection. */
export interface RegisterClientMsg {
  op: "register-client";
  clientId: ClientId;
  protocol: number;
  /** True when the client unpacks `batch` messages; otherwise each message comes on its own. */
  batches?: boolean;
}

/** A worker as clients see it. */
export interface WorkerInfo {
  address: WorkerAddress;
  name: string;
  nthreads: number;
  memoryLimit: number;
}

/** Scheduler → client: registration accepted. */
export interface ClientRegisteredMsg {
  op: "client-registered";
  schedulerAddress: string;
  dashboardLink?: string;
  workers: WorkerInfo[];
  /** The client identity it authenticated as, when not the cluster's (tenancy). */
  identity?: string;
  /**
   * False when the client must not reach workers itself (a client identity: workers accept
   * only the cluster's token): it gathers and scatters through the scheduler.
   */
  direct?: boolean;
}

/** Scheduler → worker: stop (the scheduler is shutting down, or the worker was retired). */
export interface CloseMsg {
  op: "close";
  reason: string;
}

// ---------------------------------------------------------------------------------------------
// Worker life cycle and administration (on the worker's scheduler connection)

/**
 * Worker → scheduler: this worker is stopping on purpose (SIGTERM, closed). The scheduler removes
 * it at once (`worker-removed`): its tasks move elsewhere without counting a failure.
 */
export interface WorkerLeavingMsg {
  op: "worker-leaving";
  reason: string;
}

/**
 * Worker → scheduler: the worker's supervisor terminated it (its process memory passed 95 % of
 * its limit); unlike `worker-leaving`, the tasks it was running count it as a death (suspects,
 * `KilledWorker` after `allowedFailures`) and `reason` goes into that error.
 */
export interface WorkerTerminatedMsg {
  op: "worker-terminated";
  reason: string;
}

/**
 * Worker → scheduler: the worker paused for lack of memory (`paused`: give it no new tasks),
 * stays paused with its spill directory full and nothing running (`exhausted`: it will not resume
 * by itself), or resumed (`running`).
 */
export interface WorkerStatusMsg {
  op: "worker-status";
  status: "running" | "paused" | "exhausted";
}

/**
 * Scheduler → worker: drop every task, thread and value, then register again as a new worker
 * (the scheduler has already removed this registration).
 */
export interface RestartMsg {
  op: "restart";
  reason: string;
}

/** Scheduler → worker: call `fn(...args)` in the worker process and answer `run-result`. */
export interface RunMsg {
  op: "run";
  runRequestId: number;
  /** A `FunctionSpec` (core/function_codec.ts). */
  fn: unknown;
  /** The encoded argument array. */
  args: Encoded;
}

/** Worker → scheduler: the outcome of a {@link RunMsg}. */
export type RunResultMsg =
  | { op: "run-result"; runRequestId: number; ok: true; value: Encoded }
  | { op: "run-result"; runRequestId: number; ok: false; error: ErrorRecord };

/**
 * Worker → scheduler, under tenancy: a credential for the client of the task `key` running on
 * this worker, acting as the identity that submitted the task (scheduler/task_delegation.ts).
 */
export interface DelegateTaskMsg {
  op: "delegate-task";
  requestId: number;
  key: string;
}

/** Scheduler → worker: the answer to a {@link DelegateTaskMsg}: a `name:secret` token, or why not. */
export type TaskDelegatedMsg =
  | { op: "task-delegated"; requestId: number; token: string }
  | { op: "task-delegated"; requestId: number; error: string };

/** The `run` request's result: each worker's outcome, by address. */
export type RunOutcomes = Record<
  WorkerAddress,
  { ok: true; value: Encoded } | { ok: false; error: ErrorRecord }
>;

/** The `retire-workers` request's result. */
export interface RetireResult {
  /** Addresses of the workers that were retired. */
  retired: WorkerAddress[];
}

/** The `replicate` request's result: replicas per key once done. */
export type ReplicateResult = Record<Key, number>;

/** The `rebalance` request's result. */
export interface RebalanceResult {
  /** Copies moved from one worker to another. */
  moved: number;
  /** Bytes moved. */
  bytes: number;
}

/** The `restart` request's result. */
export interface RestartResult {
  /** Workers registered once the restart finished. */
  workers: number;
}

// ---------------------------------------------------------------------------------------------
// Requests to the scheduler

/** Client → scheduler: a request answered by a {@link ReplyMsg} with the same `requestId`. */
export interface RequestMsg {
  op: "request";
  requestId: number;
  method: string;
  params: Record<string, unknown>;
}

/** Scheduler → client: the answer to a {@link RequestMsg}: `result` or `error`. */
export type ReplyMsg =
  | { op: "reply"; requestId: number; result: unknown }
  | { op: "reply"; requestId: number; error: ErrorRecord };

/** Whether a worker takes new tasks: `paused` for lack of memory, `closing` while retired. */
export type WorkerRunState = "running" | "paused" | "closing";

/** The `workers` request's result items: one worker as the scheduler lists it. */
export interface WorkerListing extends WorkerInfo {
  /** Bytes held (as the worker last reported, else the scheduler's books). */
  memory: number;
  /** Tasks running there. */
  executing: number;
  /** Keys held there. */
  inMemory: number;
  /** Bytes the worker spilled to disk (as it last reported). */
  spilled: number;
  /** Its spill directory is full (or its --spill-limit reached): it no longer spills. */
  spillFull: boolean;
  /** `paused` (short of memory), `closing` (being retired) or `running`. */
  status: WorkerRunState;
  /** The worker's metrics as its last heartbeat reported them (protocol/messages.ts `HeartbeatMsg`). */
  metrics: Record<string, number>;
}

/** The `relay-scatter` request's result. */
export type RelayScatterResult = ScatteredKey[];

// ---------------------------------------------------------------------------------------------
// Data transfer (role "peer", to a worker's listener)

/** One value as it travels between workers and clients: encoded once, never re-encoded. */
export interface DataItem {
  key: Key;
  value: Encoded;
  nbytes: number;
  typeName: string;
}

/** Ask a worker for the values of `keys`. */
export interface GetDataMsg {
  op: "get-data";
  requestId: number;
  keys: Key[];
}

/** The answer to {@link GetDataMsg}: the keys the worker holds (others are left out). */
export interface DataMsg {
  op: "data";
  requestId: number;
  items: DataItem[];
}

/** Put values in a worker's store (scatter). `report`: the worker tells the scheduler. */
export interface UpdateDataMsg {
  op: "update-data";
  requestId: number;
  items: DataItem[];
  report: boolean;
}

/** The answer to {@link UpdateDataMsg}. */
export interface DataStoredMsg {
  op: "data-stored";
  requestId: number;
  keys: Key[];
}

/** The worker is serving too many peers: retry after a short delay. */
export interface BusyMsg {
  op: "busy";
  requestId: number;
}

/** A Pub's message for the Subs of `name` in tasks on this worker (peer to peer, no scheduler). */
export interface PubSubPeerMsg {
  op: "pubsub-msg";
  requestId: number;
  name: string;
  value: Encoded;
}

/** The answer to {@link PubSubPeerMsg}: handed to the worker's subscribed threads. */
export interface PubSubDeliveredMsg {
  op: "pubsub-delivered";
  requestId: number;
}

export type PeerRequest =
  | GetDataMsg
  | UpdateDataMsg
  | PubSubPeerMsg
  | ActorCallMsg
  | ActorReadMsg
  | ProfileRequestMsg
  | CallStacksRequestMsg;
export type PeerReply =
  | DataMsg
  | DataStoredMsg
  | PubSubDeliveredMsg
  | ActorReplyMsg
  | ProfileReplyMsg
  | CallStacksReplyMsg
  | BusyMsg;
