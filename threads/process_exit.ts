/**
 * What to tell a user when a worker subprocess of the `processes` scheduler ends while it runs
 * a task: the error the task fails with, naming how the process ended and the likely reason.
 *
 * @module
 */

import type { Key } from "../core/task.ts";

/**
 * The error of a task whose worker process ended while running it (`Deno.exit`, an uncaught
 * error, running out of memory, a signal). The pool has replaced the process; other
 * computations go on.
 *
 * @example Telling a crash apart from an error the task threw
 * ```ts
 * import { delayed, ProcessDiedError } from "./mod.ts";
 *
 * const quits = delayed(() => Deno.exit(3))();
 * try {
 *   await quits.compute({ scheduler: "processes" });
 * } catch (error) {
 *   if (error instanceof ProcessDiedError) console.log(error.exitCode); // 3
 * }
 * ```
 */
export class ProcessDiedError extends Error {
  /** Always `"ProcessDiedError"`. */
  override name = "ProcessDiedError";
  /** The error of the task `key` whose process ended with `exitCode` (or `signal`). */
  constructor(
    message: string,
    /** The task that was running, when known. */
    readonly key: Key | undefined,
    /** The process's exit code (128 + n when a signal ended it). */
    readonly exitCode: number,
    /** The signal that ended it, if one did (`"SIGKILL"`, ...). */
    readonly signal: string | null,
  ) {
    super(message);
  }
}

/** How a process ended, in words: its exit code or signal, and what usually causes that. */
export function describeExit(
  status: { code: number; signal: string | null },
  fatal: string | undefined,
  stderrTail: string,
): string {
  // V8 prints this line, then a C stack trace, and aborts
  const outOfMemory = /^.*(out of memory|heap limit|Allocation failed).*$/im.exec(stderrTail);
  let how: string;
  if (fatal !== undefined) how = `an uncaught error ended it: ${fatal}`;
  else if (outOfMemory !== null) {
    return `it ran out of memory (exit code ${status.code}: "${
      outOfMemory[0].replace(/^[#\s]+/, "").trim()
    }")`;
  } else if (status.signal === "SIGKILL") {
    how = "it was killed by SIGKILL (the system's out-of-memory killer does this)";
  } else if (status.signal !== null) how = `it was killed by ${status.signal}`;
  else how = `it exited with code ${status.code} (a call to Deno.exit ends the process)`;
  const tail = stderrTail.trim().split("\n").slice(-5).join("\n");
  return tail === "" || fatal !== undefined ? how : `${how}; its last output:\n${tail}`;
}
