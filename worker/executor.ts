/**
 * The worker's task threads (I/O only): posts the tasks the state machine hands out to the
 * threads it chose, with their inputs from the store, and turns what comes back into events
 * (`thread-finished`, `execute-failed`, `thread-died`), and stops runs the state machine withdrew
 * (`stop-task`: the thread is terminated and replaced, threads/thread_pool.ts). A finished task's value waits here until
 * the state machine says to keep it (`keep-result`).
 *
 * Tasks are held while a burst of events is handled (every scheduler message already read, a
 * thread's batch of results), then posted in one `postMessage` per thread. Large inputs are
 * shared with the threads, not copied (see {@link TaskExecutor.shareWithThread}).
 *
 * With `keepLive`, a task's table result stays in its thread (threads/live_tables.ts): the store
 * gets a pointer ({@link DataStore.setLive}), a later task on that thread reads the table itself,
 * and the table is encoded only when it moves — {@link TaskExecutor.materialize} (a peer, a
 * client, a task on another thread) or spilling. A thread that ends takes its live results with
 * it: they are reported lost (`data-lost`) and computed again.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import type { FunctionSpec } from "../core/function_codec.ts";
import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import { type ThreadEnd, ThreadPool } from "../threads/thread_pool.ts";
import {
  type DelegationRequest,
  type ExportedTables,
  NOT_SENT,
  type ProfileQuery,
  type RunItem,
  type RunResult,
  type SlotRequest,
  type ThreadSetup,
} from "../threads/thread_protocol.ts";
import type { ExecuteSpec, WorkerEvent } from "./events.ts";
import type { DataStore, LiveValue, StoredValue } from "./store.ts";
import { runSpecProblem } from "./task_outcomes.ts";
import { isEncoded } from "../protocol/message_checks.ts";
import { ActorHost } from "./actors.ts";
import {
  emptyProfile,
  mergeProfile,
  type ProfileNode,
  type TaskStack,
  type ThreadStacks,
} from "../core/profile_tree.ts";
import { isOwnFile } from "../threads/sampler.ts";
import { ThreadInspector } from "./thread_inspector.ts";

/** Stored frames this large are moved to shared memory on first use by a thread. */
export const SHARED_FRAME_MIN_BYTES = 64 * 1024;

const now = () => (performance.timeOrigin + performance.now()) / 1000;

/** What the executor needs from the worker around it. */
export interface ExecutorHost {
  readonly store: DataStore;
  /** The worker's address, for messages. */
  address(): string;
  /** Hands an event to the state machine (and carries out its instructions). */
  handle(event: WorkerEvent): void;
  log(line: string): void;
  /** A terminated task thread keeps using CPU (threads/stray_threads.ts). */
  strayThread?(reason: string): void;
  /** A credential for running task `key`'s client, from the scheduler (tenancy). */
  delegate(key: Key): Promise<string>;
  /**
   * Whether the stack of a thread busy in synchronous code may be read by pausing it through
   * this process's inspector (worker/thread_inspector.ts); false: only its task is told.
   */
  readonly inspectBusyThreads?: boolean;
}

/** A task run handed to a thread, by the id its result echoes. */
interface Run {
  key: Key;
  thread: number;
  session: number;
  /** The task function's name. */
  fn: string;
}

/** Bytes asked of a thread for results it keeps live, by request id. */
interface ExportRequest {
  thread: number;
  keys: Key[];
  /** They go to disk (spilling), not to a reader. */
  spill: boolean;
  done: () => void;
}

/** The tasks going to one thread in one `postMessage`, and the buffers handed over with them. */
interface ThreadBatch {
  items: RunItem[];
  transfer: Set<ArrayBuffer>;
}

export class TaskExecutor {
  /** The scheduler session the worker is in; results of older sessions are dropped. */
  session = 0;
  #pool: ThreadPool;
  readonly #runs = new Map<number, Run>();
  /** Reads the stacks of threads busy in synchronous code; opened on the first such request. */
  #inspector: ThreadInspector | null = null;
  #nextRunId = 1;
  /** Tasks to run, held while a burst of events is handled (see {@link release}). */
  #toRun: ExecuteSpec[] = [];
  #holding = false;
  /** Values threads returned, until the state machine keeps them or not. */
  readonly #landing = new Map<Key, StoredValue | LiveValue>();
  /** Tables converted to or from Arrow IPC in the task threads (ever): a worker metric. */
  tableConversions = 0;
  /** Exports of live results asked of threads, by id. */
  readonly #exports = new Map<number, ExportRequest>();
  #nextExportId = 1;
  /** Exports under way, by key. */
  readonly #exporting = new Map<Key, Promise<void>>();
  /** Tasks handed out whose inputs are being exported from another thread, by key. */
  readonly #deferred = new Map<Key, ExecuteSpec>();
  #closed = false;
  /** Tasks that seceded from their thread's slot, by key: where to send `rejoined`. */
  readonly #seceded = new Map<Key, { id: number; thread: number }>();
  #setup: ThreadSetup | null = null;
  /** Milliseconds between the task threads' stack samples ({@link sample}); null: never set. */
  #sampleIntervalMs: number | null = null;
  /** Modules clients uploaded, by name (`client.uploadFile`). */
  readonly #uploads: Record<string, string> = {};
  /** Results holding Futures (returned by their tasks), by key: the thread keeping them alive. */
  readonly #refHolders = new Map<Key, number>();
  /** The actors built here (tasks marked `actor`), in their own thread. */
  readonly actors: ActorHost;

  /**
   * @param permissions the task threads' Deno permissions (core/task_permissions.ts).
   * @param keepLive table results stay in their thread until they move (see the module doc).
   */
  constructor(
    readonly nthreads: number,
    private readonly host: ExecutorHost,
    private readonly permissions: Deno.PermissionOptions = "inherit",
    readonly keepLive = false,
  ) {
    this.#pool = this.#newPool();
    this.actors = new ActorHost(permissions, host.log);
  }

  #newPool(): ThreadPool {
    const pool = new ThreadPool(
      this.nthreads,
      (thread, results) => this.#threadResults(thread, results),
      (end) => this.#threadEnded(end),
      (thread, request) => this.#slotRequest(thread, request),
      this.permissions,
    );
    pool.onStrayThread = (reason) => this.host.strayThread?.(reason);
    pool.onExported = (thread, answer) => this.#exported(thread, answer);
    if (this.host.inspectBusyThreads) {
      pool.haltLoop = async (name, terminate) => {
        this.#inspector ??= new ThreadInspector(isOwnFile);
        await this.#inspector.halt(name, terminate);
      };
    }
    if (this.#setup !== null) pool.setup(this.#setup);
    if (this.#sampleIntervalMs !== null) pool.sample(this.#sampleIntervalMs);
    if (Object.keys(this.#uploads).length > 0) pool.uploads(this.#uploads);
    return pool;
  }

  /**
   * The task threads (also those of a later {@link replaceThreads}) sample their stacks every
   * `intervalMs` (threads/sampler.ts), or not with 0.
   */
  sample(intervalMs: number): void {
    this.#sampleIntervalMs = intervalMs;
    this.#pool.sample(intervalMs);
  }

  /** Tells the threads the cluster their tasks run on (for `getClient()` in tasks). */
  setup(setup: ThreadSetup): void {
    this.#setup = setup;
    this.#pool.setup(setup);
    this.actors.setup(setup);
  }

  /** The seceded task `key` may go on: a thread slot is its again. */
  rejoined(key: Key): void {
    const seceded = this.#seceded.get(key);
    if (seceded === undefined) return;
    this.#seceded.delete(key);
    this.#pool.rejoined(seceded.thread, seceded.id);
  }

  #slotRequest(thread: number, request: SlotRequest | DelegationRequest): void {
    if (request.type === "delegate") return this.#delegate(thread, request);
    const run = this.#runs.get(request.id);
    if (run === undefined || run.session !== this.session) {
      // a run the worker no longer counts: let it go on at once
      if (request.type === "rejoin") this.#pool.rejoined(thread, request.id);
      return;
    }
    this.#seceded.set(run.key, { id: request.id, thread });
    const type = request.type === "secede" ? "task-seceded" : "task-rejoin";
    this.host.handle({ type, key: run.key, now: now() });
  }

  /** A running task asks for a credential of its own (tenancy): the scheduler makes it. */
  #delegate(thread: number, request: DelegationRequest): void {
    const run = this.#runs.get(request.id);
    const answer = (found: { token: string } | { error: string }) =>
      this.#pool.delegated(thread, { type: "delegated", request: request.request, ...found });
    if (run === undefined || run.session !== this.session) {
      return answer({ error: "the task no longer runs on this worker" });
    }
    this.host.delegate(run.key).then(
      (token) => answer({ token }),
      (error: unknown) => answer({ error: errorMessage(error) }),
    );
  }

  /** Whether any task is running or waiting to be posted. */
  get busy(): boolean {
    return this.#runs.size > 0 || this.#toRun.length > 0;
  }

  /** Holds tasks back until {@link release}: a burst of events is being handled. */
  hold(): void {
    this.#holding = true;
  }

  /** The burst is over: posts what was held. */
  release(): void {
    this.#holding = false;
    if (this.#toRun.length > 0) this.#postRuns();
  }

  /** Runs these tasks (now, or at the end of the burst). */
  execute(specs: ExecuteSpec[]): void {
    for (const spec of specs) this.#toRun.push(spec);
    if (!this.#holding) this.#postRuns();
  }

  /** Puts the value a thread returned for `key` into the store. */
  keep(key: Key): void {
    const value = this.#landing.get(key);
    if (value === undefined) return;
    this.#landing.delete(key);
    if ("encoded" in value) this.host.store.set(key, value);
    else this.host.store.setLive(key, value);
  }

  /**
   * Gives the results of `keys` that are live in a task thread their bytes in the store (they
   * are about to move: to a peer, a client, or a task on another thread); resolves when they
   * have them, or are gone with their thread. Keys with bytes already are left as they are.
   */
  materialize(keys: readonly Key[]): Promise<void> {
    return this.#export(keys, false);
  }

  /** The store is over its target: these live results go to disk once encoded. */
  spillLive(keys: readonly Key[]): void {
    void this.#export(keys, true);
  }

  #export(keys: readonly Key[], spill: boolean): Promise<void> {
    const store = this.host.store;
    const waits: Promise<void>[] = [];
    const byThread = new Map<number, Key[]>();
    for (const key of keys) {
      const pending = this.#exporting.get(key);
      if (pending !== undefined) {
        waits.push(pending);
        continue;
      }
      const thread = store.liveThread(key);
      if (thread === undefined) continue;
      const list = byThread.get(thread);
      if (list === undefined) byThread.set(thread, [key]);
      else list.push(key);
    }
    for (const [thread, list] of byThread) {
      const id = this.#nextExportId++;
      const promise = new Promise<void>((done) => {
        this.#exports.set(id, { thread, keys: list, spill, done });
      });
      for (const key of list) this.#exporting.set(key, promise);
      this.#pool.exportTables(thread, id, list, spill);
      waits.push(promise);
    }
    if (waits.length === 0) return Promise.resolve();
    return Promise.all(waits).then(() => {});
  }

  /** A thread sent the bytes of live results: the store holds them from now on. */
  #exported(thread: number, answer: ExportedTables): void {
    this.tableConversions += answer.conversions;
    const request = this.#exports.get(answer.id);
    if (request === undefined) return;
    this.#exports.delete(answer.id);
    const store = this.host.store;
    for (let i = 0; i < request.keys.length; i++) {
      const key = request.keys[i];
      const encoded = answer.values[i];
      this.#exporting.delete(key);
      if (encoded === null || store.liveThread(key) !== thread) continue;
      if (request.spill) store.spillEncoded(key, encoded);
      else store.fill(key, encoded);
    }
    request.done();
  }

  /** Exports asked of `thread` (or of every thread) will never be answered: they are over. */
  #endExports(thread: number | null): void {
    for (const [id, request] of this.#exports) {
      if (thread !== null && request.thread !== thread) continue;
      this.#exports.delete(id);
      for (const key of request.keys) this.#exporting.delete(key);
      request.done();
    }
  }

  /**
   * Inputs live on another thread than the task's (or read by an actor, or being exported
   * already) are exported first; true when the task waits for that (it is posted once they have
   * their bytes).
   */
  #awaitLiveInputs(spec: ExecuteSpec): boolean {
    const store = this.host.store;
    let moving: Key[] | null = null;
    for (const dep of spec.deps) {
      const thread = store.liveThread(dep);
      if (thread === undefined) continue;
      // being exported (its thread may drop the table once it sent the bytes): wait for them
      if (thread !== spec.thread || spec.actor || this.#exporting.has(dep)) {
        (moving ??= []).push(dep);
      }
    }
    if (moving === null) return false;
    this.#deferred.set(spec.key, spec);
    void this.materialize(moving).then(() => {
      if (this.#deferred.get(spec.key) !== spec) return; // stopped, or an input was lost
      this.#deferred.delete(spec.key);
      this.execute([spec]);
    });
    return true;
  }

  /** Stops the run of `key` on `thread` (see the `stop-task` instruction). */
  stop(key: Key, thread: number): void {
    for (const [id, run] of this.#runs) {
      if (run.key === key && run.thread === thread && run.session === this.session) {
        return this.#pool.stop(thread, id, "the task was cancelled");
      }
    }
    // not posted yet (held in this burst, or waiting for inputs to be exported): it never starts
    const held = this.#toRun.length;
    this.#toRun = this.#toRun.filter((spec) => spec.key !== key);
    const deferred = this.#deferred.delete(key);
    if (this.#toRun.length < held || deferred) {
      this.#failed(key, `task ${key} was cancelled before it started`);
    }
  }

  /** A module tasks may import (`importUploaded`), for these threads and those started later. */
  upload(name: string, source: string): void {
    this.#uploads[name] = source;
    this.#pool.uploads({ [name]: source });
  }

  /**
   * The task threads' merged profile (`client.profile`), waiting up to `waitMs` per thread, and
   * whether any of them samples.
   */
  async profile(
    query: Omit<ProfileQuery, "type" | "id">,
    waitMs: number,
  ): Promise<{ tree: ProfileNode; sampling: boolean }> {
    const answers = await this.#pool.profile(query, waitMs);
    return {
      tree: answers.map((a) => a.tree).reduce(mergeProfile, emptyProfile()),
      sampling: answers.some((a) => a.sampling),
    };
  }

  /**
   * What each task thread runs now: its tasks' latest sampled stacks (the call-stacks view). A
   * thread that does not answer within `waitMs` runs synchronous code: its running task comes
   * from its shared status, and its stack from pausing it for a moment through the inspector.
   */
  async stacks(waitMs: number): Promise<{ threads: ThreadStacks[]; sampling: boolean }> {
    const pool = this.#pool;
    const answers = await pool.stacks(waitMs);
    const threads: ThreadStacks[] = answers.map((a, thread) => ({
      thread,
      answered: a !== null,
      tasks: a?.stacks ?? [],
    }));
    const busy = threads.filter((t) => !t.answered);
    if (busy.length > 0 && pool === this.#pool) await this.#busyStacks(busy, pool);
    return { threads, sampling: answers.some((a) => a?.sampling) };
  }

  /** Fills in what threads busy in synchronous code run: the task, and its stack if readable. */
  async #busyStacks(busy: ThreadStacks[], pool: ThreadPool): Promise<void> {
    const names = new Map<string, TaskStack>();
    for (const thread of busy) {
      const run = this.#runs.get(pool.runningOn(thread.thread));
      if (run === undefined) continue; // between two tasks: nothing of a task to show
      const task: TaskStack = {
        key: run.key,
        began: pool.startedOn(thread.thread),
        at: null,
        frames: [],
        fn: run.fn,
      };
      thread.tasks = [task];
      names.set(pool.nameOf(thread.thread), task);
    }
    let reason: string | null = null;
    if (!this.host.inspectBusyThreads) {
      reason = "reading busy threads through the inspector is off (--profile-interval 0, or a " +
        "worker with an auth token or TLS, which never opens a debugging port)";
    } else if (names.size > 0) {
      try {
        this.#inspector ??= new ThreadInspector(isOwnFile);
        const stacks = await this.#inspector.stacks([...names.keys()]);
        for (const [name, task] of names) {
          const stack = stacks.get(name);
          if (stack === undefined) continue;
          task.at = stack.at;
          task.frames = stack.frames;
        }
      } catch (error) {
        reason = `the worker's inspector could not be opened: ${
          error instanceof Error ? error.message : String(error)
        }`;
      }
    }
    for (const thread of busy) {
      const task = thread.tasks[0];
      thread.busy = reason === null && task !== undefined && task.at !== null
        ? { paused: true }
        : { paused: false, reason: reason ?? "the thread did not pause in time" };
    }
  }

  /** Hands a Pub's message to the threads whose tasks subscribe to `name`. */
  deliverPubSub(name: string, value: Encoded): void {
    this.#pool.deliverPubSub(name, value);
  }

  /** These keys left the store: Futures their results held may go. */
  freed(keys: readonly Key[]): void {
    this.actors.release(keys);
    if (this.#refHolders.size === 0) return;
    const byThread = new Map<number, Key[]>();
    for (const key of keys) {
      const thread = this.#refHolders.get(key);
      if (thread === undefined) continue;
      this.#refHolders.delete(key);
      const list = byThread.get(thread);
      if (list === undefined) byThread.set(thread, [key]);
      else list.push(key);
    }
    for (const [thread, list] of byThread) this.#pool.releaseRefs(thread, list);
  }

  /** Replaces every thread (running tasks are abandoned; their results never come). */
  replaceThreads(): void {
    this.#toRun = [];
    this.#deferred.clear();
    this.#endExports(null);
    this.#runs.clear();
    this.#seceded.clear();
    this.#refHolders.clear(); // the threads go, and their clients with them
    this.#pool.close();
    this.#pool = this.#newPool();
    this.actors.reset("the worker restarted: its actors are gone");
  }

  close(): void {
    this.#closed = true;
    this.#inspector?.close();
    this.#pool.close();
    this.actors.close();
  }

  /** Posts the tasks to run, one batch per thread. */
  #postRuns(): void {
    // A task failing here (an input gone) is an event that may release more tasks: they join.
    const held = this.#holding;
    this.#holding = true;
    try {
      while (this.#toRun.length > 0) {
        const specs = this.#toRun;
        this.#toRun = [];
        const batches: ThreadBatch[] = [];
        for (const spec of specs) {
          if (this.#awaitLiveInputs(spec)) continue;
          const batch = batches[spec.thread] ??= { items: [], transfer: new Set() };
          this.#prepare(spec, batch);
        }
        for (let thread = 0; thread < batches.length; thread++) {
          const batch = batches[thread];
          if (batch !== undefined && batch.items.length > 0) {
            this.#pool.post(thread, batch.items, [...batch.transfer]);
          }
        }
      }
    } finally {
      this.#holding = held;
    }
  }

  /** Adds a task to its thread's batch with its inputs; on a missing input the task fails. */
  #prepare(spec: ExecuteSpec, batch: ThreadBatch): void {
    const problem = runSpecProblem(spec.key, spec.fn, isEncoded(spec.args));
    if (problem !== null) return this.#failed(spec.key, problem);
    const store = this.host.store;
    // an actor is built in the actor thread, which gets its inputs' buffers on their own
    const transfer = spec.actor ? new Set<ArrayBuffer>() : batch.transfer;
    const depValues: Encoded[] = [];
    let liveDeps: Key[] | undefined;
    for (const dep of spec.deps) {
      if (store.liveThread(dep) !== undefined) {
        // live on this task's own thread (#awaitLiveInputs): the task reads the table there
        depValues.push(NOT_SENT);
        (liveDeps ??= []).push(dep);
        continue;
      }
      let stored;
      try {
        stored = store.getOwned(dep);
      } catch (error) {
        return this.#failed(
          spec.key,
          `input ${dep} of task ${spec.key} could not be read back from disk on ` +
            `worker ${this.host.address()}: ${errorMessage(error)}`,
        );
      }
      if (stored === undefined) {
        return this.#failed(
          spec.key,
          `input ${dep} of task ${spec.key} is not in the store of ` +
            `worker ${this.host.address()}; the scheduler will recompute it`,
        );
      }
      depValues.push(
        stored.owned
          ? handOver(stored.value.encoded, transfer)
          : this.#shareWithThread(dep, stored.value.encoded, transfer),
      );
    }
    const id = this.#nextRunId++;
    const item: RunItem = {
      id,
      key: spec.key,
      fn: this.#pool.functionFor(spec.thread, spec.fn as FunctionSpec),
      args: spec.args as Encoded,
      depKeys: spec.deps,
      depValues,
    };
    if (spec.timeoutMs > 0) item.timeoutMs = spec.timeoutMs;
    if (liveDeps !== undefined) item.liveDeps = liveDeps;
    if (this.keepLive && !spec.actor) item.keepLive = true;
    if (spec.group !== undefined) item.group = spec.group;
    const fn = (spec.fn as FunctionSpec).name;
    this.#runs.set(id, { key: spec.key, thread: spec.thread, session: this.session, fn });
    if (spec.actor) {
      item.fn = spec.fn as FunctionSpec;
      void this.actors.create(item, [...transfer]).then((result) =>
        this.#threadResults(spec.thread, [result])
      );
      return;
    }
    batch.items.push(item);
  }

  #failed(key: Key, reason: string): void {
    this.host.handle({ type: "execute-failed", key, reason, now: now() });
  }

  /**
   * A stored value as a thread reads it. Frames in shared memory (large data received from
   * peers) are shared as they are; a small frame is copied for the thread; a large one is copied
   * once into shared memory, which then replaces it in the store, so the next task reading it
   * needs no copy. Threads therefore read large inputs in place: tasks must not modify them
   * (as in Dask, where a worker's threads share its data).
   */
  #shareWithThread(key: Key, encoded: Encoded, transfer: Set<ArrayBuffer>): Encoded {
    if (encoded.frames.every(isShared)) return encoded;
    let promoted = false;
    const frames = encoded.frames.map((frame) => {
      if (isShared(frame)) return frame;
      if (frame.byteLength < SHARED_FRAME_MIN_BYTES) return transferredCopy(frame, transfer);
      promoted = true;
      return sharedCopy(frame);
    });
    if (!promoted) return { body: encoded.body, frames };
    const forStore = {
      body: encoded.body,
      frames: frames.map((f, i) => isShared(f) ? f : encoded.frames[i]),
    };
    this.host.store.replaceEncoded(key, forStore);
    return { body: encoded.body, frames };
  }

  #threadResults(thread: number, results: RunResult[]): void {
    // The tasks these results free up go to the threads together, after the whole batch.
    this.#holding = true;
    try {
      for (const result of results) this.#threadResult(thread, result);
    } finally {
      this.release();
    }
  }

  #threadResult(thread: number, result: RunResult): void {
    const run = this.#runs.get(result.id);
    if (run === undefined) return;
    this.#runs.delete(result.id);
    if (this.#seceded.get(run.key)?.id === result.id) this.#seceded.delete(run.key);
    if (run.session !== this.session) return; // started before a reconnect: moot
    if (result.ok) {
      this.tableConversions += result.conversions ?? 0;
      const { nbytes, typeName } = result;
      const value = result.live
        ? { thread, nbytes, typeName }
        : { encoded: result.value, nbytes, typeName };
      this.#landing.set(run.key, value);
      if (result.holdsRefs) this.#refHolders.set(run.key, thread);
    }
    this.host.handle({
      type: "thread-finished",
      key: run.key,
      result: result.ok
        ? { ok: true, nbytes: result.nbytes, typeName: result.typeName, live: result.live }
        : { ok: false, error: result.error, ...(result.stopped ? { stopped: true } : {}) },
      start: result.start / 1000,
      stop: result.stop / 1000,
      thread,
      now: now(),
    });
    // Not kept (too big, or no longer wanted): dropped.
    if (this.#landing.delete(run.key)) this.freed([run.key]);
  }

  /**
   * The results live in `thread` went with it: they leave the store, and the state machine hears
   * which were lost and which handed-out tasks waited to read them (`data-lost`).
   */
  #liveLost(thread: number): void {
    this.#endExports(thread);
    const lost = this.host.store.dropThread(thread);
    for (const [key, value] of this.#landing) {
      if (!("encoded" in value) && value.thread === thread) this.#landing.delete(key);
    }
    if (lost.length === 0) return;
    for (const key of lost) this.#refHolders.delete(key);
    const gone = new Set(lost);
    const withdrawn: Key[] = [];
    for (const [key, spec] of this.#deferred) {
      if (!spec.deps.some((dep) => gone.has(dep))) continue;
      this.#deferred.delete(key);
      withdrawn.push(key);
    }
    this.host.log(`${lost.length} results live in thread ${thread} were lost with it`);
    this.host.handle({ type: "data-lost", keys: lost, withdrawn, now: now() });
  }

  /** A thread was replaced: the runs posted to it are over, the culprit's with its reason. */
  #threadEnded(end: ThreadEnd): void {
    if (this.#closed) return;
    const thread = end.thread;
    const culprit = end.runId === null ? undefined : this.#runs.get(end.runId);
    const culpritKey = culprit !== undefined && culprit.session === this.session
      ? culprit.key
      : null;
    if (end.cause !== "stopped") {
      const who = culprit === undefined ? "no task was running" : `running ${culprit.key}`;
      this.host.log(`thread ${thread} was replaced (${who}): ${end.reason}`);
    }
    this.#liveLost(thread);
    let current = false;
    for (const [id, run] of this.#runs) {
      if (run.thread !== thread) continue;
      this.#runs.delete(id);
      if (run.session === this.session) current = true;
    }
    for (const [key, seceded] of this.#seceded) {
      if (seceded.thread === thread) this.#seceded.delete(key);
    }
    // held for this thread and not yet posted: the state machine hands them out again
    const held = this.#toRun.length;
    this.#toRun = this.#toRun.filter((spec) => spec.thread !== thread);
    if (this.#toRun.length < held) current = true;
    if (current) {
      this.host.handle({
        type: "thread-died",
        thread,
        cause: end.cause,
        culprit: culpritKey,
        reason: end.reason,
        now: now(),
      });
    }
  }
}

/** A frame in a fresh buffer, which is then transferred to the thread. */
function transferredCopy(frame: Uint8Array, transfer: Set<ArrayBuffer>): Uint8Array {
  const copy = frame.slice();
  transfer.add(copy.buffer);
  return copy;
}

/** A frame copied into shared memory, which threads then read without copies of their own. */
function sharedCopy(frame: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new SharedArrayBuffer(frame.byteLength));
  copy.set(frame);
  return copy;
}

function isShared(frame: Uint8Array): boolean {
  return frame.buffer instanceof SharedArrayBuffer;
}

/** A value read from disk for this thread alone: its buffers are transferred, not copied. */
function handOver(encoded: Encoded, transfer: Set<ArrayBuffer>): Encoded {
  for (const part of [encoded.body, ...encoded.frames]) transfer.add(part.buffer as ArrayBuffer);
  return encoded;
}
