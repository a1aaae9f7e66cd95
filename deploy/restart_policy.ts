/**
 * When a supervised worker process that ended is started again (the nanny's rule, shared by the
 * CLI nanny and `LocalCluster`): not when it was told to stop (exit 0) or refused by the
 * scheduler (exit 3); otherwise after a delay from 0.1 s doubling to 10 s while it keeps dying
 * within a minute. Pure: the caller passes the time.
 *
 * @module
 */

import { REFUSED_EXIT_CODE } from "../protocol/exit_codes.ts";

const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 10_000;
/** Deaths further apart than this do not count as the same crash loop. */
const CRASH_LOOP_WINDOW_MS = 60_000;

/** What to do about a process that ended. */
export type RestartDecision =
  | { restart: false }
  | { restart: true; delayMs: number; why: string };

/** Remembers each worker's recent deaths (by name) to space its restarts out. */
export class RestartPolicy {
  readonly #deaths = new Map<string, number[]>();

  /** A process named `name` ended with `status` at `nowMs`. */
  ended(name: string, status: Deno.CommandStatus, nowMs: number): RestartDecision {
    // 0: told to stop (retired, scheduler closing, SIGTERM); 3: the scheduler refused it
    if (status.signal === null && (status.code === 0 || status.code === REFUSED_EXIT_CODE)) {
      return { restart: false };
    }
    const deaths = (this.#deaths.get(name) ?? []).filter((t) => nowMs - t < CRASH_LOOP_WINDOW_MS);
    deaths.push(nowMs);
    this.#deaths.set(name, deaths);
    const delayMs = Math.min(
      MAX_RESTART_DELAY_MS,
      FIRST_RESTART_DELAY_MS * 2 ** (deaths.length - 1),
    );
    const why = status.signal !== null
      ? `was killed (${status.signal})`
      : `exited with code ${status.code}`;
    return { restart: true, delayMs, why };
  }
}
