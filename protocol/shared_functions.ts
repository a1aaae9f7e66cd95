/**
 * The receiving side of a function spec shared within one `update-graph` (docs/protocol.md §2).
 *
 * @module
 */

import type { GraphTaskSpec } from "./messages.ts";

/**
 * Gives every task of an `update-graph` its function spec: a task whose `fn` is a string names
 * the spec an earlier task of the message carried in full (docs/protocol.md §2). The tasks then
 * share one spec object. A name without a spec stays as it is and fails on the worker.
 */
export function resolveSharedFunctions(specs: GraphTaskSpec[]): void {
  let byId: Map<string, unknown> | undefined;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    const fn = spec.fn as { id?: unknown } | string | null;
    if (typeof fn === "string") {
      const full = byId?.get(fn);
      if (full !== undefined) spec.fn = full;
    } else if (fn !== null && typeof fn === "object" && typeof fn.id === "string") {
      (byId ??= new Map()).set(fn.id, fn);
    }
  }
}
