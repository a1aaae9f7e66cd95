/**
 * A pool of Web Worker threads that run tasks (see thread_entry.ts), and their supervisor. The
 * pool carries batches and results; its owner decides what runs where.
 *
 * Supervision: a thread that crashes, or whose task calls `Deno.exit` / `self.close()`, is
 * noticed at once, terminated and replaced, and the owner is told which run was executing (read
 * from the thread's shared {@link ThreadStatus}) and what happened. The owner can stop a run
 * (cancel) and give runs a time limit. A time limit stops a run's synchronous part inside its
 * thread (node:vm, thread_entry.ts), keeping the thread; a run still awaiting past its limit, and
 * a cancelled run, get their thread terminated and replaced. Terminating frees the slot at once
 * and ends a thread waiting in its event loop (a promise that never settles), but in Deno 2.9 a
 * terminated thread inside a synchronous loop spins on until the process exits
 * (denoland/deno#35657; measured in bench/resilience.ts), which only a time limit prevents: the
 * pool notices such a stray thread (./stray_threads.ts) and tells its owner
 * ({@link ThreadPool.onStrayThread}), whose supervisor can replace the process.
 *
 * @module
 */

import type { FunctionSpec } from "../core/function_codec.ts";
import { FunctionSender } from "../core/function_link.ts";
import type { Key } from "../core/task.ts";
import {
  type Delegated,
  type DelegationRequest,
  type ExportedTables,
  type FromThread,
  type LiveTablesAnswer,
  type ProfileAnswer,
  type ProfileQuery,
  type RunItem,
  type RunResult,
  type SlotRequest,
  type StacksAnswer,
  type SubscriptionChange,
  type ThreadSetup,
  ThreadStatus,
  type ToThread,
} from "./thread_protocol.ts";
import type { Encoded } from "../core/value_codec.ts";
import { newTaskThreadId, watchStray, watchStrayByProcessCpu } from "./stray_threads.ts";

/** Called with the results a thread posts, and with the thread's index. */
export type ResultHandler = (thread: number, results: RunResult[]) => void;

/** Why a thread was replaced. */
export type ThreadEndCause =
  /** A task called `Deno.exit` or `self.close()`. */
  | "exit"
  /** An uncaught error ended the thread. */
  | "crash"
  /** The owner stopped the run (a cancelled task). */
  | "stopped"
  /** The run took longer than its `timeoutMs`. */
  | "timeout";

/** A thread was terminated and a fresh one started in its place. */
export interface ThreadEnd {
  thread: number;
  cause: ThreadEndCause;
  /** The run executing when it ended, or null when none was (the blame is nobody's). */
  runId: number | null;
  /** What happened, worded about the task: `the task called Deno.exit(3)`. */
  reason: string;
}

/**
 * Called when a thread ended. The pool has already started a fresh thread in its place; every
 * run posted to the old one and not answered is lost and is the owner's to redo or fail.
 */
export type ThreadEndHandler = (end: ThreadEnd) => void;

/**
 * Called when a task on thread `thread` secedes or asks to rejoin (see {@link SlotRequest});
 * the owner answers a rejoin with {@link ThreadPool.rejoined}. Without one, a rejoin is granted
 * at once (the local `threads` scheduler does not count slots). A worker's pool also gets tasks'
 * requests for credentials of their own ({@link DelegationRequest}), answered with
 * {@link ThreadPool.delegated}.
 */
export type SlotRequestHandler = (
  thread: number,
  request: SlotRequest | DelegationRequest,
) => void;

const THREAD_ENTRY = new URL("./thread_entry.ts", import.meta.url).href;

/** How often runs with a time limit, and cancelled runs not yet started, are looked at. */
const WATCH_MS = 10;
/**
 * A timed run's synchronous part is stopped inside its thread (thread_entry.ts, node:vm), which
 * keeps the thread; the pool terminates the thread only for a run still going this much later
 * (one awaiting past its limit), so the two never race.
 */
const TIMEOUT_MARGIN_MS = 250;

/**
 * A cancelled run is first asked to stop at its next cancellation point (core/cancel_point.ts),
 * which keeps the thread; its thread is terminated only if the run goes on this much longer (a
 * loop of the user's own that never looks).
 */
const STOP_GRACE_MS = 100;

/**
 * The same for a run that has looked at its stop flag (one of our kernels, ~1 ms of work between
 * looks): it will stop by itself at its next look, which on a loaded machine (a 2-core machine at
 * load 20 was measured) can come later than {@link STOP_GRACE_MS}; terminating it would cost a
 * thread start, or under auth the worker process (threads/stray_threads.ts).
 */
const LOOKING_STOP_GRACE_MS = 10_000;

/** A run the watchdog looks after. */
interface WatchedRun {
  thread: number;
  /** Stop it once it runs longer than this (ms), or Infinity. */
  timeoutMs: number;
  /** Cancelled: stop it as soon as it starts. */
  cancelled: boolean;
  /** When it was asked to stop (ms since the epoch); its thread goes STOP_GRACE_MS later. */
  stopAskedAt?: number;
  /** Why it is stopped, for the thread's end when it must be terminated. */
  stopReason?: string;
}

/** A thread's answer to a query of {@link ThreadPool}. */
type Answer = ProfileAnswer | StacksAnswer | LiveTablesAnswer;

/** Numbers the threads this process starts: each thread's name is its own. */
let threadsStarted = 0;

/** A fixed set of Web Worker threads. */
export class ThreadPool {
  readonly #threads: Worker[] = [];
  /** Each thread's name (its `globalThis.name`; unique in this process, worker/thread_inspector.ts). */
  readonly #names: string[] = [];
  readonly #status: ThreadStatus[] = [];
  /** Each thread's end of the function link (a restarted thread gets a new one). */
  readonly #functions: FunctionSender[] = [];
  readonly #watched = new Map<number, WatchedRun>();
  /** Each thread's OS thread id, where it can be told (Linux). */
  readonly #osThreads: (number | undefined)[] = [];
  /**
   * Called when a thread terminated for a run it was executing still uses CPU seconds later (a
   * synchronous loop Deno cannot stop): `reason` says so; only a new process frees that CPU.
   */
  onStrayThread: ((reason: string) => void) | undefined;
  /** Batches posted so far: the process-wide stray watch counts only seconds without one. */
  #batchesPosted = 0;
  /**
   * Stops a synchronous loop in the thread named `name`, which was executing a run when it was
   * cancelled or timed out: calls `terminate` and then makes its isolate stop executing (the
   * worker's inspector, worker/thread_inspector.ts). Unset: the thread is only terminated.
   */
  haltLoop: ((name: string, terminate: () => void) => Promise<void>) | undefined;
  /** Gets a thread's answer to {@link exportTables}. */
  onExported: ((thread: number, answer: ExportedTables) => void) | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #setup: ThreadSetup | null = null;
  /** Milliseconds between samples asked by {@link sample}; null: never asked (off). */
  #sampling: number | null = null;
  /** Modules clients uploaded, sent to every thread that starts. */
  readonly #uploads: Record<string, string> = {};
  /** Profile, stacks and live-table queries waiting for a thread's answer, by id. */
  readonly #queries = new Map<number, (answer: Answer) => void>();
  /**
   * Tables the threads converted to or from Arrow IPC (core/table_codec.ts), as their results and
   * exports reported them: what keeping tables live in their thread saves.
   */
  tableConversions = 0;
  /** Results the threads exported (encoded when they moved, `exportTables`). */
  tablesExported = 0;
  #nextQueryId = 1;
  /** Topic → the threads whose tasks subscribe to it. */
  readonly #subscribers = new Map<string, Set<number>>();

  /**
   * @param permissions the threads' Deno permissions (core/task_permissions.ts); by default they
   *   inherit this process's (the local `threads` scheduler runs the caller's own code).
   */
  constructor(
    readonly size: number,
    private readonly onResults: ResultHandler,
    private readonly onEnd: ThreadEndHandler = (end) => {
      console.error(`thread ${end.thread} was replaced: ${end.reason}`);
    },
    private readonly onSlotRequest: SlotRequestHandler = (thread, request) => {
      if (request.type === "rejoin") this.rejoined(thread, request.id);
      else if (request.type === "delegate") {
        this.delegated(thread, {
          type: "delegated",
          request: request.request,
          error: "tasks on the local threads scheduler have no cluster",
        });
      }
    },
    private readonly permissions: Deno.PermissionOptions = "inherit",
  ) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`A thread pool needs at least one thread; got ${size}.`);
    }
    for (let i = 0; i < size; i++) this.#start(i);
  }

  #start(i: number): void {
    const name = `task-thread-${i}.${++threadsStarted}`;
    this.#names[i] = name;
    let thread!: Worker;
    this.#osThreads[i] = newTaskThreadId(() => {
      thread = new Worker(THREAD_ENTRY, {
        type: "module",
        name,
        // "inherit" is also Deno's default: only narrower permissions need the unstable option
        ...(this.permissions === "inherit" ? {} : { deno: { permissions: this.permissions } }),
      });
    });
    const status = new ThreadStatus();
    thread.onmessage = (event: MessageEvent<FromThread>) => {
      if (this.#threads[i] !== thread) return; // a replaced thread's last words
      const message = event.data;
      if (message.type === "results") {
        for (const result of message.results) {
          this.#watched.delete(result.id);
          if (result.ok) this.tableConversions += result.conversions ?? 0;
        }
        this.onResults(i, message.results);
      } else if (message.type === "ending") {
        this.#replace(i, "exit", `the task called ${message.what}`);
      } else if (message.type === "exported") {
        this.tableConversions += message.conversions;
        for (const value of message.values) if (value !== null) this.tablesExported++;
        this.onExported?.(i, message);
      } else if (
        message.type === "profile" || message.type === "stacks" || message.type === "live-tables"
      ) {
        this.#queries.get(message.id)?.(message);
      } else if ("name" in message) this.#subscription(i, message);
      else this.onSlotRequest(i, message);
    };
    thread.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      if (this.#threads[i] !== thread) return;
      this.#replace(i, "crash", `an uncaught error ended its thread: ${event.message}`);
    };
    thread.onmessageerror = () => {
      if (this.#threads[i] !== thread) return;
      this.#replace(i, "crash", `its thread sent a message that could not be read`);
    };
    const init: ToThread = { type: "init", status: status.buffer };
    thread.postMessage(init);
    this.#threads[i] = thread;
    this.#status[i] = status;
    this.#functions[i] = new FunctionSender();
    for (const threads of this.#subscribers.values()) threads.delete(i); // a fresh thread has none
    if (this.#setup !== null) thread.postMessage(this.#setup);
    if (this.#sampling !== null) {
      thread.postMessage({ type: "sampling", intervalMs: this.#sampling } satisfies ToThread);
    }
    if (Object.keys(this.#uploads).length > 0) {
      thread.postMessage({ type: "uploads", modules: this.#uploads } satisfies ToThread);
    }
  }

  /**
   * Every thread (and those started later) samples its tasks' stacks every `intervalMs`
   * (threads/sampler.ts), or stops with 0. Threads sample nothing until asked: a worker asks as
   * it starts its pool (worker/executor.ts), a local pool when its user does (`sampleThreads`).
   */
  sample(intervalMs: number): void {
    this.#sampling = intervalMs;
    if (this.#closed) return;
    for (const thread of this.#threads) {
      thread.postMessage({ type: "sampling", intervalMs } satisfies ToThread);
    }
  }

  /** Tells every thread (and those started later) the cluster their tasks run on. */
  setup(setup: ThreadSetup): void {
    this.#setup = setup;
    if (this.#closed) return;
    for (const thread of this.#threads) thread.postMessage(setup satisfies ToThread);
  }

  /**
   * Every thread's profile (threads/sampler.ts) of `query`. A thread answers between tasks; one
   * that does not within `waitMs` (a long synchronous task) is left out.
   */
  async profile(
    query: Omit<ProfileQuery, "type" | "id">,
    waitMs: number,
  ): Promise<ProfileAnswer[]> {
    const answers = await this.#ask((id) => ({ type: "profile", id, ...query }), waitMs);
    return answers.filter((a): a is ProfileAnswer => a?.type === "profile");
  }

  /**
   * The latest sampled stack of each task every thread runs now, by thread index; null for a
   * thread that did not answer within `waitMs` (it runs synchronous code: it answers at its
   * task's next `await`).
   */
  async stacks(waitMs: number): Promise<(StacksAnswer | null)[]> {
    const answers = await this.#ask((id) => ({ type: "stacks", id }), waitMs);
    return answers.map((a) => a?.type === "stacks" ? a : null);
  }

  /**
   * What each thread's live tables hold now (threads/live_tables.ts), by thread index; null for a
   * thread that did not answer within `waitMs` (it answers between tasks).
   */
  async liveTables(waitMs: number): Promise<(LiveTablesAnswer | null)[]> {
    const answers = await this.#ask((id) => ({ type: "live-tables", id }), waitMs);
    return answers.map((a) => a?.type === "live-tables" ? a : null);
  }

  #ask(query: (id: number) => ToThread, waitMs: number): Promise<(Answer | null)[]> {
    if (this.#closed) return Promise.resolve([]);
    return Promise.all(this.#threads.map((thread) => {
      const id = this.#nextQueryId++;
      return new Promise<Answer | null>((resolve) => {
        const timer = setTimeout(() => done(null), waitMs);
        const done = (answer: Answer | null) => {
          clearTimeout(timer);
          this.#queries.delete(id);
          resolve(answer);
        };
        this.#queries.set(id, done);
        thread.postMessage(query(id));
      });
    }));
  }

  /** Modules tasks may import (`client.uploadFile`): every thread, also those started later. */
  uploads(modules: Record<string, string>): void {
    Object.assign(this.#uploads, modules);
    if (this.#closed) return;
    for (const thread of this.#threads) {
      thread.postMessage({ type: "uploads", modules } satisfies ToThread);
    }
  }

  /**
   * Asks `thread` for the bytes of results it keeps pinned (`RunItem.keepLive`): answered
   * through {@link onExported} with `id`, or never when the thread ends first.
   */
  exportTables(thread: number, id: number, keys: Key[], drop = false): void {
    if (this.#closed) return;
    this.#threads[thread].postMessage({ type: "export", id, keys, drop } satisfies ToThread);
  }

  /** Results `keys` that `thread` returned are gone: it lets go of the Futures they held. */
  releaseRefs(thread: number, keys: Key[]): void {
    if (this.#closed) return;
    this.#threads[thread].postMessage({ type: "release-refs", keys } satisfies ToThread);
  }

  #subscription(thread: number, change: SubscriptionChange): void {
    let threads = this.#subscribers.get(change.name);
    if (change.type === "subscribe") {
      if (threads === undefined) this.#subscribers.set(change.name, threads = new Set());
      threads.add(thread);
    } else if (threads !== undefined) {
      threads.delete(thread);
      if (threads.size === 0) this.#subscribers.delete(change.name);
    }
  }

  /** Hands a Pub's message to every thread whose tasks subscribe to `name`. */
  deliverPubSub(name: string, value: Encoded): void {
    if (this.#closed) return;
    for (const thread of this.#subscribers.get(name) ?? []) {
      this.#threads[thread].postMessage({ type: "pubsub-msg", name, value } satisfies ToThread);
    }
  }

  /** Answers a task's {@link DelegationRequest} on `thread`. */
  delegated(thread: number, answer: Delegated): void {
    if (this.#closed) return;
    this.#threads[thread].postMessage(answer satisfies ToThread);
  }

  /** Grants the seceded task `id` on `thread` a slot again. */
  rejoined(thread: number, id: number): void {
    if (this.#closed) return;
    this.#threads[thread].postMessage({ type: "rejoined", id } satisfies ToThread);
  }

  /** Terminates thread `i`, starts a fresh one, and tells the owner whom it blames. */
  #replace(i: number, cause: ThreadEndCause, reason: string): void {
    const running = this.#status[i].runId;
    const old = this.#threads[i];
    const osThread = this.#osThreads[i];
    const watch = () => {
      if (running === 0 || this.#closed) return;
      const stray = (share: number) => {
        if (this.#closed) return;
        this.onStrayThread?.(
          `thread ${i} was terminated (${reason}) but ${
            osThread === undefined ? "the process, with no task running, " : ""
          }still uses ${Math.round(100 * share)} % of a core: Deno cannot stop a synchronous ` +
            `loop in a terminated thread (denoland/deno#35657)`,
        );
      };
      if (osThread !== undefined) watchStray(osThread, stray);
      else watchStrayByProcessCpu(() => this.#activity(), stray);
    };
    if (running !== 0 && this.haltLoop !== undefined && !this.#closed) {
      // the slot is freed now; the old thread is terminated once the owner found its session
      this.haltLoop(this.#names[i], () => old.terminate()).catch(() => {}).finally(() => {
        old.terminate();
        watch();
      });
    } else {
      old.terminate();
      watch();
    }
    for (const [id, run] of this.#watched) if (run.thread === i) this.#watched.delete(id);
    if (this.#closed) return;
    this.#start(i);
    this.onEnd({ thread: i, cause, runId: running === 0 ? null : running, reason });
  }

  /**
   * The form of `spec` to send to a thread: the whole spec the first time, then its id.
   * Marks it as known to that thread.
   */
  functionFor(thread: number, spec: FunctionSpec): FunctionSpec | string {
    return this.#functions[thread].shrink(spec);
  }

  /** Null while any thread executes a run, else how many batches were posted so far. */
  #activity(): number | null {
    return this.#status.some((status) => status.runId !== 0) ? null : this.#batchesPosted;
  }

  /** Posts a batch of tasks to one thread, handing over the listed buffers. */
  post(thread: number, batch: RunItem[], transfer: ArrayBuffer[] = []): void {
    if (this.#closed) throw new Error("This thread pool is closed; start a new one.");
    this.#batchesPosted++;
    for (const item of batch) {
      if (item.timeoutMs === undefined) continue;
      this.#watched.set(item.id, { thread, timeoutMs: item.timeoutMs, cancelled: false });
      this.#watch();
    }
    const message: ToThread = { type: "run", batch };
    this.#threads[thread].postMessage(message, transfer);
  }

  /** The run thread `thread` is executing now, or 0. */
  runningOn(thread: number): number {
    return this.#status[thread].runId;
  }

  /** When the run thread `thread` executes now began (ms since the epoch; with a run only). */
  startedOn(thread: number): number {
    return this.#status[thread].startedAt;
  }

  /** The name thread `thread` runs under now (a replaced thread's successor has another). */
  nameOf(thread: number): string {
    return this.#names[thread];
  }

  /**
   * Stops run `runId` posted to `thread`, now if it executes, else as soon as it starts: it is
   * asked to stop at its next cancellation point (its result then comes back `stopped`, and the
   * thread is kept); if it still runs {@link STOP_GRACE_MS} later, its thread is terminated and
   * replaced (reported with cause `stopped` and `reason`). A run that already finished is left
   * alone.
   */
  stop(thread: number, runId: number, reason: string): void {
    if (this.#closed) return;
    const watched = this.#watched.get(runId) ?? { thread, timeoutMs: Infinity, cancelled: true };
    watched.cancelled = true;
    watched.stopReason = reason;
    this.#watched.set(runId, watched);
    if (this.#status[thread].runId === runId) this.#askToStop(thread, runId, watched);
    this.#watch();
  }

  #askToStop(thread: number, runId: number, run: WatchedRun): void {
    if (run.stopAskedAt !== undefined) return;
    this.#status[thread].requestStop(runId);
    run.stopAskedAt = performance.timeOrigin + performance.now();
  }

  /** Stops every thread at once (running tasks are abandoned). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    for (const t of this.#threads) t.terminate();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #watch(): void {
    if (this.#watchdog !== undefined) return;
    const watchdog = setInterval(() => this.#check(), WATCH_MS);
    Deno.unrefTimer(watchdog);
    this.#watchdog = watchdog;
  }

  /** Stops runs past their time limit, and cancelled runs that have started. */
  #check(): void {
    const at = performance.timeOrigin + performance.now();
    for (let i = 0; i < this.#status.length && !this.#closed; i++) {
      const status = this.#status[i];
      const id = status.runId;
      const run = id === 0 ? undefined : this.#watched.get(id);
      if (run === undefined || run.thread !== i) continue;
      if (run.cancelled) {
        if (run.stopAskedAt === undefined) this.#askToStop(i, id, run);
        else if (
          at - run.stopAskedAt > (status.looksAtStop(id) ? LOOKING_STOP_GRACE_MS : STOP_GRACE_MS)
        ) {
          this.#replace(i, "stopped", run.stopReason ?? "the task was cancelled");
        }
      } else if (at - status.startedAt > run.timeoutMs + TIMEOUT_MARGIN_MS) {
        this.#replace(i, "timeout", `the task ran longer than its timeout of ${run.timeoutMs} ms`);
      }
    }
    if (this.#watched.size === 0 && this.#watchdog !== undefined) {
      clearInterval(this.#watchdog);
      this.#watchdog = undefined;
    }
  }
}
