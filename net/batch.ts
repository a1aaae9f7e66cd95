/**
 * Batches: several headers travelling as one message, sent once per tick and unpacked in order.
 *
 * @module
 */

import { asError } from "../core/errors.ts";
import type { Connection } from "./connection.ts";

/** The op of a message that carries several messages (docs/protocol.md, "Batches"). */
export const BATCH_OP = "batch";

/** Several messages travelling as one, to be handled in order as if each came on its own. */
export interface BatchHeader {
  op: typeof BATCH_OP;
  msgs: unknown[];
}

/**
 * Sends `headers` in order as one message: the header itself when alone, else a `batch` (one
 * encode, one frame and one dispatch on the receiver instead of one per message). Returns false,
 * dropping them, when the connection is closed or closing.
 *
 * @throws {UnserializableError} when a header holds something that cannot travel.
 */
export function sendHeaders(connection: Connection, headers: unknown[]): boolean {
  if (headers.length === 0) return !connection.isClosed;
  const header = headers.length === 1 ? headers[0] : { op: BATCH_OP, msgs: headers };
  return connection.send({ header });
}

/**
 * The messages a received header carries, in order: a batch's `msgs`, or the header itself.
 * Null when the header is a batch whose `msgs` is not a list (the peer is broken).
 */
export function unbatch(header: unknown): unknown[] | null {
  const h = header as { op?: unknown; msgs?: unknown } | null;
  if (h === null || typeof h !== "object" || h.op !== BATCH_OP) return [header];
  return Array.isArray(h.msgs) ? h.msgs : null;
}

/**
 * Collects the headers sent to one connection during a synchronous run of code (a thread's
 * batch of results, a burst of events) and sends them as one message in a microtask. Messages
 * keep their order; {@link flush} sends what is queued at once, before a close or a message
 * sent on the connection directly.
 */
export class BatchSender {
  readonly connection: Connection;
  readonly #onError: (error: Error) => void;
  #queue: unknown[] = [];

  /** @param onError told about a header that cannot travel (it is dropped, the rest go) */
  constructor(connection: Connection, onError: (error: Error) => void) {
    this.connection = connection;
    this.#onError = onError;
  }

  /** Queues a header; false, dropping it, when the connection is closed or closing. */
  send(header: unknown): boolean {
    if (this.connection.isClosed) return false;
    if (this.#queue.push(header) === 1) queueMicrotask(() => this.flush());
    return true;
  }

  /** Sends what is queued now. */
  flush(): void {
    const headers = this.#queue;
    if (headers.length === 0) return;
    this.#queue = [];
    try {
      sendHeaders(this.connection, headers);
    } catch {
      // One header cannot travel: the others still go, each on its own, in order.
      for (const header of headers) {
        try {
          this.connection.send({ header });
        } catch (error) {
          this.#onError(asError(error));
        }
      }
    }
  }
}
