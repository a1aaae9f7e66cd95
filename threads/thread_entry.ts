/**
 * Entry point of a Web Worker thread that runs tasks. The local `threads` scheduler and the
 * distributed worker both start their threads from this file; the `processes` scheduler's
 * subprocesses load it too (process_entry.ts carries its messages over stdin and stdout).
 *
 * It receives batches of tasks, resolves each function once (compiled source or imported
 * module, cached), decodes arguments, runs the task, and posts results back with their
 * buffers transferred, not copied.
 *
 * About 830 lines: the per-task path (receive, decode, run, encode, post) and the thread's state
 * it shares (function cache, sampler, live tables, results held for the owner, the stop flags)
 * stay together so that a task's path is read in one place; the task contexts (`ThreadTask`,
 * `MembersContext`, `MemberTask`, ~160 lines) are the part to move to a file of their own next.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { setActorTransportLoader } from "../core/actor_ref.ts";
import { recordFromError } from "../core/errors.ts";
import { explainPermissionError } from "../core/task_permissions.ts";
import { timeoutError } from "./thread_end_errors.ts";
import { typeNameOf } from "../core/type_name.ts";
import { FunctionCache } from "../core/function_cache.ts";
import { FunctionReceiver } from "../core/function_link.ts";
import type { Key, TaskFunction } from "../core/task.ts";
import { substituteRefs } from "../core/task.ts";
import {
  decode,
  encode,
  type Encoded,
  sizeOf,
  taskRefCount,
  transferables,
} from "../core/value_codec.ts";
import {
  collectRefs,
  type RefReviver,
  refReviver,
  runInTask,
  setPubSubBridge,
  type TaskContext,
} from "../core/task_context.ts";
import {
  type FromThread,
  NOT_SENT,
  type RunItem,
  type RunMembers,
  type RunResult,
  type ThreadSetup,
  ThreadStatus,
  type ToThread,
} from "./thread_protocol.ts";
import { SHARED_GARBAGE_BYTES, SharedGarbage } from "./shared_garbage.ts";
import { ThreadSampler } from "./sampler.ts";
import { addUploadedModules, importUploaded } from "../core/uploaded_modules.ts";
import { liveTableBytes, LiveTables, scopedKey } from "./live_tables.ts";
import { setCancelCheck } from "../core/cancel_point.ts";
import { tableConversions } from "../core/table_codec.ts";

/** Self-contained task functions reach uploaded modules through the global. */
Object.assign(globalThis, { importUploaded });

/**
 * A task that calls an actor loads the client code on first use. By a computed URL, not a
 * literal: Deno reads ahead the whole graph of a literal dynamic import as a thread loads this
 * entry (client/actors.ts's is 121 files: a thread's load of this entry took 19–20 ms against 7–8
 * without it, 2026-12-06), and every program that can hand a task an actor has the file in its
 * static graph already (mod.ts imports it), where `deno compile` and a JSR package take it from.
 */
const ACTOR_TRANSPORT = new URL("../client/actors.ts", import.meta.url).href;
setActorTransportLoader(() => import(ACTOR_TRANSPORT));

const functions = new FunctionCache();
/** Where this thread's tasks spend their time, for `client.profile`. */
const sampler = new ThreadSampler();
/** Inputs a worker shares with this thread are garbage here once their task is over. */
const sharedGarbage = new SharedGarbage(SHARED_GARBAGE_BYTES);
/** This thread's end of the function link: later batches send only a spec's id. */
const received = new FunctionReceiver();
/** Tables this thread's tasks returned, kept live for later tasks here (threads/live_tables.ts). */
const liveTables = new LiveTables();
/** Table conversions (core/table_codec.ts) counted so far in reports to the owner. */
let conversionsReported = 0;

/** Table conversions since the last report, now reported. */
function newConversions(): number {
  const total = tableConversions();
  const fresh = total - conversionsReported;
  conversionsReported = total;
  return fresh;
}

/** Results are flushed at the end of a batch, or sooner when a batch runs long. */
const FLUSH_AFTER_MS = 5;

const now = () => performance.timeOrigin + performance.now();

/** The cluster this thread's tasks run on; null under the local `threads` scheduler. */
let setup: ThreadSetup | null = null;
/**
 * Futures that results hold (returned from tasks), by result key: kept alive — so their keys
 * stay on the cluster — until the owner says the result is gone (`release-refs`).
 */
const heldByResult = new Map<Key, object[]>();
/** The Subs of this thread, by topic: they get what Pubs send to the worker for that topic. */
const subscribers = new Map<string, Set<(value: Encoded) => void>>();
setPubSubBridge({
  subscribe(name, deliver) {
    let set = subscribers.get(name);
    if (set === undefined) {
      subscribers.set(name, set = new Set());
      postToOwner({ type: "subscribe", name });
    }
    set.add(deliver);
    return () => {
      if (!set.delete(deliver) || set.size > 0) return;
      subscribers.delete(name);
      postToOwner({ type: "unsubscribe", name });
    };
  },
});

/** Seceded tasks waiting for the owner to grant them a slot again, by run id. */
const rejoining = new Map<number, () => void>();
/** Tasks' credential requests waiting for the owner's answer, by request number. */
const delegating = new Map<number, (answer: { token?: string; error?: string }) => void>();
let nextDelegation = 1;
/** What to do when a task ends (its client closes), by run id. */
const endings = new Map<number, (() => void)[]>();

function postToOwner(message: FromThread, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

/**
 * The context a task sees (core/task_context.ts): one small object per task, its methods shared
 * on the prototype (closures per task cost every tiny task measurably in GC). `onSecede` is set
 * by the batch only when the task is still running after its synchronous part.
 */
class ThreadTask implements TaskContext {
  #out = false;
  /** Called when the task gives its slot back, so the batch it is in goes on without it. */
  onSecede: (() => void) | null = null;
  /** Its result or error is out. */
  ended = false;
  /** A member of this item (`RunItem.members`) seceded: the batch goes on without the item. */
  memberSeceded = false;
  /** When its function was called (ms since the epoch): the sampler's samples are its own since. */
  calledAt: number | undefined = undefined;

  constructor(readonly item: RunItem, readonly batch: BatchValues | null = null) {}

  get key(): Key {
    return this.item.key;
  }
  get scheduler(): string | null {
    return setup?.scheduler ?? null;
  }
  get worker(): string | null {
    return setup?.worker ?? null;
  }
  get authToken(): string | undefined {
    return setup?.authToken;
  }
  get security(): TaskContext["security"] {
    return setup?.security;
  }
  get tenancy(): boolean | undefined {
    return setup?.tenancy;
  }
  get seceded(): boolean {
    return this.#out;
  }
  secede(): void {
    if (this.#out) return;
    this.#out = true;
    postToOwner({ type: "secede", id: this.item.id });
    this.onSecede?.();
  }
  delegate(): Promise<string> {
    const request = nextDelegation++;
    return new Promise<string>((resolve, reject) => {
      delegating.set(request, ({ token, error }) => {
        if (token !== undefined) resolve(token);
        else reject(new Error(error ?? "no credential"));
      });
      postToOwner({ type: "delegate", id: this.item.id, request });
    });
  }
  onEnd(fn: () => void): void {
    if (this.ended) return fn();
    const list = endings.get(this.item.id);
    if (list === undefined) endings.set(this.item.id, [fn]);
    else list.push(fn);
  }
  rejoin(): Promise<void> {
    if (!this.#out) return Promise.resolve();
    return new Promise<void>((resolve) => {
      rejoining.set(this.item.id, () => {
        this.#out = false;
        resolve();
      });
      postToOwner({ type: "rejoin", id: this.item.id });
    });
  }
}

/**
 * The context the members of an item that runs a subgraph see (`RunItem.members`): it stands for
 * the member running now. The members run one after another, so one `runInTask` serves the whole
 * item — entering an `AsyncLocalStorage` context per member cost a tiny member about as much as
 * running it.
 */
class MembersContext implements TaskContext {
  constructor(public current: ThreadTask) {}
  get key(): Key {
    return this.current.key;
  }
  get scheduler(): string | null {
    return this.current.scheduler;
  }
  get worker(): string | null {
    return this.current.worker;
  }
  get authToken(): string | undefined {
    return this.current.authToken;
  }
  get security(): TaskContext["security"] {
    return this.current.security;
  }
  get tenancy(): boolean | undefined {
    return this.current.tenancy;
  }
  get seceded(): boolean {
    return this.current.seceded;
  }
  secede(): void {
    this.current.secede();
  }
  delegate(): Promise<string> {
    return this.current.delegate();
  }
  onEnd(fn: () => void): void {
    this.current.onEnd(fn);
  }
  rejoin(): Promise<void> {
    return this.current.rejoin();
  }
}

/** The context of one member of an item that runs a subgraph (`RunItem.members`). */
class MemberTask extends ThreadTask {
  constructor(readonly whole: ThreadTask, readonly memberKey: Key) {
    super(whole.item);
  }
  override get key(): Key {
    return this.memberKey;
  }
  /** A member that secedes takes its whole item out of its batch's way, as a task would. */
  override secede(): void {
    if (this.seceded) return;
    super.secede();
    this.whole.memberSeceded = true;
    this.whole.onSecede?.();
  }
}

/**
 * The values a batch's later items read from its earlier ones (`RunItem.batchDepKeys`): kept
 * by key while the batch runs, not encoded, as the `sync` scheduler passes them.
 */
class BatchValues {
  readonly values = new Map<Key, unknown>();
  /** Items that seceded and still run: a later item reading one waits for it. */
  readonly running = new Map<Key, Promise<unknown>>();

  constructor(readonly wanted: ReadonlySet<Key>) {}

  static of(batch: readonly RunItem[]): BatchValues | null {
    let wanted: Set<Key> | null = null;
    for (const item of batch) {
      for (const key of item.batchDepKeys ?? []) (wanted ??= new Set()).add(key);
    }
    return wanted === null ? null : new BatchValues(wanted);
  }

  keep(key: Key, value: unknown): void {
    if (this.wanted.has(key)) this.values.set(key, value);
  }

  read(key: Key): unknown {
    if (!this.values.has(key)) {
      // the owner fails the computation on that item's own error, which reaches it first
      throw new Error(`input '${key}' of this task failed earlier in its batch`);
    }
    return this.values.get(key);
  }
}

/** Which run executes now, for the owner to read (replaced by the owner's `init` buffer). */
let status = new ThreadStatus();

/**
 * A task that ends its thread (`Deno.exit`, which in a Web Worker silently closes only the
 * worker, or `self.close()`) would leave its owner waiting for ever. Instead the owner is told
 * what the task called, and this thread waits to be terminated and replaced.
 */
function endedByTask(what: string): never {
  postToOwner({ type: "ending", what });
  return status.blockForever();
}

Object.assign(Deno, { exit: (code?: number) => endedByTask(`Deno.exit(${code ?? ""})`) });
self.close = () => endedByTask("self.close()");

/**
 * Runs one task. A synchronous task with its function compiled already finishes here without a
 * Promise (most tiny tasks); the rest continue in {@link finishLater}.
 */
function runOne(task: ThreadTask): RunResult | Promise<RunResult> {
  const item = task.item;
  if (item.members !== undefined) return runMembers(task, item.members);
  const start = now();
  status.begin(item.id, start);
  let later = false;
  try {
    const spec = received.expand(item.fn);
    if (typeof spec === "string") {
      throw new Error(`internal: thread was never sent function ${spec}`);
    }
    const fn = functions.get(spec) as TaskFunction | Promise<TaskFunction>;
    const args = decode(item.args) as unknown[];
    const refsBefore = taskRefCount(); // the args' own references are replaced by inputs
    let resolved = args;
    const fromBatch = item.batchDepKeys;
    if (item.depKeys.length > 0 || fromBatch !== undefined) {
      const deps = inputsOf(item);
      if (fromBatch !== undefined) {
        for (const key of fromBatch) deps.set(key, task.batch!.read(key));
      }
      resolved = args.map((a) => substituteRefs(a, (k) => deps.get(k)));
    }
    // inputs holding Futures (returned by other tasks) get Futures of this thread's client
    const revive = setup !== null && taskRefCount() !== refsBefore ? refReviver() : null;
    if (fn instanceof Promise || revive !== null || item.timeoutMs !== undefined) {
      later = true;
      return finishLater(task, start, callLater(task, fn, resolved, revive));
    }
    const value = callTask(task, fn, resolved);
    if (value !== null && typeof (value as PromiseLike<unknown>)?.then === "function") {
      later = true;
      return finishLater(task, start, value as PromiseLike<unknown>);
    }
    return succeeded(task, start, value);
  } catch (thrown) {
    return failed(task, start, thrown);
  } finally {
    if (!later) endRun(task, start);
  }
}

/**
 * The values of an item's inputs by key: a table live on this thread is taken as it is (the owner
 * sent no bytes for a pinned one, `RunItem.liveDeps`), the rest decoded.
 */
function inputsOf(item: RunItem): Map<Key, unknown> {
  const values = new Map<Key, unknown>();
  const scope = item.liveScope;
  for (let i = 0; i < item.depKeys.length; i++) {
    const key = item.depKeys[i];
    values.set(key, liveTables.take(scopedKey(scope, key)) ?? decode(item.depValues[i]));
  }
  for (const key of item.liveDeps ?? []) {
    // the owner sent no bytes: the table is here (released with this thread only)
    if (liveTables.take(scopedKey(scope, key)) === undefined) {
      throw new Error(`internal: input ${key} of ${item.key} is not live on this thread`);
    }
  }
  return values;
}

/** The keys this item's pinned inputs are filed under here (`RunItem.liveScope`). */
function liveInputKeys(item: RunItem): Key[] | undefined {
  const scope = item.liveScope;
  return scope === undefined ? item.liveDeps : item.liveDeps?.map((k) => scopedKey(scope, k));
}

/**
 * Runs an item that is a subgraph (`RunItem.members`): each member in turn, reading earlier
 * members' values as they are (as the `sync` scheduler passes them), with one report for the
 * whole item that carries the exported members' values. A member that returns a Promise is
 * awaited before the next one starts; the first member that fails ends the item with its error.
 */
function runMembers(task: ThreadTask, members: RunMembers): Promise<RunResult> {
  const context = new MembersContext(task);
  return runInTask(context, () => runMembersIn(context, task, members));
}

async function runMembersIn(
  context: MembersContext,
  task: ThreadTask,
  members: RunMembers,
): Promise<RunResult> {
  const item = task.item;
  const start = now();
  status.begin(item.id, start);
  const n = members.keys.length;
  const durations = new Float64Array(n);
  const exported: Encoded[] = [];
  let liveExports: number[] | undefined;
  let nbytes = 0, conversions = 0, holdsRefs = false, typeName = "";
  // every spec is taken in first: a member failing early must not leave later ones unknown
  const specs = members.fns.map((fn) => received.expand(fn));
  let member: ThreadTask = task;
  let began = start;
  try {
    const args = decode(item.args) as unknown[][];
    // inputs from outside by key; earlier members' values by position (`memberRefs`), and by
    // key only for a reference inside an argument
    const values = inputsOf(item);
    const memberValues = new Array<unknown>(n);
    let memberAt: Map<Key, number> | undefined;
    const lookup = (key: Key) => {
      if (values.has(key)) return values.get(key);
      memberAt ??= new Map(members.keys.map((k, j) => [k, j]));
      const j = memberAt.get(key);
      return j === undefined ? undefined : memberValues[j];
    };
    const refs = members.memberRefs;
    let next = 0, reading = 0, ref = 0;
    for (let i = 0; i < n; i++) {
      const key = members.keys[i];
      member = new MemberTask(task, key);
      const group = members.groups?.[i] ?? undefined;
      sampler.began(key, began, group);
      const spec = specs[members.fnOf?.[i] ?? i];
      if (typeof spec === "string") {
        throw new Error(`internal: thread was never sent function ${spec}`);
      }
      let fn = functions.get(spec) as TaskFunction | Promise<TaskFunction>;
      if (fn instanceof Promise) fn = await fn;
      const call = fn;
      let resolved = args[i];
      if (members.readers[reading] === i) {
        reading++;
        resolved = substituteRefs(resolved, lookup) as unknown[];
      }
      // after the search by key, which must not walk into earlier members' values
      for (; refs !== undefined && refs[ref] === i; ref += 3) {
        resolved[refs[ref + 1]] = memberValues[refs[ref + 2]];
      }
      context.current = member;
      let value = call(...resolved);
      if (value !== null && typeof (value as PromiseLike<unknown>)?.then === "function") {
        value = await value;
      }
      // one clock read per member: the next member's start is this one's stop
      const memberStart = began;
      began = now();
      durations[i] = began - memberStart;
      sampler.ran(key, memberStart, began, group);
      memberValues[i] = value;
      if (members.exports[next] !== i) continue;
      next++;
      const result = succeeded(member, memberStart, value);
      if (!result.ok) return result;
      if (result.live) (liveExports ??= []).push(exported.length);
      exported.push(result.value);
      nbytes += result.nbytes;
      conversions += result.conversions ?? 0;
      holdsRefs ||= result.holdsRefs === true;
      typeName = result.typeName;
    }
  } catch (thrown) {
    sampler.ran(member.key, began, now(), undefined);
    return failed(member, start, thrown);
  } finally {
    endRun(task, start, false);
  }
  return {
    id: item.id,
    ok: true,
    value: NOT_SENT,
    exported,
    ...(liveExports === undefined ? {} : { liveExports }),
    durations,
    nbytes,
    typeName,
    ...(holdsRefs ? { holdsRefs } : {}),
    ...(conversions > 0 ? { conversions } : {}),
    start,
    stop: now(),
  };
}

/** The part of a task that must wait: its module's import, its inputs' Futures, a time limit. */
async function callLater(
  task: ThreadTask,
  pending: TaskFunction | Promise<TaskFunction>,
  args: unknown[],
  revive: RefReviver | null,
): Promise<unknown> {
  const fn = await pending;
  const resolved = revive === null ? args : await revive(args, task);
  const timeoutMs = task.item.timeoutMs;
  return timeoutMs === undefined
    ? callTask(task, fn, resolved)
    : await callWithin(timeoutMs, () => callTask(task, fn, resolved));
}

/**
 * Calls a task's function in its context. The sampler files samples under the task from here
 * on, not from the run's start: what the runtime does first (decoding the arguments, importing
 * the function's module, whose top level may run in a job of its own) is no part of the task.
 */
function callTask(task: ThreadTask, fn: TaskFunction, args: unknown[]): unknown {
  const item = task.item;
  task.calledAt = now();
  sampler.began(item.key, task.calledAt, item.group);
  return runInTask(task, () => fn(...args));
}

async function finishLater(
  task: ThreadTask,
  start: number,
  value: PromiseLike<unknown>,
): Promise<RunResult> {
  try {
    return succeeded(task, start, await value);
  } catch (thrown) {
    return failed(task, start, thrown);
  } finally {
    endRun(task, start);
  }
}

function succeeded(task: ThreadTask, start: number, value: unknown): RunResult {
  const item = task.item;
  const key = task.key;
  task.batch?.keep(key, value);
  if (item.localReaders !== undefined) {
    // only later items of this batch read it: the owner is told it ran, not what it returned
    return {
      id: item.id,
      ok: true,
      value: NOT_SENT,
      nbytes: 0,
      typeName: typeNameOf(value),
      start,
      stop: now(),
    };
  }
  const tableBytes = liveTableBytes(value);
  if (item.keepLive === true && tableBytes !== undefined) {
    // stays here, unconverted, until it moves (the owner's `export`)
    liveTables.pin(scopedKey(item.liveScope, key), value, tableBytes);
    return {
      id: item.id,
      ok: true,
      holdsRefs: true,
      live: true,
      value: NOT_SENT,
      nbytes: tableBytes,
      typeName: typeNameOf(value),
      conversions: newConversions(),
      start,
      stop: now(),
    };
  }
  const { value: encoded, held } = collectRefs(() =>
    encode(value, { rootName: `result of ${key}` })
  );
  if (held.length > 0) heldByResult.set(key, held);
  const live = tableBytes !== undefined &&
    liveTables.keep(scopedKey(item.liveScope, key), value, tableBytes);
  const result: RunResult = {
    id: item.id,
    ok: true,
    value: encoded,
    nbytes: tableBytes ?? sizeOf(value),
    typeName: typeNameOf(value),
    start,
    stop: now(),
  };
  // both optional: a tiny task's result message carries neither (each field is cloned to the owner)
  if (held.length > 0 || live) result.holdsRefs = true;
  const conversions = newConversions();
  if (conversions > 0) result.conversions = conversions;
  return result;
}

/** Encodes the pinned results the owner asks for (they move) and answers with their bytes. */
function exportTables(id: number, keys: Key[], drop: boolean): void {
  const values: (Encoded | null)[] = [];
  const transfer = new Set<ArrayBuffer>();
  for (const key of keys) {
    const value = liveTables.unpin(key, drop);
    if (value === undefined) {
      values.push(null);
      continue;
    }
    const encoded = encode(value, { rootName: `result of ${key}` });
    for (const buffer of transferables(encoded)) transfer.add(buffer);
    values.push(encoded);
  }
  postToOwner({ type: "exported", id, values, conversions: newConversions() }, [...transfer]);
  if (drop && transfer.size > 0) void returnNativeMemory();
}

/**
 * Spilled tables leave this thread: their native memory is freed only once V8 collected their
 * wrappers and their finalizers ran (collections/dataframe/native_garbage.ts), which an idle
 * thread would not do by itself.
 */
async function returnNativeMemory(): Promise<void> {
  const { garbageCollector } = await import("../core/garbage.ts");
  const collect = garbageCollector();
  if (collect === null) return;
  collect();
  await new Promise((resolve) => setTimeout(resolve, 0)); // the finalizers run here
  const { trimNativeMemoryNow } = await import("../core/native_memory.ts");
  trimNativeMemoryNow();
}

function failed(task: ThreadTask, start: number, thrown: unknown): RunResult {
  const item = task.item;
  // a permission the thread was not given: say which, and the flag that grants it
  const error = isScriptTimeout(thrown)
    ? timeoutError(task.key, item.timeoutMs!)
    : recordFromError(explainPermissionError(thrown), task.key);
  // its owner asked it to stop and it ended: at one of our cancellation points, or it failed anyway
  const stopped = status.stopRequested;
  return { id: item.id, ok: false, error, ...(stopped ? { stopped } : {}), start, stop: now() };
}

/** `sampled`: the profiler is told here that the task ran (an item with members tells it each). */
function endRun(task: ThreadTask, start: number, sampled = true): void {
  const item = task.item;
  status.end();
  task.ended = true;
  const ending = endings.get(item.id);
  if (ending !== undefined) {
    endings.delete(item.id);
    for (const fn of ending) fn();
  }
  if (sampled) sampler.ran(item.key, task.calledAt ?? start, now(), item.group);
  // a task's own arguments count under its key (never one of its inputs' keys)
  sharedGarbage.drop(item.key, item.args.frames);
  if (item.liveDeps !== undefined) liveTables.readDone(liveInputKeys(item)!);
  for (let i = 0; i < item.depValues.length; i++) {
    sharedGarbage.drop(item.depKeys[i], item.depValues[i].frames);
  }
}

/**
 * Calls `call` with its synchronous part limited to `ms`. Terminating a Web Worker does not stop a
 * synchronous loop in Deno 2.9 (the thread spins on after `terminate()`, denoland/deno#35657),
 * while node:vm's `timeout` interrupts one for real, at 37 µs a call measured here; so a task
 * with a time limit runs through it (node:vm loads only in threads that run such tasks). Time
 * spent awaiting is watched by the pool, which terminates a thread idle in its event loop.
 */
async function callWithin(ms: number, call: () => unknown): Promise<unknown> {
  const { timed } = await import("./timed_call.ts");
  return timed(ms, call);
}

function isScriptTimeout(thrown: unknown): boolean {
  return (thrown as { code?: unknown })?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT";
}

function post(results: RunResult[]): void {
  // results may share a buffer; a transfer list must name each buffer once
  const transfer = new Set<ArrayBuffer>();
  for (const r of results) {
    if (!r.ok) continue;
    for (const b of transferables(r.value)) transfer.add(b);
    for (const value of r.exported ?? []) for (const b of transferables(value)) transfer.add(b);
  }
  postToOwner({ type: "results", results }, [...transfer]);
}

/** Batches run one after another, in arrival order. */
let queue: Promise<void> = Promise.resolve();

/**
 * Holds back the reports of items whose results stay in this runner (`RunItem.localReaders`)
 * until their last reader reports, then releases them in that reader's group: the owner counts
 * such an item as done only once nothing can need its value again.
 */
class HeldReports {
  readonly #held = new Map<Key, { left: number; group: RunResult[] }>();

  /** The reports to post now (in one message) now that `item` ended with `result`. */
  settle(item: RunItem, result: RunResult): RunResult[] {
    const group = [result];
    for (const key of item.batchDepKeys ?? []) {
      const held = this.#held.get(key);
      if (held === undefined || --held.left > 0) continue;
      this.#held.delete(key);
      for (const r of held.group) group.push(r);
    }
    if (result.ok && item.localReaders !== undefined) {
      this.#held.set(item.key, { left: item.localReaders, group });
      return [];
    }
    return group;
  }
}

async function runBatch(batch: RunItem[]): Promise<void> {
  let pending: RunResult[] = [];
  let lastFlush = now();
  const values = BatchValues.of(batch);
  const held = new HeldReports();
  for (const item of batch) {
    const task = new ThreadTask(item, values);
    for (const key of item.batchDepKeys ?? []) {
      const running = values!.running.get(key);
      if (running !== undefined) await running; // an input that seceded: wait for its value
    }
    let result = runOne(task);
    if (result instanceof Promise) {
      const running = result;
      const done = await new Promise<RunResult | null>((resolve) => {
        task.onSecede = () => resolve(null);
        if (task.seceded || task.memberSeceded) resolve(null);
        running.then(resolve);
      });
      task.onSecede = null;
      if (done === null) {
        // seceded: the batch goes on; the task's result goes alone when it comes
        void running.then((late) => {
          const group = held.settle(item, late);
          if (group.length > 0) post(group);
        });
        values?.running.set(item.key, running);
        continue;
      }
      result = done;
    }
    for (const r of held.settle(item, result)) pending.push(r);
    const t = now();
    if (t - lastFlush > FLUSH_AFTER_MS) {
      post(pending);
      pending = [];
      lastFlush = t;
    }
  }
  if (pending.length > 0) post(pending);
  if (sharedGarbage.due()) {
    // node:v8 and node:vm load only in threads that read shared inputs
    const { garbageCollector } = await import("../core/garbage.ts");
    garbageCollector()?.();
  }
}

self.onmessage = (event: MessageEvent<ToThread>) => {
  const message = event.data;
  switch (message.type) {
    case "uploads":
      addUploadedModules(message.modules);
      break;
    case "profile": {
      const { id, start, stop, prefix, byPrefix } = message;
      void sampler.query(start, stop, prefix, byPrefix).then((tree) =>
        postToOwner({ type: "profile", id, tree, sampling: sampler.sampling })
      );
      break;
    }
    case "stacks":
      void sampler.stacks().then((stacks) =>
        postToOwner({ type: "stacks", id: message.id, stacks, sampling: sampler.sampling })
      );
      break;
    case "run": {
      const batch = message.batch;
      for (const item of batch) {
        if (item.liveDeps !== undefined) liveTables.expect(liveInputKeys(item)!);
      }
      // the profiler runs before the batch does (at once when it already runs)
      queue = queue.then(() => {
        const starting = sampler.busy();
        return starting === undefined ? runBatch(batch) : starting.then(() => runBatch(batch));
      });
      break;
    }
    case "init": {
      const shared = new ThreadStatus(message.status);
      status = shared;
      setCancelCheck(() => shared.lookAtStop());
      break;
    }
    case "setup":
      setup = message;
      if (message.liveTableBytes !== undefined) liveTables.capBytes = message.liveTableBytes;
      if (message.trimAboveBytes !== undefined) {
        // node:v8 and node:vm (core/garbage.ts) load only where a worker sets a threshold:
        // a thread or process that never trims starts without them; its tasks wait for it
        const bytes = message.trimAboveBytes;
        queue = queue.then(() => import("../core/native_memory.ts"))
          .then(({ setNativeTrimThreshold }) => setNativeTrimThreshold(bytes));
      }
      break;
    case "sampling":
      sampler.intervalUs = Math.round(message.intervalMs * 1000);
      // the profiler starts now (tens of ms), not in front of the first task (sampler.ts)
      queue = queue.then(() => sampler.warm());
      break;
    case "pubsub-msg":
      for (const deliver of subscribers.get(message.name) ?? []) deliver(message.value);
      break;
    case "live-tables":
      postToOwner({
        type: "live-tables",
        id: message.id,
        tables: liveTables.size,
        pinnedBytes: liveTables.pinnedBytes,
        cachedBytes: liveTables.bytes,
      });
      break;
    case "export":
      exportTables(message.id, message.keys, message.drop === true);
      break;
    case "release-refs":
      liveTables.release(message.keys);
      for (const key of message.keys) {
        for (const ref of heldByResult.get(key) ?? []) (ref as { release?(): void }).release?.();
        heldByResult.delete(key);
      }
      break;
    case "delegated": {
      const answered = delegating.get(message.request);
      delegating.delete(message.request);
      answered?.(message);
      break;
    }
    case "rejoined": {
      const wake = rejoining.get(message.id);
      rejoining.delete(message.id);
      wake?.();
      break;
    }
  }
};
