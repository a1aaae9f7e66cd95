/**
 * Messages between a thread pool's owner (the local `threads` scheduler or a distributed
 * worker) and its Web Worker threads. One way to execute a task, everywhere.
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { FunctionSpec } from "../core/function_codec.ts";
import type { Encoded } from "../core/value_codec.ts";
import type { Key } from "../core/task.ts";
import type { ProfileNode, TaskStack } from "../core/profile_tree.ts";

/** One task to run on a thread. */
export interface RunItem {
  /** The owner's handle for this run, echoed back in the result. */
  id: number;
  key: Key;
  /** The function, or only its id once this thread has been sent it. */
  fn: FunctionSpec | string;
  /** The task's arguments, with `TaskRef`s where dependency values go. */
  args: Encoded;
  /** Values of the referenced dependencies, as parallel arrays. */
  depKeys: Key[];
  depValues: Encoded[];
  /**
   * Dependencies made by earlier items of the same batch (local schedulers): the runner keeps
   * their values for this batch, so a chain of tasks needs no round trip to the owner.
   */
  batchDepKeys?: Key[];
  /**
   * Set when only later items of the same batch read this result, this many times (their
   * `batchDepKeys`), and the owner does not want the value (local schedulers): the runner keeps
   * it for them and reports success without encoding it ({@link NOT_SENT}). Its report travels
   * in the same message as the report of its last reader, so an owner that loses the reader
   * (its runner died) has not yet counted this item as done and runs both again.
   */
  localReaders?: number;
  /** Milliseconds the task may run before its thread is stopped (absent: no limit). */
  timeoutMs?: number;
  /**
   * The owner keeps a table result where it is (a worker): the thread pins it
   * (threads/live_tables.ts) and sends no bytes ({@link NOT_SENT}, `live` in the result) until
   * the owner asks for them ({@link ExportTables}).
   */
  keepLive?: boolean;
  /**
   * Inputs pinned on this thread (results of earlier tasks here that stayed live): their
   * `depValues` are {@link NOT_SENT} and the task reads the table itself.
   */
  liveDeps?: Key[];
  /**
   * Where this item's live tables are filed on the thread, when its owner runs computations that
   * may share keys on one pool (the local `threads` scheduler: one scope per computation, so two
   * computations of the same graph never take or release each other's tables). The keys of
   * `liveDeps`, of {@link ExportTables} and of {@link ReleaseRefs} are then scoped
   * (threads/live_tables.ts `scopedKey`); absent: keys as they are (a worker).
   */
  liveScope?: string;
  /**
   * The name the profiler files the task's samples under when it is not the key's prefix: a
   * fused task's group, named by its parts (`inc×2+add`).
   */
  group?: string;
  /**
   * Set when the item is a whole subgraph of a local computation (collections/local/pool_run.ts):
   * its members run one after another in this runner, each reading earlier members' values as
   * they are. `args` is then one encoding of the array of every member's arguments, `depKeys`
   * and `depValues` the inputs from outside the subgraph, and `key`/`fn` the last member's.
   */
  members?: RunMembers;
}

/**
 * Positions in a {@link RunMembers}: the owner sends an `Int32Array` (one buffer to write and
 * to read, where an array of numbers costs the codec a call per number, cold); plain arrays
 * work as well.
 */
export type Positions = Int32Array | number[];

/** The tasks of an item that runs a subgraph (`RunItem.members`), in the order they run. */
export interface RunMembers {
  /**
   * Each member's key; an input of a later member is named by its key in that member's
   * arguments' `TaskRef`s, or, for an argument that is the reference itself, by position
   * ({@link memberRefs}).
   */
  keys: Key[];
  /**
   * Each member's function, or only its id once this runner has been sent it; with
   * {@link fnOf}, each distinct function once.
   */
  fns: (FunctionSpec | string)[];
  /** Each member's function as a position in {@link fns} (absent: `fns` has one per member). */
  fnOf?: Positions;
  /**
   * The members whose values the owner wants (read outside the subgraph, or outputs), by
   * index, ascending; their values come back in `RunResult.exported`, in this order. The
   * others are read only by later members and never leave the runner.
   */
  exports: Positions;
  /**
   * The members that read other tasks' results, by index, ascending: only their arguments are
   * searched for `TaskRef`s (as an item's are only when it has inputs).
   */
  readers: Positions;
  /**
   * Arguments that are an earlier member's value itself, sent without the key (each key travels
   * once, in {@link keys}): triples `member, argument position, earlier member` by member,
   * ascending. The argument is null in `args`; the runner puts the value there before the call.
   */
  memberRefs?: Positions;
  /** The profiler's name of each member that is a fused task (`RunItem.group`), else null. */
  groups?: (string | null)[];
}

/**
 * The value of a result its runner kept for later items of its batch (`RunItem.localReaders`):
 * `undefined`, never read by the owner.
 */
export const NOT_SENT: Encoded = Object.freeze({
  body: new Uint8Array([0xc0]),
  frames: Object.freeze([]) as unknown as Uint8Array[],
});

/** What the owner posts: a batch of tasks in one message. */
export interface RunBatch {
  type: "run";
  batch: RunItem[];
}

/**
 * The owner's first message to a thread: where the thread writes which run it is executing
 * (see {@link ThreadStatus}), so the owner can tell which task to blame or stop without asking.
 */
export interface ThreadInit {
  type: "init";
  status: SharedArrayBuffer;
}

/** A task's outcome. Times are `performance.timeOrigin + performance.now()` in milliseconds. */
export type RunResult =
  | {
    id: number;
    ok: true;
    value: Encoded;
    /** Bytes the value holds in memory. */
    nbytes: number;
    /** The value's type name, for displays (`Float64Array`, `NDArray`, `object`, ...). */
    typeName: string;
    /**
     * The thread keeps something of this result until `release-refs`: Futures the task returned,
     * or the live table (threads/live_tables.ts).
     */
    holdsRefs?: boolean;
    /** The value stayed on the thread, pinned (`RunItem.keepLive`): `value` is NOT_SENT. */
    live?: boolean;
    /** Tables the thread converted to or from Arrow IPC since its last report. */
    conversions?: number;
    /**
     * An item with members: the exported members' values (`RunMembers.exports` order); `value`
     * is then NOT_SENT.
     */
    exported?: Encoded[];
    /**
     * An item with members and `keepLive`: the positions in `exported` of the values that stayed
     * pinned on the thread (NOT_SENT there), ascending.
     */
    liveExports?: number[];
    /** An item with members: each member's run time in milliseconds, in run order. */
    durations?: Float64Array;
    start: number;
    stop: number;
  }
  | {
    id: number;
    ok: false;
    error: ErrorRecord;
    /** It ended at a cancellation point because its owner asked it to stop. */
    stopped?: boolean;
    start: number;
    stop: number;
  };

/** What a thread posts back: results of tasks of one or more batches. */
export interface RunResults {
  type: "results";
  results: RunResult[];
}

/**
 * A task tried to end its thread (`Deno.exit(3)`, `self.close()`): the thread posts this and
 * waits to be terminated, so its owner learns at once and names what the task did.
 */
export interface ThreadEnding {
  type: "ending";
  /** What the task called, e.g. `Deno.exit(3)`. */
  what: string;
}

/**
 * A thread's status, in shared memory the thread writes and its owner reads: the id of the run
 * executing now (0: none) and when it started (`performance.timeOrigin + now()`, ms). One slot
 * more serves a thread that must block until it is terminated, and one the owner writes: the
 * run it asks to stop (core/cancel_point.ts), compared with the run executing now so a request
 * that arrives late never stops the next run. The last slot is the run that last looked at its
 * stop flag: such a run stops by itself, given time, so its owner need not terminate its thread.
 */
export class ThreadStatus {
  static readonly BYTES = 28;
  readonly #numbers: Float64Array;
  readonly #block: Int32Array;
  readonly #stop: Int32Array;
  readonly #looked: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(ThreadStatus.BYTES)) {
    this.#numbers = new Float64Array(buffer, 0, 2);
    this.#block = new Int32Array(buffer, 16, 1);
    this.#stop = new Int32Array(buffer, 20, 1);
    this.#looked = new Int32Array(buffer, 24, 1);
  }

  /** The owner asks run `runId` to stop at its next cancellation point. */
  requestStop(runId: number): void {
    Atomics.store(this.#stop, 0, runId | 0);
  }

  /** Whether the run executing now was asked to stop (read by the thread itself). */
  get stopRequested(): boolean {
    const running = this.#numbers[0];
    return running !== 0 && Atomics.load(this.#stop, 0) === (running | 0);
  }

  /**
   * A cancellation point of the run executing now (read by the thread itself): records that the
   * run looks at its flag, and says whether it was asked to stop.
   */
  lookAtStop(): boolean {
    const running = this.#numbers[0] | 0;
    if (running === 0) return false;
    Atomics.store(this.#looked, 0, running);
    return Atomics.load(this.#stop, 0) === running;
  }

  /** Whether run `runId` has looked at its stop flag (it stops by itself at its next look). */
  looksAtStop(runId: number): boolean {
    return Atomics.load(this.#looked, 0) === (runId | 0);
  }

  /** The run executing now, or 0. */
  get runId(): number {
    return this.#numbers[0];
  }

  /** When the run executing now started, ms. */
  get startedAt(): number {
    return this.#numbers[1];
  }

  begin(runId: number, at: number): void {
    this.#numbers[1] = at;
    this.#numbers[0] = runId;
  }

  end(): void {
    this.#numbers[0] = 0;
  }

  /** Blocks this thread for good (until it is terminated from outside). */
  blockForever(): never {
    for (;;) Atomics.wait(this.#block, 0, 0);
  }
}

/**
 * What the owner tells each thread once, before any batch: the cluster its tasks run on (for
 * `getClient()` in a task). The local `threads` scheduler sends none.
 */
export interface ThreadSetup {
  type: "setup";
  scheduler: string;
  worker: string;
  authToken?: string;
  /** The worker's TLS files as inline PEM text, for a task's client on a TLS cluster. */
  security?: { caFile?: string; cert?: string; key?: string };
  /**
   * The scheduler has client identities: tasks get no cluster credentials; a task's client asks
   * for one of its own (docs/security.md).
   */
  tenancy?: boolean;
  /** Bytes of live tables the thread may keep beside their encoded copies (threads/live_tables.ts). */
  liveTableBytes?: number;
  /**
   * Resident bytes of the process above which dataframe tasks trim the native heap when they end
   * (core/native_memory.ts `trimNativeMemoryIfHigh`). Default: 2 GiB.
   */
  trimAboveBytes?: number;
}

/** The owner granted a thread slot to a task that asked to rejoin. */
export interface Rejoined {
  type: "rejoined";
  id: number;
}

/** These results are gone from the owner: the Futures and live tables they held may go. */
export interface ReleaseRefs {
  type: "release-refs";
  keys: Key[];
}

/**
 * The owner needs the bytes of these pinned results (they move: to a peer, a client, disk or
 * another thread): answered by {@link ExportedTables}.
 */
export interface ExportTables {
  type: "export";
  id: number;
  keys: Key[];
  /**
   * The bytes go to disk (spilling, memory is short): the thread keeps no copy and returns the
   * tables' native memory at once.
   */
  drop?: boolean;
}

/** The encoded pinned results asked for, in order; null for a key not pinned here. */
export interface ExportedTables {
  type: "exported";
  id: number;
  values: (Encoded | null)[];
  /** Tables the thread converted to or from Arrow IPC since its last report. */
  conversions: number;
}

/** Asks for what the thread's live tables hold now ({@link LiveTablesAnswer}). */
export interface LiveTablesQuery {
  type: "live-tables";
  id: number;
}

/** What a thread's live tables hold (threads/live_tables.ts): tables, and their bytes. */
export interface LiveTablesAnswer {
  type: "live-tables";
  id: number;
  /** Tables held, pinned and cached. */
  tables: number;
  /** Bytes of the pinned tables (the only copies) and of the cached ones. */
  pinnedBytes: number;
  cachedBytes: number;
}

/** A Pub's message for the Subs of `name` on this thread. */
export interface PubSubDelivery {
  type: "pubsub-msg";
  name: string;
  value: Encoded;
}

/**
 * Asks for the thread's profile (threads/sampler.ts) of `[start, stop]` (ms since the epoch,
 * null: open) for tasks of prefix `prefix` (null: all); answered by {@link ProfileAnswer}.
 */
export interface ProfileQuery {
  type: "profile";
  id: number;
  start: number | null;
  stop: number | null;
  prefix: string | null;
  /** The root's children are the task prefixes, the call trees below them. */
  byPrefix?: boolean;
}

/** A thread's profile: Dask's call tree (core/profile_tree.ts). */
export interface ProfileAnswer {
  type: "profile";
  id: number;
  tree: ProfileNode;
  /** Whether the thread samples (it has `sys: inspector` and sampling is on). */
  sampling: boolean;
}

/** Asks for the latest sampled stack of each task the thread runs now ({@link StacksAnswer}). */
export interface StacksQuery {
  type: "stacks";
  id: number;
}

/** The latest sampled stack of each task the thread runs now (threads/sampler.ts). */
export interface StacksAnswer {
  type: "stacks";
  id: number;
  stacks: TaskStack[];
  sampling: boolean;
}

/** Modules clients uploaded (`client.uploadFile`), by name: tasks may import them. */
export interface UploadedModules {
  type: "uploads";
  modules: Record<string, string>;
}

/** The answer to a {@link DelegationRequest}: a `name:secret` token, or why there is none. */
export interface Delegated {
  type: "delegated";
  request: number;
  token?: string;
  error?: string;
}

/**
 * Turns the thread's sampler (threads/sampler.ts) on (`intervalMs` between samples) or off (0);
 * it is off until then (`ThreadPool.sample`). A worker turns its threads' on as it starts
 * them (`--profile-interval`, 10 ms by default); a local pool's only when asked (`sampleThreads`).
 */
export interface SamplingChange {
  type: "sampling";
  intervalMs: number;
}

/** Everything the owner posts to a thread. */
export type ToThread =
  | Delegated
  | SamplingChange
  | UploadedModules
  | ProfileQuery
  | StacksQuery
  | LiveTablesQuery
  | RunBatch
  | ThreadInit
  | ThreadSetup
  | Rejoined
  | ReleaseRefs
  | ExportTables
  | PubSubDelivery;

/** Tasks of this thread now subscribe to `name` (Pub messages arrive at the worker), or no more. */
export interface SubscriptionChange {
  type: "subscribe" | "unsubscribe";
  name: string;
}

/**
 * A running task gave its thread slot back (`secede`: the rest of its batch goes on, and the
 * owner may run more tasks beside it) or asks for one again (`rejoin`: answered by `rejoined`).
 */
export interface SlotRequest {
  type: "secede" | "rejoin";
  id: number;
}

/**
 * A running task (run `id`) asks for a credential of its own for `getClient()` under tenancy: the
 * owner asks the scheduler (scheduler/task_delegation.ts) and answers with {@link Delegated}.
 */
export interface DelegationRequest {
  type: "delegate";
  id: number;
  request: number;
}

/** Everything a thread posts to its owner. */
export type FromThread =
  | RunResults
  | SlotRequest
  | DelegationRequest
  | SubscriptionChange
  | ThreadEnding
  | ExportedTables
  | ProfileAnswer
  | StacksAnswer
  | LiveTablesAnswer;

/**
 * What a worker subprocess (process_entry.ts) writes besides the thread's messages: that it has
 * loaded and reads batches, or the uncaught error that is about to end it.
 */
export type ProcessNotice = { type: "ready" } | { type: "fatal"; message: string };
