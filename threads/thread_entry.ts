/**
 * Entry point of a Web Worker thread that runs tasks. The local `threads` scheduler and the
 * distributed worker both start their threads from this file.
 *
 * It receives batches of tasks, resolves each function once (compiled source or imported
 * module, cached), decodes arguments, runs the task, and posts results back with their
 * buffers transferred, not copied.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { recordFromError } from "../core/errors.ts";
import { timeoutError } from "./thread_end_errors.ts";
import { typeNameOf } from "../core/type_name.ts";
import { FunctionCache } from "../core/function_cache.ts";
import { FunctionReceiver } from "../core/function_link.ts";
import type { Key, TaskFunction } from "../core/task.ts";
import { substituteRefs } from "../core/task.ts";
import { decode, encode, sizeOf, transferables } from "../core/value_codec.ts";
import {
  type RunItem,
  type RunResult,
  type RunResults,
  type ThreadEnding,
  ThreadStatus,
  type ToThread,
} from "./thread_protocol.ts";
import { SHARED_GARBAGE_BYTES, SharedGarbage } from "./shared_garbage.ts";

const functions = new FunctionCache();
/** Inputs a worker shares with this thread are garbage here once their task is over. */
const sharedGarbage = new SharedGarbage(SHARED_GARBAGE_BYTES);
/** This thread's end of the function link: later batches send only a spec's id. */
const received = new FunctionReceiver();

/** Results are flushed at the end of a batch, or sooner when a batch runs long. */
const FLUSH_AFTER_MS = 5;

const now = () => performance.timeOrigin + performance.now();

/** Which run executes now, for the owner to read (replaced by the owner's `init` buffer). */
let status = new ThreadStatus();

/**
 * A task that ends its thread (`Deno.exit`, which in a Web Worker silently closes only the
 * worker, or `self.close()`) would leave its owner waiting for ever. Instead the owner is told
 * what the task called, and this thread waits to be terminated and replaced.
 */
function endedByTask(what: string): never {
  const message: ThreadEnding = { type: "ending", what };
  self.postMessage(message);
  return status.blockForever();
}

Object.assign(Deno, { exit: (code?: number) => endedByTask(`Deno.exit(${code ?? ""})`) });
self.close = () => endedByTask("self.close()");

async function runOne(item: RunItem): Promise<RunResult> {
  const start = now();
  status.begin(item.id, start);
  try {
    const spec = received.expand(item.fn);
    if (typeof spec === "string") {
      throw new Error(`internal: thread was never sent function ${spec}`);
    }
    let fn = functions.get(spec) as TaskFunction | Promise<TaskFunction>;
    if (fn instanceof Promise) fn = await fn;
    const args = decode(item.args) as unknown[];
    let resolved = args;
    if (item.depKeys.length > 0) {
      const deps = new Map<Key, unknown>();
      for (let i = 0; i < item.depKeys.length; i++) {
        deps.set(item.depKeys[i], decode(item.depValues[i]));
      }
      resolved = args.map((a) => substituteRefs(a, (k) => deps.get(k)));
    }
    let value = item.timeoutMs === undefined
      ? fn(...resolved)
      : await callWithin(item.timeoutMs, () => fn(...resolved));
    if (value !== null && typeof (value as PromiseLike<unknown>)?.then === "function") {
      value = await value;
    }
    const encoded = encode(value, { rootName: `result of ${item.key}` });
    return {
      id: item.id,
      ok: true,
      value: encoded,
      nbytes: sizeOf(value),
      typeName: typeNameOf(value),
      start,
      stop: now(),
    };
  } catch (thrown) {
    const error = isScriptTimeout(thrown)
      ? timeoutError(item.key, item.timeoutMs!)
      : recordFromError(thrown, item.key);
    return { id: item.id, ok: false, error, start, stop: now() };
  } finally {
    status.end();
    // a task's own arguments count under its key (never one of its inputs' keys)
    sharedGarbage.drop(item.key, item.args.frames);
    for (let i = 0; i < item.depValues.length; i++) {
      sharedGarbage.drop(item.depKeys[i], item.depValues[i].frames);
    }
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
  for (const r of results) if (r.ok) { for (const b of transferables(r.value)) transfer.add(b); }
  const message: RunResults = { type: "results", results };
  self.postMessage(message, [...transfer]);
}

/** Batches run one after another, in arrival order. */
let queue: Promise<void> = Promise.resolve();

async function runBatch(batch: RunItem[]): Promise<void> {
  let pending: RunResult[] = [];
  let lastFlush = now();
  for (const item of batch) {
    pending.push(await runOne(item));
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
    const { garbageCollector } = await import("./garbage.ts");
    garbageCollector()?.();
  }
}

self.onmessage = (event: MessageEvent<ToThread>) => {
  const message = event.data;
  if (message.type === "run") queue = queue.then(() => runBatch(message.batch));
  else if (message.type === "init") status = new ThreadStatus(message.status);
};
