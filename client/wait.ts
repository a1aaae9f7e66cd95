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

/** The futures that ended and those that did not. */
export interface WaitResult<T> {
  done: Set<Future<T>>;
  notDone: Set<Future<T>>;
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
export function wait<T>(
  futures: Iterable<Future<T>> | Future<T>,
  options: WaitOptions = {},
): Promise<WaitResult<T>> {
  const all = [...(Symbol.iterator in futures ? futures : [futures])] as Future<T>[];
  const returnWhen = options.returnWhen ?? "ALL_COMPLETED";
  if (!["ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"].includes(returnWhen)) {
    throw new TypeError(
      `wait(): returnWhen must be "ALL_COMPLETED", "FIRST_COMPLETED" or "FIRST_EXCEPTION", ` +
        `got ${JSON.stringify(returnWhen)}.`,
    );
  }
  const split = (): WaitResult<T> => {
    const done = new Set<Future<T>>();
    const notDone = new Set<Future<T>>();
    for (const f of all) (f.done() ? done : notDone).add(f);
    return { done, notDone };
  };
  const satisfied = (): boolean => {
    if (returnWhen === "FIRST_COMPLETED") return all.length === 0 || all.some((f) => f.done());
    if (returnWhen === "FIRST_EXCEPTION" && all.some((f) => f.status === "error")) return true;
    return all.every((f) => f.done());
  };
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const check = () => {
      if (settled || !satisfied()) return;
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
            `wait(): ${pending} of ${all.length} futures did not end within ${options.timeout} s.`,
          ),
        );
      }, options.timeout * 1000);
    }
    for (const f of all) f.addDoneCallback(check);
    check();
  });
}
