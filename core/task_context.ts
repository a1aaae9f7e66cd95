/**
 * What a running task knows about where it runs: its key, the cluster it runs on, and how it
 * gives its thread slot back (`secede`) and takes one again (`rejoin`). The thread entry sets it
 * around each task call; `getClient()`, `secede()` and `rejoin()` (client/task_client.ts) read it.
 *
 * It lives in the async context so a task that seceded and a task that started after it on the same
 * thread each see their own context across their awaits: Deno's own async context (V8's
 * continuation-preserved embedder data), the very mechanism `node:async_hooks`'s
 * `AsyncLocalStorage` is built on in Deno 2 (its `run` enters a value, calls, restores the previous
 * context; its `getStore` reads it) — without loading `node:async_hooks`, which brings Deno's Node
 * errors, validators and inspect modules into every task thread and `processes` child at start
 * (about half of a child's own start beyond Deno's, docs/architecture.md). Those primitives are
 * Deno's internals, not its API, so they are checked as this module loads (a value entered reaches
 * a promise reaction, and only while entered); where Deno does not offer them or they fail the
 * check, `AsyncLocalStorage` is loaded before this module finishes loading, so before any task
 * runs. The storage is kept under a global symbol: a task module may import the library from
 * another URL than the thread entry's (a second copy of this module), and both copies must see one
 * storage.
 *
 * @module
 */

import type { Key } from "./task.ts";
import type { Encoded } from "./value_codec.ts";

/** Where a task runs, and its handles on its thread slot. */
export interface TaskContext {
  /** The running task's key. */
  readonly key: Key;
  /** The scheduler of the worker running it (`tcp://host:port`); null off a cluster. */
  readonly scheduler: string | null;
  /** The address of the worker running it; null off a cluster. */
  readonly worker: string | null;
  /** The cluster's shared secret, for the task's client to prove (docs/security.md). */
  readonly authToken?: string;
  /**
   * The cluster's TLS files (inline PEM text), for the task's client on a `tls://` cluster: the
   * CA alone under {@link tenancy} (the task's credential stands for a certificate).
   */
  readonly security?: { caFile?: string; cert?: string; key?: string };
  /**
   * The cluster has client identities: tasks get no cluster credentials; `getClient()` asks for
   * one of the task's own ({@link delegate}).
   */
  readonly tenancy?: boolean;
  /**
   * A credential (`name:secret`) acting as the identity that submitted the task, valid while it
   * runs (scheduler/task_delegation.ts); rejects with the scheduler's reason. Absent off a
   * worker.
   */
  delegate?(): Promise<string>;
  /** Calls `fn` once the task has ended (its result or error is out). Absent off a worker. */
  onEnd?(fn: () => void): void;
  /** True between `secede()` and `rejoin()`. */
  readonly seceded: boolean;
  /** Gives the thread slot back to the worker: it runs other tasks while this one waits. */
  secede(): void;
  /** Waits for a free thread slot of the worker and takes it. */
  rejoin(): Promise<void>;
}

const STORAGE = Symbol.for("dask-deno.task-context");

/** What carries the current task's context across its awaits (`AsyncLocalStorage`'s shape). */
interface ContextStorage {
  run<T>(context: TaskContext, fn: () => T): T;
  getStore(): TaskContext | undefined;
}

/** Deno's async context primitives (`Deno[Deno.internal].core`), where present. */
interface AsyncCore {
  getAsyncContext(): AsyncContextMapping | undefined;
  setAsyncContext(context: AsyncContextMapping | undefined): void;
}

/**
 * The async context: an object of every async variable's value, which V8 carries to each promise
 * reaction (continuation-preserved embedder data). Deno's `AsyncVariable`s (and so every
 * `AsyncLocalStorage`) enter a value by setting a copy with their own key added, and restore the
 * previous object after; a copy keeps every other key, ours too.
 */
type AsyncContextMapping = Record<PropertyKey, unknown>;

/** Deno's async context primitives, or null where this Deno does not offer them. */
function asyncCore(): AsyncCore | null {
  const internal = (Deno as unknown as { internal?: symbol }).internal;
  if (typeof internal !== "symbol") return null;
  const core = (Deno as unknown as Record<symbol, { core?: Partial<AsyncCore> } | undefined>)[
    internal
  ]?.core;
  return typeof core?.getAsyncContext === "function" && typeof core.setAsyncContext === "function"
    ? core as AsyncCore
    : null;
}

/**
 * `core` if it behaves as this module relies on — the context is absent or a plain object, and a
 * value entered reaches a promise reaction registered meanwhile but not one registered after it
 * was left — else null. The primitives are Deno's internals, not its API: a Deno that changes
 * them makes this module fall back to `AsyncLocalStorage` rather than lose contexts.
 */
async function checked(core: AsyncCore | null): Promise<AsyncCore | null> {
  if (core === null) return null;
  const probe = Symbol("probe");
  const previous = core.getAsyncContext();
  if (previous !== undefined && !isPlainObject(previous)) return null;
  const entered = { __proto__: null, ...previous, [probe]: true };
  let inside: Promise<unknown>;
  core.setAsyncContext(entered);
  try {
    if (core.getAsyncContext() !== entered) return null;
    inside = Promise.resolve().then(() => core.getAsyncContext()?.[probe]);
  } finally {
    core.setAsyncContext(previous);
  }
  const outside = Promise.resolve().then(() => core.getAsyncContext()?.[probe]);
  return (await inside) === true && (await outside) === undefined ? core : null;
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === null || prototype === Object.prototype;
}

const core = await checked(asyncCore());

/** Where a task's context is kept in the async context (a symbol: no variable of Deno's clashes). */
const CONTEXT_KEY = Symbol("dask-deno.task-context");

/**
 * The task context as a key of the async context, entered and restored as an `AsyncVariable`
 * does (`AsyncLocalStorage.run`, `getStore`) but holding the value itself: an `AsyncVariable`
 * also files each entered value in a WeakMap under a fresh object, which cost a cold task ~10–20
 * µs against ~4 µs this way (first 100 calls in a fresh process, 2026-12-06).
 */
function coreStorage(core: AsyncCore): ContextStorage {
  const { getAsyncContext, setAsyncContext } = core;
  return {
    run<T>(context: TaskContext, fn: () => T): T {
      const previous = getAsyncContext();
      setAsyncContext({ __proto__: null, ...previous, [CONTEXT_KEY]: context });
      try {
        return fn();
      } finally {
        setAsyncContext(previous);
      }
    },
    getStore: () => getAsyncContext()?.[CONTEXT_KEY] as TaskContext | undefined,
  };
}

type WithStorage = typeof globalThis & { [STORAGE]?: ContextStorage };

/** `AsyncLocalStorage`, loaded only where Deno's own variable is missing (before any task runs). */
const fallback = core === null ? (await import("node:async_hooks")).AsyncLocalStorage : null;

function storage(): ContextStorage {
  const global = globalThis as WithStorage;
  return global[STORAGE] ??= core === null ? new fallback!<TaskContext>() : coreStorage(core);
}

/**
 * Which mechanism carries task contexts in this isolate: Deno's own async context, or
 * `node:async_hooks`'s `AsyncLocalStorage` where this Deno has none.
 */
export function taskContextMechanism(): "deno-core" | "node:async_hooks" {
  return core === null ? "node:async_hooks" : "deno-core";
}

/** Runs `fn` with `context` as the current task's (across its awaits). */
export function runInTask<T>(context: TaskContext, fn: () => T): T {
  return storage().run(context, fn);
}

/** The context of the task running here, or undefined outside a task. */
export function currentTask(): TaskContext | undefined {
  return storage().getStore();
}

/** Things a thread keeps for all its tasks (its client), under global symbols for the same reason. */
export function threadSlot<T>(name: string, make: () => T): T {
  const symbol = Symbol.for(`dask-deno.thread.${name}`);
  const global = globalThis as unknown as Record<symbol, T>;
  if (!(symbol in global)) global[symbol] = make();
  return global[symbol];
}

/** Objects written as references while a result is encoded (see {@link collectRefs}). */
type RefCollector = { held: object[] | null };

/** This module copy's handle on the thread's collector (a slot lookup builds a symbol name). */
let refs: RefCollector | undefined;

function refCollector(): RefCollector {
  return refs ??= threadSlot<RefCollector>("refs", () => ({ held: null }));
}

/**
 * Runs `encode` and gives the objects that were written as references meanwhile ({@link
 * noteRef}): the Futures a task returns, which its thread keeps alive while the result lives.
 */
export function collectRefs<T>(encode: () => T): { value: T; held: object[] } {
  const collector = refCollector();
  const outer = collector.held;
  const held: object[] = [];
  collector.held = held;
  try {
    return { value: encode(), held };
  } finally {
    collector.held = outer;
  }
}

/** Called by an object as it is written as a reference (a Future returned from a task). */
export function noteRef(ref: object): void {
  refCollector().held?.push(ref);
}

/** Turns the key references in a task's inputs into Futures of the task's client. */
export type RefReviver = (values: unknown[], task: TaskContext) => Promise<unknown[]>;

type ReviverSlot = { revive: RefReviver | null };

/** Set by the client library once a thread loads it (a task module imported it). */
export function setRefReviver(revive: RefReviver): void {
  threadSlot<ReviverSlot>("reviver", () => ({ revive: null })).revive = revive;
}

/** The reviver, when the client library is loaded in this thread. */
export function refReviver(): RefReviver | null {
  return threadSlot<ReviverSlot>("reviver", () => ({ revive: null })).revive;
}

/** How a thread's Subs get Pub messages that reach its worker (set by the thread entry). */
export interface PubSubBridge {
  /** Calls `deliver` with each message for `name`; returns a function that stops. */
  subscribe(name: string, deliver: (value: Encoded) => void): () => void;
}

type BridgeSlot = { bridge: PubSubBridge | null };

/** Set by the thread entry of a worker's thread. */
export function setPubSubBridge(bridge: PubSubBridge): void {
  threadSlot<BridgeSlot>("pubsub", () => ({ bridge: null })).bridge = bridge;
}

/** The bridge of this thread, or null outside a worker's thread. */
export function pubSubBridge(): PubSubBridge | null {
  return threadSlot<BridgeSlot>("pubsub", () => ({ bridge: null })).bridge;
}
