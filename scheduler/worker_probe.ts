/**
 * Whether a worker named in a `missing-data` report still listens at its address (I/O at the
 * server's edge; missing_data.ts is the state's side of the report).
 *
 * A report says that the reporter (a worker fetching inputs, a client fetching results, the
 * scheduler's own relay) could not get keys from a worker: the worker dropped them, or it died
 * and the scheduler has not heard yet — a host that vanishes without closing its connections is
 * heard of only after ten missed heartbeats, and meanwhile the keys it lost are computed again,
 * perhaps on it. The scheduler does not take the reporter's word for a death (any client could
 * then evict any worker): it dials the worker's listener itself, with the cluster's credentials,
 * as Dask's scheduler removes the workers its own gather could not reach. A refused connection
 * means nobody listens there any more: the worker is dropped at once. A connection that opens,
 * or one that neither opens nor fails within the deadline (a frozen host), changes nothing: the
 * heartbeats decide, as before.
 *
 * @module
 */

import { Connection, type ConnectionOptions } from "../net/connection.ts";
import type { WorkerAddress } from "../protocol/messages.ts";

/** What dialing a worker's listener found. */
export type ProbeAnswer = "listening" | "refused" | "no-answer";

/** Dials `address` and hangs up; "refused" only when nothing listens there. */
export async function probeListener(
  address: WorkerAddress,
  options: ConnectionOptions,
  timeoutMs: number,
): Promise<ProbeAnswer> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<ProbeAnswer>((resolve) => {
    timer = setTimeout(() => resolve("no-answer"), timeoutMs);
  });
  const dial = Connection.connect(address, { ...options, handshakeTimeoutMs: timeoutMs }).then(
    async (connection) => {
      await connection.close("probed");
      return "listening" as const;
    },
    (error) => error instanceof Deno.errors.ConnectionRefused ? "refused" as const : "no-answer",
  );
  try {
    return await Promise.race([dial, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** One probe at a time per worker, each started by a report naming it. */
export class WorkerProbes {
  readonly #inFlight = new Set<WorkerAddress>();

  constructor(
    private readonly options: ConnectionOptions,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Dials `address` unless a probe of it is under way already; `onRefused` runs when nothing
   * listens there any more.
   */
  probe(address: WorkerAddress, onRefused: () => void): void {
    if (this.#inFlight.has(address)) return;
    this.#inFlight.add(address);
    void probeListener(address, this.options, this.timeoutMs)
      .then((answer) => {
        if (answer === "refused") onRefused();
      })
      .finally(() => this.#inFlight.delete(address));
  }
}
