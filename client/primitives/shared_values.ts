/**
 * How values travel to the scheduler's shared state (datasets, queues, variables): encoded
 * once, Futures written as references to their keys (so the scheduler can hold them), and read
 * back in a client with Futures of that client in their place.
 *
 * @module
 */

import { type ActorTransport, decodingFor } from "../../core/actor_ref.ts";
import { DESCEND, findRefs, type Key, rewriteData, TaskRef } from "../../core/task.ts";
import { decode, encode, type Encoded } from "../../core/value_codec.ts";
import { Future } from "../future.ts";
import type { SchedulerRequest } from "../cluster_admin.ts";

/** What the shared-state classes need of their client. */
export interface SharedStateContext {
  /** A scheduler request, sent after everything the client queued (its scatters too). */
  request: SchedulerRequest;
  /** The key of a Future that may go to the cluster (another client's is adopted). */
  futureKey(future: Future): Key;
  /** A Future of this client for a key the cluster holds. */
  futureOf(key: Key): Future;
  /** How actor handles in shared values call (through this client). */
  actors: ActorTransport;
  /**
   * Settles once the client is connected (a task's client connects on first use); undefined
   * when there is nothing to wait for.
   */
  ready?: Promise<unknown>;
}

/** `value` encoded with its Futures as references, and their keys. */
export function encodeShared(
  context: SharedStateContext,
  value: unknown,
  rootName: string,
): { value: Encoded; keys: Key[] } {
  const withRefs = rewriteData(
    value,
    (v) => v instanceof Future ? new TaskRef(context.futureKey(v)) : DESCEND,
  );
  return {
    value: encode(withRefs, { rootName }),
    keys: [...new Set(findRefs([withRefs]))],
  };
}

/** A shared value decoded, with Futures of this client where references were. */
export function decodeShared(context: SharedStateContext, encoded: Encoded): unknown {
  return rewriteData(
    decodingFor(context.actors, () => decode(encoded)),
    (v) => v instanceof TaskRef ? context.futureOf(v.key) : DESCEND,
  );
}

/** Turns the scheduler's `TimeoutError` record back into the client's own class. */
export async function withTimeoutError<T>(
  request: Promise<T>,
  TimeoutErrorClass: new (message: string) => Error,
): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof Error && error.name === "TimeoutError") {
      throw new TimeoutErrorClass(error.message);
    }
    throw error;
  }
}
