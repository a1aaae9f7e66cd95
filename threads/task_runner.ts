/**
 * Running batches of tasks where a task runs: in a Web Worker thread (thread_entry.ts) or in a
 * worker subprocess (process_entry.ts). Each function is resolved once (compiled source or
 * imported module, cached), arguments are decoded, the task runs, and results are handed to
 * `post` in order.
 *
 * @module
 */

import { recordFromError } from "../core/errors.ts";
import { typeNameOf } from "../core/type_name.ts";
import { FunctionCache } from "../core/function_cache.ts";
import { FunctionReceiver } from "../core/function_link.ts";
import type { Key, TaskFunction } from "../core/task.ts";
import { substituteRefs } from "../core/task.ts";
import { decode, encode, sizeOf } from "../core/value_codec.ts";
import type { RunItem, RunResult } from "./thread_protocol.ts";
import { SHARED_GARBAGE_BYTES, SharedGarbage } from "./shared_garbage.ts";

const now = () => performance.timeOrigin + performance.now();

/** How a runner hands results back. */
export interface TaskRunnerOptions {
  /** Receives finished results, in the order their tasks ran. */
  post(results: RunResult[]): void;
  /**
   * Post results at the latest this long (ms) after the previous post; a batch's last results
   * are always posted before the next batch starts (the process pool relies on it).
   */
  flushAfterMs: number;
}

/** Runs the batches it is given one after another, in arrival order. */
export class TaskRunner {
  readonly #functions = new FunctionCache();
  /** Inputs a worker shares with this thread are garbage here once their task is over. */
  readonly #sharedGarbage = new SharedGarbage(SHARED_GARBAGE_BYTES);
  /** This side of the function link: later batches send only a spec's id. */
  readonly #received = new FunctionReceiver();
  #queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: TaskRunnerOptions) {}

  /** Queues a batch behind the ones already given. */
  enqueue(batch: RunItem[]): void {
    this.#queue = this.#queue.then(() => this.#runBatch(batch));
  }

  async #runBatch(batch: RunItem[]): Promise<void> {
    const { post, flushAfterMs } = this.options;
    let pending: RunResult[] = [];
    let lastFlush = now();
    for (const item of batch) {
      pending.push(await this.#runOne(item));
      const t = now();
      if (t - lastFlush >= flushAfterMs) {
        post(pending);
        pending = [];
        lastFlush = t;
      }
    }
    if (pending.length > 0) post(pending);
    if (this.#sharedGarbage.due()) {
      // node:v8 and node:vm load only in threads that read shared inputs
      const { garbageCollector } = await import("./garbage.ts");
      garbageCollector()?.();
    }
  }

  async #runOne(item: RunItem): Promise<RunResult> {
    const start = now();
    try {
      const spec = this.#received.expand(item.fn);
      if (typeof spec === "string") {
        throw new Error(`internal: this runner was never sent function ${spec}`);
      }
      let fn = this.#functions.get(spec) as TaskFunction | Promise<TaskFunction>;
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
      let value = fn(...resolved);
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
      return {
        id: item.id,
        ok: false,
        error: recordFromError(thrown, item.key),
        start,
        stop: now(),
      };
    } finally {
      // a task's own arguments count under its key (never one of its inputs' keys)
      this.#sharedGarbage.drop(item.key, item.args.frames);
      for (let i = 0; i < item.depValues.length; i++) {
        this.#sharedGarbage.drop(item.depKeys[i], item.depValues[i].frames);
      }
    }
  }
}
