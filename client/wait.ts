/**
 * `wait`: blocks until futures end, as `dask.distributed.wait`.
 *
 * @module
 */

import type { Future } from "./future.ts";
import { TimeoutError } from "./future_state.ts";

/** When {@link wait} returns. */
export type ReturnWhen = "ALL_COMPLETED" | "FIRST_COMPLETED" | "FIRST_EXCEPTION";

/** Options of {@link wait}. */
export interface WaitOptions {
  /** Seconds to wait before throwing a TimeoutError. */
  timeout?: number;
  /** Default `ALL_COMPLETED`. */
  returnWhen?: ReturnWhen;
}

/** The futures that ended and those that did not (`F`: the type of the futures given). */
export interface WaitResult<F extends Future<unknown> = Future<unknown>> {
  /** Futures that ended (finished, erred, cancelled or lost). */
  done: Set<F>;
  /** Futures still pending. */
  notDone: Set<F>;
}

/**
 * Waits until all futures end (or the first does, or the first fails).
 *
 * @example
 * ```ts
 * import { Client, wait } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 2 });
 * const futures = client.map((x: number) => x + 1, [1, 2, 3]);
 * const { done, notDone } = await wait(futures, { returnWhen: "FIRST_COMPLETED" });
 * ```
 */
export function wait<F extends Future<unknown>>(
  futures: Iterable<F> | F,
  options: WaitOptions = {},
): Promise<WaitResult<F>> {
  const all = [...(Symbol.iterator in futures ? futures : [futures])] as F[];
  const returnWhen = options.returnWhen ?? "ALL_COMPLETED";
  if (!["ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"].includes(returnWhen)) {
    throw new TypeError(
      `wait(): returnWhen must be "ALL_COMPLETED", "FIRST_COMPLETED" or "FIRST_EXCEPTION", ` +
        `got ${JSON.stringify(returnWhen)}.`,
    );
  }
  const split = (): WaitResult<F> => {
    const done = new Set<F>();
    const notDone = new Set<F>();
    for (const f of all) (f.done() ? done : notDone).add(f);
    return { done, notDone };
  };
  // Counted as callbacks arrive, so waiting on n futures costs O(n), not O(n²).
  let remaining = all.length;
  const satisfied = (ended: Future<unknown> | undefined): boolean => {
    if (remaining === 0) return true;
    if (ended === undefined) return false;
    if (returnWhen === "FIRST_COMPLETED") return true;
    return returnWhen === "FIRST_EXCEPTION" && ended.status === "error";
  };
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const check = (ended?: Future<unknown>) => {
      if (ended !== undefined) remaining--;
      if (settled || !satisfied(ended)) return;
      settled = true;
      clearTimeout(timer);
      resolve(split());
    };
    if (options.timeout !== undefined) {
      timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        const pending = all.filter((f) => !f.done()).length;
        reject(
          new TimeoutError(
            `wait(): ${pending} of ${all.length} futures did not end within ${options.timeout} s; ` +
              `they keep running — wait again, or cancel them.`,
          ),
        );
      }, options.timeout * 1000);
    }
    for (const f of all) f.addDoneCallback(check);
    check();
  });
}
