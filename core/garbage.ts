/**
 * Garbage collection on demand, for a worker short of memory. Dropping the last reference to a
 * spilled value's buffers frees nothing until V8 collects their wrappers, and an idle process
 * may not collect for a long time: the memory monitor asks for a collection instead of staying
 * paused. V8 exposes `gc` only with `--expose-gc`; the flag is set at run time and the function
 * taken from a fresh context (node:vm), so the worker CLI needs no extra flag.
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";

let collector: (() => void) | null | undefined;

/** A function that runs a full garbage collection in this thread, or null where V8 refuses. */
export function garbageCollector(): (() => void) | null {
  if (collector === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      const gc = vm.runInNewContext("gc");
      collector = typeof gc === "function" ? gc as () => void : null;
    } catch {
      collector = null;
    }
  }
  return collector;
}
