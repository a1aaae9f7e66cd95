/**
 * What `client.gather` works on: structures (arrays, plain objects, nested) of Futures, and
 * waiting for futures to end.
 *
 * @module
 */

import { DESCEND, isPlainObject, type Key, rewriteData } from "../core/task.ts";
import { Future } from "./future.ts";

/** Options of {@link Client.gather}. */
export interface GatherOptions {
  /**
   * `"raise"` (default): throw the first error among the futures. `"skip"`: leave erred and
   * cancelled futures out of the result.
   */
  errors?: "raise" | "skip";
}

/** What {@link Client.gather} gives for a structure of futures: the same with values. */
export type Gathered<S> = S extends Future<infer T> ? T
  : S extends readonly unknown[] ? { -readonly [I in keyof S]: Gathered<S[I]> }
  : S extends Record<string, unknown> ? { [K in keyof S]: Gathered<S[K]> }
  : S;

/** Every Future inside a structure of arrays and plain objects, in order. */
export function collectFutures(value: unknown, out: Future[]): void {
  rewriteData(value, (v) => {
    if (v instanceof Future) out.push(v);
    return DESCEND; // walked, never rewritten; rewriteData refuses cycles with their path
  }, "futures");
}

/** The structure with each Future replaced by its value; `skip` keys are left out. */
export function rebuild(value: unknown, values: Map<Key, unknown>, skip: Set<Key>): unknown {
  if (value instanceof Future) return values.get(value.key);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      if (v instanceof Future && skip.has(v.key)) continue;
      out.push(rebuild(v, values, skip));
    }
    return out;
  }
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const k in value) {
      const v = value[k];
      if (v instanceof Future && skip.has(v.key)) continue;
      out[k] = rebuild(v, values, skip);
    }
    return out;
  }
  return value;
}

/** Resolves when every future ended, or (with `stopAtError`) when one fails. */
export function waitEnded(futures: readonly Future[], stopAtError: boolean): Promise<void> {
  let pending = 0;
  return new Promise((resolve) => {
    const ended = (future: Future) => {
      if (--pending === 0 || (stopAtError && future.status !== "finished")) resolve();
    };
    for (const future of futures) {
      if (future.done()) {
        if (stopAtError && future.status !== "finished") return resolve();
        continue;
      }
      pending++;
    }
    if (pending === 0) return resolve();
    for (const future of futures) if (!future.done()) future.addDoneCallback(ended);
  });
}
