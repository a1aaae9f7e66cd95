/**
 * A task's time limit as users write it (`timeout` of `submit` and `compute`): milliseconds,
 * or a duration string such as `"30s"`, `"500ms"`, `"2m"`.
 *
 * @module
 */

import { parseDuration } from "./cli.ts";

/** What `timeout` options accept: milliseconds, or a duration string like `"30s"`. */
export type Timeout = number | string;

/**
 * Milliseconds from a `timeout` option.
 *
 * @throws {TypeError} naming `option` when the value is not a positive duration.
 */
export function timeoutMsOf(timeout: Timeout, option = "timeout"): number {
  const ms = typeof timeout === "string" ? parseDuration(timeout, option) * 1000 : timeout;
  if (typeof ms !== "number" || !(ms > 0) || !Number.isFinite(ms)) {
    throw new TypeError(
      `Option '${option}' must be a positive number of milliseconds or a duration like "30s", ` +
        `got ${JSON.stringify(timeout)}.`,
    );
  }
  return ms;
}
