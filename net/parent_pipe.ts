/**
 * A child process that stops when the process that started it is gone, however that one ended
 * (a clean exit, an uncaught error, SIGKILL): the parent gives it a pipe on standard input that
 * it never writes to and marks it with `STOP_WITH_STDIN_ENV`; the pipe's end is the signal. The
 * nanny's workers and a LocalCluster's scheduler and workers are started this way, so none
 * outlives its parent (an `unload` listener would miss an uncaught error and SIGKILL).
 *
 * @module
 */

import { STOP_WITH_STDIN_ENV } from "../protocol/exit_codes.ts";

/**
 * When this process was started marked (see the module), calls `stop` once standard input
 * closes, and exits with code 1 if `stop` returns nothing or has not finished in `graceMs`.
 * Does nothing for a process started by hand. The mark is removed from this process's
 * environment, so what its tasks start is not marked.
 */
export function stopWhenParentGone(
  who: string,
  parent: string,
  stop: () => Promise<unknown> | undefined,
  graceMs: number,
): void {
  let marked = false;
  try {
    // queried, never asked for: a process started by hand on a terminal must not prompt
    const query = { name: "env", variable: STOP_WITH_STDIN_ENV } as const;
    marked = Deno.permissions.querySync(query).state === "granted" &&
      Deno.env.get(STOP_WITH_STDIN_ENV) === "1";
    if (marked) Deno.env.delete(STOP_WITH_STDIN_ENV);
  } catch {
    // no env permission: started by hand
  }
  if (!marked) return;
  void (async () => {
    try {
      for await (const _ of Deno.stdin.readable) {
        // the parent never writes: only the end matters
      }
    } catch {
      // closed
    }
    try {
      console.error(`${who}: ${parent} is gone (standard input closed): stopping`);
    } catch {
      // the parent read our output: that pipe may be closed too
    }
    const hard = setTimeout(() => Deno.exit(1), graceMs);
    Deno.unrefTimer(hard);
    const stopping = stop();
    if (stopping === undefined) Deno.exit(1);
  })();
}
