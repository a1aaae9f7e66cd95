/**
 * What can happen to a worker ({@link WorkerEvent}) and what its state machine tells the I/O
 * around it to do ({@link WorkerInstruction}): the one-way boundary between worker/state.ts
 * (decisions) and worker/server.ts with its parts (sockets, threads, store, timers).
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import type {
  SchedulerToWorkerMsg,
  TaskFinishedMsg,
  WorkerAddress,
  WorkerToSchedulerMsg,
} from "../protocol/messages.ts";
import type { CloseMsg, RestartMsg, RunMsg } from "../protocol/session.ts";
import type { ThreadEndCause } from "../threads/thread_pool.ts";

/** The result of running a task, as the thread pool reports it. */
export type ThreadResult =
  | {
    ok: true;
    nbytes: number;
    typeName: string;
    /** The value stayed in the thread that ran it, unencoded (a live table: worker/store.ts). */
    live?: boolean;
  }
  | {
    ok: false;
    error: ErrorRecord;
    /** It ended because the worker asked it to stop (threads/thread_pool.ts `stop`). */
    stopped?: boolean;
  };

/** Data that arrived in the store. */
export interface ReceivedData {
  key: Key;
  nbytes: number;
  typeName: string;
}

/** A message from the scheduler: the state machine's work and the session's life cycle. */
export type SchedulerMessage = SchedulerToWorkerMsg | CloseMsg | RestartMsg | RunMsg;

/** Everything that can happen to a worker. `now` is the time in seconds. */
export type WorkerEvent =
  /** Unchecked: the state machine refuses a malformed message (`abort-session`). */
  | { type: "scheduler-message"; msg: SchedulerMessage; now: number }
  /**
   * A thread ran `key`. On success its value waits with the server until a `keep-result`
   * instruction puts it into the store (or is dropped when none comes).
   */
  | {
    type: "thread-finished";
    key: Key;
    result: ThreadResult;
    start: number;
    stop: number;
    thread?: number;
    now: number;
  }
  /**
   * Results kept live in a task thread (worker/store.ts `setLive`) were lost with it: `keys` are
   * no longer in the store; `withdrawn` tasks (handed out, waiting for one of them to be
   * exported from that thread) were never posted.
   */
  | { type: "data-lost"; keys: Key[]; withdrawn: Key[]; now: number }
  /** A task handed out could not be given to its thread (an input unreadable or gone). */
  | { type: "execute-failed"; key: Key; reason: string; now: number }
  /** A running task gave its thread slot back (`secede()` in the task). */
  | { type: "task-seceded"; key: Key; now: number }
  /** A seceded task asks for a thread slot again (`rejoin()`); answered by `rejoined`. */
  | { type: "task-rejoin"; key: Key; now: number }
  /**
   * A thread was terminated and replaced (threads/thread_pool.ts `ThreadEnd`): `culprit` was
   * running on it (null: none was) and `cause` says why; the other tasks handed to it are lost
   * through no fault of their own and run again.
   */
  | {
    type: "thread-died";
    thread: number;
    cause: ThreadEndCause;
    culprit: Key | null;
    reason: string;
    now: number;
  }
  /**
   * A `gather-dependencies` request was answered: `data` is in the store; requested keys not in
   * `data` were not on that peer.
   */
  | { type: "gather-done"; requestId: number; data: ReceivedData[]; now: number }
  /** A `gather-dependencies` request failed: the peer could not be reached. */
  | { type: "gather-failed"; requestId: number; reason: string; now: number }
  /** Data put into the store from outside (scatter). `report`: tell the scheduler. */
  | { type: "update-data"; data: ReceivedData[]; report: boolean; now: number }
  /**
   * The process is short of memory: start no task and no transfer until `resume` (tasks running
   * finish; peers are still served).
   */
  | { type: "pause"; now: number }
  /** Memory fell back: run and fetch again. */
  | { type: "resume"; now: number }
  /**
   * Paused, nothing running, and nothing can be spilled (the spill directory is full): the tasks
   * waiting here would wait forever, so they fail with `MemoryLimitError`.
   */
  | { type: "memory-exhausted"; reason: string; now: number };

/** One task to run on a thread. Inputs are in the store under `deps`. */
export interface ExecuteSpec {
  key: Key;
  runId: number;
  /** A function spec (core/function_codec.ts), as the scheduler sent it. */
  fn: unknown;
  /** Encoded arguments, as the scheduler sent them. */
  args: unknown;
  deps: Key[];
  resources: Readonly<Record<string, number>> | null;
  /** The thread that runs it (the one with the least expected work). */
  thread: number;
  /** Milliseconds the run may take before its thread is stopped (0: no limit). */
  timeoutMs: number;
  /** It builds an actor (worker/actors.ts) instead of running on a task thread. */
  actor?: boolean;
  /** A fused task's group name (ComputeTaskMsg.group): its samples' name in the profile. */
  group?: string;
}

/** What the server must do, in order. */
export type WorkerInstruction =
  /**
   * Run these tasks, one batch per event: as many as there are free threads, plus short tasks
   * to queue on busy threads (run in the order given, each on its `thread`).
   */
  | { type: "execute"; tasks: ExecuteSpec[] }
  /** The seceded task `key` has a thread slot again: let it go on. */
  | { type: "rejoined"; key: Key }
  /** Put the value the thread returned for `key` into the store. */
  | { type: "keep-result"; key: Key }
  /**
   * `key` was withdrawn while handed to `thread`: stop its run (terminating the thread if it
   * has started); a `thread-died` with cause `stopped` follows once it is stopped.
   */
  | { type: "stop-task"; key: Key; thread: number }
  /** Put a value known without running anything (a literal) into the store. */
  | { type: "store"; key: Key; encoded: Encoded; nbytes: number; typeName: string }
  /** Ask `peer` for `keys` in one request; answer with gather-done or gather-failed. */
  | {
    type: "gather-dependencies";
    requestId: number;
    peer: WorkerAddress;
    keys: Key[];
    nbytes: number;
  }
  | { type: "send-to-scheduler"; msg: WorkerToSchedulerMsg }
  /**
   * A client waits for this result: attach the stored value to `msg` when it is one buffer of
   * at most `inlineMaxBytes` (nobody then asks for it), and send it.
   */
  | { type: "send-result"; msg: TaskFinishedMsg; inlineMaxBytes: number }
  /** Drop these keys from the store. */
  | { type: "free"; keys: Key[] }
  /** Call a function in the worker process and answer `run-result`. */
  | { type: "run"; msg: RunMsg }
  /** The scheduler asked this worker to stop. */
  | { type: "close"; reason: string }
  /** Drop every task, thread and value, and register again as a new worker. */
  | { type: "restart"; reason: string }
  /** The scheduler sent something malformed: close the session with this reason. */
  | { type: "abort-session"; problem: string };
