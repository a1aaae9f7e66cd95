/**
 * A call whose synchronous part is interrupted after a time limit, through node:vm's `timeout`
 * (the one way in Deno 2.9 to stop a synchronous loop in a thread, see thread_entry.ts). A
 * timed-out call throws an error whose `code` is `ERR_SCRIPT_EXECUTION_TIMEOUT`; the thread
 * lives on.
 *
 * @module
 */

import { Script } from "node:vm";

const SLOT = Symbol.for("dask-deno.timed-call");
/** Compiled once: it calls whatever function is in the slot. */
const script = new Script(`globalThis[Symbol.for("dask-deno.timed-call")]()`);

/** Runs `call` with its synchronous part limited to `ms` milliseconds. */
export function timed(ms: number, call: () => unknown): unknown {
  const slot = globalThis as unknown as Record<symbol, () => unknown>;
  slot[SLOT] = call;
  try {
    return script.runInThisContext({ timeout: Math.max(1, Math.ceil(ms)) });
  } finally {
    delete slot[SLOT];
  }
}
