/**
 * Where `client.run` functions run on a worker: a thread of their own with the task threads'
 * permissions (core/task_permissions.ts), not the worker's main thread, so `run` cannot do what
 * a task may not. It starts on the first `run` and is replaced if it dies.
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { FunctionSpec } from "../core/function_codec.ts";
import type { Encoded } from "../core/value_codec.ts";
import { encode } from "../core/value_codec.ts";
import { ThreadPool } from "../threads/thread_pool.ts";
import type { RunResult } from "../threads/thread_protocol.ts";

/** A `run` function's outcome: its encoded value, or its error. */
export type RunOutcome = { ok: true; value: Encoded } | { ok: false; error: ErrorRecord };

export class RunThread {
  #pool: ThreadPool | null = null;
  readonly #pending = new Map<number, (outcome: RunOutcome) => void>();
  #nextId = 1;

  constructor(private readonly permissions: Deno.PermissionOptions) {}

  /** Calls `fn(...args)` on the run thread. */
  run(fn: FunctionSpec, args: Encoded | undefined): Promise<RunOutcome> {
    const pool = this.#pool ??= new ThreadPool(
      1,
      (_thread, results) => this.#results(results),
      (end) => this.#died(new Error(end.reason)),
      undefined, // client.run functions do not secede
      this.permissions,
    );
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      pool.post(0, [{
        id,
        key: "run",
        fn: pool.functionFor(0, fn),
        args: args ?? encode([]),
        depKeys: [],
        depValues: [],
      }]);
    });
  }

  #results(results: RunResult[]): void {
    for (const result of results) {
      const resolve = this.#pending.get(result.id);
      this.#pending.delete(result.id);
      resolve?.(result.ok ? { ok: true, value: result.value } : { ok: false, error: result.error });
    }
  }

  /** The thread died (the pool started a fresh one): every call on it fails. */
  #died(error: Error): void {
    const record: ErrorRecord = { name: "Error", message: error.message };
    for (const resolve of this.#pending.values()) resolve({ ok: false, error: record });
    this.#pending.clear();
  }

  close(): void {
    this.#pool?.close();
    this.#pool = null;
    const record: ErrorRecord = { name: "Error", message: "the worker stopped" };
    for (const resolve of this.#pending.values()) resolve({ ok: false, error: record });
    this.#pending.clear();
  }
}
